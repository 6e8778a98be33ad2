#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "bridges/nats_publisher.hpp"
#include "messages/reply_sink.hpp"
#include "messages/wire_codec.hpp"

namespace holdfast {

/// Publishes the reply to one NATS request on its reply subject, in the
/// encoding of the request. A sink destroyed without a reply (the engine
/// dropped the request) replies `unavailable`, so that the client does not
/// wait for its timeout.
///
/// The same class publishes the final state of an asynchronous acquisition
/// on the request's `notify` subject (role `notification`). Such a sink
/// reports a drop only after the ticket was accepted, because the client of
/// a rejected request already received the error in the reply.
class nats_reply_sink final : public reply_sink {
public:
  enum class role : uint8_t {
    reply,
    notification,
  };

  /// Shared by the reply and the notification sink of one asynchronous
  /// acquisition; set once the reply accepted the ticket.
  using accept_flag = std::shared_ptr<std::atomic<bool>>;

  nats_reply_sink(nats_publisher_ptr publisher, std::string_view reply_subject,
                  request_verb verb, wire_encoding encoding,
                  uint64_t request_id, role kind = role::reply,
                  accept_flag accepted = nullptr);

  ~nats_reply_sink() override;

  void deliver(lock_reply reply) override;

  /// Encodes `reply` and publishes it on `reply_subject`. The router also
  /// uses it for the requests that it rejects itself.
  static void publish_reply(nats_publisher& publisher,
                            const char* reply_subject, request_verb verb,
                            const lock_reply& reply, wire_encoding encoding,
                            uint64_t request_id, role kind = role::reply);

private:
  const char* reply_subject() const noexcept;

  nats_publisher_ptr publisher_;
  /// Inbox subjects of nats.c and the Go client are about 30 to 50 bytes,
  /// so they fit here and a request allocates no separate subject string.
  std::array<char, 96> short_subject_;
  std::string long_subject_;
  request_verb verb_;
  wire_encoding encoding_;
  uint64_t request_id_;
  role role_;
  accept_flag accepted_;
  std::atomic<bool> delivered_{false};
};

} // namespace holdfast
