#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "bench/load.hpp"

namespace holdfast::bench {

struct handoff_settings {
  /// Measured hand-offs.
  size_t rounds = 500;
  /// Unmeasured hand-offs before them.
  size_t warmup_rounds = 20;
  /// Bound of the wait until the waiter is queued and until it is granted.
  std::chrono::milliseconds step_timeout{5'000};
};

/// Measures the time from sending a release until the waiter queued on the
/// same resource receives its grant. Two clients take turns: one holds
/// `bench/handoff`, the other waits for it; the holder releases once a
/// third client sees the waiter queued. Throws `std::runtime_error` when a
/// request fails or a step takes longer than `settings.step_timeout`.
latency_summary measure_handoff(const std::string& nats_url,
                                const handoff_settings& settings);

} // namespace holdfast::bench
