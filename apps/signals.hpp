#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace holdfast {

/// Blocks SIGINT and SIGTERM in the calling thread. Call it before any
/// other thread starts, so that every thread inherits the mask and only
/// `signal_watcher` receives these signals.
void block_termination_signals();

/// One-way flag that a signal callback sets and a main thread waits for.
class shutdown_flag {
public:
  void request();
  bool requested() const;
  void wait();

private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool requested_ = false;
};

/// Receives SIGINT and SIGTERM on its own thread with sigwaitinfo and
/// passes them to a callback in normal thread context, where locking,
/// logging and notifying are safe (unlike in a signal handler).
class signal_watcher {
public:
  /// `from_terminal` is true when the kernel sent the signal, as the
  /// terminal does to its whole foreground process group on Ctrl-C.
  using callback = std::function<void(int signal, bool from_terminal)>;

  /// Starts the watcher thread. `block_termination_signals` must have run.
  explicit signal_watcher(callback on_signal);

  /// Stops the watcher thread without calling the callback.
  ~signal_watcher();

  signal_watcher(const signal_watcher&) = delete;
  signal_watcher& operator=(const signal_watcher&) = delete;

private:
  void run();

  callback on_signal_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

} // namespace holdfast
