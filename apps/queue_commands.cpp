#include "apps/queue_commands.hpp"

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>

#include <nlohmann/json.hpp>

#include "apps/durations.hpp"
#include "apps/output.hpp"
#include "apps/signals.hpp"
#include "messages/priority.hpp"

namespace holdfast {

namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// -- asynchronous acquisition -------------------------------------------------

/// Collects what ends the wait for a ticket: its notification, which
/// arrives on a NATS thread, or a signal from the signal watcher.
class ticket_waiter {
public:
  /// Keeps the first notification, because the service sends only one.
  void notify(const lock_reply& reply) {
    std::lock_guard<std::mutex> guard{mutex_};
    if (!notification_)
      notification_ = reply;
    changed_.notify_all();
  }

  void interrupt(int signal) {
    std::lock_guard<std::mutex> guard{mutex_};
    if (signal_ == 0)
      signal_ = signal;
    changed_.notify_all();
  }

  /// Waits until a notification or a signal arrived or `deadline` passed.
  void wait_until(steady_clock::time_point deadline) {
    std::unique_lock<std::mutex> guard{mutex_};
    changed_.wait_until(guard, deadline,
                        [this] { return notification_ || signal_ != 0; });
  }

  std::optional<lock_reply> notification() const {
    std::lock_guard<std::mutex> guard{mutex_};
    return notification_;
  }

  /// Returns the signal received, or 0.
  int signal() const {
    std::lock_guard<std::mutex> guard{mutex_};
    return signal_;
  }

private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::optional<lock_reply> notification_;
  int signal_ = 0;
};

/// Cancels `ticket_id` after a signal and exits like a process that the
/// signal stopped. A lock granted meanwhile is released by the cancel.
int cancel_after_signal(const client_flags& flags, nats_client& client,
                        const std::string& ticket_id, int signal) {
  auto reply = client.cancel({flags.tenant, ticket_id});
  print_outcome(flags, request_verb::cancel, reply, [&] {
    return "interrupted; " + describe_ticket(reply.ticket, now_ms());
  });
  return exit_status::signal_base + signal;
}

/// Prints the final state of a ticket and returns the exit status: 0 for a
/// grant, the status of the error code for a failure.
int finish_ticket(const client_flags& flags, const lock_reply& notification) {
  if (!notification.ok())
    return report_failure(flags, request_verb::acquire_async,
                          notification.error);
  const auto& ticket = notification.ticket;
  if (flags.json)
    std::cout << encode_reply(request_verb::acquire_async, notification,
                              wire_encoding::json)
              << std::endl;
  switch (ticket.state) {
  case ticket_state::granted:
    if (!flags.json)
      std::cout << "acquired " << describe_lock(ticket.lock, now_ms(), true)
                << std::endl;
    return exit_status::ok;
  case ticket_state::failed: {
    auto error = make_lock_error(ticket.error, ticket.error_message);
    error.cycle = ticket.error_cycle;
    std::cerr << describe_error(error) << std::endl;
    return exit_status_for(ticket.error);
  }
  case ticket_state::cancelled:
    std::cerr << "error: ticket " << ticket.ticket_id
              << " was cancelled, by `holdfast lock cancel` or by "
                 "`holdfast lock release-owner` for its owner"
              << std::endl;
    return exit_status::failure;
  case ticket_state::pending:
    break;
  }
  std::cerr << "error: the notification of ticket " << ticket.ticket_id
            << " names no final state but " << to_string_view(ticket.state)
            << std::endl;
  return exit_status::failure;
}

// -- lock files ---------------------------------------------------------------

/// Reads one object of a lock file into `out`. Returns what is wrong with
/// it, or an empty string.
std::string read_lock_item(const nlohmann::json& item, acquire_request& out) {
  if (!item.is_object())
    return "must be an object with project and workspace";
  for (const auto& [key, value] : item.items()) {
    if (key == "metadata") {
      if (!value.is_object())
        return "metadata must be an object of strings";
      for (const auto& [name, text] : value.items()) {
        if (!text.is_string())
          return "metadata." + name + " must be a string";
        out.metadata[name] = text.get<std::string>();
      }
      continue;
    }
    if (!value.is_string())
      return key + " must be a string";
    auto text = value.get<std::string>();
    if (key == "project") {
      out.key.project = text;
    } else if (key == "workspace") {
      out.key.workspace = text;
    } else if (key == "owner") {
      out.owner = text;
    } else if (key == "user") {
      out.user = text;
    } else if (key == "priority") {
      auto level = parse_priority(text);
      if (!level)
        return "priority \"" + text
               + "\" is invalid: expected very_low, low, medium, high or "
                 "critical";
      out.level = *level;
    } else if (key == "ttl") {
      auto ttl = parse_duration(text);
      if (!ttl)
        return "ttl \"" + text
               + "\" is invalid: " + std::string{duration_syntax_hint};
      out.ttl_ms = ttl->count();
    } else {
      return "has the unknown key \"" + key
             + "\" (expected project, workspace, owner, user, priority, ttl "
               "or metadata)";
    }
  }
  if (out.key.project.empty() || out.key.workspace.empty())
    return "needs both project and workspace";
  return {};
}

// -- ticket commands ----------------------------------------------------------

struct ticket_flags {
  client_flags client;
  std::string ticket_id;
};

struct owner_flags {
  client_flags client;
  std::string owner;
};

int run_ticket(const ticket_flags& flags) {
  auto client = connect_client(flags.client, request_verb::ticket);
  if (!client)
    return exit_status::unavailable;
  auto reply = client->ticket({flags.client.tenant, flags.ticket_id});
  return print_outcome(flags.client, request_verb::ticket, reply,
                       [&] { return describe_ticket(reply.ticket, now_ms()); });
}

int run_cancel(const ticket_flags& flags) {
  auto client = connect_client(flags.client, request_verb::cancel);
  if (!client)
    return exit_status::unavailable;
  auto reply = client->cancel({flags.client.tenant, flags.ticket_id});
  return print_outcome(flags.client, request_verb::cancel, reply,
                       [&] { return describe_ticket(reply.ticket, now_ms()); });
}

int run_reopen_owner(const owner_flags& flags) {
  auto client = connect_client(flags.client, request_verb::reopen_owner);
  if (!client)
    return exit_status::unavailable;
  auto reply = client->reopen_owner({flags.client.tenant, flags.owner});
  return print_outcome(flags.client, request_verb::reopen_owner, reply, [&] {
    return "owner " + flags.owner + " may take locks again";
  });
}

int run_stats(const client_flags& flags) {
  auto client = connect_client(flags, request_verb::stats);
  if (!client)
    return exit_status::unavailable;
  auto reply = client->stats({flags.tenant});
  return print_outcome(flags, request_verb::stats, reply, [&] {
    auto text = format_queue_stats(reply.stats) + '\n';
    if (reply.locks.empty())
      return text + "no locks held";
    auto table = format_active_lock_table(reply.locks, now_ms());
    table.pop_back();
    return text + table;
  });
}

void add_ticket_option(CLI::App& command, std::string& ticket_id) {
  command
      .add_option("--ticket", ticket_id,
                  "ticket id printed by `lock acquire --async`")
      ->required();
}

} // namespace

