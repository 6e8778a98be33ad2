#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <caf/atom.hpp>
#include <caf/error.hpp>

namespace holdfast {

/// Stable error codes of the lock protocol. A code exists only when a caller
/// reacts to it differently; details such as the holder travel beside it.
/// The numeric values are part of the CAF error category and never change.
enum class lock_errc : uint8_t {
  none = 0,
  invalid_request,
  conflict,
  timeout,
  not_found,
  not_owner,
  lease_expired,
  quota_exceeded,
  queue_full,
  deadlock_victim,
  would_deadlock,
  owner_closed,
  unavailable,
  internal,
};

/// Returns the wire name of `code`, such as "not_owner".
std::string_view to_string_view(lock_errc code);

std::string to_string(lock_errc code);

/// Parses a wire name back into a code.
std::optional<lock_errc> parse_lock_errc(std::string_view name);

/// CAF error category of `lock_errc`, registered in `register_messages`.
constexpr caf::atom_value lock_error_category = caf::atom("holdfast");

/// Wraps `code` into a CAF error so that CAF can render and transport it.
caf::error make_error(lock_errc code, std::string context = {});

} // namespace holdfast
