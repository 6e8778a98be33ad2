#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "actors/priority_calculator.hpp"
#include "messages/error_code.hpp"
#include "messages/lock_record.hpp"
#include "messages/requests.hpp"

namespace holdfast {

/// Lock rules of one resource: the holder, the wait queue, leases and
/// fencing tokens. The class is plain C++ without actors or clocks, so that
/// every rule is tested directly. Callers pass the current time in
/// milliseconds since the Unix epoch and act on the returned outcomes
/// (persist, reply, publish).
///
/// The lock is exclusive and re-entrant per owner: an owner that asks again
/// gets the lock it holds, with its lease refreshed, and one release frees
/// it. Waiters are served by effective priority (see
/// `priority_calculator`), then arrival.
///
/// A bulk acquisition first reserves each of its resources: a reservation
/// is a provisional holder that blocks everyone else but is not held yet.
/// It becomes a real holder with `activate` once every resource of the
/// bulk is reserved, or goes away with `unreserve`.
class resource_state {
public:
  /// Produces a fresh, unguessable lock id for each grant.
  using lock_id_generator = std::function<std::string()>;

  /// A request waiting for the resource.
  struct waiter {
    uint64_t id = 0;
    acquire_request request;
    int64_t enqueued_at_ms = 0;
    uint64_t arrival = 0;
    /// Non-zero for the reservation of a bulk acquisition.
    uint64_t bulk_id = 0;
  };

  /// A grant to a waiter that was queued before.
  struct handoff {
    uint64_t waiter_id = 0;
    lock_record record;
    /// Milliseconds the waiter spent in the queue.
    int64_t waited_ms = 0;
    /// Non-zero when the grant is a reservation of this bulk acquisition.
    uint64_t bulk_id = 0;
  };

  enum class acquire_status {
    /// A new lock with a new token (a reservation for a bulk request).
    granted,
    /// The owner already held the lock; its lease was refreshed.
    reentered,
    /// Try-lock on a held resource; `record` is the holder.
    conflict,
    /// The request waits; `record` is the holder it waits for.
    queued,
  };

  struct acquire_outcome {
    acquire_status status = acquire_status::granted;
    lock_record record;
    /// Whether the blocking holder is a reservation, not a lock.
    bool reserved = false;
    /// Requests ahead of a queued one.
    uint32_t position = 0;
  };

  /// Outcome of release, expiry and owner removal: the lock that ended (if
  /// any) and the waiters that now hold the resource.
  struct transfer_outcome {
    lock_errc error = lock_errc::none;
    lock_record ended;
    std::vector<handoff> handoffs;
    std::vector<waiter> cancelled;
  };

  /// `default_ttl_ms` is the lease of requests that ask for none.
  /// `calculator` may be null: waiters are then served by requested
  /// priority.
  resource_state(resource_key key, uint64_t last_token, int64_t default_ttl_ms,
                 lock_id_generator make_lock_id,
                 priority_calculator_ptr calculator = nullptr);

  /// Restores a holder recovered from storage. Raises the token counter to
  /// the holder's token if needed.
  void restore_holder(lock_record record);

  /// Grants, re-enters, rejects or queues `request`. A request is queued
  /// only when `request.wait_ms > 0`; `waiter_id` identifies it then.
  acquire_outcome acquire(const acquire_request& request, uint64_t waiter_id,
                          int64_t now_ms);

  /// Like `acquire`, for one resource of the bulk acquisition `bulk_id`:
  /// a grant is a reservation, and a lock the owner holds already counts
  /// as re-entered and stays untouched by `unreserve`.
  acquire_outcome reserve(const acquire_request& request, uint64_t bulk_id,
                          uint64_t waiter_id, int64_t now_ms);

  /// Turns the reservation of `bulk_id` into the lock `record`, which the
  /// caller has persisted. Returns false when there is no such reservation.
  bool activate(uint64_t bulk_id, lock_record record);

  /// Drops the reservation or queued reservation of `bulk_id`.
  transfer_outcome unreserve(uint64_t bulk_id, int64_t now_ms);

  /// Releases the lock `lock_id` and hands the resource to the next waiter.
  /// Errors: `not_found` for another lock id, `not_owner` for a wrong
  /// non-zero token, `lease_expired` when the lease ran out (the lock then
  /// expires as part of this call).
  transfer_outcome release(const std::string& lock_id, uint64_t token,
                           int64_t now_ms);

  /// Extends the lease of `lock_id` to `ttl_ms` from now (0: the lock's own
  /// TTL). Same errors as `release`; on `lease_expired` the expiry happens
  /// and `expiry` receives its outcome.
  std::pair<lock_errc, lock_record>
  renew(const std::string& lock_id, uint64_t token, int64_t ttl_ms,
        int64_t now_ms, transfer_outcome& expiry);

  /// Expires the holder if its lease has run out at `now_ms`.
  transfer_outcome expire_if_due(int64_t now_ms);

  /// Removes the waiter `waiter_id`, for a wait timeout or a cancellation.
  std::optional<waiter> remove_waiter(uint64_t waiter_id);

  /// Releases the lock of `owner` and removes its waiters. Reservations of
  /// bulk acquisitions are left to `unreserve`.
  transfer_outcome remove_owner(const std::string& owner, int64_t now_ms);

  /// Drops the holder whose grant could not be persisted and hands the
  /// resource on. Does nothing when `token` is no longer the holder's.
  transfer_outcome revoke(uint64_t token, int64_t now_ms);

  const resource_key& key() const noexcept {
    return key_;
  }

  /// Returns the current holder or reservation, or nothing.
  const std::optional<lock_record>& holder() const noexcept {
    return holder_;
  }

  /// Returns the current holder if it is a lock and not a reservation.
  const lock_record* held() const noexcept {
    return holder_ && reserved_by_ == 0 ? &*holder_ : nullptr;
  }

  size_t waiting() const noexcept {
    return queue_.size();
  }

  /// Waiters by requested priority, very_low first.
  std::vector<uint32_t> depth_by_priority() const;

  uint64_t last_token() const noexcept {
    return last_token_;
  }

  bool idle() const noexcept {
    return !holder_ && queue_.empty();
  }

private:
  lock_record grant(const acquire_request& request, int64_t now_ms);

  int64_t ttl_of(const acquire_request& request) const noexcept;

  acquire_outcome enqueue(const acquire_request& request, uint64_t bulk_id,
                          uint64_t waiter_id, int64_t now_ms);

  /// Position in `queue_` of the waiter to serve next at `now_ms`.
  size_t next_waiter(int64_t now_ms) const;

  double rank_of(const waiter& entry, int64_t now_ms) const;

  /// Number of waiters that would be served before `entry`.
  uint32_t position_of(const waiter& entry, int64_t now_ms) const;

  /// Ends the current holder, then grants to the next waiters.
  void end_holder(transfer_outcome& outcome, int64_t now_ms);

  void hand_off(transfer_outcome& outcome, int64_t now_ms);

  waiter take_waiter(size_t index);

  lock_errc check_holder(const std::string& lock_id, uint64_t token,
                         int64_t now_ms) const;

  resource_key key_;
  uint64_t last_token_;
  int64_t default_ttl_ms_;
  lock_id_generator make_lock_id_;
  priority_calculator_ptr calculator_;
  std::optional<lock_record> holder_;
  /// Bulk acquisition that reserved the resource, or 0 for a real holder.
  uint64_t reserved_by_ = 0;
  /// Waiters in arrival order.
  std::vector<waiter> queue_;
  uint64_t arrivals_ = 0;
};

} // namespace holdfast
