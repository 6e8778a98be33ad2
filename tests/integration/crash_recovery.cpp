// kill -9 of the service while locks are held, then a restart on the same
// data: every lock, owner, metadata and token counter is back.

#include <boost/test/unit_test.hpp>

#include "tests/support/holdfast_service.hpp"
#include "tests/support/nats_server.hpp"

using namespace holdfast;
using namespace holdfast::test;
using namespace std::chrono_literals;

namespace {

acquire_request make_request(std::string workspace, std::string owner) {
  acquire_request request;
  request.key = {"default", "network", std::move(workspace)};
  request.owner = std::move(owner);
  request.user = "alice";
  request.ttl_ms = 600'000;
  request.metadata = {{"pr", "42"}, {"commit", "abc123"}};
  return request;
}

} // namespace

BOOST_AUTO_TEST_CASE(kill_and_restart_keeps_locks_and_tokens) {
  nats_server nats;
  holdfast_service service{nats.url()};
  auto client = service.make_client();

  // Churn one resource so its token counter runs ahead of any held lock.
  uint64_t churn_token = 0;
  for (int i = 0; i < 5; ++i) {
    auto granted = client->acquire(make_request("churn", "pr-0"));
    BOOST_REQUIRE(granted.ok());
    churn_token = granted.lock.token;
    BOOST_REQUIRE(client->release({"default", granted.lock.lock_id, 0}).ok());
  }

  std::vector<lock_record> held;
  for (auto workspace : {"prod", "staging", "dev"}) {
    auto granted = client->acquire(make_request(workspace, "pr-1"));
    BOOST_REQUIRE(granted.ok());
    held.push_back(granted.lock);
  }

  service.kill();
  BOOST_TEST(!service.running().is_running());
  service.start();
  client = service.make_client();

  for (auto& before : held) {
    auto after = client->get({before.key});
    BOOST_REQUIRE_MESSAGE(after.ok(), "lost " << to_string(before.key));
    BOOST_TEST(after.lock.lock_id.empty());
    BOOST_TEST(after.lock.owner == before.owner);
    BOOST_TEST(after.lock.user == before.user);
    BOOST_TEST(after.lock.token == before.token);
    BOOST_TEST(after.lock.expires_at_ms == before.expires_at_ms);
    BOOST_TEST((after.lock.metadata == before.metadata));
  }

  auto next = client->acquire(make_request("churn", "pr-2"));
  BOOST_REQUIRE(next.ok());
  BOOST_TEST(next.lock.token > churn_token);

  auto conflict = client->acquire(make_request("prod", "pr-3"));
  BOOST_TEST((conflict.error.code == lock_errc::conflict));

  auto released = client->release(
    {"default", held.front().lock_id, held.front().token});
  BOOST_TEST(released.ok());
  auto regained = client->acquire(make_request("prod", "pr-3"));
  BOOST_REQUIRE(regained.ok());
  BOOST_TEST(regained.lock.token > held.front().token);
}

BOOST_AUTO_TEST_CASE(lease_that_ran_out_while_down_expires) {
  nats_server nats;
  holdfast_service service{nats.url()};
  auto client = service.make_client();
  auto request = make_request("prod", "pr-1");
  request.ttl_ms = 1'000;
  auto granted = client->acquire(request);
  BOOST_REQUIRE(granted.ok());

  service.kill();
  std::this_thread::sleep_for(1200ms);
  service.start();
  client = service.make_client();

  auto freed = eventually(
    [&] { return !client->get({granted.lock.key}).ok(); }, 5s);
  BOOST_TEST(freed);
  auto next = client->acquire(make_request("prod", "pr-2"));
  BOOST_REQUIRE(next.ok());
  BOOST_TEST(next.lock.token > granted.lock.token);
}
