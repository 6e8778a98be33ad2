#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "bench/load.hpp"

namespace holdfast::bench {

struct bulk_settings {
  /// Numbers of locks per acquisition; each size is measured on its own.
  std::vector<size_t> sizes{1, 10, 100};
  /// Maximum number of measured rounds per size.
  size_t max_rounds = 200;
  /// Measured rounds per size even when they take longer than `budget`.
  size_t min_rounds = 3;
  /// Unmeasured rounds per size before the measured ones.
  size_t warmup_rounds = 1;
  /// Time per size after which no new round starts once `min_rounds` ran.
  std::chrono::milliseconds budget{2'000};
};

/// Latencies of one way of taking and returning a set of locks.
struct lock_set_latency {
  /// From sending the first acquire until every lock is held.
  latency_summary acquire;
  /// From sending the first acquire until every lock is released again.
  latency_summary pair;
};

/// Outcome of one size: `bulk` is one `acquire_bulk` and one
/// `release_bulk`, `singles` is `locks` acquires one after another, then
/// `locks` releases one after another. Both run in every round, on the same
/// resources, in alternating order.
struct bulk_row {
  size_t locks = 0;
  size_t rounds = 0;
  lock_set_latency bulk;
  lock_set_latency singles;

  /// Bulk p50 divided by singles p50; below 1 means bulk is faster.
  double acquire_ratio() const {
    return ratio(bulk.acquire.p50_us, singles.acquire.p50_us);
  }

  double pair_ratio() const {
    return ratio(bulk.pair.p50_us, singles.pair.p50_us);
  }

private:
  static double ratio(double numerator, double denominator) {
    return denominator > 0 ? numerator / denominator : 0;
  }
};

/// Measures try-mode bulk acquisition against single acquires on the
/// holdfast service at `nats_url`, one row per size of `settings.sizes`.
/// Locks `bench/bulk-0` to `bench/bulk-<size - 1>` as owner `bench-bulk`.
/// Throws `std::runtime_error` when a request fails.
std::vector<bulk_row> measure_bulk(const std::string& nats_url,
                                   const bulk_settings& settings);

} // namespace holdfast::bench
