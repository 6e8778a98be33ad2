// Asynchronous acquisition through a real service: acquire_async returns
// a ticket at once, the outcome arrives on the notify subject, and a
// ticket can be read and cancelled before and after its grant.

#include <boost/test/unit_test.hpp>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "tests/support/holdfast_service.hpp"
#include "tests/support/nats_server.hpp"

using namespace holdfast;
using namespace holdfast::test;
using namespace std::chrono_literals;

namespace {

const resource_key shared_key{"default", "deploy", "prod"};

acquire_request make_request(std::string owner, int64_t wait_ms,
                             int64_t ttl_ms = 60'000) {
  acquire_request request;
  request.key = shared_key;
  request.owner = std::move(owner);
  request.wait_ms = wait_ms;
  request.ttl_ms = ttl_ms;
  return request;
}

int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// Ticket notifications that arrive on a fresh inbox subject.
class notification_inbox {
public:
  explicit notification_inbox(nats_client& client)
      : subject_(client.new_inbox()) {
    subscription_
        = client.subscribe_replies(subject_, [this](const lock_reply& reply) {
            {
              std::lock_guard<std::mutex> guard{mutex_};
              replies_.push_back(reply);
            }
            arrived_.notify_all();
          });
  }

  ~notification_inbox() {
    // Closes the subscription before the members its handler uses go.
    subscription_.reset();
  }

  const std::string& subject() const noexcept {
    return subject_;
  }

  /// Removes and returns the oldest notification, waiting up to `timeout`.
  std::optional<lock_reply> next(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> guard{mutex_};
    if (!arrived_.wait_for(guard, timeout, [&] { return !replies_.empty(); }))
      return std::nullopt;
    auto reply = std::move(replies_.front());
    replies_.pop_front();
    return reply;
  }

