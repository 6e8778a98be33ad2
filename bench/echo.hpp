#pragma once

#include <chrono>
#include <string>

#include <nats/nats.h>

namespace holdfast::bench {

/// A nats.c connection with SendAsap enabled, as the holdfast client and
/// bridge use it, so that nats.c does not hold back small messages.
class nats_connection {
public:
  /// Connects to `url`; throws `std::runtime_error` on failure.
  nats_connection(const std::string& url, const std::string& name);
  ~nats_connection();

  nats_connection(const nats_connection&) = delete;
  nats_connection& operator=(const nats_connection&) = delete;

  natsConnection* get() const noexcept {
    return connection_;
  }

private:
  natsConnection* connection_ = nullptr;
};

/// Replies to every request on `subject` with its own body until SIGINT or
/// SIGTERM arrives. This is the transport floor: a responder that does no
/// work between receiving a request and publishing the reply. Returns the
/// exit status of `holdfast_bench echo`.
int run_echo_responder(const std::string& url, const std::string& subject);

/// Sends one request to `subject` and checks that the reply repeats
/// `payload`. Throws `std::runtime_error` on a timeout or a wrong reply.
void echo_round_trip(natsConnection* connection, const std::string& subject,
                     const std::string& payload,
                     std::chrono::milliseconds timeout);

} // namespace holdfast::bench
