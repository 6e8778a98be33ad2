#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <caf/typed_actor.hpp>

#include "actors/deadlock_detector.hpp"
#include "actors/engine.hpp"
#include "actors/event_broker.hpp"
#include "actors/priority_calculator.hpp"
#include "actors/scheduler.hpp"
#include "actors/store_backend.hpp"
#include "messages/atoms.hpp"
#include "messages/reply_sink.hpp"
#include "messages/requests.hpp"

namespace holdfast {

/// One actor per resource. It applies the rules of `resource_state`,
/// persists every change before it replies, runs the wait and lease timers
/// and publishes events. Requests come from the scheduler only.
///
/// An asynchronous acquisition delivers the queue position to its first
/// sink at once and the outcome to its second sink later. A reservation
/// replies when it is reserved (or conflicts, or times out); the scheduler
/// then activates or unreserves it.
///
/// Every change of holder and every wait that starts or ends is reported
/// to the deadlock detector, which may later fail a waiting request with
/// `fail_waiter`.
using lock_actor = caf::typed_actor<
  caf::reacts_to<acquire_request, reply_sink_ptr>,
  caf::reacts_to<release_request, reply_sink_ptr>,
  caf::reacts_to<renew_request, reply_sink_ptr>,
  caf::reacts_to<release_owner_request, reply_sink_ptr>,
  caf::reacts_to<acquire_async_atom, acquire_request, std::string,
                 reply_sink_ptr, reply_sink_ptr>,
  caf::reacts_to<cancel_atom, std::string>,
  caf::reacts_to<reserve_atom, uint64_t, acquire_request, reply_sink_ptr>,
  caf::reacts_to<activate_atom, uint64_t, lock_record>,
  caf::reacts_to<unreserve_atom, uint64_t>,
  caf::reacts_to<wait_timeout_atom, uint64_t>,
  caf::reacts_to<lease_check_atom>,
  caf::reacts_to<idle_check_atom>,
  caf::reacts_to<store_failed_atom, uint64_t>,
  caf::reacts_to<fail_waiter>>;

/// Dependencies that every lock actor shares with the scheduler.
struct lock_actor_context {
  store_backend* store = nullptr;
  event_broker_actor broker;
  std::shared_ptr<const engine_config> config;
  priority_calculator_ptr calculator;
  /// Receives holders and waits; null when detection is off.
  deadlock_detector_actor detector;
};

/// Spawns the lock actor of `key`. `last_token` is the highest fencing
/// token ever issued for `key`; `holder` is a recovered holder, if any.
lock_actor spawn_lock_actor(caf::actor_system& system,
                            scheduler_actor scheduler,
                            std::shared_ptr<const lock_actor_context> context,
                            resource_key key, uint64_t last_token,
                            lock_record holder);

} // namespace holdfast
