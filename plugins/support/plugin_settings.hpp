#pragma once

#include <chrono>
#include <initializer_list>
#include <string>
#include <vector>

#include <holdfast/plugin.hpp>

namespace holdfast::plugins {

// Helpers for factories that check their settings. Each throws
// std::invalid_argument with a message that names the setting.

/// Rejects settings outside `known`, so that a typo is not silently
/// ignored.
void check_known_settings(const plugin::settings& values,
                          std::initializer_list<const char*> known);

/// Returns the value of `name`; throws when it is missing or empty.
std::string required_setting(const plugin::settings& values,
                             const std::string& name);

/// Returns the value of `name`, or `fallback` when it is missing. Throws
/// when it is given but empty.
std::string optional_setting(const plugin::settings& values,
                             const std::string& name,
                             const std::string& fallback);

/// Returns the positive duration `name`, such as "30s" or "1m30s" (units
/// ms, s, m, h, d), or `fallback` when it is missing.
std::chrono::milliseconds duration_setting(const plugin::settings& values,
                                           const std::string& name,
                                           std::chrono::milliseconds fallback);

/// Splits a comma-separated list and trims spaces around the items. Throws
/// when an item is empty.
std::vector<std::string> list_setting(const plugin::settings& values,
                                      const std::string& name);

/// Returns the wire name of `level`, such as "medium".
const char* priority_name(plugin::priority level);

} // namespace holdfast::plugins
