#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

#include <caf/actor_system.hpp>

#include "actors/deadlock_settings.hpp"
#include "actors/event_broker.hpp"
#include "actors/priority_calculator.hpp"
#include "actors/scheduler.hpp"
#include "actors/store_backend.hpp"
#include "messages/validation.hpp"

namespace holdfast {

/// Settings of the lock engine.
struct engine_config {
  request_limits limits;
  /// A lock actor that has held nothing and had no waiter for this long
  /// is retired.
  std::chrono::milliseconds idle_retire_after{30'000};
  /// Effective priority of waiters; the built-in calculator when null.
  priority_calculator_ptr calculator;
  priority_settings priorities;
  /// Requests beyond these queue depths get `queue_full`.
  uint32_t max_queue_per_resource = 1'000;
  uint32_t max_queue_total = 100'000;
  /// Maximum number of locks in one bulk acquisition.
  size_t max_bulk_locks = 256;
  /// Finished tickets kept for polling, oldest dropped first.
  size_t max_finished_tickets = 10'000;
  deadlock_settings deadlock;
  /// Runs each plugin actor on its own thread, so that a hook that blocks
  /// stalls nothing else. Deterministic tests turn it off.
  bool detach_plugin_actors = true;
  /// Wall clock in milliseconds since the Unix epoch. Tests replace it.
  std::function<int64_t()> now_ms;
};

/// Handles of a running engine.
struct engine_handles {
  scheduler_actor scheduler;
  event_broker_actor broker;
};

/// Recovers the durable state from `store` and spawns the event broker, the
/// scheduler and one lock actor per recovered resource. `store` must
/// outlive the actors.
engine_handles start_engine(caf::actor_system& system, store_backend& store,
                            engine_config config);

/// Wall clock in milliseconds since the Unix epoch.
int64_t system_now_ms();

} // namespace holdfast
