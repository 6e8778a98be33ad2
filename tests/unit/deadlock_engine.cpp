// Deterministic tests of deadlock detection and resolution in the engine:
// cycles, victim policies, prevention, and hooks of in-process plugins.

#include "tests/support/engine_fixture.hpp"

using namespace holdfast;
using namespace holdfast::test;

namespace {

/// A hook whose answers the test sets and whose calls it counts.
struct scripted_hook : plugin::hook {
  enum class mode { approve, veto, silent, throws, extend };

  mode answer = mode::approve;
  std::string victim;
  std::shared_ptr<plugin::verdict> pending;
  std::vector<std::string> calls;

  void before_detection(const plugin::detection_round&) override {
    calls.push_back("before_detection");
  }

  void on_detection(const plugin::deadlock& found) override {
    calls.push_back("on_detection " + std::to_string(found.cycle.size()));
  }

  std::string choose_victim(const plugin::deadlock&) override {
    calls.push_back("choose_victim");
    if (answer == mode::throws)
      throw std::runtime_error("victim choice failed");
    return victim;
  }

  void before_resolution(const plugin::deadlock& found,
                         std::shared_ptr<plugin::verdict> verdict) override {
    calls.push_back("before_resolution " + found.victim);
    switch (answer) {
      case mode::approve:
        verdict->approve();
        break;
      case mode::veto:
        verdict->veto("change freeze");
        break;
      case mode::silent:
        pending = std::move(verdict);
        break;
      case mode::throws:
        throw std::runtime_error("approval service down");
      case mode::extend:
        verdict->extend(std::chrono::milliseconds{5'000});
        pending = std::move(verdict);
        break;
    }
  }

  void after_resolution(const plugin::deadlock&,
                        const plugin::resolution& result) override {
    calls.push_back("after_resolution " + result.outcome);
  }
};

struct deadlock_fixture : engine_fixture {
  std::shared_ptr<scripted_hook> hook;

  deadlock_fixture() {
    restart_with([](engine_config& settings) {
      settings.deadlock.timeout = std::chrono::milliseconds{1'000};
    });
  }

  /// Restarts with one scripted hook named "script" and `adjust` applied.
  void with_hook(std::function<void(engine_config&)> adjust = {}) {
    hook = std::make_shared<scripted_hook>();
    restart_with([this, adjust](engine_config& settings) {
      settings.deadlock.timeout = std::chrono::milliseconds{1'000};
      settings.deadlock.hook_timeout = std::chrono::milliseconds{2'000};
      settings.detach_plugin_actors = false;
      auto instance = std::make_shared<hook_instance>();
      instance->name = "script";
      // The engine owns the forwarding hook, and the test keeps the
      // scripted hook behind it to set its answers and read its calls.
      instance->hook = std::unique_ptr<plugin::hook>(new forwarding_hook{hook});
      settings.deadlock.hooks.push_back(instance);
      if (adjust)
        adjust(settings);
    });
  }

  /// Passes every call to a hook the test owns too.
  struct forwarding_hook : plugin::hook {
    explicit forwarding_hook(std::shared_ptr<scripted_hook> script)
      : target(std::move(script)) {
    }
    void before_detection(const plugin::detection_round& round) override {
      target->before_detection(round);
    }
    void on_detection(const plugin::deadlock& found) override {
      target->on_detection(found);
    }
    std::string choose_victim(const plugin::deadlock& found) override {
      return target->choose_victim(found);
    }
    void before_resolution(const plugin::deadlock& found,
                           std::shared_ptr<plugin::verdict> answer) override {
      target->before_resolution(found, std::move(answer));
    }
    void after_resolution(const plugin::deadlock& found,
                          const plugin::resolution& result) override {
      target->after_resolution(found, result);
    }
    std::shared_ptr<scripted_hook> target;
  };

  acquire_request on(std::string workspace, std::string owner,
                     int64_t wait_ms = 0, priority level = priority::medium) {
    auto request = acquire(std::move(owner), wait_ms);
    request.key.workspace = std::move(workspace);
    request.level = level;
    return request;
  }

  /// Makes owners o0..o(n-1) each hold w<i> and wait for w<i+1>, the last
  /// one waiting for w0. Returns the sinks of the waiting requests.
  std::vector<sink_ptr> ring(size_t size) {
    for (size_t i = 0; i < size; ++i)
      lock_of(send(on("w" + std::to_string(i), "o" + std::to_string(i))));
    std::vector<sink_ptr> waits;
    for (size_t i = 0; i < size; ++i) {
      waits.push_back(send(on("w" + std::to_string((i + 1) % size),
                              "o" + std::to_string(i), 60'000)));
      advance(std::chrono::milliseconds{10});
    }
    return waits;
  }

  /// Index of the only failed request among `waits`, or -1.
  static int failed_one(const std::vector<sink_ptr>& waits) {
    int result = -1;
    for (size_t i = 0; i < waits.size(); ++i)
      if (!waits[i]->replies.empty() && !waits[i]->replies.front().ok()) {
        if (result != -1)
          return -2;
        result = static_cast<int>(i);
      }
    return result;
  }

  const lock_event* last_event(event_type type) const {
    const lock_event* result = nullptr;
    for (auto& event : *events)
      if (event.type == type)
        result = &event;
    return result;
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(deadlock_engine, deadlock_fixture)

BOOST_AUTO_TEST_CASE(two_owner_cycle_fails_the_youngest_request) {
  auto waits = ring(2);
  BOOST_TEST(failed_one(waits) == -1);

  advance(std::chrono::milliseconds{1'000});
  BOOST_TEST(failed_one(waits) == 1);
  auto& error = waits[1]->replies.front().error;
  BOOST_TEST(is(error.code, lock_errc::deadlock_victim));
  BOOST_TEST(error.cycle.size() == 2u);
  BOOST_TEST(error.message.find("'o1'") != std::string::npos);
  BOOST_TEST(waits[0]->replies.empty());

  auto detected = last_event(event_type::deadlock_detected);
  BOOST_REQUIRE(detected != nullptr);
  BOOST_TEST(detected->deadlock.victim == "o1");
  BOOST_TEST(detected->deadlock.policy == "youngest");
  auto resolved = last_event(event_type::deadlock_resolved);
  BOOST_REQUIRE(resolved != nullptr);
  BOOST_TEST(resolved->deadlock.outcome == "victim_failed");
  BOOST_TEST(resolved->record.owner == "o1");
  BOOST_TEST(resolved->record.key.workspace == "w0");
}

BOOST_AUTO_TEST_CASE(no_detection_before_the_timeout) {
  auto waits = ring(3);
  advance(std::chrono::milliseconds{900});
  BOOST_TEST(failed_one(waits) == -1);
  BOOST_TEST(count_events(event_type::deadlock_detected) == 0u);
  advance(std::chrono::milliseconds{200});
  BOOST_TEST(failed_one(waits) == 2);
}

BOOST_AUTO_TEST_CASE(ten_owner_cycle) {
  auto waits = ring(10);
  advance(std::chrono::milliseconds{1'000});
  BOOST_TEST(failed_one(waits) == 9);
  BOOST_TEST(last_event(event_type::deadlock_resolved)->deadlock.cycle.size()
             == 10u);
}

BOOST_AUTO_TEST_CASE(long_chain_is_no_deadlock) {
  for (size_t i = 0; i < 50; ++i)
    lock_of(send(on("w" + std::to_string(i), "o" + std::to_string(i))));
  std::vector<sink_ptr> waits;
  for (size_t i = 0; i + 1 < 50; ++i)
    waits.push_back(send(on("w" + std::to_string(i + 1),
                            "o" + std::to_string(i), 60'000)));
  advance(std::chrono::milliseconds{5'000});
  BOOST_TEST(failed_one(waits) == -1);
  BOOST_TEST(count_events(event_type::deadlock_detected) == 0u);

  auto reply = send(detect_request{"default"})->replies.front();
  BOOST_TEST(reply.ok());
  BOOST_TEST(reply.deadlocks.empty());
  BOOST_TEST(reply.deadlock_counters.runs >= 1u);
}

BOOST_AUTO_TEST_CASE(two_disjoint_cycles_in_one_round) {
  lock_of(send(on("a1", "a")));
  lock_of(send(on("b1", "b")));
  lock_of(send(on("c1", "c")));
  lock_of(send(on("d1", "d")));
  auto a = send(on("b1", "a", 60'000));
  auto b = send(on("a1", "b", 60'000));
  auto c = send(on("d1", "c", 60'000));
  auto d = send(on("c1", "d", 60'000));
  advance(std::chrono::milliseconds{1'000});
  BOOST_TEST(count_events(event_type::deadlock_resolved) == 2u);
  BOOST_TEST(a->replies.size() + b->replies.size() == 1u);
  BOOST_TEST(c->replies.size() + d->replies.size() == 1u);
}

BOOST_AUTO_TEST_CASE(lowest_priority_policy) {
  restart_with([](engine_config& settings) {
    settings.deadlock.policy = victim_policy::lowest_priority;
  });
  lock_of(send(on("w0", "o0")));
  lock_of(send(on("w1", "o1")));
  lock_of(send(on("w2", "o2")));
  auto w0 = send(on("w1", "o0", 60'000, priority::low));
  auto w1 = send(on("w2", "o1", 60'000, priority::high));
  auto w2 = send(on("w0", "o2", 60'000, priority::medium));
  advance(std::chrono::milliseconds{1'000});
  BOOST_TEST(failed_one({w0, w1, w2}) == 0);
  BOOST_TEST(last_event(event_type::deadlock_resolved)->deadlock.policy
             == "lowest_priority");
}

BOOST_AUTO_TEST_CASE(fewest_locks_policy) {
  restart_with([](engine_config& settings) {
    settings.deadlock.policy = victim_policy::fewest_locks;
  });
  lock_of(send(on("w0", "o0")));
  lock_of(send(on("w1", "o1")));
  lock_of(send(on("w2", "o2")));
  lock_of(send(on("extra-0a", "o0")));
  lock_of(send(on("extra-0b", "o0")));
  lock_of(send(on("extra-2", "o2")));
  auto w0 = send(on("w1", "o0", 60'000));
  auto w1 = send(on("w2", "o1", 60'000));
  auto w2 = send(on("w0", "o2", 60'000));
  advance(std::chrono::milliseconds{1'000});
  BOOST_TEST(failed_one({w0, w1, w2}) == 1);
}

BOOST_AUTO_TEST_CASE(victim_locks_released_on_request) {
  restart_with([](engine_config& settings) {
    settings.deadlock.release_victim_locks = true;
  });
  auto waits = ring(2);
  advance(std::chrono::milliseconds{1'000});
  BOOST_TEST(failed_one(waits) == 1);
  BOOST_TEST(lock_of(waits[0]).owner == "o0");
  BOOST_TEST(last_event(event_type::deadlock_resolved)->deadlock.released_locks);
}

BOOST_AUTO_TEST_CASE(prevention_refuses_the_closing_wait) {
  restart_with([](engine_config& settings) {
    settings.deadlock.prevention = true;
  });
  lock_of(send(on("w0", "o0")));
  lock_of(send(on("w1", "o1")));
  auto first = send(on("w1", "o0", 60'000));
  BOOST_TEST(first->replies.empty());
  auto second = send(on("w0", "o1", 60'000));
  BOOST_TEST(is(code_of(second), lock_errc::would_deadlock));
  auto& cycle = second->replies.front().error.cycle;
  BOOST_REQUIRE(cycle.size() == 2u);
  BOOST_TEST(cycle[0].owner == "o1");
  BOOST_TEST(cycle[1].owner == "o0");
  BOOST_TEST(first->replies.empty());
}

BOOST_AUTO_TEST_CASE(on_demand_detection_ignores_the_timeout) {
  auto waits = ring(3);
  auto reply = send(detect_request{"default"})->replies.front();
  BOOST_REQUIRE(reply.deadlocks.size() == 1u);
  BOOST_TEST(reply.deadlocks.front().cycle.size() == 3u);
  BOOST_TEST(failed_one(waits) == 2);
}

BOOST_AUTO_TEST_CASE(on_demand_leaves_young_cycles_of_others) {
  auto waits = ring(2);
  auto reply = send(detect_request{"other"})->replies.front();
  BOOST_TEST(reply.deadlocks.empty());
  BOOST_TEST(failed_one(waits) == -1);

  // Once old enough, the cycle of another tenant is fair game.
  now += 1'000;
  send(detect_request{"other"});
  BOOST_TEST(failed_one(waits) == 1);
}

BOOST_AUTO_TEST_CASE(victim_found_once) {
  auto waits = ring(2);
  advance(std::chrono::milliseconds{1'000});
  advance(std::chrono::milliseconds{1'000});
  BOOST_TEST(failed_one(waits) == 1);
  BOOST_TEST(count_events(event_type::deadlock_detected) == 1u);
  auto counters = send(detect_request{"default"})->replies.front()
                    .deadlock_counters;
  BOOST_TEST(counters.detected == 1u);
  BOOST_TEST(counters.dissolved == 0u);
}

BOOST_AUTO_TEST_CASE(hooks_run_in_order_and_approve) {
  with_hook();
  auto waits = ring(2);
  advance(std::chrono::milliseconds{1'000});
  BOOST_TEST(failed_one(waits) == 1);
  // The last round looks for further cycles after the resolution.
  std::vector<std::string> expected{"before_detection", "on_detection 2",
                                    "before_resolution o1",
                                    "after_resolution victim_failed",
                                    "before_detection"};
  BOOST_TEST(hook->calls == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(veto_leaves_the_cycle_alone) {
  with_hook();
  hook->answer = scripted_hook::mode::veto;
  auto waits = ring(2);
  advance(std::chrono::milliseconds{1'000});
  BOOST_TEST(failed_one(waits) == -1);
  auto vetoed = last_event(event_type::deadlock_vetoed);
  BOOST_REQUIRE(vetoed != nullptr);
  BOOST_TEST(vetoed->deadlock.reason.find("change freeze")
             != std::string::npos);

  // The same cycle is not asked about again.
  advance(std::chrono::milliseconds{3'000});
  BOOST_TEST(count_events(event_type::deadlock_vetoed) == 1u);

  // Operators still see it.
  auto reply = send(detect_request{"default"})->replies.front();
  BOOST_REQUIRE(reply.deadlocks.size() == 1u);
  BOOST_TEST(reply.deadlocks.front().outcome == "vetoed");
  BOOST_TEST(count_events(event_type::deadlock_vetoed) == 1u);
}

BOOST_AUTO_TEST_CASE(silent_hook_times_out_and_resolution_goes_on) {
  with_hook();
  hook->answer = scripted_hook::mode::silent;
  auto waits = ring(2);
  advance(std::chrono::milliseconds{1'000});
  BOOST_TEST(failed_one(waits) == -1);
  advance(std::chrono::milliseconds{2'000});
  BOOST_TEST(failed_one(waits) == 1);
  auto resolved = last_event(event_type::deadlock_resolved);
  BOOST_TEST(resolved->deadlock.reason.find("timed out") != std::string::npos);
  auto counters = send(detect_request{"default"})->replies.front()
                    .deadlock_counters;
  BOOST_TEST(counters.hook_timeouts == 1u);
}

BOOST_AUTO_TEST_CASE(extension_is_capped) {
  with_hook([](engine_config& settings) {
    settings.deadlock.max_extension = std::chrono::milliseconds{3'000};
  });
  hook->answer = scripted_hook::mode::extend;
  auto waits = ring(2);
  advance(std::chrono::milliseconds{1'000});

  // The hook asked for 5 s more: it gets the 2 s hook timeout plus the
  // 3 s cap.
  advance(std::chrono::milliseconds{4'900});
  BOOST_TEST(failed_one(waits) == -1);
  advance(std::chrono::milliseconds{200});
  BOOST_TEST(failed_one(waits) == 1);
}

BOOST_AUTO_TEST_CASE(throwing_hook_counts_and_resolution_goes_on) {
  with_hook();
  hook->answer = scripted_hook::mode::throws;
  auto waits = ring(2);
  advance(std::chrono::milliseconds{1'000});
  BOOST_TEST(failed_one(waits) == 1);
  auto counters = send(detect_request{"default"})->replies.front()
                    .deadlock_counters;
  BOOST_TEST(counters.hook_errors == 1u);
}

BOOST_AUTO_TEST_CASE(plugin_policy_picks_the_victim) {
  with_hook([](engine_config& settings) {
    settings.deadlock.policy = victim_policy::plugin;
    settings.deadlock.policy_plugin = "script";
  });
  hook->victim = "o0";
  auto waits = ring(3);
  advance(std::chrono::milliseconds{1'000});
  BOOST_TEST(failed_one(waits) == 0);
  BOOST_TEST(last_event(event_type::deadlock_resolved)->deadlock.policy
             == "plugin:script");
}

BOOST_AUTO_TEST_CASE(plugin_policy_falls_back_on_a_stranger) {
  with_hook([](engine_config& settings) {
    settings.deadlock.policy = victim_policy::plugin;
    settings.deadlock.policy_plugin = "script";
    settings.deadlock.fallback = victim_policy::youngest;
  });
  hook->victim = "nobody";
  auto waits = ring(3);
  advance(std::chrono::milliseconds{1'000});
  BOOST_TEST(failed_one(waits) == 2);
  BOOST_TEST(last_event(event_type::deadlock_resolved)->deadlock.policy
             == "youngest");
}

BOOST_AUTO_TEST_CASE(cycle_that_dissolves_is_not_resolved) {
  with_hook();
  hook->answer = scripted_hook::mode::silent;
  auto waits = ring(2);
  advance(std::chrono::milliseconds{1'000});

  // o0 gives up before the hook answers, which ends the deadlock at once.
  send(release_owner_request{"default", "o0"});
  auto resolved = last_event(event_type::deadlock_resolved);
  BOOST_REQUIRE(resolved != nullptr);
  BOOST_TEST(resolved->deadlock.outcome == "dissolved");
  hook->pending->approve();
  coordinator->run();
  BOOST_TEST(count_events(event_type::deadlock_resolved) == 1u);
  BOOST_TEST(lock_of(waits[1]).owner == "o1");
}

BOOST_AUTO_TEST_SUITE_END()
