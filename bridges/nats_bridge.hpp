#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <caf/actor_system.hpp>

#include "actors/engine.hpp"

namespace holdfast {

/// Settings of the NATS bridge.
struct bridge_config {
  std::string url = "nats://127.0.0.1:4222";
  /// Connection name shown by `nats-server` monitoring.
  std::string name = "holdfast";
  /// Requests with a larger body are rejected with `invalid_request`.
  size_t max_payload = 64 * 1024;
};

/// Counters of a bridge since its start.
struct bridge_stats {
  /// Requests decoded and sent to the scheduler.
  uint64_t forwarded = 0;
  /// Requests that the bridge rejected itself with `invalid_request`
  /// (oversized or malformed body, unknown subject, invalid tenant).
  uint64_t rejected = 0;
  /// Messages without a reply subject, which get no reply.
  uint64_t dropped = 0;
};

/// Serves the request subjects `holdfast.v1.<tenant>.lock.<verb>` and
/// publishes events on `holdfast.v1.<tenant>.events.<type>.<project>.
/// <workspace>`. NATS callbacks only decode into owned requests and send
/// them to the scheduler; replies are published by reply sinks.
class nats_bridge {
public:
  nats_bridge(caf::actor_system& system, engine_handles engine,
              bridge_config config);
  ~nats_bridge();

  nats_bridge(const nats_bridge&) = delete;
  nats_bridge& operator=(const nats_bridge&) = delete;

  /// Connects, subscribes and starts publishing events. Keeps retrying in
  /// the background when the server is not reachable yet. Throws
  /// `std::runtime_error` on invalid settings.
  void start();

  /// Drains the subscriptions, stops the event publisher and closes the
  /// connection. Must run before the actor system shuts down. Idempotent.
  void stop();

  /// Returns the counters, which are all zero before `start`.
  bridge_stats stats() const;

private:
  struct impl;

  std::unique_ptr<impl> impl_;
};

} // namespace holdfast
