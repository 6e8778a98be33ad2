#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>

#include <nats/nats.h>

#include "actors/scheduler.hpp"
#include "bridges/nats_bridge.hpp"
#include "bridges/nats_publisher.hpp"
#include "messages/wire_codec.hpp"

namespace holdfast {

/// Turns NATS request messages into typed requests for the scheduler. It
/// runs on the NATS delivery threads, so it only decodes and sends, and the
/// engine replies through a `nats_reply_sink`. The router itself rejects
/// malformed requests, which never reach the engine.
class request_router {
public:
  request_router(scheduler_actor scheduler, nats_publisher_ptr publisher,
                 size_t max_payload);

  /// Handles one message of a request subscription and destroys it.
  void handle(natsMsg* msg) noexcept;

  /// Called by nats.c once a subscription is closed and its last callback
  /// has returned.
  void subscription_closed();

  /// Waits until `count` subscriptions are closed or `timeout` passes, and
  /// returns whether all of them closed.
  bool await_closed(size_t count, std::chrono::milliseconds timeout);

  bridge_stats stats() const noexcept;

private:
  struct request_context;

  void dispatch(const request_context& context);

  /// Decodes the body into `request` and sets its tenant, or replies with
  /// the error and returns false.
  template <class Request>
  bool decode(const request_context& context, Request& request);

  template <class Request>
  void forward(const request_context& context);

  /// Forwards acquire_async with a second sink that publishes the ticket's
  /// final state on the request's `notify` subject.
  void forward_async(const request_context& context);

  void answer_error(const request_context& context, lock_error error);

  scheduler_actor scheduler_;
  nats_publisher_ptr publisher_;
  size_t max_payload_;
  std::atomic<uint64_t> next_request_id_{0};
  std::atomic<uint64_t> forwarded_{0};
  std::atomic<uint64_t> rejected_{0};
  std::atomic<uint64_t> dropped_{0};
  std::mutex closed_mutex_;
  std::condition_variable closed_signal_;
  size_t closed_ = 0;
};

} // namespace holdfast
