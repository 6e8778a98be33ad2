#include "tests/support/process.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <system_error>
#include <thread>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace holdfast::test {

namespace {

/// Builds "NAME=value" strings of the current environment with `extra`
/// applied on top.
std::vector<std::string> make_environment(
    const std::vector<std::pair<std::string, std::string>>& extra) {
  std::map<std::string, std::string> variables;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    std::string text{*entry};
    auto equals = text.find('=');
    if (equals != std::string::npos)
      variables[text.substr(0, equals)] = text.substr(equals + 1);
  }
  for (const auto& [name, value] : extra)
    variables[name] = value;
  std::vector<std::string> result;
  result.reserve(variables.size());
  for (const auto& [name, value] : variables)
    result.push_back(name + '=' + value);
  return result;
}

std::vector<char*> pointers_to(std::vector<std::string>& strings) {
  std::vector<char*> result;
  result.reserve(strings.size() + 1);
  for (auto& text : strings)
    result.push_back(text.data());
  result.push_back(nullptr);
  return result;
}

int shell_status(int wait_status) {
  if (WIFEXITED(wait_status))
    return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status))
    return 128 + WTERMSIG(wait_status);
  return 255;
}

/// Owns posix_spawn attributes and file actions.
struct spawn_setup {
  posix_spawnattr_t attributes;
  posix_spawn_file_actions_t actions;

  spawn_setup() {
    posix_spawnattr_init(&attributes);
    posix_spawn_file_actions_init(&actions);
  }

  ~spawn_setup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
  }
};

} // namespace

process::process(process_options options) : options_(std::move(options)) {
  std::vector<std::string> argv_strings;
  argv_strings.push_back(options_.program);
  argv_strings.insert(argv_strings.end(), options_.args.begin(),
                      options_.args.end());
  auto argv = pointers_to(argv_strings);
  auto env_strings = make_environment(options_.env);
  auto envp = pointers_to(env_strings);

  spawn_setup setup;
  // A group of its own lets the destructor kill what the child started.
  posix_spawnattr_setflags(&setup.attributes, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&setup.attributes, 0);
  if (!options_.log_path.empty()) {
    posix_spawn_file_actions_addopen(&setup.actions, STDOUT_FILENO,
                                     options_.log_path.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&setup.actions, STDOUT_FILENO,
                                     STDERR_FILENO);
  }
  auto error = ::posix_spawnp(&pid_, options_.program.c_str(), &setup.actions,
                              &setup.attributes, argv.data(), envp.data());
  if (error != 0) {
    pid_ = -1;
    throw std::system_error(error, std::generic_category(),
                            "starting " + options_.program + " failed");
  }
}

process::~process() {
  if (pid_ > 0 && !exit_status_) {
    ::kill(-pid_, SIGKILL);
    reap(true);
  }
}

bool process::reap(bool block) {
  if (exit_status_)
    return true;
  int status = 0;
  pid_t result;
  do {
    result = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  } while (result < 0 && errno == EINTR);
  if (result == pid_) {
    exit_status_ = shell_status(status);
    return true;
  }
  if (result < 0) {
    // Someone else reaped the child; its status is unknown.
    exit_status_ = 255;
    return true;
  }
  return false;
}

bool process::is_running() {
  return !reap(false);
}

bool process::kill(int signal) {
  if (!is_running())
    return false;
  return ::kill(pid_, signal) == 0;
}

bool process::kill_group(int signal) {
  if (!is_running())
    return false;
  return ::kill(-pid_, signal) == 0;
}

std::optional<int> process::wait(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!reap(false)) {
    if (std::chrono::steady_clock::now() >= deadline)
      return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
  return exit_status_;
}

int process::stop(std::chrono::milliseconds grace) {
  kill(SIGTERM);
  if (auto status = wait(grace))
    return *status;
  ::kill(-pid_, SIGKILL);
  reap(true);
  return *exit_status_;
}

std::string tail_of_file(const std::string& path, size_t max_bytes) {
  std::ifstream in{path, std::ios::binary | std::ios::ate};
  if (!in)
    return {};
  auto size = static_cast<size_t>(in.tellg());
  auto start = size > max_bytes ? size - max_bytes : 0;
  in.seekg(static_cast<std::streamoff>(start));
  std::string result(size - start, '\0');
  in.read(result.data(), static_cast<std::streamsize>(result.size()));
  return result;
}

} // namespace holdfast::test
