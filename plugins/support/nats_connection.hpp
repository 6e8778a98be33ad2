#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <nats/nats.h>

#include <holdfast/plugin.hpp>

namespace holdfast::plugins {

/// Forwards log lines from nats.c threads to the host until `detach`.
/// Callbacks of nats.c may run after the hook that owns the connection is
/// gone; they keep this object alive and find it detached then.
class callback_log {
public:
  explicit callback_log(plugin::host& host) : host_(&host) {
  }

  void write(plugin::log_level level, std::string_view message);

  /// Drops every later line.
  void detach();

private:
  std::mutex mutex_;
  plugin::host* host_;
};

using callback_log_ptr = std::shared_ptr<callback_log>;

/// Returns `url` with the password of `user:password@` and a token given as
/// `token@` replaced by `***`, for logs and error messages.
std::string redact_url(std::string_view url);

/// Renders a status for messages, such as "Timeout (status 26)".
std::string status_text(natsStatus status);

/// A plugin's own connection to NATS, closed by the destructor. Like the
/// service, it retries an unreachable server in the background, reconnects
/// without limit and sends each message at once (nats.c would otherwise
/// hold it for about a millisecond).
class nats_connection {
public:
  /// Connects to `url`; `name` identifies the connection in the server's
  /// monitoring. Throws std::runtime_error when `url` is invalid.
  nats_connection(const std::string& url, const std::string& name,
                  callback_log_ptr log);

  /// Flushes what was published (waiting at most a second) and closes.
  ~nats_connection();

  nats_connection(const nats_connection&) = delete;
  nats_connection& operator=(const nats_connection&) = delete;

  natsConnection* get() const {
    return connection_;
  }

  /// Returns the server URL as given, without secrets.
  const std::string& display_url() const {
    return display_url_;
  }

private:
  callback_log_ptr log_;
  std::string display_url_;
  natsConnection* connection_ = nullptr;
};

} // namespace holdfast::plugins
