#pragma once

#include <chrono>
#include <csignal>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <sys/types.h>

namespace holdfast::test {

/// What to start in a `process`.
struct process_options {
  /// Program path, or a name looked up in PATH.
  std::string program;
  /// Arguments after the program name.
  std::vector<std::string> args;
  /// Variables added to (or replacing those of) the test's environment.
  std::vector<std::pair<std::string, std::string>> env;
  /// File that receives stdout and stderr (appended). Empty inherits both.
  std::string log_path;
};

/// A child process in its own process group. The destructor kills the whole
/// group with SIGKILL if the child still runs, so that nothing it started
/// outlives a failed test.
class process {
public:
  /// Starts the program. Throws `std::system_error` when it cannot start.
  explicit process(process_options options);

  /// Kills the process group and reaps the child unless it already exited.
  ~process();

  process(const process&) = delete;
  process& operator=(const process&) = delete;

  /// Returns the child's pid, which is also its process group id.
  pid_t pid() const noexcept {
    return pid_;
  }

  /// Returns whether the child has not exited yet (reaping it if it has).
  bool is_running();

  /// Sends `signal` to the child only. Returns false once it has exited.
  bool kill(int signal = SIGTERM);

  /// Sends `signal` to the child's process group. False once it exited.
  bool kill_group(int signal = SIGTERM);

  /// Waits up to `timeout` for the exit. Returns the exit status as a shell
  /// reports it (the code, or 128 plus the signal), or nothing on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);

  /// Sends SIGTERM, waits up to `grace`, then kills the group with SIGKILL.
  /// Returns the exit status as `wait` does.
  int stop(std::chrono::milliseconds grace = std::chrono::seconds{5});

  /// Returns the exit status once the child has been reaped.
  std::optional<int> exit_status() const noexcept {
    return exit_status_;
  }

  /// Returns the options the process was started with.
  const process_options& options() const noexcept {
    return options_;
  }

private:
  /// Reaps the child if it has exited. With `block`, waits for the exit.
  bool reap(bool block);

  process_options options_;
  pid_t pid_ = -1;
  std::optional<int> exit_status_;
};

/// Returns the last `max_bytes` of the file at `path`, or an empty string,
/// for failure messages that show a child's log.
std::string tail_of_file(const std::string& path, size_t max_bytes = 4096);

} // namespace holdfast::test
