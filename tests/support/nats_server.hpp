#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace holdfast::test {

/// Settings of a `nats_server`.
struct nats_server_options {
  /// Starts the server with JetStream (`-js -sd <dir>/jetstream`).
  bool jetstream = false;
  /// How long `start` waits for the server to accept TCP connections.
  std::chrono::milliseconds ready_timeout{std::chrono::seconds{10}};
  /// How long `stop` waits after SIGTERM before it sends SIGKILL.
  std::chrono::milliseconds stop_timeout{std::chrono::seconds{5}};
};

/// A real `nats-server -a 127.0.0.1 -p PORT` for one test, on a port that
/// was free when the fixture was built. The port stays the same across
/// `restart`, so that clients can reconnect. The program is
/// $HOLDFAST_NATS_SERVER, else `nats-server` from PATH or an sbin
/// directory. Its log and JetStream data live in a temporary directory.
class nats_server {
public:
  /// Picks a port and starts the server. Throws `std::runtime_error` when
  /// it does not accept connections within `ready_timeout`.
  explicit nats_server(nats_server_options options = {});

  /// Kills the server if it still runs.
  ~nats_server();

  nats_server(const nats_server&) = delete;
  nats_server& operator=(const nats_server&) = delete;

  /// Starts the server on the fixture's port and waits until it accepts
  /// connections. Does nothing while it runs.
  void start();

  /// Stops the server with SIGTERM (SIGKILL after `stop_timeout`).
  void stop();

  /// Kills the server at once with SIGKILL, as a crash would.
  void kill();

  /// Stops and starts the server on the same port.
  void restart();

  /// Returns whether the server process runs.
  bool is_running();

  /// Returns the server's port on 127.0.0.1.
  uint16_t port() const noexcept {
    return port_;
  }

  /// Returns "nats://127.0.0.1:PORT".
  std::string url() const;

  /// Returns the path of the server's log (stdout and stderr of every run).
  std::string log_path() const;

  /// Returns the directory that contains the log and JetStream data.
  const temp_dir& directory() const noexcept {
    return directory_;
  }

private:
  nats_server_options options_;
  temp_dir directory_{"holdfast-nats"};
  uint16_t port_ = 0;
  std::unique_ptr<process> process_;
};

/// Returns a TCP port on 127.0.0.1 that was free at the time of the call.
uint16_t pick_free_port();

/// Returns whether a TCP connection to 127.0.0.1:`port` succeeds within
/// `timeout`, retrying every few milliseconds.
bool wait_for_tcp(uint16_t port, std::chrono::milliseconds timeout);

/// Returns the path of the `nats-server` program that the fixture starts,
/// or an empty string when none is found.
std::string find_nats_server();

} // namespace holdfast::test
