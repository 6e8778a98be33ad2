#include "actors/resource_state.hpp"

#include <boost/test/unit_test.hpp>

#include <string>

using namespace holdfast;

namespace {

constexpr int64_t start_ms = 1'000'000;
constexpr int64_t default_ttl_ms = 60'000;

struct rules_fixture {
  uint64_t ids = 0;
  resource_state rules{resource_key{"default", "network", "prod"}, 0,
                       default_ttl_ms,
                       [this] { return "lock-" + std::to_string(++ids); }};

  static acquire_request request(std::string owner, int64_t wait_ms = 0,
                                 priority level = priority::medium) {
    acquire_request result;
    result.key = {"default", "network", "prod"};
    result.owner = std::move(owner);
    result.wait_ms = wait_ms;
    result.level = level;
    return result;
  }
};

using status = resource_state::acquire_status;

} // namespace

BOOST_FIXTURE_TEST_SUITE(resource_state_rules, rules_fixture)

BOOST_AUTO_TEST_CASE(free_resource_grants_first_token) {
  auto outcome = rules.acquire(request("pr-1"), 1, start_ms);
  BOOST_TEST(static_cast<int>(outcome.status)
             == static_cast<int>(status::granted));
  BOOST_TEST(outcome.record.token == 1u);
  BOOST_TEST(outcome.record.lock_id == "lock-1");
  BOOST_TEST(outcome.record.user == "pr-1");
  BOOST_TEST(outcome.record.expires_at_ms == start_ms + default_ttl_ms);
}