  size_t pending() {
    std::lock_guard<std::mutex> guard{mutex_};
    return replies_.size();
  }

private:
  std::string subject_;
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::deque<lock_reply> replies_;
  std::shared_ptr<void> subscription_;
};

struct service_fixture {
  nats_server nats;
  holdfast_service service{nats.url()};
  std::unique_ptr<nats_client> client = service.make_client(10s);
  notification_inbox inbox{*client};
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(tickets, service_fixture)

BOOST_AUTO_TEST_CASE(grant_arrives_on_notify_subject) {
  auto held = client->acquire(make_request("holder", 0));
  BOOST_REQUIRE(held.ok());

  // The holder keeps the lock, so both calls can only return at once.
  auto first
      = client->acquire_async(make_request("async-1", 10'000), inbox.subject());
  BOOST_REQUIRE_MESSAGE(first.ok(), first.error.message);
  auto& ticket = first.ticket;
  BOOST_TEST(!ticket.ticket_id.empty());
  BOOST_TEST((ticket.state == ticket_state::pending));
  BOOST_TEST(ticket.position == 0u);
  BOOST_TEST(ticket.owner == "async-1");
  BOOST_TEST(ticket.key.project == "deploy");
  BOOST_TEST(ticket.key.workspace == "prod");

  auto second
      = client->acquire_async(make_request("async-2", 10'000), inbox.subject());
  BOOST_REQUIRE(second.ok());
  BOOST_TEST(second.ticket.position == 1u);
  BOOST_TEST(second.ticket.ticket_id != ticket.ticket_id);

  auto polled = client->ticket({"default", ticket.ticket_id});
  BOOST_REQUIRE(polled.ok());
  BOOST_TEST((polled.ticket.state == ticket_state::pending));
  BOOST_TEST(polled.ticket.lock.lock_id.empty());
  BOOST_TEST(inbox.pending() == 0u);

  BOOST_REQUIRE(client->release({"default", held.lock.lock_id, 0}).ok());
  auto granted = inbox.next(5s);
  BOOST_REQUIRE(granted.has_value());
  BOOST_REQUIRE_MESSAGE(granted->ok(), granted->error.message);
  BOOST_TEST(granted->ticket.ticket_id == ticket.ticket_id);
  BOOST_TEST((granted->ticket.state == ticket_state::granted));
  BOOST_TEST(granted->ticket.lock.owner == "async-1");
  BOOST_TEST(!granted->ticket.lock.lock_id.empty());
  BOOST_TEST(granted->ticket.lock.token > held.lock.token);

  polled = client->ticket({"default", ticket.ticket_id});
  BOOST_REQUIRE(polled.ok());
  BOOST_TEST((polled.ticket.state == ticket_state::granted));
  BOOST_TEST(polled.ticket.lock.lock_id == granted->ticket.lock.lock_id);
  auto holder = client->get({shared_key});
  BOOST_REQUIRE(holder.ok());
  BOOST_TEST(holder.lock.owner == "async-1");
  BOOST_TEST(holder.waiting == 1u);

  // The lock id of the notification releases the lock like any other.
  auto released = client->release(
      {"default", granted->ticket.lock.lock_id, granted->ticket.lock.token});
  BOOST_REQUIRE(released.ok());
  auto next = inbox.next(5s);
  BOOST_REQUIRE(next.has_value());
  BOOST_TEST(next->ticket.ticket_id == second.ticket.ticket_id);
  BOOST_TEST((next->ticket.state == ticket_state::granted));
  BOOST_TEST(next->ticket.lock.owner == "async-2");
}

BOOST_AUTO_TEST_CASE(free_resource_granted_through_notify) {
  auto accepted
      = client->acquire_async(make_request("async-1", 10'000), inbox.subject());
  BOOST_REQUIRE(accepted.ok());
  BOOST_TEST(accepted.ticket.position == 0u);

  auto granted = inbox.next(5s);
  BOOST_REQUIRE(granted.has_value());
  BOOST_TEST(granted->ticket.ticket_id == accepted.ticket.ticket_id);
  BOOST_TEST((granted->ticket.state == ticket_state::granted));
  BOOST_TEST(!granted->ticket.lock.lock_id.empty());

  auto holder = client->get({shared_key});
  BOOST_REQUIRE(holder.ok());
  BOOST_TEST(holder.lock.owner == "async-1");
}

BOOST_AUTO_TEST_CASE(cancel_before_grant) {
  auto held = client->acquire(make_request("holder", 0));
  BOOST_REQUIRE(held.ok());
  auto accepted
      = client->acquire_async(make_request("async-1", 10'000), inbox.subject());
  BOOST_REQUIRE(accepted.ok());
  auto ticket_id = accepted.ticket.ticket_id;

  auto cancelled = client->cancel({"default", ticket_id});
  BOOST_REQUIRE_MESSAGE(cancelled.ok(), cancelled.error.message);
  BOOST_TEST((cancelled.ticket.state == ticket_state::cancelled));
  auto notified = inbox.next(5s);
  BOOST_REQUIRE(notified.has_value());
  BOOST_TEST(notified->ticket.ticket_id == ticket_id);
  BOOST_TEST((notified->ticket.state == ticket_state::cancelled));
  // The scheduler replies from its ticket table, and the resource's actor
  // removes the queue entry right after that.
  auto left_queue = eventually(
      [&] {
        auto state = client->get({shared_key});
        return state.ok() && state.waiting == 0;
      },
      5s);
  BOOST_TEST(left_queue);

  // The cancelled waiter never gets the lock once the holder leaves.
  BOOST_REQUIRE(client->release({"default", held.lock.lock_id, 0}).ok());
  auto free = client->get({shared_key});
  BOOST_TEST((free.error.code == lock_errc::not_found));
  auto other = client->acquire(make_request("other", 0));
  BOOST_REQUIRE(other.ok());
  BOOST_TEST(other.lock.owner == "other");
  BOOST_TEST(!inbox.next(300ms).has_value());

  auto polled = client->ticket({"default", ticket_id});
  BOOST_REQUIRE(polled.ok());
  BOOST_TEST((polled.ticket.state == ticket_state::cancelled));
  BOOST_TEST(polled.ticket.lock.lock_id.empty());
}

BOOST_AUTO_TEST_CASE(cancel_after_grant_releases) {
  auto accepted
      = client->acquire_async(make_request("async-1", 10'000), inbox.subject());
  BOOST_REQUIRE(accepted.ok());
  auto granted = inbox.next(5s);
  BOOST_REQUIRE(granted.has_value());
  BOOST_REQUIRE((granted->ticket.state == ticket_state::granted));
  BOOST_REQUIRE(client->get({shared_key}).ok());

  auto cancelled = client->cancel({"default", accepted.ticket.ticket_id});
  BOOST_REQUIRE_MESSAGE(cancelled.ok(), cancelled.error.message);
  BOOST_TEST((cancelled.ticket.state == ticket_state::cancelled));

  auto released = eventually(
      [&] {
        return client->get({shared_key}).error.code == lock_errc::not_found;
      },
      5s);
  BOOST_TEST(released);
  auto late = client->release(
      {"default", granted->ticket.lock.lock_id, granted->ticket.lock.token});
  BOOST_TEST((late.error.code == lock_errc::not_found));
  auto other = client->acquire(make_request("other", 0));
  BOOST_TEST(other.ok());
}

BOOST_AUTO_TEST_CASE(unclaimed_grant_lease_starts_at_grant) {
  auto held = client->acquire(make_request("holder", 0));
  BOOST_REQUIRE(held.ok());
  constexpr int64_t ttl_ms = 1'000;
  auto accepted = client->acquire_async(make_request("async-1", 10'000, ttl_ms),
                                        inbox.subject());
  BOOST_REQUIRE(accepted.ok());

  // Longer than the TTL, so a lease counted from the request would be over
  // by the time of the grant.
  std::this_thread::sleep_for(1'500ms);
  auto released_at = wall_clock_ms();
  BOOST_REQUIRE(client->release({"default", held.lock.lock_id, 0}).ok());
  auto granted = inbox.next(5s);
  BOOST_REQUIRE(granted.has_value());
  BOOST_REQUIRE((granted->ticket.state == ticket_state::granted));
  auto& lock = granted->ticket.lock;
  BOOST_TEST(lock.acquired_at_ms >= released_at);
  BOOST_TEST(lock.ttl_ms == ttl_ms);
  BOOST_TEST(lock.expires_at_ms == lock.acquired_at_ms + ttl_ms);

  auto read_at = wall_clock_ms();
  auto holder = client->get({shared_key});
  if (read_at < lock.expires_at_ms) {
    BOOST_REQUIRE(holder.ok());
    BOOST_TEST(holder.lock.owner == "async-1");
    BOOST_TEST(holder.lock.token == lock.token);
  }

  // No client claims or renews the grant, so its lease runs out.
  auto expired = eventually(
      [&] {
        return client->get({shared_key}).error.code == lock_errc::not_found;
      },
      5s);
  BOOST_TEST(expired);
  BOOST_TEST(wall_clock_ms() >= lock.expires_at_ms);
}

BOOST_AUTO_TEST_CASE(unknown_ticket_not_found) {
  auto polled = client->ticket({"default", "no-such-ticket"});
  BOOST_TEST((polled.error.code == lock_errc::not_found));
  auto cancelled = client->cancel({"default", "no-such-ticket"});
  BOOST_TEST((cancelled.error.code == lock_errc::not_found));
}

BOOST_AUTO_TEST_SUITE_END()
