#pragma once

#include <optional>
#include <string_view>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "messages/deadlock.hpp"
#include "messages/error_code.hpp"
#include "messages/lock_record.hpp"
#include "messages/requests.hpp"

namespace holdfast {

// Requests and replies of asynchronous, bulk and owner-level operations.

/// Queues `request` and returns a ticket at once. The outcome (grant or
/// failure) is published on `notify_subject` and kept on the ticket.
struct acquire_async_request {
  acquire_request request;
  std::string notify_subject;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f,
                                        acquire_async_request& x) {
  return f(caf::meta::type_name("acquire_async_request"), x.request,
           x.notify_subject);
}

/// Reads the state of a ticket.
struct ticket_request {
  std::string tenant;
  std::string ticket_id;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ticket_request& x) {
  return f(caf::meta::type_name("ticket_request"), x.tenant, x.ticket_id);
}

/// Cancels a ticket: a waiting request leaves the queue, a granted lock is
/// released.
struct cancel_request {
  std::string tenant;
  std::string ticket_id;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cancel_request& x) {
  return f(caf::meta::type_name("cancel_request"), x.tenant, x.ticket_id);
}

/// Acquires every lock of `locks` or none. All items belong to `tenant`;
/// `wait_ms` bounds the whole acquisition (0: try, fail on any conflict).
/// The items' own `wait_ms` is ignored.
struct bulk_acquire_request {
  std::string tenant;
  std::vector<acquire_request> locks;
  int64_t wait_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f,
                                        bulk_acquire_request& x) {
  return f(caf::meta::type_name("bulk_acquire_request"), x.tenant, x.locks,
           x.wait_ms);
}

/// Releases each of `lock_ids`; reports each outcome separately.
struct bulk_release_request {
  std::string tenant;
  std::vector<std::string> lock_ids;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f,
                                        bulk_release_request& x) {
  return f(caf::meta::type_name("bulk_release_request"), x.tenant,
           x.lock_ids);
}

/// Lets a closed owner take locks again.
struct reopen_owner_request {
  std::string tenant;
  std::string owner;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f,
                                        reopen_owner_request& x) {
  return f(caf::meta::type_name("reopen_owner_request"), x.tenant, x.owner);
}

/// Reads queue and lock statistics of a tenant.
struct stats_request {
  std::string tenant;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stats_request& x) {
  return f(caf::meta::type_name("stats_request"), x.tenant);
}

/// Life cycle of a ticket.
enum class ticket_state : uint8_t {
  pending = 0,
  granted,
  failed,
  cancelled,
};

std::string_view to_string_view(ticket_state state);

std::optional<ticket_state> parse_ticket_state(std::string_view name);

/// An asynchronous request as its client sees it. `position` is the number
/// of requests ahead of it when it was queued (0: granted at once).
struct ticket_info {
  std::string ticket_id;
  ticket_state state = ticket_state::pending;
  uint32_t position = 0;
  resource_key key;
  std::string owner;
  /// The grant, with its lock id, once `state` is `granted`.
  lock_record lock;
  /// Reason of the failure, once `state` is `failed`.
  lock_errc error = lock_errc::none;
  std::string error_message;
  /// The cycle of a `deadlock_victim` or `would_deadlock` failure.
  std::vector<cycle_member> error_cycle;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;

  bool empty() const noexcept {
    return ticket_id.empty();
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ticket_info& x) {
  return f(caf::meta::type_name("ticket_info"), x.ticket_id, x.state,
           x.position, x.key, x.owner, x.lock, x.error, x.error_message,
           x.error_cycle, x.created_at_ms, x.updated_at_ms);
}

/// Outcome of releasing one lock id of a bulk release: `none` when it was
/// released, otherwise why not (`not_found` for an id released before).
struct release_outcome {
  std::string lock_id;
  lock_errc code = lock_errc::none;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, release_outcome& x) {
  return f(caf::meta::type_name("release_outcome"), x.lock_id, x.code);
}

/// Number of priority levels, for per-level statistics.
constexpr size_t priority_levels = 5;

/// Queue and lock statistics of a tenant.
struct queue_stats {
  /// Waiting requests by requested priority, very_low first.
  std::vector<uint32_t> depth_by_priority
    = std::vector<uint32_t>(priority_levels, 0);
  uint32_t total_depth = 0;
  uint32_t active_locks = 0;
  /// Grants per second over the last minute.
  double grants_per_second = 0;
  /// Time from queueing to grant of the latest 1,024 grants; grants made at
  /// once and bulk grants count as 0.
  double average_wait_ms = 0;
  int64_t p99_wait_ms = 0;
  uint64_t total_grants = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, queue_stats& x) {
  return f(caf::meta::type_name("queue_stats"), x.depth_by_priority,
           x.total_depth, x.active_locks, x.grants_per_second,
           x.average_wait_ms, x.p99_wait_ms, x.total_grants);
}

} // namespace holdfast
