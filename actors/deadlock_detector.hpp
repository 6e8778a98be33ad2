#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/typed_actor.hpp>

#include "actors/deadlock_settings.hpp"
#include "actors/event_broker.hpp"
#include "messages/atoms.hpp"
#include "messages/deadlock.hpp"
#include "messages/reply_sink.hpp"

namespace holdfast {

/// Result of one hook call, sent by a plugin actor to the detector.
struct hook_answer {
  enum class kind : uint8_t {
    /// `text` is the victim chosen, or empty to leave the choice.
    victim,
    approve,
    /// `text` is the reason.
    veto,
    /// `extend_ms` more time before the final answer.
    extend,
    /// The hook threw; `text` is the exception's message.
    failed,
  };

  /// Identifies the call; 0 for notifications, which expect no answer.
  uint64_t call_id = 0;
  kind what = kind::approve;
  std::string text;
  int64_t extend_ms = 0;
  /// Index of the plugin instance in `deadlock_settings::hooks`.
  uint32_t plugin = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, hook_answer& x) {
  return f(caf::meta::type_name("hook_answer"), x.call_id, x.what, x.text,
           x.extend_ms, x.plugin);
}

/// Keeps the wait-for graph from the reports of the lock actors, searches
/// it for cycles and resolves each cycle found: it picks a victim, asks the
/// plugin hooks, fails the victim's waiting request through the scheduler
/// and publishes `deadlock.*` events.
using deadlock_detector_actor = caf::typed_actor<
  caf::reacts_to<holder_changed>,
  caf::reacts_to<wait_started>,
  caf::reacts_to<wait_ended>,
  caf::reacts_to<detect_request, reply_sink_ptr>,
  caf::reacts_to<detect_tick_atom>,
  caf::reacts_to<detect_again_atom>,
  caf::reacts_to<victim_done_atom, uint64_t, bool>,
  caf::reacts_to<hook_answer>,
  caf::reacts_to<hook_deadline_atom, uint64_t, uint64_t>,
  /// The scheduler, which routes `fail_waiter` to lock actors.
  caf::reacts_to<caf::actor>>;

/// Spawns the detector and one plugin actor per hook instance. Plugin
/// actors get their own thread when `detach_plugins` is set, so that a
/// hook that blocks holds up nothing else. `now_ms` is the engine clock.
deadlock_detector_actor
spawn_deadlock_detector(caf::actor_system& system,
                        std::shared_ptr<const deadlock_settings> settings,
                        event_broker_actor broker,
                        std::function<int64_t()> now_ms,
                        bool detach_plugins);

} // namespace holdfast
