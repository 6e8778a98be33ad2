#include "messages/priority.hpp"

#include <array>

namespace holdfast {

namespace {

constexpr std::array<std::string_view, 5> priority_names{
  "very_low", "low", "medium", "high", "critical"};

} // namespace

std::string_view to_string_view(priority level) {
  auto index = static_cast<size_t>(level);
  if (index < priority_names.size())
    return priority_names[index];
  return "medium";
}

std::optional<priority> parse_priority(std::string_view name) {
  for (size_t i = 0; i < priority_names.size(); ++i)
    if (priority_names[i] == name)
      return static_cast<priority>(i);
  return std::nullopt;
}

} // namespace holdfast
