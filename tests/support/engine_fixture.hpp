#pragma once

// Fixture for deterministic engine tests: CAF's test coordinator runs every
// actor on the test thread, the wall clock is a variable, and time advances
// only when a test calls `advance`.

#include <boost/test/unit_test.hpp>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <spdlog/spdlog.h>

#include "actors/engine.hpp"
#include "actors/memory_store.hpp"
#include "messages/registration.hpp"

namespace holdfast::test {

using namespace std::chrono_literals;


struct recording_sink : reply_sink {
  std::vector<lock_reply> replies;

  void deliver(lock_reply reply) override {
    replies.push_back(std::move(reply));
  }
};

using sink_ptr = std::shared_ptr<recording_sink>;

struct engine_fixture {
  caf::actor_system_config config;
  std::unique_ptr<caf::actor_system> system;
  caf::scheduler::test_coordinator* coordinator = nullptr;
  memory_store store;
  int64_t now = 1'700'000'000'000;
  engine_handles engine;
  caf::actor recorder;
  std::shared_ptr<std::vector<lock_event>> events
      = std::make_shared<std::vector<lock_event>>();

  engine_fixture() {
    spdlog::set_level(spdlog::level::warn);
    register_messages(config);
    config.set("scheduler.policy", caf::atom("testing"));
    config.set("logger.file-verbosity", caf::atom("quiet"));
    system = std::make_unique<caf::actor_system>(config);
    coordinator
        = &dynamic_cast<caf::scheduler::test_coordinator&>(system->scheduler());
    start();
  }

  ~engine_fixture() {
    stop();
  }

  /// Adjusts the engine settings before `start`.
  std::function<void(engine_config&)> configure;

  /// Restarts the engine on the same store with adjusted settings.
  void restart_with(std::function<void(engine_config&)> adjust) {
    stop();
    configure = std::move(adjust);
    events->clear();
    start();
  }

  void start() {
    engine_config settings;
    settings.now_ms = [this] { return now; };
    settings.idle_retire_after = 10s;
    settings.limits.default_ttl_ms = 60'000;
    if (configure)
      configure(settings);
    engine = start_engine(*system, store, settings);
    recorder = system->spawn([log = events](caf::event_based_actor*) {
      return caf::behavior{
          [log](lock_event& event) { log->push_back(std::move(event)); },
      };
    });
    caf::anon_send(engine.broker, subscribe_atom::value, event_filter{},
                   recorder);
    coordinator->run();
  }

  void stop() {
    caf::anon_send_exit(engine.scheduler, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(engine.broker, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(recorder, caf::exit_reason::user_shutdown);
    coordinator->run();
  }

  void advance(std::chrono::milliseconds step) {
    now += step.count();
    coordinator->advance_time(step);
    coordinator->run();
  }

  template <class Request>
  sink_ptr send(Request request) {
    auto sink = std::make_shared<recording_sink>();
    caf::anon_send(engine.scheduler, std::move(request), reply_sink_ptr{sink});
    coordinator->run();
    return sink;
  }

  static acquire_request acquire(std::string owner, int64_t wait_ms = 0) {
    acquire_request request;
    request.key = {"default", "network", "prod"};
    request.owner = std::move(owner);
    request.wait_ms = wait_ms;
    request.metadata = {{"pr", "17"}};
    return request;
  }

  static release_request release(const lock_record& record) {
    return {record.key.tenant, record.lock_id, record.token};
  }

  size_t count_events(event_type type) const {
    size_t result = 0;
    for (auto& event : *events)
      if (event.type == type)
        ++result;
    return result;
  }
};

inline lock_errc code_of(const sink_ptr& sink) {
  BOOST_REQUIRE(sink->replies.size() == 1u);
  return sink->replies.front().error.code;
}

inline const lock_record& lock_of(const sink_ptr& sink) {
  BOOST_REQUIRE(sink->replies.size() == 1u);
  BOOST_REQUIRE(sink->replies.front().ok());
  return sink->replies.front().lock;
}

inline bool is(lock_errc actual, lock_errc expected) {
  return actual == expected;
}


} // namespace holdfast::test
