// holdfast: the lock service (`serve`) and its command-line client.

#include <iostream>

#include <CLI/CLI.hpp>

#include "apps/cli_options.hpp"
#include "apps/client_commands.hpp"
#include "apps/queue_commands.hpp"
#include "apps/run_command.hpp"
#include "apps/serve.hpp"

namespace {

void add_serve_command(CLI::App& app, holdfast::command_action& action) {
  auto serve = app.add_subcommand(
      "serve", "run the lock service (starts a local nats-server unless a NATS "
               "URL is configured)");
  auto options = std::make_shared<holdfast::serve_options>();
  auto& overrides = options->overrides;
  serve->add_option("--config", options->config_path,
                    "YAML configuration file (default: "
                        + std::string{holdfast::default_config_path}
                        + " if it exists)");
  serve->add_option("--nats", overrides.nats_url,
                    "NATS server URL; sets nats.url (empty: managed server)");
  serve
      ->add_option("--nats-port", overrides.nats_port,
                   "port of the managed nats-server; sets nats.managed.port")
      ->check(CLI::Range(1, 65535));
  serve->add_option("--data-dir", overrides.data_dir,
                    "data directory; sets storage.path");
  serve->add_option("--storage", overrides.storage_backend,
                    "storage backend, lmdb or memory; sets storage.backend");
  serve->add_option("--log-level", overrides.log_level,
                    "level of every logger: trace, debug, info, warn, "
                    "error, critical or off; sets log.level and replaces "
                    "log.levels");
  serve->callback([&action, options] {
    action = [options] { return holdfast::run_serve(*options); };
  });
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"holdfast: locks on project/workspace pairs for "
               "infrastructure pipelines, served over NATS",
               "holdfast"};
  app.set_version_flag("--version", HOLDFAST_VERSION);
  app.require_subcommand(1);
  holdfast::command_action action;
  add_serve_command(app, action);
  holdfast::add_lock_commands(app, action);
  holdfast::add_events_command(app, action);
  holdfast::add_deadlock_command(app, action);
  holdfast::add_stats_command(app, action);
  holdfast::add_run_command(app, action);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Help and version exit with 0; every usage error exits with the one
    // documented usage status instead of CLI11's own codes.
    auto status = app.exit(e);
    return status == 0 ? holdfast::exit_status::ok
                       : holdfast::exit_status::usage;
  }
  return action();
}
