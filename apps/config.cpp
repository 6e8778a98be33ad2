#include "apps/config.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "apps/durations.hpp"
#include "apps/logging.hpp"
#include "bridges/nats_support.hpp"

namespace holdfast {

namespace {

// Storage backends that `make_store_backend` can create.
const std::vector<std::string> storage_backends{"lmdb", "memory"};

// Upper bound of storage.map_size_mb: 1 TiB of address space per LMDB file.
constexpr int64_t max_map_size_mb = 1 << 20;

std::string quote(const std::string& text) {
  return '"' + text + '"';
}

std::string join(const std::vector<std::string>& items) {
  std::string result;
  for (const auto& item : items) {
    if (!result.empty())
      result += ", ";
    result += item;
  }
  return result;
}

/// Reads one YAML document and reports errors with file, line and key.
class reader {
public:
  explicit reader(std::string origin) : origin_(std::move(origin)) {
  }

  [[noreturn]] void fail(const YAML::Node& node, const std::string& key,
                         const std::string& problem) const {
    std::string location = origin_;
    auto mark = node.Mark();
    if (!mark.is_null())
      location += ":" + std::to_string(mark.line + 1);
    throw config_error("invalid configuration in " + location + ": " + key
                       + ": " + problem);
  }

  /// Rejects keys of `map` outside `known`, so that typos do not silently
  /// fall back to defaults.
  void check_keys(const YAML::Node& map, const std::string& prefix,
                  const std::vector<std::string>& known) const {
    if (!map.IsMap())
      fail(map, prefix.empty() ? "(top level)" : prefix,
           "expected a mapping of keys to values");
    for (const auto& entry : map) {
      auto key = entry.first.Scalar();
      bool found = false;
      for (const auto& candidate : known)
        found = found || key == candidate;
      if (!found) {
        auto full = prefix.empty() ? key : prefix + "." + key;
        fail(entry.first, full,
             "unknown key; the known keys here are " + join(known));
      }
    }
  }

  /// Returns the scalar text of `node`, or nothing when it is absent or
  /// null, which keeps the default.
  std::optional<std::string> scalar(const YAML::Node& node,
                                    const std::string& key) const {
    if (!node.IsDefined() || node.IsNull())
      return std::nullopt;
    if (!node.IsScalar())
      fail(node, key, "expected a single value, not a list or mapping");
    return node.Scalar();
  }

  void read(const YAML::Node& node, const std::string& key,
            std::string& out) const {
    if (auto text = scalar(node, key))
      out = *text;
  }

  void read(const YAML::Node& node, const std::string& key, bool& out) const {
    auto text = scalar(node, key);
    if (!text)
      return;
    try {
      out = node.as<bool>();
    } catch (const YAML::Exception&) {
      fail(node, key,
           "invalid value " + quote(*text) + ": expected true or false");
    }
  }

  void read_integer(const YAML::Node& node, const std::string& key, int64_t min,
                    int64_t max, int64_t& out) const {
    auto text = scalar(node, key);
    if (!text)
      return;
    int64_t value = 0;
    try {
      value = node.as<int64_t>();
    } catch (const YAML::Exception&) {
      fail(node, key,
           "invalid value " + quote(*text) + ": expected a whole number");
    }
    if (value < min || value > max)
      fail(node, key,
           "value " + *text + " is out of range: expected "
               + std::to_string(min) + " to " + std::to_string(max));
    out = value;
  }

