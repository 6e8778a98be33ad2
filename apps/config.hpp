#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "actors/deadlock_settings.hpp"
#include "actors/engine.hpp"
#include "actors/store_factory.hpp"
#include "apps/plugin_loader.hpp"

namespace holdfast {

/// Invalid or unreadable configuration. The message names the key and the
/// value; `holdfast serve` prints it and exits with status 2.
class config_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// The `nats-server` that `holdfast serve` starts when `nats.url` is empty.
struct managed_nats_settings {
  uint16_t port = 4222;
  /// Program name looked up in PATH (and /usr/sbin), or a path.
  std::string binary = "nats-server";
  /// Working directory and log file location. Empty means
  /// `<storage.path>/managed-nats`.
  std::string data_dir;
};

struct nats_settings {
  /// Server to connect to. Empty means: start a managed `nats-server`.
  std::string url;
  managed_nats_settings managed;
};

struct lock_settings {
  std::chrono::milliseconds default_ttl{std::chrono::minutes{5}};
  std::chrono::milliseconds max_ttl{std::chrono::hours{24}};
  std::chrono::milliseconds max_wait{std::chrono::hours{1}};
  std::chrono::milliseconds idle_retire_after{std::chrono::seconds{30}};
};

/// Wait queues: limits and the built-in priority calculator.
struct queue_settings {
  uint32_t max_depth_per_resource = 1'000;
  uint32_t max_depth_total = 100'000;
  uint32_t max_bulk_locks = 256;
  /// Waiting this long raises a request by one priority level, up to
  /// critical. Zero disables aging.
  std::chrono::milliseconds aging_interval{std::chrono::minutes{1}};
  /// Added to the priority of requests on a workspace, such as prod: 1.
  std::map<std::string, double> workspace_weights;
  /// Users (or owners) whose requests are served before all others.
  std::vector<std::string> emergency_users;
};

struct log_settings {
  /// Level of every logger without an entry in `levels`.
  std::string level = "info";
  /// Level per logger name, such as {"nats": "debug"}.
  std::map<std::string, std::string> levels;
};

/// Settings of `holdfast serve`, read from YAML. Every field has a default,
/// so an empty file is a valid configuration.
struct app_config {
  nats_settings nats;
  store_settings storage;
  lock_settings locks;
  queue_settings queue;
  log_settings log;
  /// Deadlock detection; `deadlock.hooks` stays empty here because
  /// `load_plugins` creates the instances from `plugins`.
  deadlock_settings deadlock;
  /// Plugin instances, in configuration order.
  std::vector<plugin_config> plugins;

  /// Returns `nats.managed.data_dir`, or its default below the storage path.
  std::string managed_nats_data_dir() const;
};

/// Values given on the command line of `holdfast serve`. Each one replaces
/// the configured value.
struct config_overrides {
  std::optional<std::string> nats_url;
  std::optional<uint16_t> nats_port;
  std::optional<std::string> data_dir;
  std::optional<std::string> storage_backend;
  /// Sets `log.level` and drops the per-logger levels of `log.levels`.
  std::optional<std::string> log_level;
};

/// Default configuration file, relative to the current directory.
constexpr const char* default_config_path = "config/holdfast.yaml";

/// Reads the YAML file at `path` over the defaults. Checks keys and value
/// types but not ranges; see `validate`. Throws `config_error`.
app_config load_config_file(const std::string& path);

/// Parses YAML text like `load_config_file`; `origin` names the source in
/// errors. Throws `config_error`.
app_config parse_config(const std::string& yaml, const std::string& origin);

/// Loads `path` when given, else `default_config_path` when it exists,
/// else the built-in defaults; then applies `overrides` and validates the
/// result. Throws `config_error`.
app_config load_config(const std::optional<std::string>& path,
                       const config_overrides& overrides);

/// Applies command-line values to `config`.
void apply_overrides(app_config& config, const config_overrides& overrides);

/// Checks ranges and relations between keys. Throws `config_error` naming
/// the first offending key and its value.
void validate(const app_config& config);

/// Translates the lock, queue and deadlock settings into the engine's
/// settings. The deadlock hooks stay empty; see `load_plugins`.
engine_config make_engine_config(const app_config& config);

} // namespace holdfast
