#include "apps/child_process.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <system_error>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace holdfast {

namespace {

/// Returns the path that exec should run, or an empty string with `error`
/// set when `name` is not an executable file in PATH.
std::string resolve_program(const std::string& name, int& error) {
  if (name.find('/') != std::string::npos)
    return name;
  std::string dirs = "/usr/local/bin:/usr/bin:/bin";
  if (auto path = std::getenv("PATH"))
    dirs = path;
  error = ENOENT;
  size_t begin = 0;
  while (begin <= dirs.size()) {
    auto end = dirs.find(':', begin);
    if (end == std::string::npos)
      end = dirs.size();
    auto dir = dirs.substr(begin, end - begin);
    auto candidate = (dir.empty() ? std::string{"."} : dir) + "/" + name;
    struct stat info {};
    if (::stat(candidate.c_str(), &info) == 0 && S_ISREG(info.st_mode)) {
      if (::access(candidate.c_str(), X_OK) == 0)
        return candidate;
      error = EACCES;
    }
    begin = end + 1;
  }
  return {};
}

} // namespace

std::vector<int> open_descriptors() {
  std::vector<int> result;
  auto dir = ::opendir("/proc/self/fd");
  if (dir == nullptr)
    return result;
  // The listing includes the descriptor of the listing itself.
  auto own = ::dirfd(dir);
  while (auto entry = ::readdir(dir)) {
    std::string name{entry->d_name};
    if (name.empty() || name.find_first_not_of("0123456789") != name.npos)
      continue;
    auto fd = std::stoi(name);
    if (fd != own)
      result.push_back(fd);
  }
  ::closedir(dir);
  return result;
}

child_process::child_process(
    const std::vector<std::string>& argv,
    const std::map<std::string, std::string>& environment,
    const std::vector<int>& inherited) {
  int lookup_error = 0;
  auto program = resolve_program(argv.at(0), lookup_error);
  if (program.empty())
    throw std::system_error(lookup_error, std::generic_category(),
                            "executing " + argv.at(0) + " failed");

  // Between fork and exec only async-signal-safe calls are allowed, so
  // the argument and environment arrays are built here.
  std::vector<std::string> env_entries;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    std::string text{*entry};
    auto name = text.substr(0, text.find('='));
    if (environment.count(name) == 0)
      env_entries.push_back(std::move(text));
  }
  for (const auto& [name, value] : environment)
    env_entries.push_back(name + "=" + value);
  std::vector<char*> envp;
  for (auto& entry : env_entries)
    envp.push_back(entry.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = argv;
  std::vector<char*> argp;
  for (auto& arg : args)
    argp.push_back(arg.data());
  argp.push_back(nullptr);

  int exec_status[2];
  if (::pipe2(exec_status, O_CLOEXEC) != 0)
    throw std::system_error(errno, std::generic_category(),
                            "starting " + argv.at(0) + " failed");
  std::vector<int> to_close;
  for (auto fd : open_descriptors()) {
    bool keep = fd <= STDERR_FILENO || fd == exec_status[1]
                || std::find(inherited.begin(), inherited.end(), fd)
                       != inherited.end();
    if (!keep)
      to_close.push_back(fd);
  }
  auto pid = ::fork();
  if (pid == 0) {
    // holdfast blocks SIGINT and SIGTERM for its signal thread; the
    // command gets the default mask and dispositions.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    for (auto fd : to_close)
      ::close(fd);
    ::execve(program.c_str(), argp.data(), envp.data());
    int error = errno;
    [[maybe_unused]] auto written
        = ::write(exec_status[1], &error, sizeof(error));
    ::_exit(127);
  }
  auto fork_error = errno;
  ::close(exec_status[1]);
  if (pid < 0) {
    ::close(exec_status[0]);
    throw std::system_error(fork_error, std::generic_category(),
                            "starting " + argv.at(0) + " failed");
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
    throw std::system_error(exec_error, std::generic_category(),
                            "executing " + argv.at(0) + " failed");
  }
  pid_ = pid;
}

int child_process::wait() {
  // Wait without reaping first, so that `send_signal` can still address
  // the pid safely until the reap below runs under the mutex.
  siginfo_t info{};
  while (::waitid(P_PID, pid_, &info, WEXITED | WNOWAIT) != 0
         && errno == EINTR) {
  }
  std::lock_guard<std::mutex> guard{mutex_};
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
  reaped_changed_.notify_all();
  return status;
}

bool child_process::wait_for_exit(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock{mutex_};
  return reaped_changed_.wait_for(lock, timeout, [this] { return reaped_; });
}

void child_process::send_signal(int signal) {
  std::lock_guard<std::mutex> guard{mutex_};
  if (!reaped_)
    ::kill(pid_, signal);
}

int shell_status(int wait_status) {
  if (WIFEXITED(wait_status))
    return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status))
    return 128 + WTERMSIG(wait_status);
  return 1;
}

} // namespace holdfast
