// release_owner closes an owner through a real service while the owner's
// try, wait, bulk and asynchronous acquisitions are in flight. Afterwards
// the owner holds nothing and its requests get owner_closed. The closed
// mark survives kill -9 and a restart until reopen_owner.

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "tests/support/holdfast_service.hpp"
#include "tests/support/nats_server.hpp"

using namespace holdfast;
using namespace holdfast::test;
using namespace std::chrono_literals;

namespace {

constexpr const char* closed_owner = "pr-7";

resource_key resource(std::string workspace) {
  return {"default", "ci", std::move(workspace)};
}

acquire_request make_request(std::string workspace, std::string owner,
                             int64_t wait_ms) {
  acquire_request request;
  request.key = resource(std::move(workspace));
  request.owner = std::move(owner);
  request.wait_ms = wait_ms;
  request.ttl_ms = 60'000;
  return request;
}

list_request by_owner(std::string owner) {
  list_request request;
  request.tenant = "default";
  request.owner = std::move(owner);
  return request;
}

/// The first notification on a fresh inbox subject.
class notification_inbox {
public:
  explicit notification_inbox(nats_client& client)
      : subject_(client.new_inbox()) {
    subscription_
        = client.subscribe_replies(subject_, [this](const lock_reply& reply) {
            {
              std::lock_guard<std::mutex> guard{mutex_};
              if (!reply_)
                reply_ = reply;
            }
            arrived_.notify_all();
          });
  }

  ~notification_inbox() {
    subscription_.reset();
  }

  const std::string& subject() const noexcept {
    return subject_;
  }

