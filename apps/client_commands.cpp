#include "apps/client_commands.hpp"

#include <iostream>
#include <memory>
#include <mutex>

#include "apps/output.hpp"
#include "apps/queue_commands.hpp"
#include "apps/signals.hpp"
#include "messages/events.hpp"

namespace holdfast {

namespace {

struct acquire_flags {
  client_flags client;
  /// Pairs with `workspaces` by position; several pairs make a bulk request.
  std::vector<std::string> projects;
  std::vector<std::string> workspaces;
  std::string file;
  bool async = false;
  std::string owner;
  std::string user;
  std::string level = "medium";
  std::string wait = "0";
  std::string ttl = "0";
  std::vector<std::string> metadata;
};

struct release_flags {
  client_flags client;
  std::vector<std::string> lock_ids;
  uint64_t token = 0;
};

struct renew_flags {
  client_flags client;
  std::string lock_id;
  uint64_t token = 0;
  std::string ttl = "0";
};

struct get_flags {
  client_flags client;
  std::string project;
  std::string workspace;
};

struct list_flags {
  client_flags client;
  std::string project;
  std::string workspace;
  std::string owner;
  std::string metadata;
};

struct release_owner_flags {
  client_flags client;
  std::string owner;
};

struct events_flags {
  client_flags client;
  std::string type;
  std::string project;
  std::string workspace;
};

std::string resource_of(const lock_record& lock) {
  return lock.key.project + '/' + lock.key.workspace;
}

/// Returns the request that the acquire flags describe, without resource.
acquire_request acquire_defaults(const acquire_flags& flags) {
  acquire_request request;
  request.key.tenant = flags.client.tenant;
  request.owner = flags.owner;
  request.user = flags.user;
  request.level = parse_priority(flags.level).value_or(priority::medium);
  request.wait_ms = duration_ms(flags.wait);
  request.ttl_ms = duration_ms(flags.ttl);
  request.metadata = parse_metadata(flags.metadata);
  return request;
}

int run_acquire_bulk(const acquire_flags& flags) {
  auto defaults = acquire_defaults(flags);
  bulk_acquire_request request;
  request.tenant = flags.client.tenant;
  request.wait_ms = defaults.wait_ms;
  defaults.wait_ms = 0;
  for (size_t i = 0; i < flags.projects.size(); ++i) {
    auto item = defaults;
    item.key.project = flags.projects[i];
    item.key.workspace = flags.workspaces[i];
    request.locks.push_back(std::move(item));
  }
  if (!flags.file.empty()) {
    auto problem = read_lock_file(flags.file, defaults, request.locks);
    if (!problem.empty())
      return report_usage_error(problem);
  }
  for (const auto& item : request.locks)
    if (item.owner.empty())
      return report_usage_error(
          "the lock of " + item.key.project + '/' + item.key.workspace
          + " has no owner: set --owner, or \"owner\" in the lock file");
  return run_acquire_bulk(flags.client, std::move(request));
}

int run_acquire(const acquire_flags& flags) {
  if (!flags.file.empty() || flags.projects.size() > 1)
    return run_acquire_bulk(flags);
  auto request = acquire_defaults(flags);
  request.key.project = flags.projects.front();
  request.key.workspace = flags.workspaces.front();
  if (flags.async)
    return run_acquire_async(flags.client, std::move(request));
  auto client = connect_client(flags.client, request_verb::acquire);
  if (!client)
    return exit_status::unavailable;
  auto reply = client->acquire(std::move(request));
  return print_outcome(flags.client, request_verb::acquire, reply, [&] {
    return "acquired " + describe_lock(reply.lock, now_ms(), true);
  });
}

/// Checks the combinations of acquire flags that CLI11 cannot express.
void check_acquire_flags(const acquire_flags& flags) {
  if (flags.projects.size() != flags.workspaces.size())
    throw CLI::ValidationError(
        "--project/--workspace",
        "each --project needs a --workspace, matched by position; got "
            + std::to_string(flags.projects.size()) + " --project and "
            + std::to_string(flags.workspaces.size()) + " --workspace");
  if (flags.projects.empty() && flags.file.empty())
    throw CLI::ValidationError("--project/--workspace",
                               "name a resource with --project and "
                               "--workspace, or give a --file of locks");
  bool bulk = !flags.file.empty() || flags.projects.size() > 1;
  if (flags.async && bulk)
    throw CLI::ValidationError("--async",
                               "takes exactly one --project and --workspace; "
                               "several locks are acquired synchronously");
  // Lock files may name an owner per lock, which `run_acquire_bulk` checks.
  if (flags.owner.empty() && flags.file.empty())
    throw CLI::ValidationError("--owner", "is required");
}

int run_release(const release_flags& flags) {
  if (flags.lock_ids.size() > 1)
    return run_release_bulk(flags.client,
                            {flags.client.tenant, flags.lock_ids});
  const auto& lock_id = flags.lock_ids.front();
  auto client = connect_client(flags.client, request_verb::release);
  if (!client)
    return exit_status::unavailable;
  release_request request;
  request.tenant = flags.client.tenant;
  request.lock_id = lock_id;
  request.token = flags.token;
  auto reply = client->release(std::move(request));
  return print_outcome(flags.client, request_verb::release, reply, [&] {
    if (reply.lock.key.project.empty())
      return "released lock " + lock_id;
    return "released " + resource_of(reply.lock) + " (token "
           + std::to_string(reply.lock.token) + ")";
  });
}

int run_renew(const renew_flags& flags) {
  auto client = connect_client(flags.client, request_verb::renew);
  if (!client)
    return exit_status::unavailable;
  renew_request request;
  request.tenant = flags.client.tenant;
  request.lock_id = flags.lock_id;
  request.token = flags.token;
  request.ttl_ms = duration_ms(flags.ttl);
  auto reply = client->renew(std::move(request));
  return print_outcome(flags.client, request_verb::renew, reply, [&] {
    return "renewed " + describe_lock(reply.lock, now_ms(), true);
  });
}

int run_get(const get_flags& flags) {
  auto client = connect_client(flags.client, request_verb::get);
  if (!client)
    return exit_status::unavailable;
  get_request request;
  request.key = {flags.client.tenant, flags.project, flags.workspace};
  auto reply = client->get(std::move(request));
  return print_outcome(flags.client, request_verb::get, reply, [&] {
    auto text = reply.lock.empty()
                    ? flags.project + '/' + flags.workspace + " is free"
                    : describe_lock(reply.lock, now_ms(), false);
    if (reply.waiting > 0)
      text += ", " + std::to_string(reply.waiting) + " waiting";
    return text;
  });
}

int run_list(const list_flags& flags) {
  auto client = connect_client(flags.client, request_verb::list);
  if (!client)
    return exit_status::unavailable;
  list_request request;
  request.tenant = flags.client.tenant;
  request.project = flags.project;
  request.workspace = flags.workspace;
  request.owner = flags.owner;
  auto pos = flags.metadata.find('=');
  request.meta_key = flags.metadata.substr(0, pos);
  if (pos != std::string::npos)
    request.meta_value = flags.metadata.substr(pos + 1);
  auto reply = client->list(std::move(request));
  return print_outcome(flags.client, request_verb::list, reply, [&] {
    if (reply.locks.empty())
      return std::string{"no locks held"};
    auto table = format_lock_table(reply.locks, now_ms());
    table.pop_back();
    return table;
  });
}

int run_release_owner(const release_owner_flags& flags) {
  auto client = connect_client(flags.client, request_verb::release_owner);
  if (!client)
    return exit_status::unavailable;
  release_owner_request request;
  request.tenant = flags.client.tenant;
  request.owner = flags.owner;
  auto reply = client->release_owner(std::move(request));
  return print_outcome(flags.client, request_verb::release_owner, reply, [&] {
    return "released " + std::to_string(reply.released) + " lock"
           + (reply.released == 1 ? "" : "s") + " of owner " + flags.owner;
  });
}

int run_events(const events_flags& flags) {
  // Before the client starts its threads, so that they inherit the mask.
  block_termination_signals();
  // Failures before the stream starts are reported in the JSON form of a
  // list reply, the nearest request kind.
  auto client = connect_client(flags.client, request_verb::list);
  if (!client)
    return exit_status::unavailable;
  event_filter filter;
  filter.tenant = flags.client.tenant;
  filter.type = flags.type;
  filter.project = flags.project;
  filter.workspace = flags.workspace;

  std::mutex output_mutex;
  auto json = flags.client.json;
  std::shared_ptr<void> subscription;
  try {
    subscription = client->subscribe_events(
        filter, [&output_mutex, json](const lock_event& event) {
          auto line = json ? encode_event(event, wire_encoding::json)
                           : describe_event(event);
          std::lock_guard<std::mutex> guard{output_mutex};
          std::cout << line << std::endl;
        });
  } catch (const std::exception& e) {
    return report_failure(
        flags.client, request_verb::list,
        make_lock_error(lock_errc::unavailable,
                        std::string{"subscribing to events failed: "}
                            + e.what()));
  }

  shutdown_flag stop;
  signal_watcher watcher{[&stop](int, bool) { stop.request(); }};
  stop.wait();
  subscription.reset();
  return exit_status::ok;
}

/// Returns the text output of `deadlock detect`, the cycles found and then
/// the counters.
std::string format_detect_result(const std::string& tenant,
                                 const lock_reply& reply) {
  const auto& deadlocks = reply.deadlocks;
  std::string text = "tenant " + tenant + ": ";
  if (deadlocks.empty())
    text += "no deadlocks found\n";
  else
    text += std::to_string(deadlocks.size())
            + (deadlocks.size() == 1 ? " deadlock" : " deadlocks") + " found\n";
  for (const auto& deadlock : deadlocks)
    text += describe_deadlock(deadlock) + '\n';
  return text + '\n' + format_deadlock_stats(reply.deadlock_counters);
}

int run_detect(const client_flags& flags) {
  auto client = connect_client(flags, request_verb::detect);
  if (!client)
    return exit_status::unavailable;
  auto reply = client->detect(flags.tenant);
  return print_outcome(flags, request_verb::detect, reply, [&] {
    return format_detect_result(flags.tenant, reply);
  });
}

/// Returns the wire names of all event types, comma-separated.
std::string known_event_types() {
  std::string result;
  for (int index = 0;; ++index) {
    auto name = to_string_view(static_cast<event_type>(index));
    if (name == "unknown")
      break;
    if (!result.empty())
      result += ", ";
    result += name;
  }
  return result;
}

/// Adds the resource options shared by acquire and get.
void add_resource_options(CLI::App& command, std::string& project,
                          std::string& workspace) {
  command.add_option("--project", project, "project of the resource")
      ->required();
  command.add_option("--workspace", workspace, "workspace of the resource")
      ->required();
}

} // namespace

void add_lock_commands(CLI::App& app, command_action& action) {
  auto lock = app.add_subcommand("lock", "acquire, release and inspect locks");
  lock->require_subcommand(1);

  auto acquire = lock->add_subcommand(
      "acquire", "take the lock of a project/workspace, or of several all "
                 "at once, and print the lock ids");
  auto acquire_args = std::make_shared<acquire_flags>();
  acquire
      ->add_option("--project", acquire_args->projects,
                   "project of the resource; repeat --project and "
                   "--workspace to take several locks all or none")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  acquire
      ->add_option("--workspace", acquire_args->workspaces,
                   "workspace of the resource, paired with the --project "
                   "at the same position")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  acquire
      ->add_option("--file", acquire_args->file,
                   "JSON file with an array of locks to take all or none, "
                   "such as [{\"project\": \"network\", \"workspace\": "
                   "\"prod\"}]; items may set owner, user, priority, ttl "
                   "and metadata")
      ->check(CLI::ExistingFile);
  acquire->add_flag("--async", acquire_args->async,
                    "queue the request, print its ticket at once, then wait "
                    "for the grant; Ctrl-C cancels the ticket");
  acquire->add_option("--owner", acquire_args->owner,
                      "identity holding the lock, such as a pipeline run or "
                      "pull request; required unless every lock of --file "
                      "names one");
  acquire->add_option("--user", acquire_args->user,
                      "person or bot behind the request, for display");
  acquire->add_option("--priority", acquire_args->level, "queue priority")
      ->capture_default_str()
      ->check(priority_validator());
  acquire
      ->add_option("--wait", acquire_args->wait,
                   "how long to wait in the queue; 0 fails at once with "
                   "conflict when the lock is taken")
      ->capture_default_str()
      ->check(duration_validator());
  acquire
      ->add_option("--ttl", acquire_args->ttl,
                   "lease duration; 0 takes the service default")
      ->capture_default_str()
      ->check(duration_validator());
  acquire
      ->add_option("--meta", acquire_args->metadata,
                   "metadata entry, repeatable")
      ->check(metadata_validator());
  add_client_flags(*acquire, acquire_args->client);
  acquire->callback([&action, acquire_args] {
    check_acquire_flags(*acquire_args);
    action = [acquire_args] { return run_acquire(*acquire_args); };
  });

  auto release = lock->add_subcommand("release", "release held locks");
  auto release_args = std::make_shared<release_flags>();
  release
      ->add_option("--id", release_args->lock_ids,
                   "lock id of the grant; repeat it to release several locks")
      ->required();
  release->add_option("--token", release_args->token,
                      "fencing token of the grant; rejects a stale grant; "
                      "only with a single --id");
  add_client_flags(*release, release_args->client);
  release->callback([&action, release_args] {
    if (release_args->lock_ids.size() > 1 && release_args->token != 0)
      throw CLI::ValidationError("--token",
                                 "applies to a single --id; release several "
                                 "locks without it");
    action = [release_args] { return run_release(*release_args); };
  });

  auto renew = lock->add_subcommand("renew", "extend the lease of a lock");
  auto renew_args = std::make_shared<renew_flags>();
  renew->add_option("--id", renew_args->lock_id, "lock id of the grant")
      ->required();
  renew
      ->add_option("--ttl", renew_args->ttl,
                   "new lease duration from now; 0 keeps the lock's TTL")
      ->capture_default_str()
      ->check(duration_validator());
  renew->add_option("--token", renew_args->token,
                    "fencing token of the grant; rejects a stale grant");
  add_client_flags(*renew, renew_args->client);
  renew->callback([&action, renew_args] {
    action = [renew_args] { return run_renew(*renew_args); };
  });

  auto get = lock->add_subcommand("get", "show the holder of a resource");
  auto get_args = std::make_shared<get_flags>();
  add_resource_options(*get, get_args->project, get_args->workspace);
  add_client_flags(*get, get_args->client);
  get->callback([&action, get_args] {
    action = [get_args] { return run_get(*get_args); };
  });

  auto list = lock->add_subcommand("list", "list held locks");
  auto list_args = std::make_shared<list_flags>();
  list->add_option("--project", list_args->project, "only this project");
  list->add_option("--workspace", list_args->workspace, "only this workspace");
  list->add_option("--owner", list_args->owner, "only locks of this owner");
  list->add_option("--meta", list_args->metadata,
                   "only locks with this metadata: key=value, or key for "
                   "any value");
  add_client_flags(*list, list_args->client);
  list->callback([&action, list_args] {
    action = [list_args] { return run_list(*list_args); };
  });

  auto release_owner = lock->add_subcommand(
      "release-owner",
      "release every lock of an owner and reject its later requests until "
      "reopen-owner");
  auto release_owner_args = std::make_shared<release_owner_flags>();
  release_owner
      ->add_option("--owner", release_owner_args->owner, "owner to close")
      ->required();
  add_client_flags(*release_owner, release_owner_args->client);
  release_owner->callback([&action, release_owner_args] {
    action = [release_owner_args] {
      return run_release_owner(*release_owner_args);
    };
  });

  add_ticket_commands(*lock, action);
}

void add_events_command(CLI::App& app, command_action& action) {
  auto events = app.add_subcommand(
      "events", "print lock events as they happen, until Ctrl-C");
  auto args = std::make_shared<events_flags>();
  events
      ->add_option("--type", args->type,
                   "only this event type, such as lock.acquired")
      ->check(CLI::Validator{[](std::string& text) -> std::string {
                               if (parse_event_type(text))
                                 return {};
                               return "unknown event type \"" + text
                                      + "\": expected one of "
                                      + known_event_types();
                             },
                             "TYPE", "event type"});
  events->add_option("--project", args->project, "only this project");
  events->add_option("--workspace", args->workspace, "only this workspace");
  add_client_flags(*events, args->client);
  events->callback(
      [&action, args] { action = [args] { return run_events(*args); }; });
}

void add_deadlock_command(CLI::App& app, command_action& action) {
  auto deadlock = app.add_subcommand(
      "deadlock", "find deadlocks between lock owners that wait for each "
                  "other");
  deadlock->require_subcommand(1);

  auto detect = deadlock->add_subcommand(
      "detect", "search the tenant for deadlocks now, however long the "
                "requests have waited, and print each cycle and the "
                "detector's counters");
  auto args = std::make_shared<client_flags>();
  add_client_flags(*detect, *args);
  detect->callback(
      [&action, args] { action = [args] { return run_detect(*args); }; });
}

} // namespace holdfast
