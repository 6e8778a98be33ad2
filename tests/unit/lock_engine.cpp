// Deterministic tests of the scheduler, lock actors and event broker: CAF's
// test coordinator runs every actor on this thread and time advances only
// when a test says so.

#include "actors/engine.hpp"

#include <boost/test/unit_test.hpp>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <spdlog/spdlog.h>

#include "actors/memory_store.hpp"
#include "messages/registration.hpp"

using namespace holdfast;
using namespace std::chrono_literals;

namespace {

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

  void start() {
    engine_config settings;
    settings.now_ms = [this] { return now; };
    settings.idle_retire_after = 10s;
    settings.limits.default_ttl_ms = 60'000;
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

lock_errc code_of(const sink_ptr& sink) {
  BOOST_REQUIRE(sink->replies.size() == 1u);
  return sink->replies.front().error.code;
}

const lock_record& lock_of(const sink_ptr& sink) {
  BOOST_REQUIRE(sink->replies.size() == 1u);
  BOOST_REQUIRE(sink->replies.front().ok());
  return sink->replies.front().lock;
}

bool is(lock_errc actual, lock_errc expected) {
  return actual == expected;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(lock_engine, engine_fixture)

BOOST_AUTO_TEST_CASE(acquire_then_release) {
  auto granted = send(acquire("pr-1"));
  auto record = lock_of(granted);
  BOOST_TEST(record.token == 1u);
  BOOST_TEST(record.metadata.at("pr") == "17");
  BOOST_TEST(count_events(event_type::lock_acquired) == 1u);
  BOOST_TEST(events->front().record.lock_id.empty());
  BOOST_TEST(events->front().record.token == record.token);

  auto released = send(release(record));
  BOOST_TEST(lock_of(released).lock_id == record.lock_id);
  BOOST_TEST(count_events(event_type::lock_released) == 1u);
  BOOST_TEST(store.load().locks.empty());
}

BOOST_AUTO_TEST_CASE(try_lock_conflict_names_holder) {
  send(acquire("pr-1"));
  auto conflict = send(acquire("pr-2"));
  BOOST_TEST(is(code_of(conflict), lock_errc::conflict));
  BOOST_TEST(conflict->replies.front().error.holder.owner == "pr-1");
  BOOST_TEST(conflict->replies.front().error.holder.lock_id.empty());
}

BOOST_AUTO_TEST_CASE(invalid_request_names_field) {
  auto request = acquire("pr-1");
  request.key.workspace = "has space";
  auto rejected = send(request);
  BOOST_TEST(is(code_of(rejected), lock_errc::invalid_request));
  BOOST_TEST(rejected->replies.front().error.field == "workspace");
}

BOOST_AUTO_TEST_CASE(waiter_granted_on_release) {
  auto first = lock_of(send(acquire("pr-1")));
  auto waiter = send(acquire("pr-2", 30'000));
  BOOST_TEST(waiter->replies.empty());
  BOOST_TEST(count_events(event_type::lock_queued) == 1u);

  send(release(first));
  auto second = lock_of(waiter);
  BOOST_TEST(second.owner == "pr-2");
  BOOST_TEST(second.token == first.token + 1);
}

BOOST_AUTO_TEST_CASE(waiter_times_out) {
  send(acquire("pr-1"));
  auto waiter = send(acquire("pr-2", 5'000));
  advance(4'999ms);
  BOOST_TEST(waiter->replies.empty());
  advance(1ms);
  BOOST_TEST(is(code_of(waiter), lock_errc::timeout));
  BOOST_TEST(count_events(event_type::lock_wait_timeout) == 1u);
}

BOOST_AUTO_TEST_CASE(lease_expiry_hands_lock_to_waiter) {
  auto first = lock_of(send(acquire("pr-1")));
  auto waiter = send(acquire("pr-2", 120'000));
  advance(59'999ms);
  BOOST_TEST(waiter->replies.empty());
  advance(1ms);
  BOOST_TEST(lock_of(waiter).owner == "pr-2");
  BOOST_TEST(count_events(event_type::lock_expired) == 1u);

  auto late = send(release(first));
  BOOST_TEST(is(code_of(late), lock_errc::lease_expired));
}

BOOST_AUTO_TEST_CASE(renew_keeps_lock_past_ttl) {
  auto record = lock_of(send(acquire("pr-1")));
  advance(50'000ms);
  renew_request renew{record.key.tenant, record.lock_id, record.token, 0};
  auto renewed = lock_of(send(renew));
  BOOST_TEST(renewed.expires_at_ms == now + 60'000);
  advance(30'000ms);
  BOOST_TEST(count_events(event_type::lock_expired) == 0u);
  advance(30'000ms);
  BOOST_TEST(count_events(event_type::lock_expired) == 1u);
}

BOOST_AUTO_TEST_CASE(stale_token_is_rejected) {
  auto record = lock_of(send(acquire("pr-1")));
  auto stale = release(record);
  stale.token = record.token + 7;
  BOOST_TEST(is(code_of(send(stale)), lock_errc::not_owner));
  auto unknown = release(record);
  unknown.lock_id = "0123";
  BOOST_TEST(is(code_of(send(unknown)), lock_errc::not_found));
}

BOOST_AUTO_TEST_CASE(get_and_list_report_holders) {
  auto record = lock_of(send(acquire("pr-1")));
  auto other = acquire("pr-2");
  other.key.workspace = "staging";
  other.metadata = {{"pr", "18"}};
  send(other);

  auto got = send(get_request{record.key});
  BOOST_TEST(lock_of(got).token == record.token);
  BOOST_TEST(lock_of(got).lock_id.empty());

  list_request all;
  all.tenant = "default";
  auto listed = send(all);
  BOOST_TEST(listed->replies.front().locks.size() == 2u);

  list_request by_meta = all;
  by_meta.meta_key = "pr";
  by_meta.meta_value = "18";
  auto filtered = send(by_meta);
  BOOST_REQUIRE(filtered->replies.front().locks.size() == 1u);
  BOOST_TEST(filtered->replies.front().locks.front().owner == "pr-2");

  get_request missing{{"default", "network", "none"}};
  BOOST_TEST(is(code_of(send(missing)), lock_errc::not_found));
}

BOOST_AUTO_TEST_CASE(release_owner_frees_everything) {
  send(acquire("pr-1"));
  auto other = acquire("pr-1");
  other.key.workspace = "staging";
  send(other);
  auto blocked = acquire("pr-1", 60'000);
  blocked.key.workspace = "dev";
  send(acquire("pr-9"));
  auto dev_holder = acquire("pr-9");
  dev_holder.key.workspace = "dev";
  send(dev_holder);
  auto waiter = send(blocked);

  auto released = send(release_owner_request{"default", "pr-1"});
  BOOST_REQUIRE(released->replies.size() == 1u);
  BOOST_TEST(released->replies.front().released == 2u);
  BOOST_TEST(is(code_of(waiter), lock_errc::owner_closed));

  list_request by_owner;
  by_owner.tenant = "default";
  by_owner.owner = "pr-1";
  BOOST_TEST(send(by_owner)->replies.front().locks.empty());

  auto again = send(release_owner_request{"default", "pr-1"});
  BOOST_TEST(again->replies.front().released == 0u);
}

BOOST_AUTO_TEST_CASE(restart_recovers_locks_and_tokens) {
  auto record = lock_of(send(acquire("pr-1")));
  auto other = acquire("pr-2");
  other.key.workspace = "staging";
  auto released = lock_of(send(other));
  send(release(released));
  stop();
  events->clear();

  start();
  auto got = send(get_request{record.key});
  BOOST_TEST((lock_of(got) == without_lock_id(record)));
  auto next = acquire("pr-3");
  next.key.workspace = "staging";
  BOOST_TEST(lock_of(send(next)).token == released.token + 1);
  BOOST_TEST(lock_of(send(release(record))).lock_id == record.lock_id);
}

BOOST_AUTO_TEST_CASE(idle_actor_retires_and_tokens_continue) {
  auto first = lock_of(send(acquire("pr-1")));
  send(release(first));
  advance(10'000ms);
  advance(1ms);
  auto second = lock_of(send(acquire("pr-2")));
  BOOST_TEST(second.token == first.token + 1);
}

BOOST_AUTO_TEST_SUITE_END()
