#include "actors/deadlock_detector.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <limits>
#include <map>
#include <set>
#include <unordered_map>
#include <utility>

#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/logger.hpp"
#include "actors/plugin_actor.hpp"
#include "actors/scheduler.hpp"
#include "actors/wait_graph.hpp"

namespace holdfast {

namespace {

/// A wait as lock actors name it.
using wait_ref = std::pair<resource_key, uint64_t>;

struct wait_ref_hash {
  size_t operator()(const wait_ref& ref) const noexcept {
    return std::hash<resource_key>{}(ref.first) * 31 + ref.second;
  }
};

/// A cycle from its detection to its end.
struct open_deadlock {
  enum class stage : uint8_t { choosing, approving, failing, vetoed };

  deadlock_info info;
  /// Wait of each member, in cycle order.
  std::vector<uint64_t> waiter_ids;
  size_t victim = 0;
  stage step = stage::choosing;
  /// Hook calls this deadlock waits for.
  std::set<uint64_t> pending_calls;
  /// Only the deadline timer of the latest generation counts.
  uint64_t deadline_generation = 0;
  /// When the pending hook calls time out.
  int64_t deadline_ms = 0;
  int64_t extension_used_ms = 0;
  /// Set when a member stopped waiting while the deadlock was open.
  bool broken = false;
};

struct hook_call {
  uint64_t deadlock_id = 0;
  uint32_t plugin = 0;
  /// Name of the hook, for logs and reasons.
  const char* hook = "";
};

struct plugin_slot {
  std::string name;
  plugin_actor actor;
  bool alive = true;
};

struct detector_state {
  std::shared_ptr<const deadlock_settings> settings;
  event_broker_actor broker;
  std::function<int64_t()> now_ms;
  scheduler_actor scheduler;
  wait_graph graph;
  /// When each wait reaches the deadlock timeout, in arrival order.
  std::deque<int64_t> due_times;
  bool tick_pending = false;
  int64_t last_run_ms = std::numeric_limits<int64_t>::min() / 2;
  std::map<uint64_t, open_deadlock> deadlocks;
  std::unordered_map<wait_ref, uint64_t, wait_ref_hash> deadlock_of_wait;
  std::unordered_map<uint64_t, hook_call> calls;
  std::vector<plugin_slot> plugins;
  uint64_t next_deadlock_id = 0;
  uint64_t next_call_id = 0;
  deadlock_stats stats;