int run_acquire_async(const client_flags& flags, acquire_request request) {
  // Before the client starts its threads, so that they inherit the mask.
  block_termination_signals();
  auto client = connect_client(flags, request_verb::acquire_async);
  if (!client)
    return exit_status::unavailable;

  // Subscribe before sending, because the notification may arrive before
  // the reply with the ticket.
  ticket_waiter waiter;
  std::string inbox;
  std::shared_ptr<void> subscription;
  try {
    inbox = client->new_inbox();
    subscription = client->subscribe_replies(
        inbox, [&waiter](const lock_reply& reply) { waiter.notify(reply); });
  } catch (const std::exception& e) {
    return report_failure(
        flags, request_verb::acquire_async,
        make_lock_error(lock_errc::unavailable,
                        std::string{"subscribing to ticket notifications "
                                    "failed: "}
                            + e.what()));
  }
  signal_watcher watcher{
      [&waiter](int signal, bool) { waiter.interrupt(signal); }};

  auto wait = milliseconds{request.wait_ms};
  auto reply = client->acquire_async(std::move(request), inbox);
  auto status = print_outcome(flags, request_verb::acquire_async, reply, [&] {
    return describe_ticket(reply.ticket, now_ms());
  });
  if (status != exit_status::ok)
    return status;
  const auto ticket_id = reply.ticket.ticket_id;

  auto limit = wait + client->options().timeout;
  waiter.wait_until(steady_clock::now() + limit);
  if (auto notification = waiter.notification())
    return finish_ticket(flags, *notification);
  if (auto signal = waiter.signal(); signal != 0)
    return cancel_after_signal(flags, *client, ticket_id, signal);

  // Without a cancel, a grant that arrives later would stay held until its
  // lease runs out, and no client would have its lock id.
  client->cancel({flags.tenant, ticket_id});
  return report_failure(
      flags, request_verb::acquire_async,
      make_lock_error(
          lock_errc::unavailable,
          "no final state of ticket " + ticket_id + " arrived on " + inbox
              + " within "
              + format_duration(std::chrono::duration_cast<milliseconds>(limit))
              + "; the ticket was cancelled"));
}

