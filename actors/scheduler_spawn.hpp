#pragma once

#include <memory>

#include <caf/actor_system.hpp>

#include "actors/lock_actor.hpp"
#include "actors/scheduler.hpp"
#include "actors/store_backend.hpp"

namespace holdfast {

/// Spawns the scheduler and one lock actor per recovered holder.
scheduler_actor spawn_scheduler(caf::actor_system& system,
                                std::shared_ptr<const lock_actor_context> context,
                                recovered_state recovered);

} // namespace holdfast
