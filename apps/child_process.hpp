#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <sys/types.h>

namespace holdfast {

/// A command started with extra environment variables. It stays in the
/// process group of holdfast, so that it keeps the terminal. Signals reach
/// it only while it is unreaped, so they never hit a reused pid.
class child_process {
public:
  /// Starts `argv`, looking up `argv[0]` in PATH when it has no slash. The
  /// child inherits standard input, output and error plus `inherited`, but
  /// no other descriptor, so that it gets no NATS socket of holdfast.
  /// Throws `std::system_error` with the errno of the failed lookup or exec.
  child_process(const std::vector<std::string>& argv,
                const std::map<std::string, std::string>& environment,
                const std::vector<int>& inherited);

  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  /// Blocks until the child exits and returns its wait status. Call once.
  int wait();

  /// Waits up to `timeout` for `wait` to reap the child.
  bool wait_for_exit(std::chrono::milliseconds timeout);

  /// Sends `signal` unless the child was reaped already.
  void send_signal(int signal);

  pid_t pid() const noexcept {
    return pid_;
  }

private:
  pid_t pid_ = 0;
  std::mutex mutex_;
  std::condition_variable reaped_changed_;
  bool reaped_ = false;
};

/// Returns the open file descriptors of this process.
std::vector<int> open_descriptors();

/// Returns the exit status a shell reports for a wait status: the exit
/// code, or 128 plus the signal number.
int shell_status(int wait_status);

} // namespace holdfast
