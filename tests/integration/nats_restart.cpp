// nats-server restarted under a running service: the service reconnects,
// resubscribes and serves again, and held locks are untouched.

#include <boost/test/unit_test.hpp>

#include "tests/support/holdfast_service.hpp"
#include "tests/support/nats_server.hpp"

using namespace holdfast;
using namespace holdfast::test;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_CASE(service_serves_after_nats_restart) {
  nats_server nats;
  holdfast_service service{nats.url()};

  acquire_request request;
  request.key = {"default", "network", "prod"};
  request.owner = "pr-1";
  request.ttl_ms = 600'000;
  lock_record held;
  {
    auto client = service.make_client();
    auto granted = client->acquire(request);
    BOOST_REQUIRE(granted.ok());
    held = granted.lock;
  }

  nats.kill();
  std::this_thread::sleep_for(500ms);
  nats.start();
  BOOST_TEST(service.running().is_running());

  auto client = service.make_client(1s);
  auto reconnected = eventually(
    [&] { return client->get({request.key}).ok(); }, 30s);
  BOOST_REQUIRE_MESSAGE(reconnected, "no answer after restart; log:\n"
                                       << service.log_tail());
  auto got = client->get({request.key});
  BOOST_TEST(got.lock.token == held.token);

  auto released = client->release({"default", held.lock_id, held.token});
  BOOST_TEST(released.ok());
}
