#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

namespace holdfast::bench {

/// Nearest-rank percentiles of a set of latency samples, in microseconds.
struct latency_summary {
  size_t samples = 0;
  double p50_us = 0;
  double p99_us = 0;
  double max_us = 0;
};

/// Sorts `samples_ns` (nanoseconds) and summarizes it.
latency_summary summarize(std::vector<int64_t>& samples_ns);

/// One measured unit of work of one client: two round trips, such as an
/// acquire and its release. Throws `std::runtime_error` when a request
/// fails.
using pair_operation = std::function<void()>;

/// Creates the client of worker `index`. It runs on that worker's thread,
/// so each worker opens its own connection.
using client_factory = std::function<pair_operation(size_t index)>;

/// Shape of one timed run.
struct load_settings {
  size_t clients = 1;
  /// Time every worker runs unmeasured after all have connected.
  std::chrono::milliseconds warmup{1'000};
  std::chrono::milliseconds duration{5'000};
};

/// Outcome of one timed run.
struct load_result {
  size_t clients = 0;
  uint64_t pairs = 0;
  /// Time from the end of the warm-up until the last measured pair ended.
  double seconds = 0;
  latency_summary pair_latency;

  double pairs_per_second() const {
    return seconds > 0 ? static_cast<double>(pairs) / seconds : 0;
  }

  double round_trips_per_second() const {
    return 2 * pairs_per_second();
  }
};

/// Runs `settings.clients` workers, each in a closed loop of pairs, and
/// counts the pairs that start after the warm-up and before its end plus
/// `settings.duration`. Rethrows the first failure of any worker after
/// stopping all of them.
load_result run_load(const client_factory& make_client,
                     const load_settings& settings);

} // namespace holdfast::bench
