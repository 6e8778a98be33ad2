#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <sys/types.h>

#include <spdlog/logger.h>

namespace holdfast {

/// Settings of a `nats-server` child process.
struct managed_nats_options {
  /// Program name looked up in PATH and the sbin directories, or a path.
  std::string binary = "nats-server";
  uint16_t port = 4222;
  /// Working directory of the server; its output goes to
  /// `<data_dir>/nats-server.log`.
  std::string data_dir;
  /// How long `start` waits for the server to accept TCP connections.
  std::chrono::milliseconds ready_timeout{std::chrono::seconds{10}};
  /// How long `stop` waits after SIGTERM before it sends SIGKILL.
  std::chrono::milliseconds stop_timeout{std::chrono::seconds{5}};
  /// First delay before a restart; it doubles up to `max_restart_delay`
  /// while the server keeps dying soon after each start.
  std::chrono::milliseconds restart_delay{std::chrono::milliseconds{250}};
  std::chrono::milliseconds max_restart_delay{std::chrono::seconds{10}};
};

/// Runs `nats-server -a 127.0.0.1 -p PORT` as a child process and restarts
/// it with backoff whenever it dies, until `stop`. The child has its own
/// process group, so Ctrl-C reaches only holdfast, which stops the server
/// last. The child also gets SIGTERM when holdfast dies.
class managed_nats {
public:
  explicit managed_nats(managed_nats_options options);

  /// Stops the server if it still runs.
  ~managed_nats();

  managed_nats(const managed_nats&) = delete;
  managed_nats& operator=(const managed_nats&) = delete;

  /// Starts the server and waits until it accepts connections, then
  /// supervises it. Returns false when `cancelled` turned true first; the
  /// server is stopped then. Throws `std::runtime_error` when the program
  /// is missing, the port is taken, the server exits, or it is not ready
  /// within `ready_timeout`.
  bool start(const std::function<bool()>& cancelled);

  /// Sends SIGTERM, then SIGKILL after `stop_timeout`, and ends the
  /// supervision. Idempotent.
  void stop();

  /// URL of the server, such as nats://127.0.0.1:4222.
  std::string url() const;

  /// Process id of the running server, or 0 between restarts.
  pid_t pid() const;

private:
  enum class readiness { accepting, exited, timed_out, cancelled };

  /// Starts a child; requires `mutex_`. Throws `std::runtime_error`.
  pid_t spawn();
  void supervise();
  readiness wait_until_accepting(pid_t pid,
                                 std::chrono::steady_clock::time_point deadline,
                                 const std::function<bool()>& cancelled);
  /// Ends an unsupervised child during `start`; requires `mutex_`.
  void terminate_unsupervised();

  managed_nats_options options_;
  std::string program_;
  std::string log_path_;
  std::shared_ptr<spdlog::logger> log_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  /// Child that has not been reaped yet. Guarded by `mutex_`: signals go
  /// to it only while it is unreaped, so they never reach a reused pid.
  pid_t pid_ = 0;
  std::chrono::steady_clock::time_point started_at_;
  bool stopping_ = false;
  bool stopped_ = false;
  std::thread supervisor_;
};

} // namespace holdfast
