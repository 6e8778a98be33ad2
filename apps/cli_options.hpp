#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "bridges/nats_client.hpp"
#include "messages/error_code.hpp"
#include "messages/lock_record.hpp"
#include "messages/replies.hpp"
#include "messages/wire_codec.hpp"

namespace holdfast {

/// Work of the selected subcommand, set while parsing and run afterwards.
/// Returns the process exit status.
using command_action = std::function<int()>;

/// Exit statuses of the CLI. Each lock error code maps to one of them, and
/// the mapping never changes, so that scripts can branch on it.
namespace exit_status {
constexpr int ok = 0;
/// internal and any failure without a more specific status.
constexpr int failure = 1;
/// Invalid command line or configuration, and invalid_request.
constexpr int usage = 2;
constexpr int conflict = 3;
constexpr int timeout = 4;
/// not_found, not_owner and lease_expired: the lock is not held as given.
constexpr int not_held = 5;
/// quota_exceeded and queue_full.
constexpr int limit_reached = 6;
/// deadlock_victim and would_deadlock.
constexpr int deadlock = 7;
constexpr int owner_closed = 8;
/// unavailable: the service or NATS cannot be reached (EX_UNAVAILABLE).
constexpr int unavailable = 69;
/// `holdfast run` lost its lease and terminated the command (EX_TEMPFAIL).
constexpr int lease_lost = 75;
/// A command stopped by SIGINT or SIGTERM exits with 128 plus the signal
/// number, as a shell reports a process killed by it.
constexpr int signal_base = 128;
} // namespace exit_status

/// Returns the exit status for a failed request with `code`.
int exit_status_for(lock_errc code);

/// Options shared by every command that talks to a running service.
struct client_flags {
  std::string url = "nats://127.0.0.1:4222";
  std::string tenant = "default";
  bool json = false;
  std::string timeout = "5s";
};

/// Adds --nats, --tenant, --json and --timeout to `command`.
void add_client_flags(CLI::App& command, client_flags& flags);

/// Translates the flags; they must have passed the validators.
client_options make_client_options(const client_flags& flags);

/// Checks a duration such as "30s"; see `parse_duration`.
CLI::Validator duration_validator();

/// Checks a priority name such as "high".
CLI::Validator priority_validator();

/// Checks a "key=value" metadata entry with a non-empty key.
CLI::Validator metadata_validator();

/// Converts a validated duration flag to milliseconds.
int64_t duration_ms(const std::string& text);

/// Converts validated "key=value" entries into a metadata map.
metadata_map parse_metadata(const std::vector<std::string>& entries);

/// Connects to the service, or reports the failure like `report_failure`
/// and returns nothing.
std::unique_ptr<nats_client> connect_client(const client_flags& flags,
                                            request_verb verb);

/// Prints `error` to stderr, and with --json also the JSON reply of `verb`
/// that carries it to stdout, as the service would send it. Returns the
/// exit status for its code.
int report_failure(const client_flags& flags, request_verb verb,
                   const lock_error& error);

/// Prints the outcome of a `verb` request and returns the exit status: on
/// success the reply in JSON with --json and `text_output()` otherwise, on
/// failure what `report_failure` prints.
int print_outcome(const client_flags& flags, request_verb verb,
                  const lock_reply& reply,
                  const std::function<std::string()>& text_output);

/// Prints "error: <message>" for an invalid command line that parsing could
/// not catch, such as an unreadable --file, and returns the usage status.
int report_usage_error(const std::string& message);

/// Wall clock in milliseconds since the Unix epoch.
int64_t now_ms();

} // namespace holdfast
