// Deterministic tests of priorities, aging, asynchronous tickets, bulk
// acquisition, queue limits, owner close and statistics in the engine.

#include "tests/support/engine_fixture.hpp"

using namespace holdfast;
using namespace holdfast::test;

namespace {

/// Engine fixture with helpers for queueing requests.
struct queueing_fixture : engine_fixture {
  acquire_request on(std::string workspace, std::string owner,
                     int64_t wait_ms = 0, priority level = priority::medium) {
    auto request = acquire(std::move(owner), wait_ms);
    request.key.workspace = std::move(workspace);
    request.level = level;
    return request;
  }

  std::pair<sink_ptr, sink_ptr> send_async(acquire_request request) {
    auto reply = std::make_shared<recording_sink>();
    auto notify = std::make_shared<recording_sink>();
    acquire_async_request async{std::move(request), "inbox.test"};
    caf::anon_send(engine.scheduler, std::move(async), reply_sink_ptr{reply},
                   reply_sink_ptr{notify});
    coordinator->run();
    return {reply, notify};
  }

  bulk_acquire_request bulk(std::vector<std::string> workspaces,
                            std::string owner, int64_t wait_ms) {
    bulk_acquire_request request;
    request.tenant = "default";
    request.wait_ms = wait_ms;
    for (auto& workspace : workspaces)
      request.locks.push_back(on(workspace, owner));
    return request;
  }

