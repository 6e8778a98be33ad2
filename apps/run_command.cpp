#include "apps/run_command.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>

#include "apps/child_process.hpp"
#include "apps/durations.hpp"
#include "apps/output.hpp"
#include "apps/signals.hpp"

namespace holdfast {

namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

/// Time the command gets between SIGTERM and SIGKILL after a lost lease.
constexpr milliseconds termination_grace{std::chrono::seconds{5}};

/// Lease used for the renewal schedule when the reply does not state one.
constexpr milliseconds fallback_ttl{std::chrono::minutes{5}};

struct run_flags {
  client_flags client;
  std::string project;
  std::string workspace;
  std::string owner;
  std::string user;
  std::string level = "medium";
  std::string wait = "0";
  std::string ttl = "0";
  std::vector<std::string> metadata;
  std::vector<std::string> command;
};

std::string resource_name(const run_flags& flags) {
  return flags.project + '/' + flags.workspace;
}

bool is_transient(lock_errc code) {
  return code == lock_errc::unavailable || code == lock_errc::timeout
         || code == lock_errc::internal;
}

/// Renews a lease in the background until stopped or until the lease is
/// lost; then it calls `on_lost` once, on its own thread.
class lease_keeper {
public:
  lease_keeper(nats_client& client, lock_record lock, milliseconds ttl,
               steady_clock::time_point lease_end,
               std::function<void(const std::string&)> on_lost)
      : client_(client), lock_(std::move(lock)), ttl_(ttl),
        margin_(std::clamp(ttl / 10, milliseconds{100},
                           milliseconds{std::chrono::seconds{2}})),
        lease_end_(lease_end), on_lost_(std::move(on_lost)) {
    thread_ = std::thread{[this] { run(); }};
    watchdog_ = std::thread{[this] { watch(); }};
  }

  ~lease_keeper() {
    stop();
  }

  /// Ends the renewals; returns after the thread finished.
  void stop() {
    {
      std::lock_guard<std::mutex> guard{mutex_};
      stopping_ = true;
      changed_.notify_all();
    }
    if (thread_.joinable())
      thread_.join();
    if (watchdog_.joinable())
      watchdog_.join();
  }

  bool lost() const {
    std::lock_guard<std::mutex> guard{mutex_};
    return lost_;
  }

private:
  /// Sleeps until `until`; returns false when stopped first.
  bool sleep_until(steady_clock::time_point until) {
    std::unique_lock<std::mutex> lock{mutex_};
    return !changed_.wait_until(lock, until, [this] { return stopping_; });
  }

  /// Calls `on_lost` once, from whichever thread notices the loss first.
  void mark_lost(const std::string& reason) {
    {
      std::lock_guard<std::mutex> guard{mutex_};
      if (lost_)
        return;
      lost_ = true;
      changed_.notify_all();
    }
    on_lost_(reason);
  }

  /// Stops the command `margin_` before the lease could end, even while a
  /// renewal is still waiting for its reply: after that moment another
  /// client may hold the lock.
  void watch() {
    std::unique_lock<std::mutex> guard{mutex_};
    while (!stopping_ && !lost_) {
      auto deadline = lease_end_ - margin_;
      auto moved = changed_.wait_until(guard, deadline, [&] {
        return stopping_ || lost_ || lease_end_ - margin_ != deadline;
      });
      if (moved)
        continue;
      guard.unlock();
      mark_lost("no renewal succeeded before the lease was about to end");
      return;
    }
  }

  void extend_lease(steady_clock::time_point end) {
    std::lock_guard<std::mutex> guard{mutex_};
    lease_end_ = end;
    changed_.notify_all();
  }

  steady_clock::time_point lease_end() const {
    std::lock_guard<std::mutex> guard{mutex_};
    return lease_end_;
  }

  void run() {
    auto interval = ttl_ / 3;
    auto retry_delay = std::clamp(ttl_ / 10, milliseconds{100},
                                  milliseconds{std::chrono::seconds{1}});
    auto next = steady_clock::now() + interval;
    auto resource = lock_.key.project + '/' + lock_.key.workspace;
    while (sleep_until(next)) {
      renew_request request;
      request.tenant = lock_.key.tenant;
      request.lock_id = lock_.lock_id;
      request.token = lock_.token;
      request.ttl_ms = ttl_.count();
      auto sent = steady_clock::now();
      auto reply = client_.renew(request);
      if (reply.ok()) {
        // The service extended the lease after `sent`, so the lease lasts
        // at least until `sent + ttl`.
        extend_lease(sent + ttl_);
        next = sent + interval;
        continue;
      }
      auto error = format_error(reply.error);
      if (!is_transient(reply.error.code)) {
        mark_lost(error);
        return;
      }
      auto now = steady_clock::now();
      auto end = lease_end();
      if (now >= end - margin_) {
        mark_lost("could not renew the lease before it ended; last error: "
                  + error);
        return;
      }
      next = std::min(now + retry_delay, end - margin_);
      auto left = std::chrono::duration_cast<milliseconds>(end - now);
      std::cerr << "holdfast: renewing the lease on " << resource
                << " failed: " << error << "; retrying, the lease ends in "
                << format_duration(left) << std::endl;
    }
  }

