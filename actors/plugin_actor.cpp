#include "actors/plugin_actor.hpp"

#include <atomic>
#include <exception>
#include <utility>

#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/logger.hpp"

namespace holdfast {

namespace {

plugin::deadlock to_plugin_view(const deadlock_info& info) {
  plugin::deadlock view;
  view.id = info.id;
  if (!info.cycle.empty())
    view.tenant = info.cycle.front().key.tenant;
  for (const auto& member : info.cycle) {
    plugin::cycle_member entry;
    entry.owner = member.owner;
    entry.project = member.key.project;
    entry.workspace = member.key.workspace;
    entry.level = static_cast<plugin::priority>(member.level);
    entry.waited_ms = member.waited_ms;
    entry.locks_held = member.locks_held;
    view.cycle.push_back(std::move(entry));
  }
  view.victim = info.victim;
  view.policy = info.policy;
  return view;
}

/// Forwards the answer of `before_resolution` to the detector from any
/// thread. Only the first final answer is sent.
class actor_verdict : public plugin::verdict {
public:
  actor_verdict(deadlock_detector_actor detector, uint64_t call_id,
                uint32_t plugin)
    : detector_(std::move(detector)), call_id_(call_id), plugin_(plugin) {
    // Nothing else to do.
  }

  void approve() override {
    if (!answered_.exchange(true))
      send(hook_answer::kind::approve, {}, 0);
  }

  void veto(std::string reason) override {
    if (!answered_.exchange(true))
      send(hook_answer::kind::veto, std::move(reason), 0);
  }

  void extend(std::chrono::milliseconds more) override {
    if (!answered_.load())
      send(hook_answer::kind::extend, {}, more.count());
  }

private:
  void send(hook_answer::kind what, std::string text, int64_t extend_ms) {
    caf::anon_send(detector_, hook_answer{call_id_, what, std::move(text),
                                          extend_ms, plugin_});
  }

  deadlock_detector_actor detector_;
  uint64_t call_id_;
  uint32_t plugin_;
  std::atomic<bool> answered_{false};
};

struct plugin_actor_state {
  hook_instance_ptr instance;
  uint32_t index = 0;
  deadlock_detector_actor detector;

  static inline const char* name = "holdfast.plugin";
};

using plugin_pointer = plugin_actor::stateful_pointer<plugin_actor_state>;

/// Runs `call` and reports an exception as a failed answer, so that a
/// faulty hook neither kills its actor nor leaves the detector waiting.
template <class Call>
void guarded(plugin_pointer self, uint64_t call_id, const char* hook,
             Call&& call) {
  auto& state = self->state;
  std::string failure;
  try {
    call(*state.instance->hook);
    return;
  } catch (const std::exception& error) {
    failure = error.what();
  } catch (...) {
    failure = "an exception that is not a std::exception";
  }
  logger("plugin")->error("hook {} of plugin '{}' threw: {}", hook,
                          state.instance->name, failure);
  self->send(state.detector, hook_answer{call_id, hook_answer::kind::failed,
                                         std::move(failure), 0,
                                         state.index});
}

plugin_actor::behavior_type
plugin_actor_impl(plugin_pointer self, hook_instance_ptr instance,
                  uint32_t index, deadlock_detector_actor detector) {
  self->state.instance = std::move(instance);
  self->state.index = index;
  self->state.detector = std::move(detector);

  return {
    [self](before_detection_atom, uint64_t round, uint64_t owners,
           uint64_t waits, bool on_demand) {
      plugin::detection_round view;
      view.round = round;
      view.owners = owners;
      view.waits = waits;
      view.on_demand = on_demand;
      guarded(self, 0, "before_detection",
              [&](plugin::hook& hook) { hook.before_detection(view); });
    },
    [self](on_detection_atom, deadlock_info& info) {
      auto view = to_plugin_view(info);
      guarded(self, 0, "on_detection",
              [&](plugin::hook& hook) { hook.on_detection(view); });
    },
    [self](choose_victim_atom, uint64_t call_id, deadlock_info& info) {
      auto view = to_plugin_view(info);
      guarded(self, call_id, "choose_victim", [&](plugin::hook& hook) {
        auto victim = hook.choose_victim(view);
        self->send(self->state.detector,
                   hook_answer{call_id, hook_answer::kind::victim,
                               std::move(victim), 0, self->state.index});
      });
    },
    [self](before_resolution_atom, uint64_t call_id, deadlock_info& info) {
      auto view = to_plugin_view(info);
      auto answer = std::make_shared<actor_verdict>(self->state.detector,
                                                    call_id,
                                                    self->state.index);
      guarded(self, call_id, "before_resolution", [&](plugin::hook& hook) {
        hook.before_resolution(view, answer);
      });
    },
    [self](after_resolution_atom, deadlock_info& info) {
      auto view = to_plugin_view(info);
      plugin::resolution result;
      result.outcome = info.outcome;
      result.released_locks = info.released_locks;
      result.reason = info.reason;
      guarded(self, 0, "after_resolution", [&](plugin::hook& hook) {
        hook.after_resolution(view, result);
      });
    },
  };
}

} // namespace

plugin_actor spawn_plugin_actor(caf::actor_system& system,
                                hook_instance_ptr instance, uint32_t index,
                                deadlock_detector_actor detector,
                                bool detached) {
  if (detached)
    return system.spawn<caf::detached>(plugin_actor_impl, std::move(instance),
                                       index, std::move(detector));
  return system.spawn(plugin_actor_impl, std::move(instance), index,
                      std::move(detector));
}

} // namespace holdfast
