#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <holdfast/plugin.hpp>

namespace holdfast {

/// Rule by which the detector picks the victim of a cycle.
enum class victim_policy : uint8_t {
  /// The member whose waiting request began last.
  youngest,
  /// The member whose waiting request has the lowest requested priority.
  lowest_priority,
  /// The member that holds the fewest locks.
  fewest_locks,
  /// The plugin instance named in `deadlock_settings::policy_plugin`.
  plugin,
};

std::string_view to_string_view(victim_policy policy);

/// Parses "youngest", "lowest_priority", "fewest_locks" or
/// "plugin:<name>"; `plugin_name` receives the name.
std::optional<victim_policy> parse_victim_policy(std::string_view text,
                                                 std::string& plugin_name);

/// One configured plugin instance, created from its library's factory.
struct hook_instance {
  /// Name from the configuration, used in logs, counters and policies.
  std::string name;
  std::shared_ptr<plugin::host> host;
  std::unique_ptr<plugin::hook> hook;
};

using hook_instance_ptr = std::shared_ptr<hook_instance>;

/// Settings of deadlock detection and resolution.
struct deadlock_settings {
  bool enabled = true;
  /// A cycle is searched for once each of its waits has lasted this long.
  std::chrono::milliseconds timeout{1'000};
  victim_policy policy = victim_policy::youngest;
  std::string policy_plugin;
  /// Picks the victim when the plugin policy gives no valid answer.
  victim_policy fallback = victim_policy::youngest;
  /// Also releases every lock of the victim.
  bool release_victim_locks = false;
  /// Refuses a wait that would close a cycle with `would_deadlock`.
  bool prevention = false;
  /// Time a hook has to answer, and the most extra time it may ask for.
  std::chrono::milliseconds hook_timeout{1'000};
  std::chrono::milliseconds max_extension{30'000};
  /// Plugin instances, in configuration order.
  std::vector<hook_instance_ptr> hooks;
};

} // namespace holdfast
