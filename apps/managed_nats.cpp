#include "apps/managed_nats.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string_view>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "actors/logger.hpp"
#include "apps/durations.hpp"

namespace holdfast {

namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// A server that ran this long before dying counts as healthy, so the next
// restart starts again with the shortest delay.
constexpr auto healthy_uptime = std::chrono::minutes{1};

constexpr auto poll_interval = milliseconds{50};

bool is_executable_file(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode)
         && ::access(path.c_str(), X_OK) == 0;
}

/// Returns the path of `name`, searching PATH and then the sbin
/// directories, where Debian installs nats-server; empty when not found.
std::string find_program(const std::string& name) {
  if (name.find('/') != std::string::npos)
    return is_executable_file(name) ? name : std::string{};
  std::string dirs;
  if (auto path = std::getenv("PATH"))
    dirs = path;
  dirs += ":/usr/local/sbin:/usr/sbin:/sbin";
  size_t begin = 0;
  while (begin <= dirs.size()) {
    auto end = dirs.find(':', begin);
    if (end == std::string::npos)
      end = dirs.size();
    auto dir = dirs.substr(begin, end - begin);
    auto candidate = (dir.empty() ? std::string{"."} : dir) + "/" + name;
    if (is_executable_file(candidate))
      return candidate;
    begin = end + 1;
  }
  return {};
}

sockaddr_in loopback(uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

/// Returns whether another socket listens on 127.0.0.1:`port`. With
/// SO_REUSEADDR the probe ignores connections left in TIME_WAIT.
bool port_in_use(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return false;
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  auto address = loopback(port);
  bool in_use
      = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0
        && errno == EADDRINUSE;
  ::close(fd);
  return in_use;
}

bool accepts_connections(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return false;
  auto address = loopback(port);
  bool connected
      = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address))
        == 0;
  ::close(fd);
  return connected;
}

std::string describe_status(int status) {
  if (WIFEXITED(status))
    return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    auto signal = WTERMSIG(status);
    return "was killed by signal " + std::to_string(signal) + " ("
           + ::strsignal(signal) + ")";
  }
  return "stopped with wait status " + std::to_string(status);
}

// Written to the server's log before each start, so that errors quote only
// the output of the latest start.
constexpr std::string_view start_marker = "--- holdfast starts nats-server";

/// Returns up to `count` last lines of the file at `path` that follow the
/// latest start marker, for error messages.
std::string tail_of_file(const std::string& path, size_t count) {
  std::ifstream file{path};
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(file, line)) {
    if (line.compare(0, start_marker.size(), start_marker) == 0) {
      lines.clear();
      continue;
    }
    lines.push_back(line);
    if (lines.size() > count)
      lines.erase(lines.begin());
  }
  std::string result;
  for (const auto& kept : lines)
    result += "\n  " + kept;
  return result;
}

/// Returns whether `pid` has exited, without reaping it.
bool has_exited(pid_t pid) {
  siginfo_t info{};
  if (::waitid(P_PID, pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0)
    return errno == ECHILD;
  return info.si_pid == pid;
}

} // namespace

managed_nats::managed_nats(managed_nats_options options)
    : options_(std::move(options)),
      log_path_(options_.data_dir + "/nats-server.log"),
      log_(logger("managed-nats")) {
}

managed_nats::~managed_nats() {
  stop();
}

std::string managed_nats::url() const {
  return "nats://127.0.0.1:" + std::to_string(options_.port);
}

pid_t managed_nats::pid() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return pid_;
}

