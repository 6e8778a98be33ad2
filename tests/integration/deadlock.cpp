// Deadlock detection through a real service on LMDB and a real NATS server.
// Each owner waits with a blocking acquire on its own connection. Cycles of
// owners are detected once their waits reach the deadlock timeout, or at
// once with the detect verb, and the victim's waiting request fails while
// the others keep waiting.

#include <boost/test/unit_test.hpp>

#include <condition_variable>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/deadlock_fixture.hpp"

using namespace holdfast;
using namespace holdfast::test;
using namespace std::chrono_literals;

namespace {

/// Upper bound of every wait for an expected outcome.
constexpr auto bounded_wait = 10s;

/// Deadlock timeout of most tests, short to keep the suite fast.
constexpr auto short_timeout = 250ms;

const std::string short_timeout_yaml = "deadlock:\n  timeout: 250ms\n";

std::string owner_name(size_t index) {
  return "o" + std::to_string(index);
}

std::string workspace_name(size_t index) {
  return "w" + std::to_string(index);
}

/// Checks that `cycle` is the ring that `start_ring(fixture, size)` builds: owner
/// o<k> waits for w<k+1>, which the next member o<k+1> holds. Cycles on
/// the wire carry no tenant, so only the project and workspace are checked.
void check_ring_cycle(const std::vector<cycle_member>& cycle, size_t size) {
  BOOST_TEST_REQUIRE(cycle.size() == size);
  std::set<std::string> owners;
  for (size_t i = 0; i < cycle.size(); ++i) {
    const auto& member = cycle[i];
    const auto& next = cycle[(i + 1) % cycle.size()];
    owners.insert(member.owner);
    auto index = std::stoul(member.owner.substr(1));
    BOOST_TEST_INFO("member " << i << ": " << member.owner);
    BOOST_TEST(member.key.project == "ci");
    BOOST_TEST_INFO("member " << i << ": " << member.owner);
    BOOST_TEST(member.key.workspace == workspace_name((index + 1) % size));
    BOOST_TEST_INFO("member " << i << ": " << member.owner);
    BOOST_TEST(next.owner == owner_name((index + 1) % size));
    BOOST_TEST_INFO("member " << i << ": " << member.owner);
    BOOST_TEST(member.locks_held == 1u);
    BOOST_TEST_INFO("member " << i << ": " << member.owner);
    BOOST_TEST((member.level == priority::medium));
    BOOST_TEST(member.waited_ms >= 0);
  }
  BOOST_TEST(owners.size() == size);
}

/// Makes o<i> hold w<i> and then wait for w<i+1>, the last owner waiting
/// for w0. Returns the waits in the order they began.
std::vector<background_acquire*> start_ring(deadlock_fixture& fixture,
                                            size_t size) {
  std::vector<std::string> owners;
  std::vector<std::string> workspaces;
  for (size_t i = 0; i < size; ++i) {
    owners.push_back(owner_name(i));
    workspaces.push_back(workspace_name(i));
  }
  return fixture.start_ring(owners, workspaces);
}

/// Forms a ring of `size` owners, checks that the youngest request fails
/// with the cycle, that both events arrive on their subjects, and that the
/// other owners keep waiting.
void check_ring_resolved(size_t size) {
  deadlock_fixture fixture{short_timeout_yaml};
  auto& client = *fixture.client;
  auto victim_owner = owner_name(size - 1);

  // The victim waits for w0, which names the subjects of both events.
  event_recorder detected_on_subject{
      client, {"default", "deadlock.detected", "ci", "w0"}};
  event_recorder resolved_on_subject{
      client, {"default", "deadlock.resolved", "ci", "w0"}};

  auto waits = start_ring(fixture, size);
  auto victim = waits.back();
  auto reply = victim->await(bounded_wait);
  BOOST_REQUIRE_MESSAGE(reply.has_value(), "the victim's acquire still waits");
  BOOST_TEST((reply->error.code == lock_errc::deadlock_victim));
  BOOST_TEST_MESSAGE("victim error: " << reply->error.message);
  check_ring_cycle(reply->error.cycle, size);
  BOOST_TEST(reply->error.message.find("'" + victim_owner + "'")
             != std::string::npos);
  // Its wait lasted the deadlock timeout, less a few milliseconds because
  // the service clock counts whole milliseconds.
  BOOST_TEST(victim->elapsed().count() >= short_timeout.count() - 10);

  auto detected
      = detected_on_subject.await(event_type::deadlock_detected, bounded_wait);
  BOOST_REQUIRE(detected.has_value());
  BOOST_TEST(detected->deadlock.victim == victim_owner);
  BOOST_TEST(detected->deadlock.policy == "youngest");
  BOOST_TEST(detected->deadlock.id > 0u);
  BOOST_TEST(detected->record.owner == victim_owner);
  BOOST_TEST((detected->record.key == ci_resource("w0")));
  BOOST_TEST(detected->record.lock_id.empty());
  check_ring_cycle(detected->deadlock.cycle, size);

  auto resolved
      = resolved_on_subject.await(event_type::deadlock_resolved, bounded_wait);
  BOOST_REQUIRE(resolved.has_value());
  BOOST_TEST(resolved->deadlock.id == detected->deadlock.id);
  BOOST_TEST(resolved->deadlock.victim == victim_owner);
  BOOST_TEST(resolved->deadlock.policy == "youngest");
  BOOST_TEST(resolved->deadlock.outcome == "victim_failed");
  BOOST_TEST(!resolved->deadlock.released_locks);
  check_ring_cycle(resolved->deadlock.cycle, size);

  // The others keep waiting, and nothing else is detected, for several
  // more timeouts.
  std::this_thread::sleep_for(4 * short_timeout);
  for (size_t i = 0; i + 1 < size; ++i) {
    BOOST_TEST_INFO("owner " << owner_name(i));
    BOOST_TEST(!waits[i]->finished());
  }
  for (const auto& event : fixture.events.events())
    BOOST_TEST_MESSAGE(
        to_string_view(event.type)
        << " id " << event.deadlock.id << " victim " << event.deadlock.victim
        << " outcome " << event.deadlock.outcome << " reason "
        << event.deadlock.reason << " at " << event.timestamp_ms);
  BOOST_TEST(fixture.events.count(event_type::deadlock_detected) == 1u);
  BOOST_TEST(fixture.events.count(event_type::deadlock_resolved) == 1u);
  // The victim keeps its lock, which o<size-2> still waits for.
  auto kept = client.get({ci_resource(workspace_name(size - 1))});
  BOOST_REQUIRE(kept.ok());
  BOOST_TEST(kept.lock.owner == victim_owner);
  BOOST_TEST(kept.waiting == 1u);

  auto counters = fixture.counters();
  BOOST_TEST(counters.detected == 1u);
  BOOST_TEST(counters.resolved == 1u);
  BOOST_TEST(counters.dissolved == 0u);
  BOOST_TEST(counters.vetoed == 0u);
}

} // namespace

