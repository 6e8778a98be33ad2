#pragma once

#include <string>

namespace holdfast {

/// Returns 128 random bits from the kernel (getrandom) as 32 lowercase hex
/// digits. Throws `std::runtime_error` if the kernel has no randomness.
std::string make_lock_id();

} // namespace holdfast
