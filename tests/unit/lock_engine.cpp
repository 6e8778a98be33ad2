// Deterministic tests of the scheduler, lock actors and event broker: CAF's
// test coordinator runs every actor on this thread and time advances only
// when a test advances it.

#include "tests/support/engine_fixture.hpp"

using namespace holdfast;
using namespace holdfast::test;



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