BOOST_AUTO_TEST_CASE(same_owner_reenters_with_refreshed_lease) {
  rules.acquire(request("pr-1"), 1, start_ms);
  auto again = request("pr-1");
  again.ttl_ms = 10'000;
  auto outcome = rules.acquire(again, 2, start_ms + 500);
  BOOST_TEST(static_cast<int>(outcome.status)
             == static_cast<int>(status::reentered));
  BOOST_TEST(outcome.record.lock_id == "lock-1");
  BOOST_TEST(outcome.record.token == 1u);
  BOOST_TEST(outcome.record.expires_at_ms == start_ms + 10'500);
}

BOOST_AUTO_TEST_CASE(try_lock_on_held_resource_names_holder) {
  rules.acquire(request("pr-1"), 1, start_ms);
  auto outcome = rules.acquire(request("pr-2"), 2, start_ms);
  BOOST_TEST(static_cast<int>(outcome.status)
             == static_cast<int>(status::conflict));
  BOOST_TEST(outcome.record.owner == "pr-1");
  BOOST_TEST(rules.waiting() == 0u);
}

BOOST_AUTO_TEST_CASE(release_hands_off_by_priority_then_arrival) {
  rules.acquire(request("holder"), 1, start_ms);
  rules.acquire(request("low", 1000, priority::low), 2, start_ms);
  rules.acquire(request("high-a", 1000, priority::high), 3, start_ms);
  rules.acquire(request("high-b", 1000, priority::high), 4, start_ms);
  BOOST_TEST(rules.waiting() == 3u);

  std::vector<std::string> order;
  auto lock_id = rules.holder()->lock_id;
  for (int i = 0; i < 3; ++i) {
    auto outcome = rules.release(lock_id, 0, start_ms + i);
    BOOST_TEST(static_cast<int>(outcome.error)
               == static_cast<int>(lock_errc::none));
    BOOST_REQUIRE(outcome.handoffs.size() == 1u);
    order.push_back(outcome.handoffs.front().record.owner);
    lock_id = outcome.handoffs.front().record.lock_id;
  }
  std::vector<std::string> expected{"high-a", "high-b", "low"};
  BOOST_TEST(order == expected, boost::test_tools::per_element());
  BOOST_TEST(rules.holder()->token == 4u);
}

BOOST_AUTO_TEST_CASE(release_checks_lock_id_and_token) {
  auto granted = rules.acquire(request("pr-1"), 1, start_ms).record;
  auto unknown = rules.release("lock-x", 0, start_ms);
  BOOST_TEST(static_cast<int>(unknown.error)
             == static_cast<int>(lock_errc::not_found));
  auto stale = rules.release(granted.lock_id, granted.token + 1, start_ms);
  BOOST_TEST(static_cast<int>(stale.error)
             == static_cast<int>(lock_errc::not_owner));
  BOOST_TEST(rules.holder().has_value());
  auto good = rules.release(granted.lock_id, granted.token, start_ms);
  BOOST_TEST(static_cast<int>(good.error) == static_cast<int>(lock_errc::none));
  BOOST_TEST(good.ended.lock_id == granted.lock_id);
  BOOST_TEST(rules.idle());
}

BOOST_AUTO_TEST_CASE(lease_expiry_hands_off_to_waiter) {
  rules.acquire(request("pr-1"), 1, start_ms);
  rules.acquire(request("pr-2", 120'000), 2, start_ms);
  auto early = rules.expire_if_due(start_ms + default_ttl_ms - 1);
  BOOST_TEST(early.ended.empty());

  auto due = rules.expire_if_due(start_ms + default_ttl_ms);
  BOOST_TEST(due.ended.owner == "pr-1");
  BOOST_REQUIRE(due.handoffs.size() == 1u);
  BOOST_TEST(due.handoffs.front().waiter_id == 2u);
  BOOST_TEST(due.handoffs.front().record.token == 2u);
}

BOOST_AUTO_TEST_CASE(release_after_lease_ran_out_reports_expiry) {
  auto granted = rules.acquire(request("pr-1"), 1, start_ms).record;
  auto outcome
      = rules.release(granted.lock_id, 0, start_ms + default_ttl_ms + 1);
  BOOST_TEST(static_cast<int>(outcome.error)
             == static_cast<int>(lock_errc::lease_expired));
  BOOST_TEST(outcome.ended.lock_id == granted.lock_id);
  BOOST_TEST(rules.idle());
}

BOOST_AUTO_TEST_CASE(renew_extends_lease_and_keeps_token) {
  auto granted = rules.acquire(request("pr-1"), 1, start_ms).record;
  resource_state::transfer_outcome expiry;
  auto [error, record] = rules.renew(granted.lock_id, granted.token, 5'000,
                                     start_ms + 1'000, expiry);
  BOOST_TEST(static_cast<int>(error) == static_cast<int>(lock_errc::none));
  BOOST_TEST(record.token == granted.token);
  BOOST_TEST(record.expires_at_ms == start_ms + 6'000);
  BOOST_TEST(record.ttl_ms == 5'000);
}

BOOST_AUTO_TEST_CASE(renew_after_expiry_is_rejected) {
  auto granted = rules.acquire(request("pr-1"), 1, start_ms).record;
  resource_state::transfer_outcome expiry;
  auto result
      = rules.renew(granted.lock_id, 0, 0, start_ms + default_ttl_ms, expiry);
  BOOST_TEST(static_cast<int>(result.first)
             == static_cast<int>(lock_errc::lease_expired));
  BOOST_TEST(expiry.ended.lock_id == granted.lock_id);
  BOOST_TEST(!rules.holder().has_value());
}

BOOST_AUTO_TEST_CASE(waiter_removal_on_timeout) {
  rules.acquire(request("pr-1"), 1, start_ms);
  rules.acquire(request("pr-2", 1000), 2, start_ms);
  auto removed = rules.remove_waiter(2);
  BOOST_REQUIRE(removed.has_value());
  BOOST_TEST(removed->request.owner == "pr-2");
  BOOST_TEST(!rules.remove_waiter(2).has_value());
  BOOST_TEST(rules.waiting() == 0u);
}

BOOST_AUTO_TEST_CASE(same_owner_waiters_share_handoff) {
  rules.acquire(request("pr-1"), 1, start_ms);
  rules.acquire(request("pr-2", 1000), 2, start_ms);
  rules.acquire(request("pr-3", 1000), 3, start_ms);
  rules.acquire(request("pr-2", 1000), 4, start_ms);
  auto outcome = rules.release(rules.holder()->lock_id, 0, start_ms);
  BOOST_REQUIRE(outcome.handoffs.size() == 2u);
  BOOST_TEST(outcome.handoffs[0].waiter_id == 2u);
  BOOST_TEST(outcome.handoffs[1].waiter_id == 4u);
  BOOST_TEST(outcome.handoffs[0].record.lock_id
             == outcome.handoffs[1].record.lock_id);
  BOOST_TEST(rules.waiting() == 1u);
}

BOOST_AUTO_TEST_CASE(remove_owner_releases_and_hands_off) {
  rules.acquire(request("pr-1"), 1, start_ms);
  rules.acquire(request("pr-1", 1000), 2, start_ms + 1);
  rules.acquire(request("pr-2", 1000), 3, start_ms);
  auto outcome = rules.remove_owner("pr-1", start_ms);
  BOOST_TEST(outcome.ended.owner == "pr-1");
  BOOST_TEST(outcome.cancelled.size() == 0u);
  BOOST_REQUIRE(outcome.handoffs.size() == 1u);
  BOOST_TEST(outcome.handoffs.front().record.owner == "pr-2");
}

BOOST_AUTO_TEST_CASE(remove_owner_cancels_waiters) {
  rules.acquire(request("pr-1"), 1, start_ms);
  rules.acquire(request("pr-2", 1000), 2, start_ms);
  auto outcome = rules.remove_owner("pr-2", start_ms);
  BOOST_TEST(outcome.ended.empty());
  BOOST_REQUIRE(outcome.cancelled.size() == 1u);
  BOOST_TEST(outcome.cancelled.front().id == 2u);
  BOOST_TEST(rules.holder()->owner == "pr-1");
}

BOOST_AUTO_TEST_CASE(tokens_continue_from_restored_counter) {
  resource_state restored{resource_key{"default", "network", "prod"}, 41,
                          default_ttl_ms, [] { return std::string{"x"}; }};
  lock_record holder;
  holder.lock_id = "recovered";
  holder.owner = "pr-1";
  holder.token = 57;
  holder.expires_at_ms = start_ms + 10;
  restored.restore_holder(holder);
  BOOST_TEST(restored.last_token() == 57u);
  auto outcome = restored.release("recovered", 57, start_ms);
  BOOST_TEST(static_cast<int>(outcome.error)
             == static_cast<int>(lock_errc::none));
  auto next = restored.acquire(request("pr-2"), 1, start_ms);
  BOOST_TEST(next.record.token == 58u);
}

BOOST_AUTO_TEST_CASE(revoke_hands_on_only_matching_token) {
  auto granted = rules.acquire(request("pr-1"), 1, start_ms).record;
  rules.acquire(request("pr-2", 1000), 2, start_ms);
  auto wrong = rules.revoke(granted.token + 5, start_ms);
  BOOST_TEST(wrong.ended.empty());
  auto right = rules.revoke(granted.token, start_ms);
  BOOST_TEST(right.ended.lock_id == granted.lock_id);
  BOOST_REQUIRE(right.handoffs.size() == 1u);
  BOOST_TEST(right.handoffs.front().record.token == granted.token + 1);
}

BOOST_AUTO_TEST_CASE(aging_raises_old_waiter_above_new_high) {
  priority_settings settings;
  settings.aging_interval_ms = 1'000;
  resource_state aged{resource_key{"default", "network", "prod"}, 0,
                      default_ttl_ms, [this] { return "lock-" + std::to_string(++ids); },
                      std::make_shared<configured_priority_calculator>(
                        settings)};
  aged.acquire(request("holder"), 1, start_ms);
  aged.acquire(request("old-low", 60'000, priority::very_low), 2, start_ms);
  aged.acquire(request("new-high", 60'000, priority::high), 3,
               start_ms + 2'999);

  // Both age, but aging stops at critical: after 4 s both rank critical
  // and the earlier arrival wins.
  auto early = aged.acquire(request("probe", 60'000), 4, start_ms + 3'500);
  BOOST_TEST(early.position == 2u);
  auto outcome = aged.release(aged.holder()->lock_id, 0, start_ms + 4'000);
  BOOST_REQUIRE(outcome.handoffs.size() == 1u);
  BOOST_TEST(outcome.handoffs.front().record.owner == "old-low");
  BOOST_TEST(outcome.handoffs.front().waited_ms == 4'000);
}

BOOST_AUTO_TEST_CASE(without_aging_high_goes_first) {
  rules.acquire(request("holder"), 1, start_ms);
  rules.acquire(request("old-low", 60'000, priority::very_low), 2, start_ms);
  rules.acquire(request("new-high", 60'000, priority::high), 3,
                start_ms + 1'000'000);
  auto outcome = rules.release(rules.holder()->lock_id, 0,
                               start_ms + 2'000'000);
  BOOST_REQUIRE(outcome.handoffs.size() == 1u);
  BOOST_TEST(outcome.handoffs.front().record.owner == "new-high");
}

BOOST_AUTO_TEST_CASE(reservation_blocks_but_is_not_held) {
  auto reserved = rules.reserve(request("bulk"), 7, 1, start_ms);
  BOOST_TEST(static_cast<int>(reserved.status)
             == static_cast<int>(status::granted));
  BOOST_TEST(rules.held() == nullptr);
  BOOST_TEST(rules.holder().has_value());

  auto other = rules.acquire(request("pr-2"), 2, start_ms);
  BOOST_TEST(static_cast<int>(other.status)
             == static_cast<int>(status::conflict));
  BOOST_TEST(other.reserved);
  BOOST_TEST(other.record.empty());

  auto release = rules.release(reserved.record.lock_id, 0, start_ms);
  BOOST_TEST(static_cast<int>(release.error)
             == static_cast<int>(lock_errc::not_found));

  lock_record persisted = reserved.record;
  persisted.expires_at_ms = start_ms + 5'000;
  BOOST_TEST(rules.activate(7, persisted));
  BOOST_REQUIRE(rules.held() != nullptr);
  BOOST_TEST(rules.held()->expires_at_ms == start_ms + 5'000);
  BOOST_TEST(!rules.activate(7, persisted));
}

BOOST_AUTO_TEST_CASE(unreserve_hands_off_to_waiter) {
  auto reserved = rules.reserve(request("bulk"), 7, 1, start_ms);
  rules.acquire(request("pr-2", 60'000), 2, start_ms);
  auto outcome = rules.unreserve(7, start_ms + 10);
  BOOST_TEST(outcome.ended.empty());
  BOOST_REQUIRE(outcome.handoffs.size() == 1u);
  BOOST_TEST(outcome.handoffs.front().record.owner == "pr-2");
  BOOST_TEST(outcome.handoffs.front().record.token
             == reserved.record.token + 1);
}

BOOST_AUTO_TEST_CASE(queued_reservation_becomes_reservation) {
  auto held = rules.acquire(request("pr-1"), 1, start_ms).record;
  auto queued = rules.reserve(request("bulk", 60'000), 9, 2, start_ms);
  BOOST_TEST(static_cast<int>(queued.status)
             == static_cast<int>(status::queued));
  auto outcome = rules.release(held.lock_id, 0, start_ms);
  BOOST_REQUIRE(outcome.handoffs.size() == 1u);
  BOOST_TEST(outcome.handoffs.front().bulk_id == 9u);
  BOOST_TEST(rules.held() == nullptr);
  auto cancelled = rules.unreserve(9, start_ms);
  BOOST_TEST(rules.idle());
  BOOST_TEST(cancelled.handoffs.empty());
}

BOOST_AUTO_TEST_CASE(reservation_of_held_lock_is_reentered) {
  auto held = rules.acquire(request("pr-1"), 1, start_ms).record;
  auto again = rules.reserve(request("pr-1"), 3, 2, start_ms);
  BOOST_TEST(static_cast<int>(again.status)
             == static_cast<int>(status::reentered));
  BOOST_TEST(again.record.lock_id == held.lock_id);
  auto untouched = rules.unreserve(3, start_ms);
  BOOST_TEST(untouched.handoffs.empty());
  BOOST_REQUIRE(rules.held() != nullptr);
  BOOST_TEST(rules.held()->lock_id == held.lock_id);
}

BOOST_AUTO_TEST_CASE(depth_counts_by_priority) {
  rules.acquire(request("holder"), 1, start_ms);
  rules.acquire(request("a", 1000, priority::high), 2, start_ms);
  rules.acquire(request("b", 1000, priority::high), 3, start_ms);
  rules.acquire(request("c", 1000, priority::very_low), 4, start_ms);
  auto depth = rules.depth_by_priority();
  BOOST_REQUIRE(depth.size() == 5u);
  BOOST_TEST(depth[0] == 1u);
  BOOST_TEST(depth[3] == 2u);
  BOOST_TEST(depth[2] == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