int run_acquire_bulk(const client_flags& flags, bulk_acquire_request request) {
  auto client = connect_client(flags, request_verb::acquire_bulk);
  if (!client)
    return exit_status::unavailable;
  auto reply = client->acquire_bulk(std::move(request));
  return print_outcome(flags, request_verb::acquire_bulk, reply, [&] {
    auto now = now_ms();
    std::string text = "acquired " + std::to_string(reply.locks.size())
                       + (reply.locks.size() == 1 ? " lock:" : " locks:");
    for (const auto& lock : reply.locks)
      text += "\n  " + describe_lock(lock, now, true);
    return text;
  });
}

int run_release_bulk(const client_flags& flags, bulk_release_request request) {
  auto client = connect_client(flags, request_verb::release_bulk);
  if (!client)
    return exit_status::unavailable;
  auto reply = client->release_bulk(std::move(request));
  if (!reply.ok())
    return report_failure(flags, request_verb::release_bulk, reply.error);
  if (flags.json)
    std::cout << encode_reply(request_verb::release_bulk, reply,
                              wire_encoding::json)
              << std::endl;
  auto status = exit_status::ok;
  for (const auto& outcome : reply.outcomes) {
    if (outcome.code == lock_errc::none) {
      if (!flags.json)
        std::cout << "released lock " << outcome.lock_id << std::endl;
      continue;
    }
    std::cerr << "error: " << to_string_view(outcome.code) << ": lock "
              << outcome.lock_id << " was not released" << std::endl;
    if (status == exit_status::ok)
      status = exit_status_for(outcome.code);
  }
  return status;
}

std::string read_lock_file(const std::string& path,
                           const acquire_request& defaults,
                           std::vector<acquire_request>& out) {
  std::ifstream file{path};
  if (!file)
    return "cannot open lock file " + path;
  nlohmann::json tree;
  try {
    tree = nlohmann::json::parse(file);
  } catch (const nlohmann::json::exception& e) {
    return "lock file " + path + " is not valid JSON: " + e.what();
  }
  if (!tree.is_array() || tree.empty())
    return "lock file " + path
           + " must hold a non-empty JSON array of objects such as "
             "{\"project\": \"network\", \"workspace\": \"prod\"}";
  for (size_t i = 0; i < tree.size(); ++i) {
    auto item = defaults;
    auto problem = read_lock_item(tree[i], item);
    if (!problem.empty())
      return "lock file " + path + ": item " + std::to_string(i) + " "
             + problem;
    out.push_back(std::move(item));
  }
  return {};
}

void add_ticket_commands(CLI::App& lock, command_action& action) {
  auto ticket = lock.add_subcommand(
      "ticket", "show the state of a ticket of `lock acquire --async`");
  auto ticket_args = std::make_shared<ticket_flags>();
  add_ticket_option(*ticket, ticket_args->ticket_id);
  add_client_flags(*ticket, ticket_args->client);
  ticket->callback([&action, ticket_args] {
    action = [ticket_args] { return run_ticket(*ticket_args); };
  });

  auto cancel = lock.add_subcommand(
      "cancel", "cancel a ticket: a waiting request leaves the queue, a "
                "granted lock is released");
  auto cancel_args = std::make_shared<ticket_flags>();
  add_ticket_option(*cancel, cancel_args->ticket_id);
  add_client_flags(*cancel, cancel_args->client);
  cancel->callback([&action, cancel_args] {
    action = [cancel_args] { return run_cancel(*cancel_args); };
  });

  auto reopen = lock.add_subcommand(
      "reopen-owner", "let an owner closed by release-owner take locks again");
  auto reopen_args = std::make_shared<owner_flags>();
  reopen->add_option("--owner", reopen_args->owner, "owner to reopen")
      ->required();
  add_client_flags(*reopen, reopen_args->client);
  reopen->callback([&action, reopen_args] {
    action = [reopen_args] { return run_reopen_owner(*reopen_args); };
  });
}

void add_stats_command(CLI::App& app, command_action& action) {
  auto stats = app.add_subcommand(
      "stats", "print queue depth by priority, grant rate, waits and the "
               "active locks of the tenant");
  auto args = std::make_shared<client_flags>();
  add_client_flags(*stats, *args);
  stats->callback(
      [&action, args] { action = [args] { return run_stats(*args); }; });
}

} // namespace holdfast
