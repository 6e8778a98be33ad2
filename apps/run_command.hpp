#pragma once

#include <CLI/CLI.hpp>

#include "apps/cli_options.hpp"

namespace holdfast {

/// Adds `run`, which holds a lock while a command runs. It acquires the
/// lock, starts the command with the lock in its environment and renews the
/// lease every third of the TTL. When the command ends, it releases the lock
/// and exits with the command's status. When the lease is lost, it stops
/// the command and exits with `exit_status::lease_lost`.
void add_run_command(CLI::App& app, command_action& action);

} // namespace holdfast
