#include "messages/error_code.hpp"

#include <array>

#include <caf/make_message.hpp>

namespace holdfast {

namespace {

constexpr std::array<std::string_view, 14> code_names{
  "none",          "invalid_request", "conflict",     "timeout",
  "not_found",     "not_owner",       "lease_expired", "quota_exceeded",
  "queue_full",    "deadlock_victim", "would_deadlock", "owner_closed",
  "unavailable",   "internal",
};

} // namespace

std::string_view to_string_view(lock_errc code) {
  auto index = static_cast<size_t>(code);
  if (index < code_names.size())
    return code_names[index];
  return "internal";
}

std::string to_string(lock_errc code) {
  return std::string{to_string_view(code)};
}

std::optional<lock_errc> parse_lock_errc(std::string_view name) {
  for (size_t i = 0; i < code_names.size(); ++i)
    if (code_names[i] == name)
      return static_cast<lock_errc>(i);
  return std::nullopt;
}

caf::error make_error(lock_errc code, std::string context) {
  if (context.empty())
    return caf::error{static_cast<uint8_t>(code), lock_error_category};
  return caf::error{static_cast<uint8_t>(code), lock_error_category,
                    caf::make_message(std::move(context))};
}

} // namespace holdfast
