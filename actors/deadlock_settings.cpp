#include "actors/deadlock_settings.hpp"

namespace holdfast {

std::string_view to_string_view(victim_policy policy) {
  switch (policy) {
    case victim_policy::youngest:
      return "youngest";
    case victim_policy::lowest_priority:
      return "lowest_priority";
    case victim_policy::fewest_locks:
      return "fewest_locks";
    case victim_policy::plugin:
      return "plugin";
  }
  return "unknown";
}

std::optional<victim_policy> parse_victim_policy(std::string_view text,
                                                 std::string& plugin_name) {
  constexpr std::string_view plugin_prefix = "plugin:";
  if (text.substr(0, plugin_prefix.size()) == plugin_prefix) {
    plugin_name = std::string{text.substr(plugin_prefix.size())};
    if (plugin_name.empty())
      return std::nullopt;
    return victim_policy::plugin;
  }
  for (auto policy : {victim_policy::youngest, victim_policy::lowest_priority,
                      victim_policy::fewest_locks})
    if (to_string_view(policy) == text)
      return policy;
  return std::nullopt;
}

} // namespace holdfast
