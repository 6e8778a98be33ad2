// Queue limits and statistics through a real service: a waiting acquire
// beyond the per-resource or total queue limit gets queue_full and
// publishes a queue.overflow event, and stats report queue depths, active
// locks and wait times.

#include <boost/test/unit_test.hpp>

#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "tests/support/holdfast_service.hpp"
#include "tests/support/nats_server.hpp"

using namespace holdfast;
using namespace holdfast::test;
using namespace std::chrono_literals;

namespace {

const resource_key prod_key{"default", "deploy", "prod"};
const resource_key staging_key{"default", "deploy", "staging"};

acquire_request make_request(const resource_key& key, std::string owner,
                             priority level, int64_t wait_ms) {
  acquire_request request;
  request.key = key;
  request.owner = std::move(owner);
  request.level = level;
  request.wait_ms = wait_ms;
  request.ttl_ms = 60'000;
  return request;
}

/// Blocking acquires running on their own connections.
class waiter_group {
public:
  explicit waiter_group(const holdfast_service& service) : service_(service) {
    // Nothing else to do.
  }

  void start(acquire_request request) {
    auto client = service_.make_client(10s);
    waiters_.push_back(std::async(
        std::launch::async, [client = std::move(client), request]() mutable {
          return client->acquire(request);
        }));
  }

  /// Returns the reply of the first waiter whose acquire has returned, or
  /// nothing when none returns within `timeout`.
  std::optional<lock_reply> next(std::chrono::milliseconds timeout) {
    std::optional<lock_reply> result;
    eventually(
        [&] {
          for (auto& waiter : waiters_)
            if (waiter.valid()
                && waiter.wait_for(0s) == std::future_status::ready) {
              result = waiter.get();
              return true;
            }
          return false;
        },
        timeout);
    return result;
  }

  /// Releases each grant as it comes, until every waiter has returned.
  void drain(nats_client& client) {
    while (running()) {
      auto reply = next(15s);
      if (!reply)
        return;
      if (reply->ok())
        client.release({reply->lock.key.tenant, reply->lock.lock_id, 0});
    }
  }

  /// Returns whether some acquire was not collected yet.
  bool running() const {
    for (auto& waiter : waiters_)
      if (waiter.valid())
        return true;
    return false;
  }

private:
  const holdfast_service& service_;
  std::vector<std::future<lock_reply>> waiters_;
};

/// Waits until `count` requests wait for `key`.
bool await_waiting(nats_client& client, const resource_key& key,
                   uint32_t count) {
  return eventually(
      [&] {
        auto reply = client.get({key});
        return reply.ok() && reply.waiting == count;
      },
      10s);
}

/// Collects the events of one type.
class event_log {
public:
  event_log(nats_client& client, std::string type) {
    event_filter filter;
    filter.tenant = "default";
    filter.type = std::move(type);
    subscription_
        = client.subscribe_events(filter, [this](const lock_event& event) {
            std::lock_guard<std::mutex> guard{mutex_};
            events_.push_back(event);
          });
  }

  ~event_log() {
    subscription_.reset();
  }

  std::vector<lock_event> events() {
    std::lock_guard<std::mutex> guard{mutex_};
    return events_;
  }

private:
  std::mutex mutex_;
  std::vector<lock_event> events_;
  std::shared_ptr<void> subscription_;
};

struct service_fixture {
  explicit service_fixture(std::string queue_yaml)
      : service(nats.url(), std::move(queue_yaml)) {
    // Nothing else to do.
  }

  nats_server nats;
  holdfast_service service;
  std::unique_ptr<nats_client> client = service.make_client(10s);
};

const char* per_resource_limit = "queue:\n  max_depth_per_resource: 2\n";

} // namespace

BOOST_AUTO_TEST_SUITE(queue_limits)

