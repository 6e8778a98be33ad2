#include "apps/durations.hpp"

#include <cstdint>
#include <limits>

namespace holdfast {

namespace {

struct unit {
  std::string_view suffix;
  int64_t milliseconds;
};

// Longer suffixes first so that "ms" is not read as "m" followed by "s".
constexpr unit units[] = {
    {"ms", 1}, {"s", 1'000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000},
};

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

} // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  if (text == "0")
    return std::chrono::milliseconds{0};
  if (text.empty())
    return std::nullopt;
  constexpr auto max = std::numeric_limits<int64_t>::max();
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
    if (matched == nullptr)
      return std::nullopt;
    pos += matched->suffix.size();
    if (number > max / matched->milliseconds)
      return std::nullopt;
    auto part = number * matched->milliseconds;
    if (total > max - part)
      return std::nullopt;
    total += part;
  }
  return std::chrono::milliseconds{total};
}

std::string format_duration(std::chrono::milliseconds value) {
  auto remaining = value.count();
  if (remaining == 0)
    return "0s";
  std::string result;
  if (remaining < 0) {
    result += '-';
    remaining = -remaining;
  }
  // Milliseconds are shown alone unless they are whole seconds, so that
  // "1500ms" stays readable instead of becoming "1s500ms".
  if (remaining % 1'000 != 0)
    return result + std::to_string(remaining) + "ms";
  // Hours are the largest unit shown, because "48h" reads better than "2d".
  constexpr unit shown[] = {{"h", 3'600'000}, {"m", 60'000}, {"s", 1'000}};
  for (const auto& candidate : shown) {
    auto count = remaining / candidate.milliseconds;
    if (count > 0) {
      result += std::to_string(count);
      result += candidate.suffix;
      remaining %= candidate.milliseconds;
    }
  }
  return result;
}

} // namespace holdfast