  size_t held_by(const std::string& owner) {
    list_request request;
    request.tenant = "default";
    request.owner = owner;
    return send(request)->replies.front().locks.size();
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(lock_engine_queueing, queueing_fixture)

BOOST_AUTO_TEST_CASE(priority_then_arrival_order) {
  auto holder = lock_of(send(acquire("holder")));
  auto low = send(on("prod", "low", 60'000, priority::low));
  auto high_a = send(on("prod", "high-a", 60'000, priority::high));
  auto high_b = send(on("prod", "high-b", 60'000, priority::high));

  send(release(holder));
  BOOST_TEST(lock_of(high_a).owner == "high-a");
  BOOST_TEST(high_b->replies.empty());
  send(release(lock_of(high_a)));
  BOOST_TEST(lock_of(high_b).owner == "high-b");
  BOOST_TEST(low->replies.empty());
  send(release(lock_of(high_b)));
  BOOST_TEST(lock_of(low).owner == "low");
}

BOOST_AUTO_TEST_CASE(aging_lets_very_low_through) {
  restart_with([](engine_config& settings) {
    settings.priorities.aging_interval_ms = 1'000;
  });

  // A steady stream of high requests: each holder releases after 500 ms
  // while a new high request arrives. Without aging the very_low waiter
  // would never be served.
  auto holder = lock_of(send(on("prod", "high-0", 0, priority::high)));
  auto starving = send(on("prod", "very-low", 120'000, priority::very_low));
  int served_before = 0;
  for (int i = 1; i <= 20 && starving->replies.empty(); ++i) {
    auto next = send(on("prod", "high-" + std::to_string(i), 120'000,
                        priority::high));
    advance(500ms);
    send(release(holder));
    if (!starving->replies.empty())
      break;
    ++served_before;
    holder = lock_of(next);
  }
  BOOST_REQUIRE(starving->replies.size() == 1u);
  BOOST_TEST(lock_of(starving).owner == "very-low");
  BOOST_TEST(served_before >= 1);
  BOOST_TEST(served_before <= 8);
}

BOOST_AUTO_TEST_CASE(emergency_user_jumps_queue) {
  restart_with([](engine_config& settings) {
    settings.priorities.emergency_users = {"oncall"};
  });
  auto holder = lock_of(send(acquire("holder")));
  auto critical = send(on("prod", "pr-1", 60'000, priority::critical));
  auto request = on("prod", "pr-2", 60'000, priority::very_low);
  request.user = "oncall";
  auto emergency = send(request);
  send(release(holder));
  BOOST_TEST(lock_of(emergency).owner == "pr-2");
  BOOST_TEST(critical->replies.empty());
}

BOOST_AUTO_TEST_CASE(async_ticket_granted_later) {
  auto holder = lock_of(send(acquire("holder")));
  auto [reply, notify] = send_async(on("prod", "pr-1", 60'000));
  BOOST_REQUIRE(reply->replies.size() == 1u);
  auto ticket = reply->replies.front().ticket;
  BOOST_TEST(!ticket.ticket_id.empty());
  BOOST_TEST(ticket.position == 0u);
  BOOST_TEST((ticket.state == ticket_state::pending));
  BOOST_TEST(notify->replies.empty());

  auto polled = send(ticket_request{"default", ticket.ticket_id});
  BOOST_TEST((polled->replies.front().ticket.state == ticket_state::pending));

  send(release(holder));
  BOOST_REQUIRE(notify->replies.size() == 1u);
  auto final_state = notify->replies.front().ticket;
  BOOST_TEST((final_state.state == ticket_state::granted));
  BOOST_TEST(final_state.lock.owner == "pr-1");
  BOOST_TEST(!final_state.lock.lock_id.empty());
  auto again = send(ticket_request{"default", ticket.ticket_id});
  BOOST_TEST((again->replies.front().ticket.state == ticket_state::granted));
}

BOOST_AUTO_TEST_CASE(async_queue_position_counts_waiters) {
  send(acquire("holder"));
  send(on("prod", "pr-1", 60'000));
  send(on("prod", "pr-2", 60'000));
  auto [reply, notify] = send_async(on("prod", "pr-3", 60'000));
  BOOST_TEST(reply->replies.front().ticket.position == 2u);
}

BOOST_AUTO_TEST_CASE(cancel_before_grant) {
  auto holder = lock_of(send(acquire("holder")));
  auto [reply, notify] = send_async(on("prod", "pr-1", 60'000));
  auto ticket_id = reply->replies.front().ticket.ticket_id;
  auto cancelled = send(cancel_request{"default", ticket_id});
  BOOST_TEST(
    (cancelled->replies.front().ticket.state == ticket_state::cancelled));
  BOOST_REQUIRE(notify->replies.size() == 1u);
  BOOST_TEST(
    (notify->replies.front().ticket.state == ticket_state::cancelled));
  BOOST_TEST(count_events(event_type::lock_cancelled) == 1u);

  send(release(holder));
  BOOST_TEST(held_by("pr-1") == 0u);
}

BOOST_AUTO_TEST_CASE(cancel_after_grant_releases) {
  auto [reply, notify] = send_async(on("prod", "pr-1", 60'000));
  BOOST_REQUIRE(notify->replies.size() == 1u);
  BOOST_TEST((notify->replies.front().ticket.state == ticket_state::granted));
  BOOST_TEST(held_by("pr-1") == 1u);

  auto ticket_id = reply->replies.front().ticket.ticket_id;
  auto cancelled = send(cancel_request{"default", ticket_id});
  BOOST_TEST(
    (cancelled->replies.front().ticket.state == ticket_state::cancelled));
  BOOST_TEST(held_by("pr-1") == 0u);
  auto unknown = send(cancel_request{"default", "nope"});
  BOOST_TEST(is(code_of(unknown), lock_errc::not_found));
}

BOOST_AUTO_TEST_CASE(async_ticket_times_out) {
  send(acquire("holder"));
  auto [reply, notify] = send_async(on("prod", "pr-1", 1'000));
  advance(1'000ms);
  BOOST_REQUIRE(notify->replies.size() == 1u);
  auto ticket = notify->replies.front().ticket;
  BOOST_TEST((ticket.state == ticket_state::failed));
  BOOST_TEST((ticket.error == lock_errc::timeout));
}

BOOST_AUTO_TEST_CASE(bulk_try_grants_all) {
  auto granted = send(bulk({"prod", "staging", "dev"}, "pr-1", 0));
  BOOST_REQUIRE(granted->replies.size() == 1u);
  auto& reply = granted->replies.front();
  BOOST_REQUIRE(reply.ok());
  BOOST_REQUIRE(reply.locks.size() == 3u);
  BOOST_TEST(reply.locks[0].key.workspace == "prod");
  BOOST_TEST(reply.locks[2].key.workspace == "dev");
  BOOST_TEST(!reply.locks[1].lock_id.empty());
  BOOST_TEST(held_by("pr-1") == 3u);
  BOOST_TEST(store.load().locks.size() == 3u);

  bulk_release_request release_all;
  release_all.tenant = "default";
  for (auto& lock : reply.locks)
    release_all.lock_ids.push_back(lock.lock_id);
  release_all.lock_ids.push_back("unknown");
  auto released = send(release_all);
  auto& outcomes = released->replies.front().outcomes;
  BOOST_REQUIRE(outcomes.size() == 4u);
  BOOST_TEST(is(outcomes[0].code, lock_errc::none));
  BOOST_TEST(is(outcomes[3].code, lock_errc::not_found));
  BOOST_TEST(held_by("pr-1") == 0u);
}

BOOST_AUTO_TEST_CASE(bulk_try_conflict_names_holders_and_holds_nothing) {
  send(on("staging", "other"));
  send(on("dev", "third"));
  auto failed = send(bulk({"prod", "staging", "dev"}, "pr-1", 0));
  BOOST_TEST(is(code_of(failed), lock_errc::conflict));
  auto& holders = failed->replies.front().error.holders;
  BOOST_REQUIRE(holders.size() == 2u);
  BOOST_TEST(held_by("pr-1") == 0u);

  // The reservation of prod is gone: another owner can take it.
  BOOST_TEST(lock_of(send(on("prod", "pr-2"))).owner == "pr-2");
}

BOOST_AUTO_TEST_CASE(bulk_waits_then_grants_atomically) {
  auto blocker = lock_of(send(on("staging", "other")));
  auto pending = send(bulk({"prod", "staging"}, "pr-1", 60'000));
  BOOST_TEST(pending->replies.empty());
  BOOST_TEST(held_by("pr-1") == 0u);
  auto try_prod = send(on("prod", "pr-3"));
  BOOST_TEST(is(code_of(try_prod), lock_errc::conflict));
  BOOST_TEST(try_prod->replies.front().error.holder.empty());

  send(release(blocker));
  BOOST_REQUIRE(pending->replies.size() == 1u);
  BOOST_TEST(pending->replies.front().ok());
  BOOST_TEST(held_by("pr-1") == 2u);
}

BOOST_AUTO_TEST_CASE(bulk_timeout_undoes_reservations) {
  send(on("staging", "other"));
  auto pending = send(bulk({"prod", "staging"}, "pr-1", 2'000));
  advance(2'000ms);
  BOOST_TEST(is(code_of(pending), lock_errc::timeout));
  BOOST_TEST(held_by("pr-1") == 0u);
  BOOST_TEST(lock_of(send(on("prod", "pr-2"))).owner == "pr-2");
}

BOOST_AUTO_TEST_CASE(opposite_bulks_do_not_deadlock) {
  auto first = send(bulk({"a", "b", "c"}, "pr-1", 60'000));
  auto second = send(bulk({"c", "b", "a"}, "pr-2", 60'000));
  BOOST_REQUIRE(first->replies.size() == 1u);
  BOOST_TEST(first->replies.front().ok());
  BOOST_TEST(second->replies.empty());
  bulk_release_request release_all;
  release_all.tenant = "default";
  for (auto& lock : first->replies.front().locks)
    release_all.lock_ids.push_back(lock.lock_id);
  send(release_all);
  BOOST_REQUIRE(second->replies.size() == 1u);
  BOOST_TEST(second->replies.front().ok());
  BOOST_TEST(held_by("pr-2") == 3u);
}

BOOST_AUTO_TEST_CASE(queue_full_per_resource) {
  restart_with([](engine_config& settings) {
    settings.max_queue_per_resource = 2;
  });
  send(acquire("holder"));
  send(on("prod", "pr-1", 60'000));
  send(on("prod", "pr-2", 60'000));
  auto rejected = send(on("prod", "pr-3", 60'000));
  BOOST_TEST(is(code_of(rejected), lock_errc::queue_full));
  BOOST_TEST(count_events(event_type::queue_overflow) == 1u);
}

BOOST_AUTO_TEST_CASE(owner_close_rejects_and_reopens) {
  send(on("prod", "pr-1"));
  auto waiting = send(on("staging", "pr-1", 60'000));
  send(on("dev", "other"));
  auto blocked = send(on("dev", "pr-1", 60'000));
  BOOST_TEST(waiting->replies.size() == 1u);

  auto closed = send(release_owner_request{"default", "pr-1"});
  BOOST_TEST(closed->replies.front().released == 2u);
  BOOST_TEST(is(code_of(blocked), lock_errc::owner_closed));
  BOOST_TEST(held_by("pr-1") == 0u);

  auto late = send(on("qa", "pr-1"));
  BOOST_TEST(is(code_of(late), lock_errc::owner_closed));
  BOOST_TEST(late->replies.front().error.field == "owner");
  auto late_bulk = send(bulk({"x", "y"}, "pr-1", 0));
  BOOST_TEST(is(code_of(late_bulk), lock_errc::owner_closed));

  stop();
  start();
  BOOST_TEST(is(code_of(send(on("qa", "pr-1"))), lock_errc::owner_closed));

  auto reopened = send(reopen_owner_request{"default", "pr-1"});
  BOOST_TEST(reopened->replies.front().ok());
  BOOST_TEST(lock_of(send(on("qa", "pr-1"))).owner == "pr-1");
}

BOOST_AUTO_TEST_CASE(owner_close_aborts_pending_bulk_and_tickets) {
  send(on("b", "other"));
  auto pending = send(bulk({"a", "b"}, "pr-1", 60'000));
  send(on("c", "other"));
  auto [reply, notify] = send_async(on("c", "pr-1", 60'000));
  send(release_owner_request{"default", "pr-1"});
  BOOST_TEST(is(code_of(pending), lock_errc::owner_closed));
  BOOST_REQUIRE(notify->replies.size() == 1u);
  BOOST_TEST(
    (notify->replies.front().ticket.state == ticket_state::cancelled));
  BOOST_TEST(held_by("pr-1") == 0u);
  BOOST_TEST(lock_of(send(on("a", "pr-2"))).owner == "pr-2");
}

BOOST_AUTO_TEST_CASE(stats_report_depth_and_waits) {
  auto holder = lock_of(send(acquire("holder")));
  send(on("prod", "pr-1", 60'000, priority::high));
  send(on("prod", "pr-2", 60'000, priority::low));
  auto stats = send(stats_request{"default"})->replies.front();
  BOOST_TEST(stats.stats.total_depth == 2u);
  BOOST_TEST(stats.stats.depth_by_priority[3] == 1u);
  BOOST_TEST(stats.stats.depth_by_priority[1] == 1u);
  BOOST_TEST(stats.stats.active_locks == 1u);
  BOOST_REQUIRE(stats.locks.size() == 1u);
  BOOST_TEST(stats.locks.front().owner == "holder");

  advance(400ms);
  send(release(holder));
  auto after = send(stats_request{"default"})->replies.front();
  BOOST_TEST(after.stats.total_grants == 2u);
  BOOST_TEST(after.stats.p99_wait_ms == 400);
  BOOST_TEST(after.stats.total_depth == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
