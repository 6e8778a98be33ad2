#pragma once

// Internal state of the scheduler actor, shared by the files that implement
// its handlers (scheduler.cpp, scheduler_tickets.cpp, scheduler_bulk.cpp).

#include <cstdint>
#include <deque>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/lock_actor.hpp"
#include "actors/scheduler.hpp"

namespace holdfast {

struct resource_entry {
  lock_actor actor;
  /// Requests sent to `actor`; compared with its own count on retirement.
  uint64_t routed = 0;
  lock_record holder;
  uint32_t waiting = 0;
  std::vector<uint32_t> depth_by_priority;
  /// Highest token seen in holder updates, so that a replacement actor
  /// continues above it should this one fail.
  uint64_t max_token = 0;
  /// Set while the scheduler shows a state the lock actor has not reported
  /// yet: the lock of a committed bulk before its activation, or the
  /// absence of a lock a bulk release is releasing. Updates that still
  /// show the older state leave `holder` alone, so that a bulk's set
  /// appears and disappears at once.
  std::string expected_lock_id;
  bool expect_held = false;
};

struct ticket_entry {
  ticket_info info;
  /// Receives the final state exactly once.
  reply_sink_ptr notify;
};

struct bulk_item {
  acquire_request request;
  /// Position of the item in the client's request.
  size_t request_index = 0;
  /// The reservation, or the lock the owner held already.
  lock_record record;
  bool reserved = false;
  bool reentered = false;
};

/// A bulk acquisition in progress. Items are sorted by resource key: in
/// wait mode they are reserved one after the other in that order, so that
/// two bulks never hold reservations that the other waits for.
struct bulk_entry {
  std::string tenant;
  std::vector<bulk_item> items;
  reply_sink_ptr sink;
  bool try_mode = false;
  int64_t deadline_ms = 0;
  /// Reservation requests sent and not replied to yet.
  size_t outstanding = 0;
  /// Index of the next item to reserve in wait mode.
  size_t next = 0;
  /// Set once the client got its reply. The entry lives on until every
  /// outstanding reservation has replied, so that each can be undone.
  bool finished = false;
  /// Set while the grants are being written to storage; they can no
  /// longer be undone, only released after the commit.
  bool committing = false;
  /// Set when the owner closed during the commit.
  bool closed_while_committing = false;
  std::vector<lock_record> conflicts;
};

/// Grant statistics of one tenant.
struct grant_history {
  uint64_t total = 0;
  /// Grant times of the last minute, oldest first.
  std::deque<int64_t> recent_times;
  /// Wait times of the latest grants, oldest first.
  std::deque<int64_t> recent_waits;
};

struct scheduler_state {
  std::shared_ptr<const lock_actor_context> context;
  std::unordered_map<resource_key, resource_entry> resources;
  std::unordered_map<caf::actor_addr, resource_key> resource_by_actor;
  std::unordered_map<std::string, resource_key> lock_index;
  /// Highest token of each resource without a live lock actor.
  std::unordered_map<resource_key, uint64_t> last_tokens;
  /// Lock ids of expired leases, with their tenant, oldest first in
  /// `expired_order`.
  std::unordered_map<std::string, std::string> expired_ids;
  std::deque<std::string> expired_order;
  /// Requests waiting in all lock actors, from their holder updates.
  uint64_t total_waiting = 0;
  /// Owners whose requests get `owner_closed`, as (tenant, owner).
  std::set<std::pair<std::string, std::string>> closed_owners;
  std::unordered_map<std::string, ticket_entry> tickets;
  std::deque<std::string> finished_tickets;
  std::unordered_map<uint64_t, bulk_entry> bulks;
  uint64_t next_bulk_id = 0;
  std::unordered_map<std::string, grant_history> grants;

  static inline const char* name = "holdfast.scheduler";
};

using scheduler_pointer = scheduler_actor::stateful_pointer<scheduler_state>;

// -- shared helpers (scheduler.cpp) -------------------------------------------

int64_t now_ms(scheduler_pointer self);

/// Returns the entry of `key`, spawning its lock actor if needed.
resource_entry& resource_of(scheduler_pointer self, const resource_key& key);

/// Counts a message sent to the lock actor of `entry`.
template <class... Ts>
void send_to_resource(scheduler_pointer self, resource_entry& entry,
                      Ts&&... xs) {
  ++entry.routed;
  self->send(entry.actor, std::forward<Ts>(xs)...);
}

/// Delivers `owner_closed` when `owner` of `tenant` is closed.
bool reject_closed_owner(scheduler_pointer self, const std::string& tenant,
                         const std::string& owner, reply_sink_ptr& sink);

/// Releases `record` on behalf of the service, discarding the reply.
void release_quietly(scheduler_pointer self, const lock_record& record);

/// Records a grant for the statistics of its tenant.
void record_grant(scheduler_pointer self, const std::string& tenant,
                  int64_t waited_ms);

// -- tickets (scheduler_tickets.cpp) ------------------------------------------

void acquire_async(scheduler_pointer self, acquire_async_request& request,
                   reply_sink_ptr& reply, reply_sink_ptr& notify);
void ticket_queued(scheduler_pointer self, const std::string& ticket_id,
                   uint32_t position);
void ticket_done(scheduler_pointer self, const std::string& ticket_id,
                 lock_reply& reply);
void get_ticket(scheduler_pointer self, const ticket_request& request,
                reply_sink_ptr& sink);
void cancel_ticket(scheduler_pointer self, const cancel_request& request,
                   reply_sink_ptr& sink);
/// Cancels every pending ticket of a closed owner.
void cancel_owner_tickets(scheduler_pointer self, const std::string& tenant,
                          const std::string& owner);

// -- bulk acquisition (scheduler_bulk.cpp) -------------------------------------

void acquire_bulk(scheduler_pointer self, bulk_acquire_request& request,
                  reply_sink_ptr& sink);
void bulk_step(scheduler_pointer self, uint64_t bulk_id, uint64_t index,
               lock_reply& reply);
void bulk_committed(scheduler_pointer self, uint64_t bulk_id, bool ok,
                    const std::string& reason);
/// Fails every bulk acquisition in progress that includes `owner`.
void abort_owner_bulks(scheduler_pointer self, const std::string& tenant,
                       const std::string& owner);
void release_bulk(scheduler_pointer self, bulk_release_request& request,
                  reply_sink_ptr& sink);

} // namespace holdfast
