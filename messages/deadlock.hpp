#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "messages/error_code.hpp"
#include "messages/lock_record.hpp"
#include "messages/priority.hpp"

namespace holdfast {

// Messages of deadlock detection: what lock actors tell the detector about
// holders and waits, what the detector reports, and the `detect` verb.

/// One member of a wait-for cycle: `owner` waits for `key`, and the next
/// member of the cycle (the first one after the last) holds `key`.
struct cycle_member {
  std::string owner;
  resource_key key;
  /// Requested priority of the waiting request.
  priority level = priority::medium;
  /// How long the request has waited when the cycle was found.
  int64_t waited_ms = 0;
  /// Locks the owner holds in its tenant, bulk reservations included.
  uint32_t locks_held = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cycle_member& x) {
  return f(caf::meta::type_name("cycle_member"), x.owner, x.key, x.level,
           x.waited_ms, x.locks_held);
}

/// One deadlock: the cycle, the victim chosen and how it ended.
struct deadlock_info {
  /// Unique within one run of the service.
  uint64_t id = 0;
  std::vector<cycle_member> cycle;
  /// Owner whose waiting request fails; empty until chosen.
  std::string victim;
  /// Policy that chose the victim: "youngest", "lowest_priority",
  /// "fewest_locks" or "plugin:<name>".
  std::string policy;
  /// Empty while the deadlock is open; then "victim_failed", "vetoed", or
  /// "dissolved" when the cycle broke up before the victim was failed.
  std::string outcome;
  /// Set when the victim's locks were released too.
  bool released_locks = false;
  /// Reason for the outcome, such as "plugin 'prod' timed out in
  /// before_resolution".
  std::string reason;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, deadlock_info& x) {
  return f(caf::meta::type_name("deadlock_info"), x.id, x.cycle, x.victim,
           x.policy, x.outcome, x.released_locks, x.reason);
}

/// Counters of the deadlock detector since the service started.
struct deadlock_stats {
  uint64_t runs = 0;
  uint64_t detected = 0;
  uint64_t resolved = 0;
  uint64_t vetoed = 0;
  uint64_t dissolved = 0;
  /// Requests refused with `would_deadlock` in prevention mode.
  uint64_t prevented = 0;
  /// Hook calls that timed out, and hook calls that failed (threw, or
  /// their plugin actor was gone).
  uint64_t hook_timeouts = 0;
  uint64_t hook_errors = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, deadlock_stats& x) {
  return f(caf::meta::type_name("deadlock_stats"), x.runs, x.detected,
           x.resolved, x.vetoed, x.dissolved, x.prevented, x.hook_timeouts,
           x.hook_errors);
}

/// Runs deadlock detection now over every wait regardless of its age, and
/// reports the cycles found in `tenant` plus the detector's counters.
struct detect_request {
  std::string tenant;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, detect_request& x) {
  return f(caf::meta::type_name("detect_request"), x.tenant);
}

// -- lock actor to detector ---------------------------------------------------

/// The holder of `key` changed; an empty `owner` means the resource is
/// free. Reservations of bulk acquisitions count as holders.
struct holder_changed {
  resource_key key;
  std::string owner;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, holder_changed& x) {
  return f(caf::meta::type_name("holder_changed"), x.key, x.owner);
}

/// A request of `owner` started to wait for `key`. With `prevent` set, the
/// detector refuses the wait with `would_deadlock` when it closes a cycle.
struct wait_started {
  resource_key key;
  uint64_t waiter_id = 0;
  std::string owner;
  priority level = priority::medium;
  int64_t enqueued_at_ms = 0;
  bool prevent = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, wait_started& x) {
  return f(caf::meta::type_name("wait_started"), x.key, x.waiter_id, x.owner,
           x.level, x.enqueued_at_ms, x.prevent);
}

/// The request `waiter_id` on `key` stopped waiting, for any reason.
struct wait_ended {
  resource_key key;
  uint64_t waiter_id = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, wait_ended& x) {
  return f(caf::meta::type_name("wait_ended"), x.key, x.waiter_id);
}

// -- detector to lock actor, through the scheduler -----------------------------

/// Fails the waiting request `waiter_id` on `key` with `code`, if it still
/// waits for a lock of `expected_holder`. The lock actor answers the
/// detector with `victim_done_atom` when `deadlock_id` is not 0.
struct fail_waiter {
  resource_key key;
  uint64_t waiter_id = 0;
  std::string expected_holder;
  lock_errc code = lock_errc::deadlock_victim;
  std::string message;
  std::vector<cycle_member> cycle;
  uint64_t deadlock_id = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fail_waiter& x) {
  return f(caf::meta::type_name("fail_waiter"), x.key, x.waiter_id,
           x.expected_holder, x.code, x.message, x.cycle, x.deadlock_id);
}

/// Returns "a waits for infra/prod held by b; b waits for ...".
std::string describe_cycle(const std::vector<cycle_member>& cycle);

} // namespace holdfast