  static inline const char* name = "holdfast.deadlock";
};

using detector_pointer
  = deadlock_detector_actor::stateful_pointer<detector_state>;

auto log() {
  return logger("deadlock");
}

int64_t now_ms(detector_pointer self) {
  return self->state.now_ms();
}

const deadlock_settings& settings(detector_pointer self) {
  return *self->state.settings;
}

/// Shortest time between two timer-driven detection rounds, so that a
/// stream of new waits does not search the graph for each one.
int64_t min_round_gap_ms(detector_pointer self) {
  auto timeout = settings(self).timeout.count();
  return std::clamp<int64_t>(timeout / 10, 1, 100);
}

// -- events and notifications ------------------------------------------------

void publish(detector_pointer self, event_type type,
             const open_deadlock& deadlock) {
  const auto& info = deadlock.info;
  lock_event event;
  event.type = type;
  const auto& member = info.cycle.at(deadlock.victim);
  event.record.key = member.key;
  event.record.owner = member.owner;
  event.record.user = member.owner;
  event.record.level = member.level;
  event.timestamp_ms = now_ms(self);
  event.reason = info.reason;
  event.deadlock = info;
  caf::anon_send(self->state.broker, std::move(event));
}

template <class... Ts>
void notify_plugins(detector_pointer self, Ts&&... xs) {
  for (auto& slot : self->state.plugins)
    if (slot.alive)
      self->send(slot.actor, xs...);
}

void add_reason(open_deadlock& deadlock, const std::string& text) {
  auto& reason = deadlock.info.reason;
  if (!reason.empty())
    reason += "; ";
  reason += text;
}

// -- victim selection --------------------------------------------------------

/// Index of the member picked by a built-in policy. Every tie goes to the
/// youngest request, then to the first owner name.
size_t pick_victim(const std::vector<cycle_member>& cycle,
                   victim_policy policy) {
  auto younger = [](const cycle_member& x, const cycle_member& y) {
    if (x.waited_ms != y.waited_ms)
      return x.waited_ms < y.waited_ms;
    return x.owner < y.owner;
  };
  auto better = [&](const cycle_member& x, const cycle_member& y) {
    switch (policy) {
      case victim_policy::lowest_priority:
        if (x.level != y.level)
          return x.level < y.level;
        break;
      case victim_policy::fewest_locks:
        if (x.locks_held != y.locks_held)
          return x.locks_held < y.locks_held;
        break;
      default:
        break;
    }
    return younger(x, y);
  };
  size_t best = 0;
  for (size_t i = 1; i < cycle.size(); ++i)
    if (better(cycle[i], cycle[best]))
      best = i;
  return best;
}

void choose_built_in(open_deadlock& deadlock, victim_policy policy) {
  deadlock.victim = pick_victim(deadlock.info.cycle, policy);
  deadlock.info.victim = deadlock.info.cycle[deadlock.victim].owner;
  deadlock.info.policy = std::string{to_string_view(policy)};
}

// -- hook calls ---------------------------------------------------------------

void arm_deadline(detector_pointer self, open_deadlock& deadlock,
                  std::chrono::milliseconds delay) {
  deadlock.deadline_ms = now_ms(self) + delay.count();
  auto generation = ++deadlock.deadline_generation;
  self->delayed_send(self, delay, hook_deadline_atom::value,
                     deadlock.info.id, generation);
}

/// Sends a call that expects an answer to plugin `index`; returns false
/// when the plugin's actor is gone. A plugin that hangs still gets the
/// call: each deadlock then waits for it no longer than the hook timeout.
template <class Atom>
bool call_plugin(detector_pointer self, open_deadlock& deadlock,
                 uint32_t index, Atom atom, const char* hook) {
  auto& state = self->state;
  auto& slot = state.plugins[index];
  if (!slot.alive) {
    ++state.stats.hook_errors;
    add_reason(deadlock, "plugin '" + slot.name + "' skipped in " + hook
                           + ": its actor ended");
    return false;
  }
  auto call_id = ++state.next_call_id;
  state.calls.emplace(call_id, hook_call{deadlock.info.id, index, hook});
  deadlock.pending_calls.insert(call_id);
  self->send(slot.actor, atom, call_id, deadlock.info);
  return true;
}

void resolve(detector_pointer self, open_deadlock& deadlock);

void ask_approval(detector_pointer self, open_deadlock& deadlock) {
  log()->info("deadlock {} detected: victim '{}' by policy {}; {}",
              deadlock.info.id, deadlock.info.victim, deadlock.info.policy,
              describe_cycle(deadlock.info.cycle));
  publish(self, event_type::deadlock_detected, deadlock);
  deadlock.step = open_deadlock::stage::approving;
  auto& plugins = self->state.plugins;
  for (uint32_t i = 0; i < plugins.size(); ++i)
    call_plugin(self, deadlock, i, before_resolution_atom::value,
                "before_resolution");
  if (deadlock.pending_calls.empty()) {
    resolve(self, deadlock);
    return;
  }
  arm_deadline(self, deadlock, settings(self).hook_timeout);
}

void choose_victim(detector_pointer self, open_deadlock& deadlock) {
  const auto& config = settings(self);
  if (config.policy != victim_policy::plugin) {
    choose_built_in(deadlock, config.policy);
    ask_approval(self, deadlock);
    return;
  }

  auto& plugins = self->state.plugins;
  auto slot = std::find_if(plugins.begin(), plugins.end(),
                           [&](const plugin_slot& entry) {
                             return entry.name == config.policy_plugin;
                           });
  if (slot != plugins.end()
      && call_plugin(self, deadlock,
                     static_cast<uint32_t>(slot - plugins.begin()),
                     choose_victim_atom::value, "choose_victim")) {
    deadlock.step = open_deadlock::stage::choosing;
    arm_deadline(self, deadlock, config.hook_timeout);
    return;
  }
  choose_built_in(deadlock, config.fallback);
  ask_approval(self, deadlock);
}

// -- ends of a deadlock -------------------------------------------------------

/// Lets the members' waits take part in detection again and forgets the
/// deadlock.
void forget(detector_pointer self, uint64_t id) {
  auto& state = self->state;
  auto it = state.deadlocks.find(id);
  if (it == state.deadlocks.end())
    return;
  auto& deadlock = it->second;
  for (auto pending : deadlock.pending_calls)
    state.calls.erase(pending);
  for (size_t i = 0; i < deadlock.info.cycle.size(); ++i) {
    const auto& key = deadlock.info.cycle[i].key;
    auto waiter_id = deadlock.waiter_ids[i];
    auto ref = state.deadlock_of_wait.find({key, waiter_id});
    if (ref == state.deadlock_of_wait.end() || ref->second != id)
      continue;
    state.graph.set_excluded(key, waiter_id, false);
    state.deadlock_of_wait.erase(ref);
  }
  state.deadlocks.erase(it);
}

void finish(detector_pointer self, open_deadlock& deadlock, bool resolved) {
  auto& state = self->state;
  if (resolved) {
    // The lock actor reports the end of the wait too; dropping it here
    // keeps the next search from seeing the victim's wait in any case.
    const auto& member = deadlock.info.cycle[deadlock.victim];
    state.graph.remove_wait(member.key, deadlock.waiter_ids[deadlock.victim]);
    deadlock.info.outcome = "victim_failed";
    ++state.stats.resolved;
    if (settings(self).release_victim_locks) {
      const auto& victim = deadlock.info.cycle[deadlock.victim];
      self->send(state.scheduler, release_locks_atom::value,
                 victim.key.tenant, victim.owner);
      deadlock.info.released_locks = true;
    }
  } else {
    deadlock.info.outcome = "dissolved";
    ++state.stats.dissolved;
  }
  log()->info("deadlock {} {}: victim '{}' by policy {}; {}",
              deadlock.info.id, deadlock.info.outcome, deadlock.info.victim,
              deadlock.info.policy, describe_cycle(deadlock.info.cycle));
  publish(self, event_type::deadlock_resolved, deadlock);
  notify_plugins(self, after_resolution_atom::value, deadlock.info);
  forget(self, deadlock.info.id);

  // Breaking one cycle may leave another in the same set of owners.
  if (resolved)
    self->send(self, detect_again_atom::value);
}

void veto(detector_pointer self, open_deadlock& deadlock) {
  auto& state = self->state;
  ++state.stats.vetoed;
  deadlock.info.outcome = "vetoed";
  deadlock.step = open_deadlock::stage::vetoed;
  for (auto pending : deadlock.pending_calls)
    state.calls.erase(pending);
  deadlock.pending_calls.clear();
  log()->warn("deadlock {} left alone: {}; {}", deadlock.info.id,
              deadlock.info.reason, describe_cycle(deadlock.info.cycle));
  publish(self, event_type::deadlock_vetoed, deadlock);
  notify_plugins(self, after_resolution_atom::value, deadlock.info);
}

void resolve(detector_pointer self, open_deadlock& deadlock) {
  if (deadlock.broken) {
    add_reason(deadlock, "a member stopped waiting before the resolution");
    finish(self, deadlock, false);
    return;
  }
  deadlock.step = open_deadlock::stage::failing;
  const auto& cycle = deadlock.info.cycle;
  const auto& victim = cycle[deadlock.victim];
  fail_waiter order;
  order.key = victim.key;
  order.waiter_id = deadlock.waiter_ids[deadlock.victim];
  order.expected_holder = cycle[(deadlock.victim + 1) % cycle.size()].owner;
  order.code = lock_errc::deadlock_victim;
  order.message = "deadlock: " + describe_cycle(cycle) + "; owner '"
                  + victim.owner + "' was chosen as victim by policy "
                  + deadlock.info.policy;
  if (settings(self).release_victim_locks)
    order.message += ", and its locks are released";
  order.cycle = cycle;
  order.deadlock_id = deadlock.info.id;
  self->send(self->state.scheduler, std::move(order));
}

// -- detection ----------------------------------------------------------------

deadlock_info open(detector_pointer self, wait_graph::found_cycle& found) {
  auto& state = self->state;
  auto id = ++state.next_deadlock_id;
  auto& deadlock = state.deadlocks[id];
  deadlock.info.id = id;
  deadlock.info.cycle = std::move(found.members);
  deadlock.waiter_ids = std::move(found.waiter_ids);
  for (size_t i = 0; i < deadlock.info.cycle.size(); ++i) {
    const auto& key = deadlock.info.cycle[i].key;
    state.graph.set_excluded(key, deadlock.waiter_ids[i], true);
    state.deadlock_of_wait[{key, deadlock.waiter_ids[i]}] = id;
  }
  ++state.stats.detected;
  notify_plugins(self, on_detection_atom::value, deadlock.info);
  auto snapshot = deadlock.info;
  choose_victim(self, deadlock);
  if (auto it = state.deadlocks.find(id); it != state.deadlocks.end())
    snapshot = it->second.info;
  return snapshot;
}

/// Searches for cycles and opens each one found. An on-demand search for
/// `tenant` takes waits of any age there, and in other tenants only the
/// cycles a timed search would take too.
std::vector<deadlock_info> run_detection(detector_pointer self,
                                         bool on_demand,
                                         const std::string& tenant = {}) {
  auto& state = self->state;
  auto now = now_ms(self);
  ++state.stats.runs;
  state.last_run_ms = now;
  notify_plugins(self, before_detection_atom::value, state.stats.runs,
                 static_cast<uint64_t>(state.graph.owners()),
                 static_cast<uint64_t>(state.graph.waits()), on_demand);

  auto timeout = settings(self).timeout.count();
  auto cycles = state.graph.find_cycles(now, on_demand ? 0 : timeout);
  std::vector<deadlock_info> found;
  for (auto& cycle : cycles) {
    if (on_demand && cycle.members.front().key.tenant != tenant) {
      auto youngest = std::min_element(
        cycle.members.begin(), cycle.members.end(),
        [](const cycle_member& x, const cycle_member& y) {
          return x.waited_ms < y.waited_ms;
        });
      if (youngest->waited_ms < timeout)
        continue;
    }
    found.push_back(open(self, cycle));
  }
  return found;
}

/// Searches at once and lists the deadlocks of `tenant`: those this search
/// found, then those still open or vetoed from earlier searches.
lock_reply detect_now(detector_pointer self, const std::string& tenant) {
  auto found = run_detection(self, true, tenant);
  std::set<uint64_t> listed;
  lock_reply reply;
  for (auto& info : found) {
    if (info.cycle.front().key.tenant != tenant)
      continue;
    listed.insert(info.id);
    reply.deadlocks.push_back(std::move(info));
  }
  for (const auto& [id, deadlock] : self->state.deadlocks)
    if (listed.count(id) == 0
        && deadlock.info.cycle.front().key.tenant == tenant)
      reply.deadlocks.push_back(deadlock.info);
  reply.deadlock_counters = self->state.stats;
  return reply;
}

void arm_tick(detector_pointer self) {
  auto& state = self->state;
  if (state.tick_pending || state.due_times.empty())
    return;
  auto at = std::max(state.due_times.front(),
                     state.last_run_ms + min_round_gap_ms(self));
  auto delay = std::max<int64_t>(0, at - now_ms(self));
  state.tick_pending = true;
  self->delayed_send(self, std::chrono::milliseconds{delay},
                     detect_tick_atom::value);
}

void on_tick(detector_pointer self) {
  auto& state = self->state;
  state.tick_pending = false;
  auto now = now_ms(self);
  bool due = false;
  while (!state.due_times.empty() && state.due_times.front() <= now) {
    state.due_times.pop_front();
    due = true;
  }
  if (due)
    run_detection(self, false);
  arm_tick(self);
}

// -- graph updates ------------------------------------------------------------

/// Ends a veto once any member stops waiting or a waited resource changes
/// hands: the cycle is no longer the one that was vetoed.
void end_veto(detector_pointer self, uint64_t id) {
  auto it = self->state.deadlocks.find(id);
  if (it != self->state.deadlocks.end()
      && it->second.step == open_deadlock::stage::vetoed)
    forget(self, id);
}

void on_holder_changed(detector_pointer self, const holder_changed& change) {
  auto& state = self->state;
  state.graph.set_holder(change.key, change.owner);
  std::vector<uint64_t> ended;
  for (auto& [id, deadlock] : state.deadlocks) {
    if (deadlock.step != open_deadlock::stage::vetoed)
      continue;
    for (const auto& member : deadlock.info.cycle)
      if (member.key == change.key) {
        ended.push_back(id);
        break;
      }
  }
  for (auto id : ended)
    end_veto(self, id);
}

void refuse(detector_pointer self, const wait_started& wait,
            wait_graph::found_cycle& cycle) {
  auto& state = self->state;
  ++state.stats.prevented;
  fail_waiter order;
  order.key = wait.key;
  order.waiter_id = wait.waiter_id;
  order.expected_holder = cycle.members.size() > 1
                            ? cycle.members[1].owner
                            : std::string{};
  order.code = lock_errc::would_deadlock;
  order.cycle = std::move(cycle.members);
  order.message = "waiting would close a deadlock: "
                  + describe_cycle(order.cycle);
  self->send(state.scheduler, std::move(order));
}

void on_wait_started(detector_pointer self, const wait_started& wait) {
  auto& state = self->state;
  if (wait.prevent) {
    auto cycle = state.graph.cycle_closed_by(wait.key, wait.owner, wait.level,
                                             now_ms(self));
    if (!cycle.members.empty()) {
      refuse(self, wait, cycle);
      return;
    }
  }
  state.graph.add_wait(wait.key, wait.waiter_id, wait.owner, wait.level,
                       wait.enqueued_at_ms);
  state.due_times.push_back(wait.enqueued_at_ms
                            + settings(self).timeout.count());
  arm_tick(self);
}

void on_wait_ended(detector_pointer self, const wait_ended& wait) {
  auto& state = self->state;
  state.graph.remove_wait(wait.key, wait.waiter_id);
  auto ref = state.deadlock_of_wait.find({wait.key, wait.waiter_id});
  if (ref == state.deadlock_of_wait.end())
    return;
  auto id = ref->second;
  state.deadlock_of_wait.erase(ref);
  auto it = state.deadlocks.find(id);
  if (it == state.deadlocks.end())
    return;
  auto& deadlock = it->second;
  switch (deadlock.step) {
    case open_deadlock::stage::vetoed:
      end_veto(self, id);
      break;
    case open_deadlock::stage::choosing:
    case open_deadlock::stage::approving:
      // The cycle is gone: hooks still deciding about it are not waited for.
      if (deadlock.step == open_deadlock::stage::choosing)
        publish(self, event_type::deadlock_detected, deadlock);
      add_reason(deadlock, "a member stopped waiting before the resolution");
      finish(self, deadlock, false);
      break;
    case open_deadlock::stage::failing:
      // The victim's lock actor decides: it fails the victim only if it
      // still waits.
      deadlock.broken = true;
      break;
  }
}

// -- answers ------------------------------------------------------------------

void on_victim_choice(detector_pointer self, open_deadlock& deadlock,
                      const plugin_slot& slot, const hook_answer& answer) {
  const auto& cycle = deadlock.info.cycle;
  auto member = std::find_if(cycle.begin(), cycle.end(),
                             [&](const cycle_member& entry) {
                               return entry.owner == answer.text;
                             });
  if (answer.what == hook_answer::kind::victim && member != cycle.end()) {
    deadlock.victim = static_cast<size_t>(member - cycle.begin());
    deadlock.info.victim = member->owner;
    deadlock.info.policy = "plugin:" + slot.name;
  } else {
    if (answer.what == hook_answer::kind::victim && !answer.text.empty()) {
      ++self->state.stats.hook_errors;
      add_reason(deadlock, "plugin '" + slot.name + "' named '" + answer.text
                             + "', who is not in the cycle");
    } else if (answer.what == hook_answer::kind::victim) {
      add_reason(deadlock, "plugin '" + slot.name + "' left the choice");
    }
    choose_built_in(deadlock, settings(self).fallback);
  }
  ask_approval(self, deadlock);
}

void on_answer(detector_pointer self, const hook_answer& answer) {
  auto& state = self->state;
  if (answer.plugin >= state.plugins.size())
    return;
  auto& slot = state.plugins[answer.plugin];
  if (answer.what == hook_answer::kind::failed)
    ++state.stats.hook_errors;
  if (answer.call_id == 0)
    return;

  auto call = state.calls.find(answer.call_id);
  if (call == state.calls.end())
    return;
  auto it = state.deadlocks.find(call->second.deadlock_id);
  if (it == state.deadlocks.end()
      || it->second.pending_calls.count(answer.call_id) == 0)
    return;
  auto& deadlock = it->second;

  if (answer.what == hook_answer::kind::extend) {
    auto cap = settings(self).max_extension.count();
    auto more = std::min(answer.extend_ms, cap - deadlock.extension_used_ms);
    if (more > 0) {
      deadlock.extension_used_ms += more;
      auto remaining = std::max<int64_t>(0, deadlock.deadline_ms
                                              - now_ms(self));
      arm_deadline(self, deadlock,
                   std::chrono::milliseconds{remaining + more});
    }
    return;
  }
  const char* hook = call->second.hook;
  deadlock.pending_calls.erase(answer.call_id);
  state.calls.erase(call);

  if (answer.what == hook_answer::kind::failed)
    add_reason(deadlock, "plugin '" + slot.name + "' failed in "
                           + hook + ": " + answer.text);
  if (deadlock.step == open_deadlock::stage::choosing) {
    on_victim_choice(self, deadlock, slot, answer);
    return;
  }
  if (answer.what == hook_answer::kind::veto) {
    add_reason(deadlock, "vetoed by plugin '" + slot.name + "'"
                           + (answer.text.empty() ? "" : ": " + answer.text));
    veto(self, deadlock);
    return;
  }
  if (deadlock.pending_calls.empty()
      && deadlock.step == open_deadlock::stage::approving)
    resolve(self, deadlock);
}

void on_deadline(detector_pointer self, uint64_t id, uint64_t generation) {
  auto& state = self->state;
  auto it = state.deadlocks.find(id);
  if (it == state.deadlocks.end()
      || it->second.deadline_generation != generation
      || it->second.pending_calls.empty())
    return;
  auto& deadlock = it->second;
  for (auto pending : deadlock.pending_calls) {
    auto call = state.calls.find(pending);
    if (call == state.calls.end())
      continue;
    auto& slot = state.plugins[call->second.plugin];
    ++state.stats.hook_timeouts;
    log()->warn("hook {} of plugin '{}' timed out on deadlock {}",
                call->second.hook, slot.name, id);
    add_reason(deadlock, "plugin '" + slot.name + "' timed out in "
                           + call->second.hook);
    state.calls.erase(call);
  }
  deadlock.pending_calls.clear();
  if (deadlock.step == open_deadlock::stage::choosing) {
    choose_built_in(deadlock, settings(self).fallback);
    ask_approval(self, deadlock);
    return;
  }
  resolve(self, deadlock);
}

void on_victim_done(detector_pointer self, uint64_t id, bool failed) {
  auto it = self->state.deadlocks.find(id);
  if (it == self->state.deadlocks.end()
      || it->second.step != open_deadlock::stage::failing)
    return;
  if (!failed)
    add_reason(it->second, "the victim no longer waited for the cycle");
  finish(self, it->second, failed);
}

void on_plugin_down(detector_pointer self, const caf::down_msg& message) {
  auto& state = self->state;
  for (uint32_t i = 0; i < state.plugins.size(); ++i) {
    auto& slot = state.plugins[i];
    if (slot.actor.address() != message.source)
      continue;
    slot.alive = false;
    log()->error("actor of plugin '{}' ended: {}; its hooks are skipped",
                 slot.name, self->system().render(message.reason));
    std::vector<uint64_t> orphaned;
    for (auto& [call_id, call] : state.calls)
      if (call.plugin == i)
        orphaned.push_back(call_id);
    for (auto call_id : orphaned)
      on_answer(self, hook_answer{call_id, hook_answer::kind::failed,
                                  "its actor ended", 0, i});
  }
}

deadlock_detector_actor::behavior_type
detector_impl(detector_pointer self,
              std::shared_ptr<const deadlock_settings> config,
              event_broker_actor broker, std::function<int64_t()> clock,
              bool detach_plugins) {
  auto& state = self->state;
  state.settings = std::move(config);
  state.broker = std::move(broker);
  state.now_ms = std::move(clock);

  auto handle = caf::actor_cast<deadlock_detector_actor>(self);
  const auto& hooks = state.settings->hooks;
  for (uint32_t i = 0; i < hooks.size(); ++i) {
    plugin_slot slot;
    slot.name = hooks[i]->name;
    slot.actor = spawn_plugin_actor(self->system(), hooks[i], i, handle,
                                    detach_plugins);
    self->monitor(slot.actor);
    state.plugins.push_back(std::move(slot));
  }
  self->set_down_handler(
    [self](caf::down_msg& message) { on_plugin_down(self, message); });
  self->attach_functor([plugins = state.plugins]() {
    // The plugin actors end with the detector.
    for (auto& slot : plugins)
      caf::anon_send_exit(slot.actor, caf::exit_reason::user_shutdown);
  });

  return {
    [self](holder_changed& change) { on_holder_changed(self, change); },
    [self](wait_started& wait) { on_wait_started(self, wait); },
    [self](wait_ended& wait) { on_wait_ended(self, wait); },
    [self](detect_request& request, reply_sink_ptr& sink) {
      sink->deliver(detect_now(self, request.tenant));
    },
    [self](detect_tick_atom) { on_tick(self); },
    [self](detect_again_atom) { run_detection(self, false); },
    [self](victim_done_atom, uint64_t id, bool failed) {
      on_victim_done(self, id, failed);
    },
    [self](hook_answer& answer) { on_answer(self, answer); },
    [self](hook_deadline_atom, uint64_t id, uint64_t generation) {
      on_deadline(self, id, generation);
    },
    [self](caf::actor& scheduler) {
      // Linked, the detector ends with the scheduler, and the scheduler
      // with a detector that fails.
      self->link_to(scheduler);
      self->state.scheduler = caf::actor_cast<scheduler_actor>(scheduler);
    },
  };
}

} // namespace

deadlock_detector_actor
spawn_deadlock_detector(caf::actor_system& system,
                        std::shared_ptr<const deadlock_settings> settings,
                        event_broker_actor broker,
                        std::function<int64_t()> now_ms,
                        bool detach_plugins) {
  return system.spawn(detector_impl, std::move(settings), std::move(broker),
                      std::move(now_ms), detach_plugins);
}

} // namespace holdfast
