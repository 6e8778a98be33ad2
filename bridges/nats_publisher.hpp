#pragma once

#include <atomic>
#include <memory>
#include <string_view>

#include <nats/nats.h>
#include <spdlog/logger.h>

#include "messages/wire_codec.hpp"

namespace holdfast {

/// Shared handle for publishing on the bridge's connection from any thread.
/// Reply sinks and the event publisher keep it alive, possibly longer than
/// the connection: after `retire` every publish is dropped, so a late reply
/// never touches a destroyed `natsConnection`.
class nats_publisher {
public:
  nats_publisher(natsConnection* connection,
                 std::shared_ptr<spdlog::logger> log);

  nats_publisher(const nats_publisher&) = delete;
  nats_publisher& operator=(const nats_publisher&) = delete;

  /// Publishes `data` on `subject` unless retired. Returns
  /// `NATS_CONNECTION_CLOSED` after `retire`.
  natsStatus publish(const char* subject, std::string_view data,
                     wire_encoding encoding);

  /// Stops further publishing and waits until publishes in progress have
  /// returned. Afterwards the caller may destroy the connection.
  void retire();

  /// Logger of the bridge ("nats").
  spdlog::logger& log() const noexcept {
    return *log_;
  }

private:
  natsConnection* connection_;
  std::shared_ptr<spdlog::logger> log_;
  std::atomic<bool> open_{true};
  /// Number of publishes that passed the `open_` check and may still use
  /// `connection_`. `retire` waits for it to reach zero.
  std::atomic<int> active_{0};
};

using nats_publisher_ptr = std::shared_ptr<nats_publisher>;

} // namespace holdfast
