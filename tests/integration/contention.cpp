// Sixteen clients contend for one resource through a real nats-server and
// a real service: grants never overlap and fencing tokens strictly
// increase from one grant to the next.

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <mutex>
#include <thread>

#include "tests/support/holdfast_service.hpp"
#include "tests/support/nats_server.hpp"

using namespace holdfast;
using namespace holdfast::test;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_CASE(contention_tokens_increase_without_overlap) {
  nats_server nats;
  holdfast_service service{nats.url()};

  constexpr int client_count = 16;
  const auto run_for = 3s;
  std::atomic<bool> held{false};
  std::atomic<int> overlaps{0};
  std::atomic<int> failures{0};
  std::atomic<int> grants{0};
  std::mutex order_mutex;
  uint64_t last_token = 0;
  int out_of_order = 0;

  auto deadline = std::chrono::steady_clock::now() + run_for;
  std::vector<std::thread> clients;
  for (int i = 0; i < client_count; ++i) {
    clients.emplace_back([&, i] {
      auto client = service.make_client(10s);
      acquire_request request;
      request.key = {"default", "network", "prod"};
      request.owner = "client-" + std::to_string(i);
      request.wait_ms = 30'000;
      request.ttl_ms = 30'000;
      while (std::chrono::steady_clock::now() < deadline) {
        auto granted = client->acquire(request);
        if (!granted.ok()) {
          ++failures;
          continue;
        }

        // Only one client may be inside this section at a time.
        if (held.exchange(true))
          ++overlaps;
        {
          std::lock_guard<std::mutex> guard{order_mutex};
          if (granted.lock.token <= last_token)
            ++out_of_order;
          last_token = granted.lock.token;
        }
        ++grants;
        std::this_thread::sleep_for(200us);
        held = false;

        auto released = client->release(
          {"default", granted.lock.lock_id, granted.lock.token});
        if (!released.ok())
          ++failures;
      }
    });
  }
  for (auto& client : clients)
    client.join();

  BOOST_TEST_MESSAGE("grants: " << grants.load());
  BOOST_TEST(overlaps.load() == 0);
  BOOST_TEST(out_of_order == 0);
  BOOST_TEST(failures.load() == 0);
  BOOST_TEST(grants.load() > client_count);
  BOOST_TEST(last_token == static_cast<uint64_t>(grants.load()));
}