  nats_client& client_;
  lock_record lock_;
  milliseconds ttl_;
  /// How long before the lease ends the command is stopped.
  milliseconds margin_;
  steady_clock::time_point lease_end_;
  std::function<void(const std::string&)> on_lost_;
  std::thread watchdog_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool stopping_ = false;
  bool lost_ = false;
  std::thread thread_;
};

/// Returns the lease length that the grant states, or a fallback.
milliseconds granted_ttl(const lock_record& lock, int64_t requested_ms) {
  if (lock.ttl_ms > 0)
    return milliseconds{lock.ttl_ms};
  if (lock.expires_at_ms > lock.acquired_at_ms && lock.acquired_at_ms > 0)
    return milliseconds{lock.expires_at_ms - lock.acquired_at_ms};
  if (requested_ms > 0)
    return milliseconds{requested_ms};
  return fallback_ttl;
}

/// Progress of `holdfast run`, shared with the signal watcher.
struct run_state {
  enum class phase { acquiring, starting, running, finishing };

  std::mutex mutex;
  phase current = phase::acquiring;
  /// Signal received after the grant but before the command started.
  int pending_signal = 0;
  std::shared_ptr<child_process> child;
};

/// Returns 0 when `program` can be executed, else the status a shell gives
/// for it: 127 when it is not found, 126 when it is not executable. Checked
/// before acquiring, so that a typo does not take the lock and a token.
int check_command(const std::string& program) {
  auto executable = [](const std::string& path) {
    return ::access(path.c_str(), X_OK) == 0;
  };
  if (program.find('/') != std::string::npos) {
    if (::access(program.c_str(), F_OK) != 0)
      return 127;
    return executable(program) ? 0 : 126;
  }

  const char* path = std::getenv("PATH");
  std::string directories = path != nullptr ? path : "/usr/bin:/bin";
  bool found = false;
  size_t start = 0;
  while (start <= directories.size()) {
    auto end = directories.find(':', start);
    if (end == std::string::npos)
      end = directories.size();
    auto directory = directories.substr(start, end - start);
    auto candidate = (directory.empty() ? std::string{"."} : directory) + "/"
                     + program;
    if (::access(candidate.c_str(), F_OK) == 0) {
      found = true;
      if (executable(candidate))
        return 0;
    }
    start = end + 1;
  }
  return found ? 126 : 127;
}

void release_lock(nats_client& client, const run_flags& flags,
                  const lock_record& lock, bool quiet) {
  release_request request;
  request.tenant = lock.key.tenant;
  request.lock_id = lock.lock_id;
  request.token = lock.token;
  auto reply = client.release(request);
  if (!reply.ok() && !quiet)
    std::cerr << "holdfast: releasing the lock on " << resource_name(flags)
              << " failed: " << format_error(reply.error)
              << "; the lease ends by itself at "
              << format_time(lock.expires_at_ms) << std::endl;
}

int run_locked(const run_flags& flags) {
  // Before any other thread starts, so that every thread inherits the mask.
  block_termination_signals();
  // Descriptors open now came from the caller and belong to the command.
  auto inherited = open_descriptors();
  auto resource = resource_name(flags);
  run_state state;
  signal_watcher watcher{[&](int signal, bool from_terminal) {
    std::lock_guard<std::mutex> guard{state.mutex};
    switch (state.current) {
    case run_state::phase::acquiring:
      // NOTE: a grant that the service sends after this exit stays held
      // until its lease ends, because the protocol has no cancel request.
      std::cerr << "holdfast: interrupted while acquiring the lock on "
                << resource << std::endl;
      std::_Exit(128 + signal);
    case run_state::phase::starting:
      state.pending_signal = signal;
      break;
    case run_state::phase::running:
      // The terminal sends Ctrl-C to the whole foreground process group,
      // so the command has it already. A forwarded copy would count as a
      // second Ctrl-C, which makes terraform abort without cleanup.
      if (!from_terminal && state.child)
        state.child->send_signal(signal);
      break;
    case run_state::phase::finishing:
      break;
    }
  }};

  if (auto status = check_command(flags.command.front()); status != 0) {
    std::cerr << "error: " << flags.command.front()
              << (status == 127 ? ": command not found"
                                : ": permission denied (not executable)")
              << "; the lock was not requested" << std::endl;
    return status;
  }

  auto client = connect_client(flags.client, request_verb::acquire);
  if (!client)
    return exit_status::unavailable;

  acquire_request request;
  request.key = {flags.client.tenant, flags.project, flags.workspace};
  request.owner = flags.owner;
  request.user = flags.user;
  request.level = parse_priority(flags.level).value_or(priority::medium);
  request.wait_ms = duration_ms(flags.wait);
  request.ttl_ms = duration_ms(flags.ttl);
  request.metadata = parse_metadata(flags.metadata);
  auto reply = client->acquire(request);
  auto granted_at = steady_clock::now();
  if (!reply.ok())
    return report_failure(flags.client, request_verb::acquire, reply.error);
  const auto lock = reply.lock;
  auto ttl = granted_ttl(lock, request.ttl_ms);

  std::map<std::string, std::string> environment{
      {"HOLDFAST_LOCK_ID", lock.lock_id},
      {"HOLDFAST_FENCING_TOKEN", std::to_string(lock.token)},
      {"HOLDFAST_TENANT", flags.client.tenant},
      {"HOLDFAST_PROJECT", flags.project},
      {"HOLDFAST_WORKSPACE", flags.workspace},
      {"HOLDFAST_OWNER", flags.owner},
  };
  {
    std::lock_guard<std::mutex> guard{state.mutex};
    state.current = run_state::phase::starting;
  }
  std::cerr << "holdfast: acquired " << resource << " (token " << lock.token
            << ", lease " << format_duration(ttl) << "); running "
            << flags.command.front() << std::endl;

  std::shared_ptr<child_process> child;
  {
    std::lock_guard<std::mutex> guard{state.mutex};
    if (state.pending_signal != 0) {
      release_lock(*client, flags, lock, false);
      return 128 + state.pending_signal;
    }
    try {
      child = std::make_shared<child_process>(flags.command, environment,
                                              inherited);
    } catch (const std::system_error& e) {
      std::cerr << "error: " << e.what() << std::endl;
      release_lock(*client, flags, lock, false);
      return e.code().value() == ENOENT ? 127 : 126;
    }
    state.child = child;
    state.current = run_state::phase::running;
  }

  // Renewals get their own connection with a reply timeout well below the
  // renewal interval, so that a slow reply does not delay the next try.
  auto renew_options = make_client_options(flags.client);
  renew_options.timeout
      = std::clamp(ttl / 4, milliseconds{250}, renew_options.timeout);
  renew_options.name = "holdfast-run-renew";
  std::unique_ptr<nats_client> renew_client;
  try {
    renew_client = std::make_unique<nats_client>(renew_options);
  } catch (const std::exception& e) {
    std::cerr << "holdfast: opening a second NATS connection for renewals "
                 "failed ("
              << e.what() << "); renewing on the first one" << std::endl;
  }
  auto& renewer = renew_client ? *renew_client : *client;

  auto command_name = flags.command.front();
  lease_keeper keeper{
      renewer, lock, ttl, granted_at + ttl, [&](const std::string& reason) {
        std::cerr << "holdfast: lease lost on " << resource << ": " << reason
                  << "; terminating " << command_name << std::endl;
        child->send_signal(SIGTERM);
        if (!child->wait_for_exit(termination_grace)) {
          std::cerr << "holdfast: " << command_name << " did not exit within "
                    << format_duration(termination_grace)
                    << " of SIGTERM; sending SIGKILL" << std::endl;
          child->send_signal(SIGKILL);
        }
      }};

  auto wait_status = child->wait();
  keeper.stop();
  {
    std::lock_guard<std::mutex> guard{state.mutex};
    state.current = run_state::phase::finishing;
  }

  if (keeper.lost()) {
    // The lease may still exist when only the service was unreachable; the
    // token makes sure this releases nothing but our own grant. The renewal
    // connection has the short timeout, so an unreachable service does not
    // hold up the exit.
    release_lock(renewer, flags, lock, true);
    return exit_status::lease_lost;
  }
  release_lock(*client, flags, lock, false);
  return shell_status(wait_status);
}

} // namespace

