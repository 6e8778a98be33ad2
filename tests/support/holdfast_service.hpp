#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <string>
#include <vector>

#include "bridges/nats_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace holdfast::test {

/// A real `holdfast serve` process for one test, talking to an external
/// NATS server and keeping its LMDB data in a temporary directory that
/// survives `restart` and `kill`.
class holdfast_service {
public:
  /// Writes the configuration and starts the service; waits until it
  /// answers requests. `extra_yaml` is appended to the configuration.
  explicit holdfast_service(std::string nats_url, std::string extra_yaml = {});
  ~holdfast_service();

  holdfast_service(const holdfast_service&) = delete;
  holdfast_service& operator=(const holdfast_service&) = delete;

  /// Starts the service and waits until it replies; throws
  /// `std::runtime_error` with the end of its log when it does not.
  void start();

  /// Kills the service with SIGKILL, as a crash would.
  void kill();

  /// Stops the service with SIGTERM and returns its exit status.
  int stop();

  process& running();

  /// Returns a new client connected to the service's NATS server.
  std::unique_ptr<nats_client> make_client(
    std::chrono::milliseconds timeout = std::chrono::seconds{5}) const;

  const std::string& nats_url() const noexcept {
    return nats_url_;
  }

  std::string log_path() const;

  std::string config_path() const;

  /// Returns the last part of the service log, for failure messages.
  std::string log_tail() const;

private:
  std::string nats_url_;
  temp_dir directory_{"holdfast-service"};
  std::unique_ptr<process> process_;
};

/// Events that match a filter, collected from construction on.
class event_recorder {
public:
  /// Subscribes through `client`, which must outlive the recorder.
  event_recorder(nats_client& client, const event_filter& filter);
  ~event_recorder();

  event_recorder(const event_recorder&) = delete;
  event_recorder& operator=(const event_recorder&) = delete;

  /// Waits up to `timeout` for the first event of `type` and returns it.
  std::optional<lock_event> await(event_type type,
                                  std::chrono::milliseconds timeout);

  /// Returns the number of events of `type` received so far.
  size_t count(event_type type);

  /// Returns every event received so far, in arrival order.
  std::vector<lock_event> events();

private:
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::vector<lock_event> events_;
  std::shared_ptr<void> subscription_;
};

/// A blocking acquire on its own connection, running on its own thread
/// from construction on. The destructor joins the thread, so the caller
/// must make the acquire return first (for example with release_owner).
class background_acquire {
public:
  background_acquire(const holdfast_service& service, acquire_request request);
  ~background_acquire();

  background_acquire(const background_acquire&) = delete;
  background_acquire& operator=(const background_acquire&) = delete;

  const acquire_request& request() const noexcept {
    return request_;
  }

  /// Returns whether the reply has arrived.
  bool finished();

  /// Waits up to `timeout` for the reply.
  std::optional<lock_reply> await(std::chrono::milliseconds timeout);

  /// Time from sending the request to its reply; zero before the reply.
  std::chrono::milliseconds elapsed();

private:
  acquire_request request_;
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::optional<lock_reply> reply_;
  std::chrono::milliseconds elapsed_{0};
  std::thread thread_;
};

/// Path of the `holdfast` binary under test.
std::string holdfast_binary();

/// Waits up to `timeout` for `condition` to hold, checking every 10 ms.
template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  return true;
}

} // namespace holdfast::test
