#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace holdfast {

/// Parses a duration such as "1500ms", "30s", "5m", "2h" or "1h30m": one or
/// more whole numbers, each followed by a unit (ms, s, m, h, d). A bare "0"
/// is zero. Returns nothing for any other text or on overflow.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

/// Renders `value` in hours, minutes and seconds, such as "5m" or "1h30m",
/// or in milliseconds when it is not whole seconds ("1500ms"). The output
/// parses back to `value`.
std::string format_duration(std::chrono::milliseconds value);

/// Text appended to errors about a duration value.
constexpr std::string_view duration_syntax_hint
    = "expected a whole number with a unit ms, s, m, h or d, such as 30s, 5m "
      "or 1h30m";

} // namespace holdfast