void add_run_command(CLI::App& app, command_action& action) {
  auto run = app.add_subcommand(
      "run", "hold a lock while a command runs: holdfast run --project P "
             "--workspace W --owner O -- CMD ARGS...");

  auto args = std::make_shared<run_flags>();
  run->add_option("--project", args->project, "project of the resource")
      ->required();
  run->add_option("--workspace", args->workspace, "workspace of the resource")
      ->required();
  run->add_option("--owner", args->owner,
                  "identity holding the lock, such as a pipeline run")
      ->required();

  run->add_option("--user", args->user,
                  "person or bot behind the request, for display");
  run->add_option("--priority", args->level, "queue priority")
      ->capture_default_str()
      ->check(priority_validator());
  run->add_option("--wait", args->wait,
                  "how long to wait in the queue; 0 fails at once with "
                  "conflict when the lock is taken")
      ->capture_default_str()
      ->check(duration_validator());
  run->add_option("--ttl", args->ttl,
                  "lease duration, renewed every third of it; 0 takes the "
                  "service default")
      ->capture_default_str()
      ->check(duration_validator());
  run->add_option("--meta", args->metadata, "metadata entry, repeatable")
      ->check(metadata_validator());

  add_client_flags(*run, args->client);
  run->add_option("command", args->command, "command to run, after --")
      ->required();

  run->footer(
      "Exit status: the command's status (128 + signal number if it was "
      "killed), 75 when the lease was lost and the command was terminated, "
      "or the status of the failed acquire request.");

  run->callback(
      [&action, args] { action = [args] { return run_locked(*args); }; });
}

} // namespace holdfast