  std::optional<lock_reply> await(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> guard{mutex_};
    arrived_.wait_for(guard, timeout, [&] { return reply_.has_value(); });
    return reply_;
  }

private:
  std::string subject_;
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::optional<lock_reply> reply_;
  std::shared_ptr<void> subscription_;
};

/// What one thread of the closed owner saw.
struct thread_report {
  std::string name;
  int granted = 0;
  int closed = 0;
  lock_errc last = lock_errc::none;
  std::vector<std::string> unexpected;
};

struct service_fixture {
  nats_server nats;
  holdfast_service service{nats.url()};
  std::unique_ptr<nats_client> client = service.make_client(10s);
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(owner_close, service_fixture)

BOOST_AUTO_TEST_CASE(close_races_inflight_acquisitions) {
  // Another owner holds these, so the closed owner's requests on them wait
  // until the close cancels them.
  for (auto workspace : {"shared", "shared-bulk", "shared-async"})
    BOOST_REQUIRE(client->acquire(make_request(workspace, "main", 0)).ok());

  using attempt_fn = std::function<lock_reply(nats_client&, int)>;
  std::vector<std::pair<std::string, attempt_fn>> kinds;
  for (int i = 0; i < 2; ++i) {
    auto prefix = "try-" + std::to_string(i) + "-";
    kinds.emplace_back(prefix, [prefix](nats_client& c, int n) {
      return c.acquire(
          make_request(prefix + std::to_string(n), closed_owner, 0));
    });
  }
  for (int i = 0; i < 2; ++i) {
    auto prefix = "wait-" + std::to_string(i) + "-";
    kinds.emplace_back(prefix, [prefix](nats_client& c, int n) {
      return c.acquire(
          make_request(prefix + std::to_string(n), closed_owner, 2'000));
    });
  }
  kinds.emplace_back("queued", [](nats_client& c, int) {
    return c.acquire(make_request("shared", closed_owner, 8'000));
  });
  kinds.emplace_back("bulk", [](nats_client& c, int n) {
    bulk_acquire_request request;
    request.tenant = "default";
    request.wait_ms = 8'000;
    request.locks.push_back(make_request("shared-bulk", closed_owner, 0));
    request.locks.push_back(
        make_request("bulk-" + std::to_string(n), closed_owner, 0));
    return c.acquire_bulk(request);
  });
  // Bulks on free resources, so that the close may meet one while its
  // grants are being stored.
  kinds.emplace_back("bulk-free", [](nats_client& c, int n) {
    bulk_acquire_request request;
    request.tenant = "default";
    request.wait_ms = 2'000;
    for (auto part : {"-a", "-b"})
      request.locks.push_back(make_request(
          "bulk-free-" + std::to_string(n) + part, closed_owner, 0));
    return c.acquire_bulk(request);
  });
  kinds.emplace_back("async", [](nats_client& c, int) {
    // The ticket's outcome is used as the reply of a blocking acquire.
    notification_inbox inbox{c};
    auto accepted = c.acquire_async(
        make_request("shared-async", closed_owner, 8'000), inbox.subject());
    if (!accepted.ok())
      return accepted;
    auto outcome = inbox.await(10s);
    if (!outcome)
      return make_error_reply(lock_errc::timeout, "no notification");
    if (outcome->ticket.state == ticket_state::cancelled)
      return make_error_reply(lock_errc::owner_closed, "ticket cancelled");
    if (outcome->ticket.state == ticket_state::failed)
      return make_error_reply(outcome->ticket.error,
                              outcome->ticket.error_message);
    return *outcome;
  });

  // Each thread goes on until three requests in a row saw the close.
  std::vector<thread_report> reports(kinds.size());
  std::vector<std::thread> threads;
  auto deadline = std::chrono::steady_clock::now() + 15s;
  for (size_t i = 0; i < kinds.size(); ++i) {
    threads.emplace_back([&, i] {
      auto& report = reports[i];
      report.name = kinds[i].first;
      auto thread_client = service.make_client(10s);
      for (int n = 0;
           report.closed < 3 && std::chrono::steady_clock::now() < deadline;
           ++n) {
        auto reply = kinds[i].second(*thread_client, n);
        report.last = reply.error.code;
        if (reply.ok()) {
          ++report.granted;
          report.closed = 0;
        } else if (reply.error.code == lock_errc::owner_closed) {
          ++report.closed;
        } else {
          report.unexpected.push_back(
              std::string{to_string_view(reply.error.code)} + ": "
              + reply.error.message);
        }
      }
    });
  }

  std::this_thread::sleep_for(500ms);
  auto closed = client->release_owner({"default", closed_owner});
  BOOST_REQUIRE_MESSAGE(closed.ok(), closed.error.message);
  BOOST_TEST_MESSAGE("release_owner released " << closed.released);
  for (auto& thread : threads)
    thread.join();

  for (auto& report : reports) {
    BOOST_TEST_MESSAGE(report.name << ": granted " << report.granted);
    BOOST_TEST_INFO("thread " << report.name);
    BOOST_TEST((report.last == lock_errc::owner_closed));
    BOOST_TEST_INFO("thread " << report.name);
    BOOST_TEST(report.unexpected.empty());
    for (auto& text : report.unexpected)
      BOOST_TEST_MESSAGE(report.name << " got " << text);
  }

  // Every thread has finished, so no acquisition of the owner is in flight.
  auto left = client->list(by_owner(closed_owner));
  BOOST_REQUIRE(left.ok());
  BOOST_TEST(left.locks.empty());
  for (auto& lock : left.locks)
    BOOST_TEST_MESSAGE("still held: " << to_string(lock.key));

  // Once the other owner leaves, no cancelled request takes over.
  list_request main_locks = by_owner("main");
  auto held = client->list(main_locks);
  BOOST_REQUIRE(held.ok());
  BOOST_REQUIRE(held.locks.size() == 3u);
  BOOST_TEST(client->release_owner({"default", "main"}).ok());
  for (auto workspace : {"shared", "shared-bulk", "shared-async"}) {
    auto free = client->get({resource(workspace)});
    BOOST_TEST_INFO(workspace);
    BOOST_TEST((free.error.code == lock_errc::not_found));
  }
  left = client->list(by_owner(closed_owner));
  BOOST_REQUIRE(left.ok());
  BOOST_TEST(left.locks.empty());

  // Every kind of acquisition is rejected while the owner is closed.
  auto plain = client->acquire(make_request("later", closed_owner, 1'000));
  BOOST_TEST((plain.error.code == lock_errc::owner_closed));
  BOOST_TEST(plain.error.field == "owner");
  auto async = client->acquire_async(make_request("later", closed_owner, 0),
                                     client->new_inbox());
  BOOST_TEST((async.error.code == lock_errc::owner_closed));
  bulk_acquire_request bulk;
  bulk.tenant = "default";
  bulk.locks.push_back(make_request("later", closed_owner, 0));
  BOOST_TEST(
      (client->acquire_bulk(bulk).error.code == lock_errc::owner_closed));

  auto again = client->release_owner({"default", closed_owner});
  BOOST_REQUIRE(again.ok());
  BOOST_TEST(again.released == 0u);

  // A crash loses neither the closed mark nor the released state.
  service.kill();
  service.start();
  left = client->list(by_owner(closed_owner));
  BOOST_REQUIRE(left.ok());
  BOOST_TEST(left.locks.empty());
  for (auto& lock : left.locks)
    BOOST_TEST_MESSAGE("held after restart: " << to_string(lock.key));
  auto after_restart = client->acquire(make_request("later", closed_owner, 0));
  BOOST_TEST((after_restart.error.code == lock_errc::owner_closed));

  BOOST_REQUIRE(client->reopen_owner({"default", closed_owner}).ok());
  auto reopened = client->acquire(make_request("later", closed_owner, 0));
  BOOST_TEST(reopened.ok());
}

BOOST_AUTO_TEST_CASE(closed_mark_survives_kill) {
  auto granted = client->acquire(make_request("build", closed_owner, 0));
  BOOST_REQUIRE(granted.ok());
  auto closed = client->release_owner({"default", closed_owner});
  BOOST_REQUIRE(closed.ok());
  BOOST_TEST(closed.released == 1u);

  service.kill();
  service.start();
  auto rejected = client->acquire(make_request("build", closed_owner, 0));
  BOOST_TEST((rejected.error.code == lock_errc::owner_closed));
  auto free = client->get({resource("build")});
  BOOST_TEST((free.error.code == lock_errc::not_found));

  BOOST_REQUIRE(client->reopen_owner({"default", closed_owner}).ok());
  auto regained = client->acquire(make_request("build", closed_owner, 0));
  BOOST_REQUIRE(regained.ok());
  BOOST_TEST(regained.lock.token > granted.lock.token);

  // The reopening is stored too. After another crash the owner still
  // holds its lock and may acquire more.
  service.kill();
  service.start();
  auto held = client->get({resource("build")});
  BOOST_REQUIRE(held.ok());
  BOOST_TEST(held.lock.owner == closed_owner);
  auto more = client->acquire(make_request("test", closed_owner, 0));
  BOOST_TEST(more.ok());
}

BOOST_AUTO_TEST_SUITE_END()
