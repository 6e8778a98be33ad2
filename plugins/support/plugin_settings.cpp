#include "support/plugin_settings.hpp"

#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string_view>

namespace holdfast::plugins {

namespace {

[[noreturn]] void fail(const std::string& name, const std::string& problem) {
  throw std::invalid_argument("setting '" + name + "' " + problem);
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

/// Parses the duration syntax of the service configuration; returns nothing
/// for other text or on overflow.
std::optional<int64_t> parse_milliseconds(std::string_view text) {
  struct unit {
    std::string_view suffix;
    int64_t milliseconds;
  };
  // "ms" before "m", so that "5ms" is not read as "5m" followed by "s".
  static constexpr unit units[] = {{"ms", 1},
                                   {"s", 1'000},
                                   {"m", 60'000},
                                   {"h", 3'600'000},
                                   {"d", 86'400'000}};
  constexpr auto max = std::numeric_limits<int64_t>::max();
  if (text.empty())
    return std::nullopt;
  int64_t total = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    if (!is_digit(text[pos]))
      return std::nullopt;
    int64_t number = 0;
    while (pos < text.size() && is_digit(text[pos])) {
      auto digit = text[pos] - '0';
      if (number > (max - digit) / 10)
        return std::nullopt;
      number = number * 10 + digit;
      ++pos;
    }
    const unit* matched = nullptr;
    for (const auto& candidate : units) {
      if (text.substr(pos, candidate.suffix.size()) == candidate.suffix) {
        matched = &candidate;
        break;
      }
    }
    if (matched == nullptr || number > max / matched->milliseconds)
      return std::nullopt;
    pos += matched->suffix.size();
    auto part = number * matched->milliseconds;
    if (total > max - part)
      return std::nullopt;
    total += part;
  }
  return total;
}

std::string trim(const std::string& text) {
  auto first = text.find_first_not_of(" \t");
  if (first == std::string::npos)
    return {};
  auto last = text.find_last_not_of(" \t");
  return text.substr(first, last - first + 1);
}

} // namespace

void check_known_settings(const plugin::settings& values,
                          std::initializer_list<const char*> known) {
  for (const auto& entry : values) {
    bool found = false;
    for (auto name : known)
      found = found || entry.first == name;
    if (found)
      continue;
    std::string names;
    for (auto name : known) {
      if (!names.empty())
        names += ", ";
      names += name;
    }
    fail(entry.first, "is unknown; the known settings are " + names);
  }
}

std::string required_setting(const plugin::settings& values,
                             const std::string& name) {
  auto found = values.find(name);
  if (found == values.end())
    fail(name, "is missing");
  if (trim(found->second).empty())
    fail(name, "is empty");
  return found->second;
}

std::string optional_setting(const plugin::settings& values,
                             const std::string& name,
                             const std::string& fallback) {
  auto found = values.find(name);
  if (found == values.end())
    return fallback;
  if (trim(found->second).empty())
    fail(name, "is empty; leave it out to use the default");
  return found->second;
}

std::chrono::milliseconds duration_setting(const plugin::settings& values,
                                           const std::string& name,
                                           std::chrono::milliseconds fallback) {
  auto found = values.find(name);
  if (found == values.end())
    return fallback;
  auto value = parse_milliseconds(found->second);
  if (!value || *value <= 0)
    fail(name, "has the invalid value \"" + found->second
                   + "\": expected a positive whole number with a unit ms, "
                     "s, m, h or d, such as 30s or 1m30s");
  return std::chrono::milliseconds{*value};
}

std::vector<std::string> list_setting(const plugin::settings& values,
                                      const std::string& name) {
  auto text = required_setting(values, name);
  std::vector<std::string> result;
  size_t start = 0;
  while (true) {
    auto end = text.find(',', start);
    auto item = trim(text.substr(start, end - start));
    if (item.empty())
      fail(name, "has an empty item in \"" + text + "\"");
    result.push_back(item);
    if (end == std::string::npos)
      break;
    start = end + 1;
  }
  return result;
}

const char* priority_name(plugin::priority level) {
  switch (level) {
  case plugin::priority::very_low:
    return "very_low";
  case plugin::priority::low:
    return "low";
  case plugin::priority::medium:
    return "medium";
  case plugin::priority::high:
    return "high";
  case plugin::priority::critical:
    return "critical";
  }
  return "unknown";
}

} // namespace holdfast::plugins