  void read(const YAML::Node& node, const std::string& key,
            std::chrono::milliseconds& out) const {
    auto text = scalar(node, key);
    if (!text)
      return;
    auto value = parse_duration(*text);
    if (!value)
      fail(node, key,
           "invalid duration " + quote(*text) + ": "
               + std::string{duration_syntax_hint});
    out = *value;
  }

private:
  std::string origin_;
};

void read_nats(const reader& in, const YAML::Node& node, nats_settings& out) {
  in.check_keys(node, "nats", {"url", "managed"});
  in.read(node["url"], "nats.url", out.url);
  auto managed = node["managed"];
  if (!managed.IsDefined() || managed.IsNull())
    return;
  in.check_keys(managed, "nats.managed", {"port", "binary", "data_dir"});
  int64_t port = out.managed.port;
  in.read_integer(managed["port"], "nats.managed.port", 1, 65535, port);
  out.managed.port = static_cast<uint16_t>(port);
  in.read(managed["binary"], "nats.managed.binary", out.managed.binary);
  in.read(managed["data_dir"], "nats.managed.data_dir", out.managed.data_dir);
}

void read_storage(const reader& in, const YAML::Node& node,
                  store_settings& out) {
  in.check_keys(node, "storage", {"backend", "path", "map_size_mb", "sync"});
  in.read(node["backend"], "storage.backend", out.backend);
  in.read(node["path"], "storage.path", out.path);
  auto map_size = static_cast<int64_t>(out.map_size_mb);
  in.read_integer(node["map_size_mb"], "storage.map_size_mb", 1,
                  max_map_size_mb, map_size);
  out.map_size_mb = static_cast<size_t>(map_size);
  in.read(node["sync"], "storage.sync", out.sync);
}

void read_locks(const reader& in, const YAML::Node& node, lock_settings& out) {
  in.check_keys(node, "locks",
                {"default_ttl", "max_ttl", "max_wait", "idle_retire_after"});
  in.read(node["default_ttl"], "locks.default_ttl", out.default_ttl);
  in.read(node["max_ttl"], "locks.max_ttl", out.max_ttl);
  in.read(node["max_wait"], "locks.max_wait", out.max_wait);
  in.read(node["idle_retire_after"], "locks.idle_retire_after",
          out.idle_retire_after);
}

void read_queue(const reader& in, const YAML::Node& node,
                queue_settings& out) {
  in.check_keys(node, "queue",
                {"max_depth_per_resource", "max_depth_total",
                 "max_bulk_locks", "aging_interval", "workspace_weights",
                 "emergency_users"});
  int64_t per_resource = out.max_depth_per_resource;
  in.read_integer(node["max_depth_per_resource"],
                  "queue.max_depth_per_resource", 1, 1'000'000, per_resource);
  out.max_depth_per_resource = static_cast<uint32_t>(per_resource);
  int64_t total = out.max_depth_total;
  in.read_integer(node["max_depth_total"], "queue.max_depth_total", 1,
                  100'000'000, total);
  out.max_depth_total = static_cast<uint32_t>(total);
  int64_t bulk = out.max_bulk_locks;
  in.read_integer(node["max_bulk_locks"], "queue.max_bulk_locks", 1, 10'000,
                  bulk);
  out.max_bulk_locks = static_cast<uint32_t>(bulk);
  in.read(node["aging_interval"], "queue.aging_interval", out.aging_interval);

  auto weights = node["workspace_weights"];
  if (weights.IsDefined() && !weights.IsNull()) {
    if (!weights.IsMap())
      in.fail(weights, "queue.workspace_weights",
              "expected a mapping of workspace names to numbers");
    for (const auto& entry : weights) {
      auto name = entry.first.Scalar();
      auto key = "queue.workspace_weights." + name;
      try {
        out.workspace_weights[name] = entry.second.as<double>();
      } catch (const YAML::Exception&) {
        in.fail(entry.second, key, "expected a number, such as 1 or 0.5");
      }
    }
  }

  auto users = node["emergency_users"];
  if (users.IsDefined() && !users.IsNull()) {
    if (!users.IsSequence())
      in.fail(users, "queue.emergency_users",
              "expected a list of user names");
    for (const auto& user : users) {
      if (!user.IsScalar() || user.Scalar().empty())
        in.fail(user, "queue.emergency_users",
                "expected a non-empty user name");
      out.emergency_users.push_back(user.Scalar());
    }
  }
}

void read_log(const reader& in, const YAML::Node& node, log_settings& out) {
  in.check_keys(node, "log", {"level", "levels"});
  in.read(node["level"], "log.level", out.level);
  auto levels = node["levels"];
  if (!levels.IsDefined() || levels.IsNull())
    return;
  in.check_keys(levels, "log.levels", logger_names());
  for (const auto& entry : levels) {
    auto name = entry.first.Scalar();
    std::string level;
    in.read(entry.second, "log.levels." + name, level);
    out.levels[name] = level;
  }
}

// Built-in victim policies, for `deadlock.fallback_policy`.
constexpr const char* builtin_policies = "youngest, lowest_priority or "
                                         "fewest_locks";

/// Reads a victim policy; `allow_plugin` admits "plugin:<name>".
void read_policy(const reader& in, const YAML::Node& node,
                 const std::string& key, bool allow_plugin,
                 victim_policy& policy, std::string& plugin_name) {
  auto text = in.scalar(node, key);
  if (!text)
    return;
  std::string name;
  auto parsed = parse_victim_policy(*text, name);
  if (!parsed || (*parsed == victim_policy::plugin && !allow_plugin))
    in.fail(node, key,
            "invalid value " + quote(*text) + ": expected "
                + (allow_plugin ? std::string{"youngest, lowest_priority, "
                                              "fewest_locks or "
                                              "plugin:<instance name>"}
                                : std::string{"a built-in policy: "}
                                      + builtin_policies));
  policy = *parsed;
  plugin_name = name;
}

void read_deadlock(const reader& in, const YAML::Node& node,
                   deadlock_settings& out) {
  in.check_keys(node, "deadlock",
                {"enabled", "timeout", "policy", "fallback_policy",
                 "release_victim_locks", "prevention", "hook_timeout",
                 "max_extension"});
  in.read(node["enabled"], "deadlock.enabled", out.enabled);
  in.read(node["timeout"], "deadlock.timeout", out.timeout);
  read_policy(in, node["policy"], "deadlock.policy", true, out.policy,
              out.policy_plugin);
  std::string unused;
  read_policy(in, node["fallback_policy"], "deadlock.fallback_policy", false,
              out.fallback, unused);
  in.read(node["release_victim_locks"], "deadlock.release_victim_locks",
          out.release_victim_locks);
  in.read(node["prevention"], "deadlock.prevention", out.prevention);
  in.read(node["hook_timeout"], "deadlock.hook_timeout", out.hook_timeout);
  in.read(node["max_extension"], "deadlock.max_extension", out.max_extension);
}

/// Reads the `settings` mapping of a plugin entry. A list value becomes
/// its items joined with commas.
void read_plugin_settings(const reader& in, const YAML::Node& node,
                          const std::string& prefix, plugin::settings& out) {
  if (!node.IsMap())
    in.fail(node, prefix,
            "expected a mapping of setting names to values or lists");
  for (const auto& entry : node) {
    auto name = entry.first.Scalar();
    auto key = prefix + "." + name;
    const auto& value = entry.second;
    if (value.IsNull()) {
      out[name] = "";
    } else if (value.IsScalar()) {
      out[name] = value.Scalar();
    } else if (value.IsSequence()) {
      std::string joined;
      for (const auto& item : value) {
        if (!item.IsScalar())
          in.fail(item, key, "expected a list of single values");
        if (!joined.empty())
          joined += ',';
        joined += item.Scalar();
      }
      out[name] = joined;
    } else {
      in.fail(value, key, "expected a single value or a list of values");
    }
  }
}

void read_plugins(const reader& in, const YAML::Node& node,
                  std::vector<plugin_config>& out) {
  if (!node.IsSequence())
    in.fail(node, "plugins",
            "expected a list of entries with name, library, factory and "
            "settings");
  size_t index = 0;
  for (const auto& item : node) {
    auto prefix = "plugins[" + std::to_string(index++) + "]";
    in.check_keys(item, prefix, {"name", "library", "factory", "settings"});
    plugin_config entry;
    in.read(item["name"], prefix + ".name", entry.name);
    in.read(item["library"], prefix + ".library", entry.library);
    in.read(item["factory"], prefix + ".factory", entry.factory);
    auto settings = item["settings"];
    if (settings.IsDefined() && !settings.IsNull())
      read_plugin_settings(in, settings, prefix + ".settings", entry.settings);
    out.push_back(std::move(entry));
  }
}

[[noreturn]] void fail_value(const std::string& key, const std::string& value,
                             const std::string& problem) {
  throw config_error("invalid configuration: " + key + " = " + value + ": "
                     + problem);
}

void validate_log_level(const std::string& key, const std::string& level) {
  if (!is_valid_log_level(level))
    fail_value(key, quote(level),
               "expected trace, debug, info, warn, error, critical or off");
}

void validate_positive(const std::string& key, std::chrono::milliseconds value,
                       const std::string& example) {
  if (value.count() <= 0)
    fail_value(key, format_duration(value),
               "expected a positive duration, such as " + example);
}

void validate_plugins(const std::vector<plugin_config>& plugins) {
  for (size_t index = 0; index < plugins.size(); ++index) {
    const auto& entry = plugins[index];
    auto prefix = "plugins[" + std::to_string(index) + "]";
    if (entry.name.empty())
      fail_value(prefix + ".name", quote(""),
                 "expected an instance name, unique among the plugins");
    for (size_t other = 0; other < index; ++other)
      if (plugins[other].name == entry.name)
        fail_value(prefix + ".name", quote(entry.name),
                   "plugins[" + std::to_string(other)
                       + "] has the same name; give each instance its own");
    if (entry.library.empty())
      fail_value(prefix + ".library", quote(""),
                 "expected the path of the plugin's shared library");
    if (entry.factory.empty())
      fail_value(prefix + ".factory", quote(""),
                 "expected the name of a factory the library registers");
  }
}

void validate_deadlock(const deadlock_settings& deadlock,
                       const std::vector<plugin_config>& plugins) {
  validate_positive("deadlock.timeout", deadlock.timeout, "1s");
  validate_positive("deadlock.hook_timeout", deadlock.hook_timeout, "1s");
  if (deadlock.max_extension.count() < 0)
    fail_value("deadlock.max_extension",
               format_duration(deadlock.max_extension),
               "expected zero or a positive duration, such as 30s");
  if (deadlock.fallback == victim_policy::plugin)
    fail_value("deadlock.fallback_policy", quote("plugin"),
               std::string{"expected a built-in policy: "} + builtin_policies);
  if (deadlock.policy != victim_policy::plugin)
    return;

  std::vector<std::string> names;
  for (const auto& entry : plugins) {
    if (entry.name == deadlock.policy_plugin)
      return;
    names.push_back(entry.name);
  }
  fail_value("deadlock.policy", quote("plugin:" + deadlock.policy_plugin),
             "no plugin instance has this name; "
                 + (names.empty()
                        ? std::string{"the plugins list is empty"}
                        : "the configured instances are " + join(names)));
}

} // namespace

std::string app_config::managed_nats_data_dir() const {
  if (!nats.managed.data_dir.empty())
    return nats.managed.data_dir;
  return storage.path + "/managed-nats";
}

app_config parse_config(const std::string& yaml, const std::string& origin) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::ParserException& e) {
    throw config_error("invalid configuration in " + origin + ":"
                       + std::to_string(e.mark.line + 1)
                       + ": malformed YAML: " + e.msg);
  }
  app_config result;
  if (root.IsNull())
    return result;
  reader in{origin};
  const YAML::Node& top = root;
  in.check_keys(
      top, "",
      {"nats", "storage", "locks", "queue", "log", "deadlock", "plugins"});
  auto present = [](const YAML::Node& node) {
    return node.IsDefined() && !node.IsNull();
  };
  if (present(top["nats"]))
    read_nats(in, top["nats"], result.nats);
  if (present(top["storage"]))
    read_storage(in, top["storage"], result.storage);
  if (present(top["locks"]))
    read_locks(in, top["locks"], result.locks);
  if (present(top["queue"]))
    read_queue(in, top["queue"], result.queue);
  if (present(top["log"]))
    read_log(in, top["log"], result.log);
  if (present(top["deadlock"]))
    read_deadlock(in, top["deadlock"], result.deadlock);
  if (present(top["plugins"]))
    read_plugins(in, top["plugins"], result.plugins);
  return result;
}

