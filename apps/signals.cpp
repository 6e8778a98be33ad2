#include "apps/signals.hpp"

#include <cerrno>
#include <csignal>

#include <pthread.h>

namespace holdfast {

namespace {

sigset_t termination_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

} // namespace

void block_termination_signals() {
  auto set = termination_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void shutdown_flag::request() {
  std::lock_guard<std::mutex> guard{mutex_};
  requested_ = true;
  changed_.notify_all();
}

bool shutdown_flag::requested() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return requested_;
}

void shutdown_flag::wait() {
  std::unique_lock<std::mutex> lock{mutex_};
  changed_.wait(lock, [this] { return requested_; });
}

signal_watcher::signal_watcher(callback on_signal)
    : on_signal_(std::move(on_signal)) {
  thread_ = std::thread{[this] { run(); }};
}

signal_watcher::~signal_watcher() {
  stopping_ = true;
  // A SIGTERM aimed at the watcher thread wakes its sigwaitinfo, and the
  // flag marks that signal as internal.
  pthread_kill(thread_.native_handle(), SIGTERM);
  thread_.join();
}

void signal_watcher::run() {
  auto set = termination_signals();
  for (;;) {
    siginfo_t info{};
    auto signal = sigwaitinfo(&set, &info);
    if (stopping_)
      return;
    if (signal < 0) {
      if (errno == EINTR)
        continue;
      return;
    }
    on_signal_(signal, info.si_code == SI_KERNEL);
  }
}

} // namespace holdfast
