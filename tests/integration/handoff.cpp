// A waiter gets the lock when the holder releases it, and when the
// holder's lease expires without renewal.

#include <boost/test/unit_test.hpp>

#include <future>

#include "tests/support/holdfast_service.hpp"
#include "tests/support/nats_server.hpp"

using namespace holdfast;
using namespace holdfast::test;
using namespace std::chrono_literals;

namespace {

acquire_request make_request(std::string owner, int64_t wait_ms,
                             int64_t ttl_ms) {
  acquire_request request;
  request.key = {"default", "network", "prod"};
  request.owner = std::move(owner);
  request.wait_ms = wait_ms;
  request.ttl_ms = ttl_ms;
  return request;
}

struct service_fixture {
  nats_server nats;
  holdfast_service service{nats.url()};
  std::unique_ptr<nats_client> holder = service.make_client(10s);
  std::unique_ptr<nats_client> waiter = service.make_client(10s);
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(handoff, service_fixture)

BOOST_AUTO_TEST_CASE(waiter_granted_after_release) {
  auto first = holder->acquire(make_request("pr-1", 0, 60'000));
  BOOST_REQUIRE(first.ok());

  auto pending = std::async(std::launch::async, [&] {
    return waiter->acquire(make_request("pr-2", 20'000, 60'000));
  });
  BOOST_TEST((pending.wait_for(300ms) == std::future_status::timeout));

  auto released = holder->release(
    {"default", first.lock.lock_id, first.lock.token});
  BOOST_REQUIRE(released.ok());

  auto second = pending.get();
  BOOST_REQUIRE(second.ok());
  BOOST_TEST(second.lock.owner == "pr-2");
  BOOST_TEST(second.lock.token > first.lock.token);
}

BOOST_AUTO_TEST_CASE(waiter_granted_after_lease_expiry) {
  std::vector<lock_event> events;
  std::mutex events_mutex;
  event_filter filter;
  filter.type = "lock.expired";
  auto subscription = holder->subscribe_events(
    filter, [&](const lock_event& event) {
      std::lock_guard<std::mutex> guard{events_mutex};
      events.push_back(event);
    });

  auto first = holder->acquire(make_request("pr-1", 0, 1'000));
  BOOST_REQUIRE(first.ok());

  auto started = std::chrono::steady_clock::now();
  auto second = waiter->acquire(make_request("pr-2", 20'000, 60'000));
  auto waited = std::chrono::steady_clock::now() - started;
  BOOST_REQUIRE(second.ok());
  BOOST_TEST(second.lock.owner == "pr-2");
  BOOST_TEST(second.lock.token == first.lock.token + 1);
  BOOST_TEST((waited >= 500ms));

  auto late = holder->renew({"default", first.lock.lock_id, 0, 0});
  BOOST_TEST((late.error.code == lock_errc::lease_expired));

  auto seen = eventually(
    [&] {
      std::lock_guard<std::mutex> guard{events_mutex};
      return !events.empty();
    },
    5s);
  BOOST_REQUIRE(seen);
  BOOST_TEST(events.front().record.token == first.lock.token);
  BOOST_TEST(events.front().record.lock_id.empty());
}

BOOST_AUTO_TEST_CASE(waiter_times_out_with_holder) {
  auto first = holder->acquire(make_request("pr-1", 0, 60'000));
  BOOST_REQUIRE(first.ok());
  auto second = waiter->acquire(make_request("pr-2", 300, 60'000));
  BOOST_TEST((second.error.code == lock_errc::timeout));
  BOOST_TEST(second.error.holder.owner == "pr-1");
}

BOOST_AUTO_TEST_SUITE_END()