BOOST_AUTO_TEST_SUITE(deadlock)

BOOST_AUTO_TEST_CASE(two_owner_cycle_resolved) {
  check_ring_resolved(2);
}

BOOST_AUTO_TEST_CASE(three_owner_cycle_resolved) {
  check_ring_resolved(3);
}

BOOST_AUTO_TEST_CASE(ten_owner_cycle_resolved) {
  check_ring_resolved(10);
}

BOOST_AUTO_TEST_CASE(async_victim_ticket_fails) {
  deadlock_fixture fixture{short_timeout_yaml};
  auto& client = *fixture.client;
  fixture.hold("w0", "o0");
  fixture.hold("w1", "o1");
  auto& o0 = fixture.start_wait("w1", "o0");

  // o1 waits through a ticket and is the youngest, so its ticket fails.
  std::mutex mutex;
  std::condition_variable arrived;
  std::optional<lock_reply> outcome;
  auto inbox = client.new_inbox();
  auto notifications
      = client.subscribe_replies(inbox, [&](const lock_reply& reply) {
          {
            std::lock_guard<std::mutex> guard{mutex};
            outcome = reply;
          }
          arrived.notify_all();
        });
  auto accepted = client.acquire_async(ci_request("w0", "o1", 30'000), inbox);
  BOOST_REQUIRE_MESSAGE(accepted.ok(), accepted.error.message);

  std::unique_lock<std::mutex> guard{mutex};
  BOOST_REQUIRE(arrived.wait_for(guard, bounded_wait,
                                 [&] { return outcome.has_value(); }));
  auto ticket = outcome->ticket;
  guard.unlock();
  notifications.reset();
  BOOST_TEST(ticket.ticket_id == accepted.ticket.ticket_id);
  BOOST_TEST((ticket.state == ticket_state::failed));
  BOOST_TEST((ticket.error == lock_errc::deadlock_victim));
  BOOST_TEST_MESSAGE("ticket error: " << ticket.error_message);
  BOOST_TEST(ticket.error_message.find("'o0' waits for ci/w1")
             != std::string::npos);
  BOOST_TEST(ticket.error_cycle.size() == 2u);

  auto polled = client.ticket({"default", ticket.ticket_id});
  BOOST_REQUIRE(polled.ok());
  BOOST_TEST((polled.ticket.state == ticket_state::failed));
  BOOST_TEST((polled.ticket.error == lock_errc::deadlock_victim));
  BOOST_TEST(polled.ticket.error_cycle.size() == 2u);
  BOOST_TEST(!o0.finished());
}

BOOST_AUTO_TEST_CASE(victim_locks_released_on_request) {
  deadlock_fixture fixture{short_timeout_yaml
                           + "  release_victim_locks: true\n"};
  auto waits = start_ring(fixture, 2);

  auto victim = waits[1]->await(bounded_wait);
  BOOST_REQUIRE(victim.has_value());
  BOOST_TEST((victim->error.code == lock_errc::deadlock_victim));

  // The victim's lock on w1 goes to o0, which waited for it.
  auto granted = waits[0]->await(bounded_wait);
  BOOST_REQUIRE_MESSAGE(granted.has_value(), "o0 still waits for w1");
  BOOST_REQUIRE_MESSAGE(granted->ok(), granted->error.message);
  BOOST_TEST(granted->lock.owner == "o0");
  BOOST_TEST((granted->lock.key == ci_resource("w1")));

  auto resolved
      = fixture.events.await(event_type::deadlock_resolved, bounded_wait);
  BOOST_REQUIRE(resolved.has_value());
  BOOST_TEST(resolved->deadlock.released_locks);
  BOOST_TEST(resolved->deadlock.victim == "o1");

  // The victim holds nothing, and its owner is not closed.
  list_request by_victim;
  by_victim.tenant = "default";
  by_victim.owner = "o1";
  auto left = fixture.client->list(by_victim);
  BOOST_REQUIRE(left.ok());
  BOOST_TEST(left.locks.empty());
  auto again = fixture.client->acquire(ci_request("w9", "o1", 0));
  BOOST_TEST(again.ok(), again.error.message);
}

BOOST_AUTO_TEST_CASE(youngest_policy_picks_last_wait) {
  deadlock_fixture fixture{short_timeout_yaml + "  policy: youngest\n"};
  for (size_t i = 0; i < 3; ++i)
    fixture.hold(workspace_name(i), owner_name(i));
  // The waits begin in the order o2, o0, o1, so o1 is the youngest.
  auto& o2 = fixture.start_wait("w0", "o2");
  auto& o0 = fixture.start_wait("w1", "o0");
  auto& o1 = fixture.start_wait("w2", "o1");

  auto reply = o1.await(bounded_wait);
  BOOST_REQUIRE(reply.has_value());
  BOOST_TEST((reply->error.code == lock_errc::deadlock_victim));
  auto resolved
      = fixture.events.await(event_type::deadlock_resolved, bounded_wait);
  BOOST_REQUIRE(resolved.has_value());
  BOOST_TEST(resolved->deadlock.victim == "o1");
  BOOST_TEST(resolved->deadlock.policy == "youngest");
  BOOST_TEST(!o0.finished());
  BOOST_TEST(!o2.finished());
}

BOOST_AUTO_TEST_CASE(lowest_priority_policy_picks_low_wait) {
  deadlock_fixture fixture{short_timeout_yaml + "  policy: lowest_priority\n"};
  for (size_t i = 0; i < 3; ++i)
    fixture.hold(workspace_name(i), owner_name(i));
  // o1 waits with the lowest priority but is neither the youngest nor the
  // oldest.
  auto& o0 = fixture.start_wait("w1", "o0", priority::high);
  auto& o1 = fixture.start_wait("w2", "o1", priority::low);
  auto& o2 = fixture.start_wait("w0", "o2", priority::medium);

  auto reply = o1.await(bounded_wait);
  BOOST_REQUIRE(reply.has_value());
  BOOST_TEST((reply->error.code == lock_errc::deadlock_victim));
  auto resolved
      = fixture.events.await(event_type::deadlock_resolved, bounded_wait);
  BOOST_REQUIRE(resolved.has_value());
  BOOST_TEST(resolved->deadlock.victim == "o1");
  BOOST_TEST(resolved->deadlock.policy == "lowest_priority");
  BOOST_TEST((resolved->record.level == priority::low));
  BOOST_TEST(!o0.finished());
  BOOST_TEST(!o2.finished());
}

BOOST_AUTO_TEST_CASE(fewest_locks_policy_picks_small_holder) {
  deadlock_fixture fixture{short_timeout_yaml + "  policy: fewest_locks\n"};
  for (size_t i = 0; i < 3; ++i)
    fixture.hold(workspace_name(i), owner_name(i));
  // o0 holds three locks, o1 one and o2 two. The youngest is o2.
  fixture.hold("extra-0a", "o0");
  fixture.hold("extra-0b", "o0");
  fixture.hold("extra-2", "o2");
  auto& o0 = fixture.start_wait("w1", "o0");
  auto& o1 = fixture.start_wait("w2", "o1");
  auto& o2 = fixture.start_wait("w0", "o2");

  auto reply = o1.await(bounded_wait);
  BOOST_REQUIRE(reply.has_value());
  BOOST_TEST((reply->error.code == lock_errc::deadlock_victim));
  auto resolved
      = fixture.events.await(event_type::deadlock_resolved, bounded_wait);
  BOOST_REQUIRE(resolved.has_value());
  BOOST_TEST(resolved->deadlock.victim == "o1");
  BOOST_TEST(resolved->deadlock.policy == "fewest_locks");
  for (const auto& member : resolved->deadlock.cycle) {
    uint32_t expected = 2;
    if (member.owner == "o0")
      expected = 3;
    else if (member.owner == "o1")
      expected = 1;
    BOOST_TEST_INFO("owner " << member.owner);
    BOOST_TEST(member.locks_held == expected);
  }
  BOOST_TEST(!o0.finished());
  BOOST_TEST(!o2.finished());
}

BOOST_AUTO_TEST_CASE(prevention_rejects_closing_wait) {
  // A long deadlock timeout shows that the rejection does not wait for it.
  deadlock_fixture fixture{"deadlock:\n  timeout: 5s\n  prevention: true\n"};
  auto& client = *fixture.client;
  fixture.hold("w0", "o0");
  fixture.hold("w1", "o1");
  auto& o0 = fixture.start_wait("w1", "o0");

  auto sent = std::chrono::steady_clock::now();
  auto refused = client.acquire(ci_request("w0", "o1", 10'000));
  auto took_ms = ms_since(sent);
  BOOST_TEST((refused.error.code == lock_errc::would_deadlock));
  BOOST_TEST_MESSAGE("refusal: " << refused.error.message);
  BOOST_TEST(took_ms < 1'000);
  BOOST_TEST_REQUIRE(refused.error.cycle.size() == 2u);
  BOOST_TEST(refused.error.cycle[0].owner == "o1");
  BOOST_TEST(refused.error.cycle[0].key.workspace == "w0");
  BOOST_TEST(refused.error.cycle[1].owner == "o0");
  BOOST_TEST(refused.error.cycle[1].key.workspace == "w1");
  BOOST_TEST(refused.error.message.find("o0") != std::string::npos);

  // A wait that closes no cycle is still queued, and o0 keeps waiting.
  auto& o2 = fixture.start_wait("w0", "o2");
  BOOST_TEST(!o2.finished());
  BOOST_TEST(!o0.finished());
  BOOST_TEST(fixture.waiting("w0") == 1u);
  BOOST_TEST(fixture.counters().prevented == 1u);
  BOOST_TEST(fixture.events.count(event_type::deadlock_resolved) == 0u);
}

BOOST_AUTO_TEST_CASE(long_chain_no_false_positive) {
  constexpr size_t owners = 30;
  deadlock_fixture fixture{short_timeout_yaml};
  for (size_t i = 0; i < owners; ++i)
    fixture.hold(workspace_name(i), owner_name(i));
  // o<i> waits for w<i+1>; the last owner waits for nothing.
  for (size_t i = 0; i + 1 < owners; ++i)
    fixture.start_wait(workspace_name(i + 1), owner_name(i));

  std::this_thread::sleep_for(6 * short_timeout);
  for (auto& wait : fixture.waits) {
    BOOST_TEST_INFO("owner " << wait->request().owner);
    BOOST_TEST(!wait->finished());
  }
  BOOST_TEST(fixture.events.events().empty());

  auto reply = fixture.client->detect();
  BOOST_REQUIRE_MESSAGE(reply.ok(), reply.error.message);
  BOOST_TEST(reply.deadlocks.empty());
  BOOST_TEST(reply.deadlock_counters.detected == 0u);
  BOOST_TEST(reply.deadlock_counters.runs >= 1u);
}

BOOST_AUTO_TEST_CASE(detect_finds_cycle_at_once) {
  deadlock_fixture fixture{"deadlock:\n  timeout: 60s\n"};
  auto waits = start_ring(fixture, 3);

  auto sent = std::chrono::steady_clock::now();
  auto reply = fixture.client->detect();
  BOOST_REQUIRE_MESSAGE(reply.ok(), reply.error.message);
  BOOST_TEST_REQUIRE(reply.deadlocks.size() == 1u);
  const auto& found = reply.deadlocks.front();
  check_ring_cycle(found.cycle, 3);
  BOOST_TEST(found.victim == "o2");
  BOOST_TEST(found.policy == "youngest");
  BOOST_TEST(found.id > 0u);
  BOOST_TEST(reply.deadlock_counters.detected == 1u);

  auto victim = waits[2]->await(bounded_wait);
  BOOST_REQUIRE(victim.has_value());
  BOOST_TEST((victim->error.code == lock_errc::deadlock_victim));
  BOOST_TEST(ms_since(sent) < 5'000);
  auto resolved
      = fixture.events.await(event_type::deadlock_resolved, bounded_wait);
  BOOST_REQUIRE(resolved.has_value());
  BOOST_TEST(resolved->deadlock.id == found.id);
  BOOST_TEST(!waits[0]->finished());
  BOOST_TEST(!waits[1]->finished());

  auto other_tenant = fixture.client->detect("other");
  BOOST_REQUIRE(other_tenant.ok());
  BOOST_TEST(other_tenant.deadlocks.empty());
}

BOOST_AUTO_TEST_CASE(granted_lock_survives_kill) {
  // Long enough that the cycle is still open when the service dies.
  deadlock_fixture fixture{"deadlock:\n  timeout: 30s\n"};
  auto& client = *fixture.client;
  auto held = fixture.hold("w0", "o0");
  fixture.hold("w1", "o1");

  // Tickets, since blocking acquires would wait for a reply that never
  // comes from the killed service.
  auto inbox = client.new_inbox();
  auto notifications = client.subscribe_replies(inbox, [](const lock_reply&) {
    // Only the state after the restart matters.
  });
  BOOST_REQUIRE(
      client.acquire_async(ci_request("w1", "o0", 30'000), inbox).ok());
  BOOST_REQUIRE(
      client.acquire_async(ci_request("w0", "o1", 30'000), inbox).ok());
  BOOST_REQUIRE(eventually(
      [&] { return fixture.waiting("w0") == 1 && fixture.waiting("w1") == 1; },
      bounded_wait));

  fixture.service.kill();
  fixture.service.start();

  // The locks survive, the waits of the cycle do not.
  for (auto [workspace, owner] : {std::pair{"w0", "o0"}, {"w1", "o1"}}) {
    auto after = client.get({ci_resource(workspace)});
    BOOST_TEST_INFO(workspace);
    BOOST_REQUIRE(after.ok());
    BOOST_TEST_INFO(workspace);
    BOOST_TEST(after.lock.owner == owner);
    BOOST_TEST_INFO(workspace);
    BOOST_TEST(after.waiting == 0u);
  }
  auto same = client.get({ci_resource("w0")});
  BOOST_TEST(same.lock.token == held.token);
  auto none = client.detect();
  BOOST_REQUIRE(none.ok());
  BOOST_TEST(none.deadlocks.empty());

  // The restarted detector has learned the recovered holders, so the same
  // cycle formed again is found.
  auto& o0 = fixture.start_wait("w1", "o0");
  auto& o1 = fixture.start_wait("w0", "o1");
  auto found = client.detect();
  BOOST_REQUIRE(found.ok());
  BOOST_TEST_REQUIRE(found.deadlocks.size() == 1u);
  BOOST_TEST(found.deadlocks.front().victim == "o1");
  auto victim = o1.await(bounded_wait);
  BOOST_REQUIRE(victim.has_value());
  BOOST_TEST((victim->error.code == lock_errc::deadlock_victim));
  BOOST_TEST(!o0.finished());

  // The recovered lock still releases with its id and token.
  auto released = client.release({"default", held.lock_id, held.token});
  BOOST_TEST(released.ok(), released.error.message);
}

BOOST_AUTO_TEST_SUITE_END()