app_config load_config_file(const std::string& path) {
  std::ifstream file{path};
  if (!file)
    throw config_error("reading configuration file " + path
                       + " failed: " + std::strerror(errno));
  std::ostringstream text;
  text << file.rdbuf();
  return parse_config(text.str(), path);
}

app_config load_config(const std::optional<std::string>& path,
                       const config_overrides& overrides) {
  app_config result;
  if (path) {
    result = load_config_file(*path);
  } else {
    std::ifstream probe{default_config_path};
    if (probe)
      result = load_config_file(default_config_path);
  }
  apply_overrides(result, overrides);
  validate(result);
  return result;
}

void apply_overrides(app_config& config, const config_overrides& overrides) {
  if (overrides.nats_url)
    config.nats.url = *overrides.nats_url;
  if (overrides.nats_port)
    config.nats.managed.port = *overrides.nats_port;
  if (overrides.data_dir)
    config.storage.path = *overrides.data_dir;
  if (overrides.storage_backend)
    config.storage.backend = *overrides.storage_backend;
  if (overrides.log_level) {
    config.log.level = *overrides.log_level;
    config.log.levels.clear();
  }
}

void validate(const app_config& config) {
  const auto& url = config.nats.url;
  if (!url.empty()
      && (url.find("://") == std::string::npos
          || url.find_first_of(" \t\r\n") != std::string::npos))
    fail_value("nats.url", quote(redact_url(url)),
               "expected a URL such as nats://127.0.0.1:4222, or an empty "
               "value to start a managed nats-server");
  if (config.nats.managed.port == 0)
    fail_value("nats.managed.port", "0", "expected a port from 1 to 65535");
  if (url.empty() && config.nats.managed.binary.empty())
    fail_value("nats.managed.binary", quote(""),
               "expected the name or path of the nats-server program");

  const auto& backend = config.storage.backend;
  bool known = false;
  for (const auto& name : storage_backends)
    known = known || backend == name;
  if (!known)
    fail_value("storage.backend", quote(backend),
               "unknown backend; expected one of " + join(storage_backends));
  if (config.storage.path.empty())
    fail_value("storage.path", quote(""),
               "expected a directory for the data, such as var/data");
  if (config.storage.map_size_mb == 0
      || config.storage.map_size_mb > static_cast<size_t>(max_map_size_mb))
    fail_value("storage.map_size_mb",
               std::to_string(config.storage.map_size_mb),
               "expected 1 to " + std::to_string(max_map_size_mb));

  const auto& locks = config.locks;
  request_limits defaults;
  auto min_ttl = std::chrono::milliseconds{defaults.min_ttl_ms};
  if (locks.max_ttl < min_ttl)
    fail_value("locks.max_ttl", format_duration(locks.max_ttl),
               "expected at least " + format_duration(min_ttl));
  if (locks.default_ttl < min_ttl)
    fail_value("locks.default_ttl", format_duration(locks.default_ttl),
               "expected at least " + format_duration(min_ttl));
  if (locks.default_ttl > locks.max_ttl)
    fail_value("locks.default_ttl", format_duration(locks.default_ttl),
               "exceeds locks.max_ttl = " + format_duration(locks.max_ttl)
                   + "; raise locks.max_ttl or lower the default");
  if (locks.idle_retire_after.count() <= 0)
    fail_value("locks.idle_retire_after",
               format_duration(locks.idle_retire_after),
               "expected a positive duration, such as 30s");

  validate_log_level("log.level", config.log.level);
  for (const auto& [name, level] : config.log.levels) {
    bool known_logger = false;
    for (const auto& candidate : logger_names())
      known_logger = known_logger || candidate == name;
    if (!known_logger)
      fail_value("log.levels." + name, quote(level),
                 "unknown logger; expected one of " + join(logger_names()));
    validate_log_level("log.levels." + name, level);
  }

  validate_plugins(config.plugins);
  validate_deadlock(config.deadlock, config.plugins);
}

engine_config make_engine_config(const app_config& config) {
  engine_config result;
  result.limits.default_ttl_ms = config.locks.default_ttl.count();
  result.limits.max_ttl_ms = config.locks.max_ttl.count();
  result.limits.max_wait_ms = config.locks.max_wait.count();
  result.idle_retire_after = config.locks.idle_retire_after;
  result.now_ms = system_now_ms;
  result.max_queue_per_resource = config.queue.max_depth_per_resource;
  result.max_queue_total = config.queue.max_depth_total;
  result.max_bulk_locks = config.queue.max_bulk_locks;
  result.priorities.aging_interval_ms = config.queue.aging_interval.count();
  result.priorities.workspace_weights = config.queue.workspace_weights;
  result.priorities.emergency_users.insert(
    config.queue.emergency_users.begin(), config.queue.emergency_users.end());
  result.deadlock = config.deadlock;
  return result;
}

} // namespace holdfast
