// Waiters of one resource are served by priority, first come first served
// within a priority, and aging lets a very_low waiter through a steady
// stream of high ones. Every waiter is a blocking acquire on its own
// connection to a real service.

#include <boost/test/unit_test.hpp>

#include <future>
#include <string>
#include <vector>

#include "tests/support/holdfast_service.hpp"
#include "tests/support/nats_server.hpp"

using namespace holdfast;
using namespace holdfast::test;
using namespace std::chrono_literals;

namespace {

const resource_key shared_key{"default", "deploy", "prod"};

/// Upper bound of every wait in these tests, far above the expected time.
constexpr auto bounded_wait = 10s;

acquire_request make_request(std::string owner, priority level,
                             int64_t wait_ms) {
  acquire_request request;
  request.key = shared_key;
  request.owner = std::move(owner);
  request.level = level;
  request.wait_ms = wait_ms;
  request.ttl_ms = 60'000;
  return request;
}

/// A blocking acquire running on its own connection.
struct waiter {
  std::string owner;
  std::future<lock_reply> reply;
  bool consumed = false;
};

waiter start_waiter(const holdfast_service& service, std::string owner,
                    priority level) {
  auto request = make_request(owner, level, 30'000);
  auto client = service.make_client(10s);
  auto reply = std::async(std::launch::async,
                          [client = std::move(client), request]() mutable {
                            return client->acquire(request);
                          });
  return {std::move(owner), std::move(reply)};
}

/// Waits until `count` requests wait for the shared resource.
bool await_waiting(nats_client& client, uint32_t count) {
  return eventually(
      [&] {
        auto reply = client.get({shared_key});
        return reply.ok() && reply.waiting == count;
      },
      bounded_wait);
}

/// Returns the index of the one waiter whose acquire has returned and was
/// not consumed yet, or -1 when none returns within the bounded wait.
int await_next_grant(std::vector<waiter>& waiters) {
  int found = -1;
  eventually(
      [&] {
        for (size_t i = 0; i < waiters.size(); ++i) {
          auto& entry = waiters[i];
          if (!entry.consumed
              && entry.reply.wait_for(0s) == std::future_status::ready) {
            found = static_cast<int>(i);
            return true;
          }
        }
        return false;
      },
      bounded_wait);
  if (found >= 0)
    waiters[found].consumed = true;
  return found;
}

struct service_fixture {
  explicit service_fixture(std::string queue_yaml)
      : service(nats.url(), std::move(queue_yaml)) {
    // Nothing else to do.
  }

  nats_server nats;
  holdfast_service service;
  std::unique_ptr<nats_client> client = service.make_client(10s);
};

} // namespace

BOOST_AUTO_TEST_SUITE(priorities)

BOOST_AUTO_TEST_CASE(served_by_priority_then_arrival) {
  service_fixture fixture{"queue:\n  emergency_users: [on-call]\n"};
  auto& client = *fixture.client;

  auto held = client.acquire(make_request("holder", priority::medium, 0));
  BOOST_REQUIRE(held.ok());

  // Queued one after the other, so that arrival order is known.
  struct queued {
    std::string owner;
    priority level;
  };
  std::vector<queued> arrivals{
      {"low-1", priority::low},           {"high-1", priority::high},
      {"medium-1", priority::medium},     {"high-2", priority::high},
      {"low-2", priority::low},           {"critical-1", priority::critical},
      {"very-low-1", priority::very_low}, {"medium-2", priority::medium},
      {"on-call", priority::very_low},
  };
  std::vector<waiter> waiters;
  for (auto& entry : arrivals) {
    waiters.push_back(start_waiter(fixture.service, entry.owner, entry.level));
    BOOST_REQUIRE_MESSAGE(
        await_waiting(client, static_cast<uint32_t>(waiters.size())),
        entry.owner << " was not queued");
  }

  BOOST_REQUIRE(client.release({"default", held.lock.lock_id, 0}).ok());

  // Each grant is released before the next one can happen, so the order in
  // which acquires return is the service order.
  std::vector<std::string> served;
  uint64_t last_token = held.lock.token;
  for (size_t i = 0; i < waiters.size(); ++i) {
    auto index = await_next_grant(waiters);
    BOOST_REQUIRE_MESSAGE(index >= 0, "grant " << i << " did not arrive");
    auto reply = waiters[index].reply.get();
    BOOST_REQUIRE_MESSAGE(reply.ok(),
                          waiters[index].owner << ": " << reply.error.message);
    BOOST_TEST(reply.lock.owner == waiters[index].owner);
    BOOST_TEST(reply.lock.token > last_token);
    last_token = reply.lock.token;
    served.push_back(reply.lock.owner);
    BOOST_REQUIRE(client.release({"default", reply.lock.lock_id, 0}).ok());
  }

  std::vector<std::string> expected{
      "on-call",  "critical-1", "high-1", "high-2",     "medium-1",
      "medium-2", "low-1",      "low-2",  "very-low-1",
  };
  BOOST_TEST(served == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(aging_lets_very_low_through) {
  service_fixture fixture{"queue:\n  aging_interval: 1s\n"};
  auto& client = *fixture.client;

  auto first = client.acquire(make_request("high-0", priority::high, 0));
  BOOST_REQUIRE(first.ok());
  auto holder = first.lock;

  std::vector<waiter> waiters;
  waiters.push_back(
      start_waiter(fixture.service, "very-low", priority::very_low));
  BOOST_REQUIRE(await_waiting(client, 1));

  // Each round holds the lock for a while, queues a fresh high waiter and
  // only then releases, so a high waiter always competes with the very_low
  // one. Aging adds one level per second waited, so after about three
  // seconds the very_low waiter outranks a fresh high one.
  constexpr int max_rounds = 8;
  int granted_round = 0;
  for (int round = 1; round <= max_rounds && granted_round == 0; ++round) {
    std::this_thread::sleep_for(700ms);
    auto owner = "high-" + std::to_string(round);
    waiters.push_back(start_waiter(fixture.service, owner, priority::high));
    BOOST_REQUIRE_MESSAGE(await_waiting(client, 2),
                          owner << " was not queued in round " << round);

    BOOST_REQUIRE(client.release({"default", holder.lock_id, 0}).ok());
    auto index = await_next_grant(waiters);
    BOOST_REQUIRE_MESSAGE(index >= 0, "no grant in round " << round);
    auto reply = waiters[index].reply.get();
    BOOST_REQUIRE_MESSAGE(reply.ok(),
                          waiters[index].owner << ": " << reply.error.message);
    holder = reply.lock;
    BOOST_TEST_MESSAGE("round " << round << ": " << holder.owner);
    if (holder.owner == "very-low")
      granted_round = round;
  }

  BOOST_TEST_MESSAGE("very_low granted in round " << granted_round);
  BOOST_TEST(granted_round >= 2);
  BOOST_TEST(granted_round <= max_rounds);

  // Lets the remaining high waiter through, so that no acquire is left.
  BOOST_REQUIRE(client.release({"default", holder.lock_id, 0}).ok());
  auto index = await_next_grant(waiters);
  BOOST_REQUIRE(index >= 0);
  auto last = waiters[index].reply.get();
  BOOST_REQUIRE(last.ok());
  BOOST_TEST(client.release({"default", last.lock.lock_id, 0}).ok());
}

BOOST_AUTO_TEST_SUITE_END()
