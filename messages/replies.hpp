#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "messages/deadlock.hpp"
#include "messages/error_code.hpp"
#include "messages/lock_record.hpp"
#include "messages/queueing.hpp"

namespace holdfast {

/// Failure of a request: the stable code, a readable message, the offending
/// request field if one is to blame, and the current holder on `conflict`.
struct lock_error {
  lock_errc code = lock_errc::none;
  std::string message;
  std::string field;
  lock_record holder;
  /// Every conflicting holder of a bulk try-lock.
  std::vector<lock_record> holders;
  /// The cycle that `deadlock_victim` and `would_deadlock` refer to.
  std::vector<cycle_member> cycle;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, lock_error& x) {
  return f(caf::meta::type_name("lock_error"), x.code, x.message, x.field,
           x.holder, x.holders, x.cycle);
}

lock_error make_lock_error(lock_errc code, std::string message,
                           std::string field = {});

/// Result of any request. On success `error.code` is `none`, and the verb
/// decides which of the other fields is set. Acquire, release, renew and
/// get set `lock`. List and acquire_bulk set `locks`, and release_owner
/// sets `released`. Acquire_async, ticket and cancel set `ticket`,
/// release_bulk sets `outcomes`, stats sets `stats` and `locks`, and
/// detect sets `deadlocks` and `deadlock_counters`.
struct lock_reply {
  lock_error error;
  lock_record lock;
  std::vector<lock_record> locks;
  uint32_t released = 0;
  /// Number of requests waiting for the resource, reported by get.
  uint32_t waiting = 0;
  /// Set when an acquire returned a lock the owner held already.
  bool reentered = false;
  ticket_info ticket;
  std::vector<release_outcome> outcomes;
  queue_stats stats;
  /// Cycles found by `detect`, and the detector's counters.
  std::vector<deadlock_info> deadlocks;
  deadlock_stats deadlock_counters;

  bool ok() const noexcept {
    return error.code == lock_errc::none;
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, lock_reply& x) {
  return f(caf::meta::type_name("lock_reply"), x.error, x.lock, x.locks,
           x.released, x.waiting, x.reentered, x.ticket, x.outcomes,
           x.stats, x.deadlocks, x.deadlock_counters);
}

lock_reply make_error_reply(lock_errc code, std::string message,
                            std::string field = {});

lock_reply make_lock_reply(lock_record record);

} // namespace holdfast