BOOST_AUTO_TEST_CASE(third_waiter_gets_queue_full) {
  service_fixture fixture{per_resource_limit};
  auto& client = *fixture.client;
  event_log overflows{client, "queue.overflow"};

  auto held
      = client.acquire(make_request(prod_key, "holder", priority::medium, 0));
  BOOST_REQUIRE(held.ok());
  waiter_group waiters{fixture.service};
  waiters.start(make_request(prod_key, "waiter-1", priority::low, 20'000));
  BOOST_REQUIRE(await_waiting(client, prod_key, 1));
  waiters.start(make_request(prod_key, "waiter-2", priority::high, 20'000));
  BOOST_REQUIRE(await_waiting(client, prod_key, 2));

  // The rejection comes at once, far before the request's own wait ends.
  auto started = std::chrono::steady_clock::now();
  auto third = client.acquire(
      make_request(prod_key, "waiter-3", priority::critical, 20'000));
  auto took = std::chrono::steady_clock::now() - started;
  BOOST_TEST((third.error.code == lock_errc::queue_full));
  BOOST_TEST(third.error.message.find("deploy/prod") != std::string::npos);
  BOOST_TEST((took < 10s));

  // A try-lock never queues, so the limit does not apply to it.
  auto tried
      = client.acquire(make_request(prod_key, "waiter-4", priority::medium, 0));
  BOOST_TEST((tried.error.code == lock_errc::conflict));

  auto published = eventually([&] { return !overflows.events().empty(); }, 5s);
  BOOST_REQUIRE(published);
  auto event = overflows.events().front();
  BOOST_TEST((event.type == event_type::queue_overflow));
  BOOST_TEST(event.record.owner == "waiter-3");
  BOOST_TEST((event.record.key == prod_key));
  BOOST_TEST((event.record.level == priority::critical));
  BOOST_TEST(!event.reason.empty());
  BOOST_TEST(event.timestamp_ms > 0);

  // The rejected request did not join the queue.
  auto state = client.get({prod_key});
  BOOST_REQUIRE(state.ok());
  BOOST_TEST(state.waiting == 2u);

  BOOST_REQUIRE(client.release({"default", held.lock.lock_id, 0}).ok());
  auto first = waiters.next(10s);
  BOOST_REQUIRE(first.has_value());
  BOOST_REQUIRE(first->ok());
  BOOST_TEST(first->lock.owner == "waiter-2");
  BOOST_REQUIRE(client.release({"default", first->lock.lock_id, 0}).ok());
  waiters.drain(client);
  BOOST_TEST(overflows.events().size() == 1u);
}

BOOST_AUTO_TEST_CASE(total_limit_gets_queue_full) {
  service_fixture fixture{"queue:\n  max_depth_total: 2\n"};
  auto& client = *fixture.client;
  event_log overflows{client, "queue.overflow"};

  auto prod
      = client.acquire(make_request(prod_key, "holder", priority::medium, 0));
  BOOST_REQUIRE(prod.ok());
  auto staging = client.acquire(
      make_request(staging_key, "holder", priority::medium, 0));
  BOOST_REQUIRE(staging.ok());
  waiter_group waiters{fixture.service};
  waiters.start(make_request(prod_key, "waiter-1", priority::medium, 20'000));
  waiters.start(
      make_request(staging_key, "waiter-2", priority::medium, 20'000));
  auto counted = eventually(
      [&] { return client.stats({"default"}).stats.total_depth == 2; }, 10s);
  BOOST_REQUIRE(counted);

  auto third = client.acquire(
      make_request(prod_key, "waiter-3", priority::medium, 20'000));
  BOOST_TEST((third.error.code == lock_errc::queue_full));
  BOOST_TEST(third.error.message.find("total") != std::string::npos);

  // A free resource grants at once, so a full queue elsewhere is no reason
  // to reject it.
  resource_key free_key{"default", "deploy", "dev"};
  auto free = client.acquire(
      make_request(free_key, "waiter-4", priority::medium, 20'000));
  BOOST_TEST(free.ok());

  auto published = eventually([&] { return !overflows.events().empty(); }, 5s);
  BOOST_REQUIRE(published);
  BOOST_TEST(overflows.events().front().record.owner == "waiter-3");

  BOOST_REQUIRE(client.release({"default", prod.lock.lock_id, 0}).ok());
  BOOST_REQUIRE(client.release({"default", staging.lock.lock_id, 0}).ok());
  waiters.drain(client);
}

BOOST_AUTO_TEST_CASE(stats_report_depths_and_waits) {
  service_fixture fixture{per_resource_limit};
  auto& client = *fixture.client;

  auto prod = client.acquire(
      make_request(prod_key, "holder-prod", priority::medium, 0));
  BOOST_REQUIRE(prod.ok());
  auto staging = client.acquire(
      make_request(staging_key, "holder-staging", priority::medium, 0));
  BOOST_REQUIRE(staging.ok());
  waiter_group waiters{fixture.service};
  waiters.start(make_request(prod_key, "waiter-low", priority::low, 20'000));
  BOOST_REQUIRE(await_waiting(client, prod_key, 1));
  waiters.start(make_request(prod_key, "waiter-high", priority::high, 20'000));
  BOOST_REQUIRE(await_waiting(client, prod_key, 2));

  auto before = client.stats({"default"});
  BOOST_REQUIRE_MESSAGE(before.ok(), before.error.message);
  std::vector<uint32_t> two_waiting{0, 1, 0, 1, 0};
  BOOST_TEST(before.stats.depth_by_priority == two_waiting,
             boost::test_tools::per_element());
  BOOST_TEST(before.stats.total_depth == 2u);
  BOOST_TEST(before.stats.active_locks == 2u);
  BOOST_REQUIRE(before.locks.size() == 2u);
  BOOST_TEST(before.locks[0].owner == "holder-prod");
  BOOST_TEST(before.locks[1].owner == "holder-staging");
  BOOST_TEST(before.locks[0].lock_id.empty());
  BOOST_TEST(before.stats.total_grants == 2u);
  BOOST_TEST(before.stats.p99_wait_ms == 0);

  // The high waiter waits at least this long before its hand-off.
  constexpr auto hold_for = 300ms;
  std::this_thread::sleep_for(hold_for);
  BOOST_REQUIRE(client.release({"default", prod.lock.lock_id, 0}).ok());
  auto handed = waiters.next(10s);
  BOOST_REQUIRE(handed.has_value());
  BOOST_REQUIRE(handed->ok());
  BOOST_TEST(handed->lock.owner == "waiter-high");

  auto after = client.stats({"default"});
  BOOST_REQUIRE(after.ok());
  std::vector<uint32_t> one_waiting{0, 1, 0, 0, 0};
  BOOST_TEST(after.stats.depth_by_priority == one_waiting,
             boost::test_tools::per_element());
  BOOST_TEST(after.stats.total_depth == 1u);
  BOOST_TEST(after.stats.active_locks == 2u);
  BOOST_TEST(after.stats.total_grants == 3u);
  BOOST_TEST(after.stats.grants_per_second > 0.0);
  BOOST_TEST(after.stats.p99_wait_ms >= hold_for.count());
  BOOST_TEST(after.stats.p99_wait_ms < 20'000);
  // Two of the three grants were immediate, so the mean is a third of
  // the hand-off's wait.
  BOOST_TEST(after.stats.average_wait_ms >= hold_for.count() / 3.0);
  BOOST_TEST(after.stats.average_wait_ms
             <= static_cast<double>(after.stats.p99_wait_ms));

  BOOST_REQUIRE(client.release({"default", handed->lock.lock_id, 0}).ok());
  BOOST_REQUIRE(client.release({"default", staging.lock.lock_id, 0}).ok());
  waiters.drain(client);

  auto idle = client.stats({"default"});
  BOOST_REQUIRE(idle.ok());
  BOOST_TEST(idle.stats.total_depth == 0u);
  BOOST_TEST(idle.stats.active_locks == 0u);
  BOOST_TEST(idle.stats.total_grants == 4u);
}

BOOST_AUTO_TEST_SUITE_END()