bool managed_nats::start(const std::function<bool()>& cancelled) {
  program_ = find_program(options_.binary);
  if (program_.empty())
    throw std::runtime_error(
        "nats-server program " + options_.binary
        + " not found in PATH or /usr/sbin: install the nats-server package, "
          "set nats.managed.binary to its path, or set nats.url (--nats) to "
          "use a running server");
  std::error_code failure;
  std::filesystem::create_directories(options_.data_dir, failure);
  if (failure)
    throw std::runtime_error("creating the nats-server data directory "
                             + options_.data_dir
                             + " failed: " + failure.message());
  if (port_in_use(options_.port))
    throw std::runtime_error(
        "port " + std::to_string(options_.port)
        + " on 127.0.0.1 is already in use: stop the process listening there, "
          "choose another nats.managed.port (--nats-port), or set nats.url "
          "(--nats) to use that server");

  std::unique_lock<std::mutex> lock{mutex_};
  auto pid = spawn();
  log_->info("started nats-server (pid {}) on 127.0.0.1:{}, output in {}", pid,
             options_.port, log_path_);
  lock.unlock();

  auto deadline = steady_clock::now() + options_.ready_timeout;
  auto state = wait_until_accepting(pid, deadline, cancelled);

  lock.lock();
  switch (state) {
  case readiness::accepting:
    break;
  case readiness::exited: {
    int status = 0;
    ::waitpid(pid, &status, 0);
    pid_ = 0;
    throw std::runtime_error("nats-server " + describe_status(status)
                             + " during start; last lines of " + log_path_ + ":"
                             + tail_of_file(log_path_, 5));
  }
  case readiness::timed_out:
    terminate_unsupervised();
    throw std::runtime_error(
        "timed out after " + format_duration(options_.ready_timeout)
        + " waiting for nats-server to accept connections on 127.0.0.1:"
        + std::to_string(options_.port) + "; see " + log_path_);
  case readiness::cancelled:
    terminate_unsupervised();
    return false;
  }
  log_->info("nats-server accepts connections at {}", url());
  supervisor_ = std::thread{[this] { supervise(); }};
  return true;
}

pid_t managed_nats::spawn() {
  // Everything the child needs is prepared here, because between fork and
  // exec in a multithreaded process only async-signal-safe calls are safe.
  auto port = std::to_string(options_.port);
  std::vector<std::string> args{program_, "-a", "127.0.0.1", "-p", port};
  std::vector<char*> argv;
  for (auto& arg : args)
    argv.push_back(arg.data());
  argv.push_back(nullptr);
  const char* work_dir = options_.data_dir.c_str();

  int output = ::open(log_path_.c_str(),
                      O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (output < 0)
    throw std::runtime_error("opening " + log_path_
                             + " failed: " + std::strerror(errno));
  std::string marker{start_marker};
  for (const auto& arg : args)
    marker += " " + arg;
  marker += " ---\n";
  [[maybe_unused]] auto written = ::write(output, marker.data(), marker.size());
  int input = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  int exec_status[2];
  if (input < 0 || ::pipe2(exec_status, O_CLOEXEC) != 0) {
    auto error = errno;
    ::close(output);
    if (input >= 0)
      ::close(input);
    throw std::runtime_error(
        std::string{"preparing to start nats-server failed: "}
        + std::strerror(error));
  }

  auto parent = ::getpid();
  auto pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent)
      ::_exit(1);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    ::dup2(input, STDIN_FILENO);
    ::dup2(output, STDOUT_FILENO);
    ::dup2(output, STDERR_FILENO);
    if (::chdir(work_dir) == 0)
      ::execv(argv[0], argv.data());
    int error = errno;
    written = ::write(exec_status[1], &error, sizeof(error));
    ::_exit(127);
  }
  auto fork_error = errno;
  ::close(output);
  ::close(input);
  ::close(exec_status[1]);
  if (pid < 0) {
    ::close(exec_status[0]);
    throw std::runtime_error(std::string{"starting nats-server failed: fork: "}
                             + std::strerror(fork_error));
  }

  // The pipe closes without data when exec succeeds.
  int exec_error = 0;
  ssize_t received = 0;
  do {
    received = ::read(exec_status[0], &exec_error, sizeof(exec_error));
  } while (received < 0 && errno == EINTR);
  ::close(exec_status[0]);
  if (received == static_cast<ssize_t>(sizeof(exec_error))) {
    ::waitpid(pid, nullptr, 0);
    throw std::runtime_error("executing " + program_ + " in "
                             + options_.data_dir
                             + " failed: " + std::strerror(exec_error));
  }
  pid_ = pid;
  started_at_ = steady_clock::now();
  return pid;
}

