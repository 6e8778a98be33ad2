#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "bench/load.hpp"

namespace holdfast::bench {

struct deep_queue_settings {
  /// Asynchronous acquires queued on the resource before it is released.
  /// The service rejects them with queue_full beyond its
  /// `queue.max_depth_per_resource`.
  size_t waiters = 1'000;
  /// Bound of the whole drain; waiters not granted by then are cancelled
  /// and the result counts only the served ones.
  std::chrono::milliseconds drain_timeout{30'000};
};

/// Outcome of one drain of a deep queue.
struct deep_queue_result {
  size_t waiters = 0;
  /// Waiters granted (and released) before the drain timeout.
  size_t served = 0;
  /// Time to queue all waiters with `acquire_async`.
  double enqueue_seconds = 0;
  /// From releasing the first holder until the last grant arrived.
  double drain_seconds = 0;
  /// From the ticket reply of each waiter until its grant arrived.
  latency_summary wait;
  /// Between two grants in a row: the notification reaching the client,
  /// its release, the commit and the next notification.
  latency_summary handoff;
  /// The service's own view from `stats` on the scenario's tenant, in ms:
  /// the mean and the p99 of the waits of its recent grants.
  double service_average_wait_ms = 0;
  int64_t service_p99_wait_ms = 0;

  double grants_per_second() const {
    return drain_seconds > 0 ? static_cast<double>(served) / drain_seconds : 0;
  }

  bool complete() const {
    return served == waiters;
  }
};

/// Queues `settings.waiters` asynchronous acquires (tickets with distinct
/// owners) on `bench/queue` of the tenant `bench-queue` while a first
/// client holds it, then releases it. The client releases each grant as
/// soon as its notification arrives, which hands the lock to the next
/// waiter, until all waiters were served or the drain timeout passed. Throws
/// `std::runtime_error` when a request fails or a ticket fails.
deep_queue_result measure_deep_queue(const std::string& nats_url,
                                     const deep_queue_settings& settings);

} // namespace holdfast::bench
