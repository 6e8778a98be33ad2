#include "apps/client_commands.hpp"

#include <iostream>
#include <memory>
#include <mutex>

#include "apps/output.hpp"
#include "apps/signals.hpp"
#include "messages/events.hpp"

namespace holdfast {

namespace {

struct acquire_flags {
  client_flags client;
  std::string project;
  std::string workspace;
  std::string owner;
  std::string user;
  std::string level = "medium";
  std::string wait = "0";
  std::string ttl = "0";
  std::vector<std::string> metadata;
};

struct lock_id_flags {
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

/// Prints the outcome of a `verb` request and returns the exit status.
/// With --json the output is the reply as the service sends it in JSON.
int finish(const client_flags& flags, request_verb verb,
           const lock_reply& reply,
           const std::function<std::string()>& text_output) {
  if (!reply.ok())
    return report_failure(flags, verb, reply.error);
  if (flags.json)
    std::cout << encode_reply(verb, reply, wire_encoding::json) << std::endl;
  else
    std::cout << text_output() << std::endl;
  return exit_status::ok;
}

std::string resource_of(const lock_record& lock) {
  return lock.key.project + '/' + lock.key.workspace;
}

int run_acquire(const acquire_flags& flags) {
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
  auto reply = client->acquire(std::move(request));
  return finish(flags.client, request_verb::acquire, reply, [&] {
    return "acquired " + describe_lock(reply.lock, now_ms(), true);
  });
}

int run_release(const lock_id_flags& flags) {
  auto client = connect_client(flags.client, request_verb::release);
  if (!client)
    return exit_status::unavailable;
  release_request request;
  request.tenant = flags.client.tenant;
  request.lock_id = flags.lock_id;
  request.token = flags.token;
  auto reply = client->release(std::move(request));
  return finish(flags.client, request_verb::release, reply, [&] {
    if (reply.lock.key.project.empty())
      return "released lock " + flags.lock_id;
    return "released " + resource_of(reply.lock) + " (token "
           + std::to_string(reply.lock.token) + ")";
  });
}

int run_renew(const lock_id_flags& flags) {
  auto client = connect_client(flags.client, request_verb::renew);
  if (!client)
    return exit_status::unavailable;
  renew_request request;
  request.tenant = flags.client.tenant;
  request.lock_id = flags.lock_id;
  request.token = flags.token;
  request.ttl_ms = duration_ms(flags.ttl);
  auto reply = client->renew(std::move(request));
  return finish(flags.client, request_verb::renew, reply, [&] {
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
  return finish(flags.client, request_verb::get, reply, [&] {
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
  return finish(flags.client, request_verb::list, reply, [&] {
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
  return finish(flags.client, request_verb::release_owner, reply, [&] {
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
      "acquire", "take the lock of a project/workspace and print its lock id");
  auto acquire_args = std::make_shared<acquire_flags>();
  add_resource_options(*acquire, acquire_args->project,
                       acquire_args->workspace);
  acquire
      ->add_option("--owner", acquire_args->owner,
                   "identity holding the lock, such as a pipeline run or "
                   "pull request")
      ->required();
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
    action = [acquire_args] { return run_acquire(*acquire_args); };
  });

  auto release = lock->add_subcommand("release", "release a held lock");
  auto release_args = std::make_shared<lock_id_flags>();
  release->add_option("--id", release_args->lock_id, "lock id of the grant")
      ->required();
  release->add_option("--token", release_args->token,
                      "fencing token of the grant; rejects a stale grant");
  add_client_flags(*release, release_args->client);
  release->callback([&action, release_args] {
    action = [release_args] { return run_release(*release_args); };
  });

  auto renew = lock->add_subcommand("renew", "extend the lease of a lock");
  auto renew_args = std::make_shared<lock_id_flags>();
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
      "release every lock of an owner and reject its later requests");
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

} // namespace holdfast
