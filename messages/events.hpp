#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <caf/meta/type_name.hpp>

#include "messages/deadlock.hpp"
#include "messages/lock_record.hpp"
#include "messages/requests.hpp"

namespace holdfast {

/// Kind of state change. The wire names are dotted, such as
/// "lock.acquired", and their two parts become two NATS subject tokens.
enum class event_type : uint8_t {
  lock_acquired = 0,
  lock_released,
  lock_expired,
  lock_wait_timeout,
  lock_queued,
  lock_cancelled,
  /// A request was rejected because a queue limit was reached.
  queue_overflow,
  /// A wait-for cycle was found and a victim chosen.
  deadlock_detected,
  /// The victim's waiting request failed, or the cycle broke up first.
  deadlock_resolved,
  /// A hook vetoed the resolution; the cycle is left alone.
  deadlock_vetoed,
};

std::string_view to_string_view(event_type type);

std::optional<event_type> parse_event_type(std::string_view name);

/// One state change of a resource. `record` is the lock concerned: the
/// granted, released or expired lock, or the request that waits, timed out
/// or was cancelled (then without lock id and token).
struct lock_event {
  event_type type = event_type::lock_acquired;
  lock_record record;
  int64_t timestamp_ms = 0;
  /// Short explanation, such as "released by owner close".
  std::string reason;
  /// Set for the deadlock events; `record` is then the victim's waiting
  /// request, or the first member's when no victim was chosen.
  deadlock_info deadlock;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, lock_event& x) {
  return f(caf::meta::type_name("lock_event"), x.type, x.record,
           x.timestamp_ms, x.reason, x.deadlock);
}

/// Returns the record of a request that holds no lock yet, for queue
/// events: no lock id, no token, the requester's identity and metadata.
lock_record describe_request(const acquire_request& request);

/// Selects events for a subscriber. Empty fields match everything.
struct event_filter {
  std::string tenant;
  std::string type;
  std::string project;
  std::string workspace;

  bool matches(const lock_event& event) const;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, event_filter& x) {
  return f(caf::meta::type_name("event_filter"), x.tenant, x.type, x.project,
           x.workspace);
}

} // namespace holdfast
