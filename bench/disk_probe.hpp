#pragma once

#include <cstddef>
#include <string>

#include "bench/load.hpp"

namespace holdfast::bench {

/// Measures `rounds` times how long fdatasync takes after overwriting one
/// 4 KiB page of a file in `directory`, the lower bound of a durable
/// commit on that file system. Removes the file afterwards. Throws
/// `std::runtime_error` when the file cannot be written.
latency_summary probe_fdatasync(const std::string& directory, size_t rounds);

} // namespace holdfast::bench
