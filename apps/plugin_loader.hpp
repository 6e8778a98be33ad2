#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include <holdfast/plugin.hpp>

#include "actors/deadlock_settings.hpp"

namespace holdfast {

/// One entry of the `plugins:` list of the configuration.
struct plugin_config {
  /// Instance name, unique among the configured plugins. Policies, logs
  /// and counters refer to it.
  std::string name;
  /// Path of the shared library. A relative path starts at the current
  /// directory, also when it contains no slash.
  std::string library;
  /// Name under which the library registers the factory of the instance.
  std::string factory;
  /// Settings passed to the factory.
  plugin::settings settings;
};

/// A plugin that cannot be loaded or created. The message reads
/// "cannot load plugin '<name>' from <file>: <reason>".
class plugin_load_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Loads the library of each entry in `plugins` and creates its instance,
/// in configuration order. Each instance gets its own host, whose
/// `nats_url` returns `nats_url` and whose `log` writes to the spdlog
/// logger "plugin.<name>". Throws `plugin_load_error` at the first entry
/// that fails; the instances created before it are destroyed then.
std::vector<hook_instance_ptr>
load_plugins(const std::vector<plugin_config>& plugins,
             const std::string& nats_url);

} // namespace holdfast