managed_nats::readiness
managed_nats::wait_until_accepting(pid_t pid, steady_clock::time_point deadline,
                                   const std::function<bool()>& cancelled) {
  for (;;) {
    if (has_exited(pid))
      return readiness::exited;
    if (accepts_connections(options_.port))
      return readiness::accepting;
    if (cancelled())
      return readiness::cancelled;
    if (steady_clock::now() >= deadline)
      return readiness::timed_out;
    std::unique_lock<std::mutex> lock{mutex_};
    if (changed_.wait_for(lock, poll_interval, [this] { return stopping_; }))
      return readiness::cancelled;
  }
}

void managed_nats::terminate_unsupervised() {
  if (pid_ == 0)
    return;
  ::kill(pid_, SIGTERM);
  auto deadline = steady_clock::now() + options_.stop_timeout;
  while (!has_exited(pid_) && steady_clock::now() < deadline)
    std::this_thread::sleep_for(poll_interval);
  if (!has_exited(pid_))
    ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = 0;
}

void managed_nats::supervise() {
  auto delay = options_.restart_delay;
  std::unique_lock<std::mutex> lock{mutex_};
  for (;;) {
    auto pid = pid_;
    if (pid != 0) {
      lock.unlock();
      // Wait without reaping, so that `stop` can still signal this pid
      // safely until the reap below runs under the mutex.
      siginfo_t info{};
      while (::waitid(P_PID, pid, &info, WEXITED | WNOWAIT) != 0
             && errno == EINTR) {
      }
      lock.lock();
      int status = 0;
      ::waitpid(pid, &status, 0);
      pid_ = 0;
      changed_.notify_all();
      if (stopping_)
        return;
      if (steady_clock::now() - started_at_ >= healthy_uptime)
        delay = options_.restart_delay;
      log_->warn("nats-server (pid {}) {}; restarting in {}, output in {}", pid,
                 describe_status(status), format_duration(delay), log_path_);
    }
    if (changed_.wait_for(lock, delay, [this] { return stopping_; }))
      return;
    delay = std::min(delay * 2, options_.max_restart_delay);
    try {
      auto new_pid = spawn();
      log_->info("restarted nats-server (pid {}) on 127.0.0.1:{}", new_pid,
                 options_.port);
      lock.unlock();
      auto deadline = steady_clock::now() + options_.ready_timeout;
      auto state
          = wait_until_accepting(new_pid, deadline, [] { return false; });
      if (state == readiness::accepting)
        log_->info("nats-server accepts connections again at {}", url());
      else if (state == readiness::timed_out)
        log_->warn("restarted nats-server (pid {}) does not accept "
                   "connections after {}; see {}",
                   new_pid, format_duration(options_.ready_timeout), log_path_);
      lock.lock();
    } catch (const std::exception& e) {
      log_->error("restarting nats-server failed: {}; retrying in {}", e.what(),
                  format_duration(delay));
    }
  }
}

void managed_nats::stop() {
  std::unique_lock<std::mutex> lock{mutex_};
  if (stopped_)
    return;
  stopped_ = true;
  stopping_ = true;
  changed_.notify_all();
  if (!supervisor_.joinable()) {
    terminate_unsupervised();
    return;
  }
  if (pid_ != 0) {
    log_->info("stopping nats-server (pid {})", pid_);
    ::kill(pid_, SIGTERM);
    if (!changed_.wait_for(lock, options_.stop_timeout,
                           [this] { return pid_ == 0; })) {
      log_->warn("nats-server (pid {}) did not exit within {} of SIGTERM; "
                 "sending SIGKILL",
                 pid_, format_duration(options_.stop_timeout));
      ::kill(pid_, SIGKILL);
      changed_.wait(lock, [this] { return pid_ == 0; });
    }
    log_->info("nats-server stopped");
  }
  lock.unlock();
  supervisor_.join();
}

} // namespace holdfast
