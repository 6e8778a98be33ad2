#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace holdfast {

/// Priority of a lock request. Waiters with a higher priority are served
/// first; the numeric order is the service order.
enum class priority : uint8_t {
  very_low = 0,
  low = 1,
  medium = 2,
  high = 3,
  critical = 4,
};

/// Returns the wire name of `level`, such as "very_low".
std::string_view to_string_view(priority level);

/// Parses a wire name; returns nothing for an unknown name.
std::optional<priority> parse_priority(std::string_view name);

} // namespace holdfast
