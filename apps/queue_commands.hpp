#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "apps/cli_options.hpp"
#include "messages/queueing.hpp"
#include "messages/requests.hpp"

namespace holdfast {

/// Runs `lock acquire --async`: queues `request`, prints its ticket at once,
/// then waits up to its wait plus the client timeout for the final state
/// and prints it. SIGINT or SIGTERM while waiting cancels the ticket and
/// exits with 128 plus the signal number.
int run_acquire_async(const client_flags& flags, acquire_request request);

/// Runs `lock acquire` with several resources, which are granted all
/// together or not at all, and prints every grant or the holders in the way.
int run_acquire_bulk(const client_flags& flags, bulk_acquire_request request);

/// Runs `lock release` with several lock ids and prints each outcome. Exits
/// with 0 only if every lock was released.
int run_release_bulk(const client_flags& flags, bulk_release_request request);

/// Appends the locks of a `lock acquire --file` to `out`. The file contains a
/// JSON array of objects with `project` and `workspace`, and optionally
/// `owner`, `user`, `priority`, `ttl` (a duration such as "10m") and
/// `metadata` (an object of strings). Each lock starts as a copy of
/// `defaults`: the object's fields replace those of `defaults`, and its
/// metadata entries are added to those of `defaults`. Returns an empty
/// string on success, otherwise what is wrong with the file.
std::string read_lock_file(const std::string& path,
                           const acquire_request& defaults,
                           std::vector<acquire_request>& out);

/// Adds `ticket`, `cancel` and `reopen-owner` to the `lock` command.
void add_ticket_commands(CLI::App& lock, command_action& action);

/// Adds `stats`, which prints queue statistics and the active locks.
void add_stats_command(CLI::App& app, command_action& action);

} // namespace holdfast
