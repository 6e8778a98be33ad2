#pragma once

// The interface between holdfast and its plugins. A plugin is a shared
// library that exports the two functions declared at the end of this file;
// HOLDFAST_PLUGIN defines both. The service checks the API version before it
// calls anything else, so a plugin built against another version fails to
// load with a clear message instead of crashing.
//
// The types are plain C++17 and standard library only. A plugin must be
// built with the same compiler family and standard library as the service,
// because objects such as std::string cross the library boundary.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace holdfast::plugin {

/// Raised whenever a type or a function of this file changes.
inline constexpr uint32_t api_version = 1;

/// Requested priority of a lock request, lowest first.
enum class priority : uint8_t {
  very_low = 0,
  low = 1,
  medium = 2,
  high = 3,
  critical = 4,
};

/// One member of a wait-for cycle: `owner` waits for the lock on
/// `project`/`workspace`, which the next member holds (the first member
/// follows the last).
struct cycle_member {
  std::string owner;
  std::string project;
  std::string workspace;
  priority level = priority::medium;
  int64_t waited_ms = 0;
  /// Locks the owner holds in its tenant.
  uint32_t locks_held = 0;
};

/// A deadlock as the hooks see it.
struct deadlock {
  /// Unique within one run of the service.
  uint64_t id = 0;
  std::string tenant;
  std::vector<cycle_member> cycle;
  /// Owner chosen as victim; empty before a victim is chosen.
  std::string victim;
  /// "youngest", "lowest_priority", "fewest_locks" or "plugin:<name>".
  std::string policy;
};

/// Outcome of a deadlock, for `after_resolution`.
struct resolution {
  /// "victim_failed", "vetoed" or "dissolved" (the cycle broke up before
  /// the victim's request was failed).
  std::string outcome;
  bool released_locks = false;
  std::string reason;
};

/// A detection round that is about to start.
struct detection_round {
  uint64_t round = 0;
  /// Owners and waits in the wait-for graph.
  size_t owners = 0;
  size_t waits = 0;
  /// Set for a round asked for with the `detect` request.
  bool on_demand = false;
};

/// The answer to `before_resolution`. It may be called from any thread,
/// also after the hook has returned. The first `approve` or `veto` counts;
/// later calls are ignored. `extend` asks for more time before the final
/// answer; the service caps the total extension.
class verdict {
public:
  virtual ~verdict() = default;
  virtual void approve() = 0;
  virtual void veto(std::string reason) = 0;
  virtual void extend(std::chrono::milliseconds more) = 0;
};

enum class log_level : uint8_t { debug, info, warn, error };

/// Services of the host process.
class host {
public:
  virtual ~host() = default;

  /// URL of the NATS server the service uses.
  virtual std::string nats_url() const = 0;

  /// Writes to the service log under the plugin's name. Safe to call from
  /// any thread.
  virtual void log(log_level level, std::string_view message) = 0;
};

/// Hooks of one plugin instance. Every hook runs on the instance's own
/// thread, one call at a time. A hook that throws or takes longer than the
/// service's hook timeout is logged and counted, and detection goes on as
/// if the hook were absent.
class hook {
public:
  virtual ~hook() = default;

  /// Called before each detection round.
  virtual void before_detection(const detection_round& round) {
    (void) round;
  }

  /// Called for each deadlock found, before a victim is chosen.
  virtual void on_detection(const deadlock& found) {
    (void) found;
  }

  /// Called when the victim policy names this instance. Returns the owner
  /// of a cycle member, or an empty string to leave the choice to the
  /// fallback policy.
  virtual std::string choose_victim(const deadlock& found) {
    (void) found;
    return {};
  }

  /// Called once a victim is chosen. The hook approves, vetoes or asks for
  /// more time through `answer`, now or later.
  virtual void before_resolution(const deadlock& found,
                                 std::shared_ptr<verdict> answer) {
    (void) found;
    answer->approve();
  }

  /// Called after the deadlock ended, whatever the outcome.
  virtual void after_resolution(const deadlock& found,
                                const resolution& result) {
    (void) found;
    (void) result;
  }
};

/// Settings of one instance from the service configuration. A YAML list
/// arrives as its items joined with commas.
using settings = std::map<std::string, std::string>;

/// Creates an instance. Throws std::exception with a readable message when
/// a setting is missing or wrong; the service then refuses to start.
using hook_factory
  = std::function<std::unique_ptr<hook>(const settings& values, host& env)>;

/// Collects the factories of a plugin library.
class registry {
public:
  virtual ~registry() = default;

  /// Registers `factory` under `name`, which the configuration refers to.
  virtual void add(const std::string& name, hook_factory factory) = 0;
};

} // namespace holdfast::plugin

/// Keeps the two entry points visible in libraries built with
/// -fvisibility=hidden.
#define HOLDFAST_PLUGIN_EXPORT __attribute__((visibility("default")))

extern "C" {

/// Returns the `api_version` the library was built with.
HOLDFAST_PLUGIN_EXPORT uint32_t holdfast_plugin_api_version();

/// Registers the library's factories.
HOLDFAST_PLUGIN_EXPORT void
holdfast_plugin_register(holdfast::plugin::registry* target);
}

/// Defines the two exported functions; `register_function` takes a
/// `holdfast::plugin::registry&`.
#define HOLDFAST_PLUGIN(register_function)                                     \
  extern "C" HOLDFAST_PLUGIN_EXPORT uint32_t holdfast_plugin_api_version() {   \
    return holdfast::plugin::api_version;                                      \
  }                                                                            \
  extern "C" HOLDFAST_PLUGIN_EXPORT void holdfast_plugin_register(             \
    holdfast::plugin::registry* target) {                                      \
    register_function(*target);                                                \
  }
