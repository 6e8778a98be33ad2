#pragma once

#include <cstdint>

#include <caf/actor_system.hpp>
#include <caf/typed_actor.hpp>

#include "actors/deadlock_detector.hpp"
#include "actors/deadlock_settings.hpp"
#include "messages/atoms.hpp"
#include "messages/deadlock.hpp"

namespace holdfast {

/// Runs the hooks of one plugin instance, one call at a time. Calls with a
/// call id are answered with a `hook_answer` to the detector; a hook that
/// throws is reported as `failed`, for notifications too (call id 0).
using plugin_actor = caf::typed_actor<
  caf::reacts_to<before_detection_atom, uint64_t, uint64_t, uint64_t, bool>,
  caf::reacts_to<on_detection_atom, deadlock_info>,
  caf::reacts_to<choose_victim_atom, uint64_t, deadlock_info>,
  caf::reacts_to<before_resolution_atom, uint64_t, deadlock_info>,
  caf::reacts_to<after_resolution_atom, deadlock_info>>;

/// Spawns the actor of `instance`, the `index`-th configured instance.
/// With `detached`, the actor runs on its own thread.
plugin_actor spawn_plugin_actor(caf::actor_system& system,
                                hook_instance_ptr instance, uint32_t index,
                                deadlock_detector_actor detector,
                                bool detached);

} // namespace holdfast
