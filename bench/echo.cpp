#include "bench/echo.hpp"

#include <csignal>
#include <cstring>
#include <iostream>
#include <stdexcept>

#include "bridges/nats_support.hpp"

namespace holdfast::bench {

namespace {

void fail(const std::string& step, natsStatus status) {
  throw std::runtime_error(step + " failed: " + status_text(status));
}

/// Publishes the request body back to its reply subject. It runs on the
/// subscription's delivery thread and does nothing else.
void on_echo_request(natsConnection* connection, natsSubscription*,
                     natsMsg* raw, void*) {
  nats_msg_ptr msg{raw};
  auto reply = natsMsg_GetReply(raw);
  if (reply == nullptr)
    return;
  auto status = natsConnection_Publish(connection, reply, natsMsg_GetData(raw),
                                       natsMsg_GetDataLength(raw));
  if (status != NATS_OK)
    std::cerr << "holdfast_bench echo: publishing a reply to " << reply
              << " failed: " << status_text(status) << '\n';
}

} // namespace

nats_connection::nats_connection(const std::string& url,
                                 const std::string& name) {
  natsOptions* raw = nullptr;
  auto status = natsOptions_Create(&raw);
  nats_options_ptr options{raw};
  if (status == NATS_OK)
    status = natsOptions_SetURL(raw, url.c_str());
  if (status == NATS_OK)
    status = natsOptions_SetName(raw, name.c_str());
  if (status == NATS_OK)
    status = natsOptions_SetSendAsap(raw, true);
  if (status == NATS_OK)
    status = natsConnection_Connect(&connection_, raw);
  if (status != NATS_OK) {
    connection_ = nullptr;
    fail("connecting to NATS at " + url, status);
  }
}

nats_connection::~nats_connection() {
  if (connection_ != nullptr) {
    natsConnection_Close(connection_);
    natsConnection_Destroy(connection_);
  }
}

int run_echo_responder(const std::string& url, const std::string& subject) {
  // Blocked before nats.c starts its threads, so that only `sigwait`
  // below receives the stop signal.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  nats_connection connection{url, "holdfast-bench-echo"};
  natsSubscription* subscription = nullptr;
  auto status
      = natsConnection_Subscribe(&subscription, connection.get(),
                                 subject.c_str(), on_echo_request, nullptr);
  if (status != NATS_OK)
    fail("subscribing to " + subject, status);
  status = natsConnection_Flush(connection.get());
  if (status != NATS_OK)
    fail("flushing the subscription to " + subject, status);
  std::cerr << "holdfast_bench echo: answering " << subject << " on " << url
            << '\n';

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  natsSubscription_Unsubscribe(subscription);
  natsSubscription_Destroy(subscription);
  std::cerr << "holdfast_bench echo: stopping on signal " << signal_number
            << '\n';
  return 0;
}

void echo_round_trip(natsConnection* connection, const std::string& subject,
                     const std::string& payload,
                     std::chrono::milliseconds timeout) {
  natsMsg* raw = nullptr;
  auto status = natsConnection_Request(
      &raw, connection, subject.c_str(), payload.data(),
      static_cast<int>(payload.size()), timeout.count());
  nats_msg_ptr reply{raw};
  if (status != NATS_OK)
    fail("echo request on " + subject, status);
  auto size = static_cast<size_t>(natsMsg_GetDataLength(raw));
  if (size != payload.size()
      || std::memcmp(natsMsg_GetData(raw), payload.data(), size) != 0)
    throw std::runtime_error("echo reply on " + subject + " has "
                             + std::to_string(size) + " bytes that differ "
                             + "from the " + std::to_string(payload.size())
                             + " bytes sent");
}

} // namespace holdfast::bench
