#pragma once

#include <CLI/CLI.hpp>

#include "apps/cli_options.hpp"

namespace holdfast {

/// Adds `lock acquire|release|renew|get|list|release-owner|ticket|cancel|
/// reopen-owner` to `app`. The selected command stores its work in
/// `action`.
void add_lock_commands(CLI::App& app, command_action& action);

/// Adds `events`, which prints events until SIGINT or SIGTERM.
void add_events_command(CLI::App& app, command_action& action);

/// Adds `deadlock detect`, which runs deadlock detection in the tenant now
/// and prints each cycle found and the detector's counters.
void add_deadlock_command(CLI::App& app, command_action& action);

} // namespace holdfast
