#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "bridges/wire_encoding.hpp"
#include "messages/deadlock.hpp"
#include "messages/events.hpp"
#include "messages/queueing.hpp"
#include "messages/replies.hpp"
#include "messages/requests.hpp"

namespace holdfast {

/// Settings of a client connection to a running service.
struct client_options {
  std::string url = "nats://127.0.0.1:4222";
  std::string tenant = "default";
  wire_encoding encoding = wire_encoding::msgpack;
  /// Time to wait for a reply on top of the request's own wait time.
  std::chrono::milliseconds timeout{5'000};
  /// Connection name shown by `nats-server` monitoring.
  std::string name = "holdfast-client";
};

/// Raw reply of `nats_client::request_raw`, for tests of malformed input.
struct raw_reply {
  /// True when no reply came within the timeout or no responder is subscribed.
  bool timed_out = false;
  std::string data;
  std::string content_type;
};

/// Synchronous client of the NATS protocol, used by the CLI, the tests and
/// the benchmarks. Every call blocks until the reply arrives. A transport
/// failure becomes a reply with code `unavailable`. One instance may be
/// used from several threads.
class nats_client {
public:
  /// Connects to `options.url`; throws `std::runtime_error` on failure.
  explicit nats_client(client_options options);
  ~nats_client();

  nats_client(const nats_client&) = delete;
  nats_client& operator=(const nats_client&) = delete;

  /// The tenant of `request.key` is replaced by the client's tenant when it
  /// is empty. Waits up to `request.wait_ms` plus the client timeout.
  lock_reply acquire(acquire_request request);
  lock_reply release(release_request request);
  lock_reply renew(renew_request request);
  lock_reply get(get_request request);
  lock_reply list(list_request request);
  lock_reply release_owner(release_owner_request request);

  /// Queues `request` and returns its ticket at once. The service publishes
  /// the ticket's final state on `notify_subject` later, which the caller
  /// must have subscribed to with `subscribe_replies` before this call.
  lock_reply acquire_async(acquire_request request,
                           std::string notify_subject);
  lock_reply ticket(ticket_request request);
  lock_reply cancel(cancel_request request);

  /// Waits up to `request.wait_ms` plus the client timeout.
  lock_reply acquire_bulk(bulk_acquire_request request);
  lock_reply release_bulk(bulk_release_request request);
  lock_reply reopen_owner(reopen_owner_request request);
  lock_reply stats(stats_request request);

  /// Asks the service to search for deadlocks in `tenant` now, regardless
  /// of how long the requests have waited. An empty tenant means the
  /// client's tenant. The reply carries `deadlocks` and
  /// `deadlock_counters`.
  lock_reply detect(std::string tenant = {});

  /// Returns a new unique subject for `subscribe_replies`, such as
  /// "_INBOX.<random>".
  std::string new_inbox();

  /// Sends `payload` unchanged to `subject`, as JSON when `json` is set.
  raw_reply request_raw(const std::string& subject, const std::string& payload,
                        bool json, std::chrono::milliseconds timeout);

  using event_handler = std::function<void(const lock_event&)>;

  /// Delivers events matching `filter` to `handler` on a NATS thread until
  /// the returned handle is destroyed.
  std::shared_ptr<void> subscribe_events(const event_filter& filter,
                                         event_handler handler);

  using reply_handler = std::function<void(const lock_reply&)>;

  /// Delivers every reply-shaped message published on `subject`, such as
  /// ticket notifications, to `handler` on a NATS thread until the returned
  /// handle is destroyed. A message that fails to decode arrives as a reply
  /// with code `internal`. Returns once the server has registered the
  /// subscription.
  std::shared_ptr<void> subscribe_replies(const std::string& subject,
                                          reply_handler handler);

  const client_options& options() const noexcept {
    return options_;
  }

private:
  struct impl;

  using message_handler
      = std::function<void(std::string_view body, wire_encoding encoding)>;

  /// Subscribes `handler` to `subject`; see `subscribe_replies`.
  std::shared_ptr<void> subscribe(const std::string& subject,
                                  message_handler handler);

  client_options options_;
  std::unique_ptr<impl> impl_;
};

} // namespace holdfast
