#include "support/nats_connection.hpp"

#include <stdexcept>

namespace holdfast::plugins {

namespace {

constexpr int64_t connect_timeout_ms = 2'000;
constexpr int64_t reconnect_wait_ms = 1'000;
constexpr int64_t flush_timeout_ms = 1'000;

/// Closure of the connection callbacks; the closed callback deletes it.
using closure_type = callback_log_ptr;

callback_log& log_of(void* closure) {
  return **static_cast<closure_type*>(closure);
}

std::string connected_url(natsConnection* connection) {
  char buffer[1024];
  if (natsConnection_GetConnectedUrl(connection, buffer, sizeof(buffer))
      != NATS_OK)
    return "the NATS server";
  return redact_url(buffer);
}

void on_connected(natsConnection* connection, void* closure) {
  log_of(closure).write(plugin::log_level::info,
                        "connected to " + connected_url(connection));
}

void on_disconnected(natsConnection*, void* closure) {
  log_of(closure).write(plugin::log_level::warn,
                        "disconnected from NATS; reconnecting");
}

void on_reconnected(natsConnection* connection, void* closure) {
  log_of(closure).write(plugin::log_level::info,
                        "reconnected to " + connected_url(connection));
}

void on_closed(natsConnection*, void* closure) {
  delete static_cast<closure_type*>(closure);
}

void on_error(natsConnection*, natsSubscription*, natsStatus status,
              void* closure) {
  log_of(closure).write(plugin::log_level::error,
                        "NATS reported an error: " + status_text(status));
}

void check(natsStatus status, const std::string& step) {
  if (status != NATS_OK)
    throw std::runtime_error(step + ": " + status_text(status));
}

} // namespace

void callback_log::write(plugin::log_level level, std::string_view message) {
  std::lock_guard<std::mutex> guard{mutex_};
  if (host_ != nullptr)
    host_->log(level, message);
}

void callback_log::detach() {
  std::lock_guard<std::mutex> guard{mutex_};
  host_ = nullptr;
}

std::string redact_url(std::string_view url) {
  std::string result;
  size_t start = 0;
  while (start <= url.size()) {
    auto end = url.find(',', start);
    auto item = url.substr(start, end == std::string_view::npos
                                      ? std::string_view::npos
                                      : end - start);
    auto scheme = item.find("://");
    auto info_start = scheme == std::string_view::npos ? 0 : scheme + 3;
    auto at = item.rfind('@');
    if (at != std::string_view::npos && at > info_start) {
      auto info = item.substr(info_start, at - info_start);
      auto colon = info.find(':');
      result += item.substr(0, info_start);
      // A lone token is as secret as a password.
      result += colon == std::string_view::npos
                    ? std::string{"***"}
                    : std::string{info.substr(0, colon)} + ":***";
      result += item.substr(at);
    } else {
      result += item;
    }
    if (end == std::string_view::npos)
      break;
    result += ',';
    start = end + 1;
  }
  return result;
}

std::string status_text(natsStatus status) {
  return std::string{natsStatus_GetText(status)} + " (status "
         + std::to_string(static_cast<int>(status)) + ")";
}

nats_connection::nats_connection(const std::string& url,
                                 const std::string& name, callback_log_ptr log)
    : log_(std::move(log)), display_url_(redact_url(url)) {
  natsOptions* raw = nullptr;
  check(natsOptions_Create(&raw), "creating NATS options failed");
  std::unique_ptr<natsOptions, decltype(&natsOptions_Destroy)> options{
      raw, &natsOptions_Destroy};
  check(natsOptions_SetURL(raw, url.c_str()),
        "the NATS URL \"" + display_url_ + "\" is invalid");
  check(natsOptions_SetName(raw, name.c_str()),
        "setting the connection name failed");
  check(natsOptions_SetSendAsap(raw, true), "enabling SendAsap failed");
  check(natsOptions_SetTimeout(raw, connect_timeout_ms),
        "setting the connect timeout failed");
  check(natsOptions_SetMaxReconnect(raw, -1),
        "enabling unlimited reconnects failed");
  check(natsOptions_SetReconnectWait(raw, reconnect_wait_ms),
        "setting the reconnect wait failed");

  // Owned here until a connection exists; its closed callback deletes it.
  auto closure = std::make_unique<closure_type>(log_);
  check(natsOptions_SetRetryOnFailedConnect(raw, true, on_connected,
                                            closure.get()),
        "enabling connect retries failed");
  check(natsOptions_SetDisconnectedCB(raw, on_disconnected, closure.get()),
        "setting the disconnect callback failed");
  check(natsOptions_SetReconnectedCB(raw, on_reconnected, closure.get()),
        "setting the reconnect callback failed");
  check(natsOptions_SetClosedCB(raw, on_closed, closure.get()),
        "setting the close callback failed");
  check(natsOptions_SetErrorHandler(raw, on_error, closure.get()),
        "setting the error handler failed");

  auto status = natsConnection_Connect(&connection_, raw);
  if (status != NATS_OK && status != NATS_NOT_YET_CONNECTED) {
    connection_ = nullptr;
    throw std::runtime_error("connecting to " + display_url_
                             + " failed: " + status_text(status));
  }
  closure.release();
  if (status == NATS_NOT_YET_CONNECTED)
    log_->write(plugin::log_level::warn,
                display_url_ + " is not reachable yet; retrying every "
                    + std::to_string(reconnect_wait_ms) + " ms");
  else
    log_->write(plugin::log_level::info,
                "connected to " + connected_url(connection_));
}

nats_connection::~nats_connection() {
  if (connection_ == nullptr)
    return;
  if (natsConnection_Status(connection_) == NATS_CONN_STATUS_CONNECTED)
    natsConnection_FlushTimeout(connection_, flush_timeout_ms);
  log_->write(plugin::log_level::info,
              "closing the NATS connection to " + display_url_);
  // The callbacks would report the close as a lost connection.
  log_->detach();
  natsConnection_Close(connection_);
  natsConnection_Destroy(connection_);
}

} // namespace holdfast::plugins
