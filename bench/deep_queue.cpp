#include "bench/deep_queue.hpp"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "bench/peers.hpp"

namespace holdfast::bench {

namespace {

using clock_type = std::chrono::steady_clock;

/// A tenant of its own keeps the `stats` reply free of other scenarios.
const std::string queue_tenant = "bench-queue";

const resource_key queue_key{"", "bench", "queue"};

constexpr int64_t lease_ms = 30'000;

/// Margin of each waiter's wait over the drain timeout, for the time it
/// takes to queue all waiters.
constexpr int64_t enqueue_allowance_ms = 60'000;

/// Bound of the wait for the service to count every queued waiter.
constexpr std::chrono::milliseconds depth_timeout{2'000};

int64_t elapsed_ns(clock_type::time_point from, clock_type::time_point to) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(to - from)
      .count();
}

/// A ticket notification and the time it reached the client.
struct notification {
  lock_reply reply;
  clock_type::time_point received_at;
};

/// Carries notifications from the NATS callback thread to the thread that
/// releases the grants, so that the callback only copies the message.
class notification_queue {
public:
  void push(notification item) {
    {
      std::lock_guard<std::mutex> guard{mutex_};
      items_.push_back(std::move(item));
    }
    arrived_.notify_one();
  }

  /// Waits until a notification arrives; returns nothing at `deadline`.
  std::optional<notification> pop(clock_type::time_point deadline) {
    std::unique_lock<std::mutex> guard{mutex_};
    if (!arrived_.wait_until(guard, deadline,
                             [this] { return !items_.empty(); }))
      return std::nullopt;
    auto item = std::move(items_.front());
    items_.pop_front();
    return item;
  }

private:
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::deque<notification> items_;
};

/// Describes a ticket that ended without a grant, such as one rejected
/// with queue_full after its ticket reply.
std::string describe_failed(const ticket_info& ticket) {
  return "ticket " + ticket.ticket_id + " of " + ticket.owner + " ended "
         + std::string{to_string_view(ticket.state)}
         + " instead of granted: " + std::string{to_string_view(ticket.error)}
         + ": " + ticket.error_message;
}

/// Waits until `get` reports `depth` waiting requests on the queue
/// resource. The service sends the ticket reply before its scheduler,
/// which serves `get`, counts the new waiter, so the count may lag briefly.
/// A ticket that failed meanwhile ends the wait with its error.
void await_depth(nats_client& client, notification_queue& notifications,
                 size_t depth) {
  auto deadline = clock_type::now() + depth_timeout;
  for (;;) {
    auto reply = client.get(get_request{queue_key});
    if (!reply.ok())
      throw std::runtime_error("get of bench/queue failed: "
                               + describe_error(reply));
    if (reply.waiting == depth)
      return;

    // No waiter can be granted while queue-holder has the lock, so any
    // notification now is a failed ticket.
    if (auto item = notifications.pop(clock_type::now())) {
      if (!item->reply.ok())
        throw std::runtime_error("notification on the ticket inbox is "
                                 "invalid: "
                                 + describe_error(item->reply));
      throw std::runtime_error(
          describe_failed(item->reply.ticket)
          + "; on queue_full raise queue.max_depth_per_resource");
    }
    if (clock_type::now() >= deadline)
      throw std::runtime_error(
          "bench/queue has " + std::to_string(reply.waiting)
          + " waiting requests " + std::to_string(depth_timeout.count())
          + " ms after queueing " + std::to_string(depth) + "; expected "
          + std::to_string(depth));
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  }
}

/// Cancels every ticket that was not served, which also releases a lock
/// granted after the drain gave up. Failures are ignored, because this runs
/// while another error or a timeout is being reported.
void cancel_unserved(
    nats_client& client,
    const std::unordered_map<std::string, clock_type::time_point>& unserved) {
  for (const auto& entry : unserved)
    client.cancel(cancel_request{"", entry.first});
}

} // namespace

deep_queue_result measure_deep_queue(const std::string& nats_url,
                                     const deep_queue_settings& settings) {
  auto holder
      = connect_client(nats_url, "holdfast-bench-queue-holder", queue_tenant);
  auto waiters
      = connect_client(nats_url, "holdfast-bench-queue-waiters", queue_tenant);
  notification_queue notifications;
  auto inbox = waiters->new_inbox();
  auto subscription
      = waiters->subscribe_replies(inbox, [&](const lock_reply& reply) {
          notifications.push({reply, clock_type::now()});
        });

  acquire_request request;
  request.key = queue_key;
  request.owner = "queue-holder";
  request.user = "bench";
  request.ttl_ms = lease_ms;
  auto first = holder->acquire(request);
  if (!first.ok())
    throw std::runtime_error("acquire of bench/queue in tenant " + queue_tenant
                             + " failed: " + describe_error(first)
                             + "; the benchmark needs a fresh service");

  // Ticket id of each waiter not served yet, with the time its ticket
  // reply arrived.
  std::unordered_map<std::string, clock_type::time_point> unserved;
  deep_queue_result result;
  result.waiters = settings.waiters;
  request.wait_ms = settings.drain_timeout.count() + enqueue_allowance_ms;
  auto enqueue_begin = clock_type::now();
  try {
    for (size_t i = 0; i < settings.waiters; ++i) {
      request.owner = "queue-" + std::to_string(i);
      auto accepted = waiters->acquire_async(request, inbox);
      if (!accepted.ok())
        throw std::runtime_error(
            "acquire_async of bench/queue by " + request.owner + " (waiter "
            + std::to_string(i + 1) + " of " + std::to_string(settings.waiters)
            + ") failed: " + describe_error(accepted));
      if (accepted.ticket.state != ticket_state::pending)
        throw std::runtime_error(
            "ticket of " + request.owner + " is "
            + std::string{to_string_view(accepted.ticket.state)}
            + " instead of pending while queue-holder holds bench/queue");
      unserved.emplace(accepted.ticket.ticket_id, clock_type::now());
    }
    result.enqueue_seconds
        = std::chrono::duration<double>(clock_type::now() - enqueue_begin)
              .count();

    await_depth(*holder, notifications, settings.waiters);
  } catch (...) {
    cancel_unserved(*waiters, unserved);
    holder->release({"", first.lock.lock_id, first.lock.token});
    throw;
  }

  std::vector<int64_t> waits_ns;
  std::vector<int64_t> handoffs_ns;
  waits_ns.reserve(settings.waiters);
  handoffs_ns.reserve(settings.waiters);
  auto released_at = clock_type::now();
  auto previous_grant = released_at;
  auto deadline = released_at + settings.drain_timeout;
  try {
    auto released = holder->release({"", first.lock.lock_id, first.lock.token});
    if (!released.ok())
      throw std::runtime_error("release of bench/queue by queue-holder "
                               "failed: "
                               + describe_error(released));

    while (result.served < settings.waiters) {
      auto item = notifications.pop(deadline);
      if (!item)
        break;
      const auto& ticket = item->reply.ticket;
      if (!item->reply.ok())
        throw std::runtime_error("notification on " + inbox + " is invalid: "
                                 + describe_error(item->reply));
      if (ticket.state != ticket_state::granted)
        throw std::runtime_error(describe_failed(ticket));
      auto waiter = unserved.find(ticket.ticket_id);
      if (waiter == unserved.end())
        throw std::runtime_error("grant notification for ticket "
                                 + ticket.ticket_id
                                 + " that is not waiting, or a second one");

      waits_ns.push_back(elapsed_ns(waiter->second, item->received_at));
      handoffs_ns.push_back(elapsed_ns(previous_grant, item->received_at));
      previous_grant = item->received_at;
      unserved.erase(waiter);

      auto done
          = waiters->release({"", ticket.lock.lock_id, ticket.lock.token});
      if (!done.ok())
        throw std::runtime_error("release of bench/queue by " + ticket.owner
                                 + " failed: " + describe_error(done));
      ++result.served;
    }
  } catch (...) {
    cancel_unserved(*waiters, unserved);
    throw;
  }
  // NOTE: after a drain timeout the result covers only the served waiters.
  cancel_unserved(*waiters, unserved);

  result.drain_seconds
      = std::chrono::duration<double>(previous_grant - released_at).count();
  result.wait = summarize(waits_ns);
  result.handoff = summarize(handoffs_ns);

  auto stats = waiters->stats(stats_request{});
  if (!stats.ok())
    throw std::runtime_error("stats of tenant " + queue_tenant
                             + " failed: " + describe_error(stats));
  result.service_average_wait_ms = stats.stats.average_wait_ms;
  result.service_p99_wait_ms = stats.stats.p99_wait_ms;
  return result;
}

} // namespace holdfast::bench
