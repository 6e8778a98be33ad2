#pragma once

#include <caf/actor.hpp>
#include <caf/typed_actor.hpp>

#include "messages/atoms.hpp"
#include "messages/events.hpp"

namespace holdfast {

/// Fans every `lock_event` out to the subscribers whose filter matches.
/// Subscribers are plain actors that handle `lock_event`; the broker
/// monitors them and drops a subscription when its actor terminates.
using event_broker_actor = caf::typed_actor<
  caf::reacts_to<lock_event>,
  caf::reacts_to<subscribe_atom, event_filter, caf::actor>,
  caf::reacts_to<unsubscribe_atom, caf::actor>>;

event_broker_actor spawn_event_broker(caf::actor_system& system);

} // namespace holdfast
