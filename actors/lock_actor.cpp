#include "actors/lock_actor.hpp"

#include <chrono>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <spdlog/spdlog.h>

#include "actors/lock_id.hpp"
#include "actors/logger.hpp"
#include "actors/resource_state.hpp"

namespace holdfast {

namespace {

struct lock_actor_state {
  std::shared_ptr<const lock_actor_context> context;
  scheduler_actor scheduler;
  std::unique_ptr<resource_state> rules;
  /// Reply sinks of queued requests, by waiter id.
  std::unordered_map<uint64_t, reply_sink_ptr> waiters;
  /// Queued asynchronous requests: ticket id to waiter id and back.
  std::unordered_map<std::string, uint64_t> ticket_waiters;
  std::unordered_map<uint64_t, std::string> waiter_tickets;
  uint64_t next_waiter_id = 0;
  /// Requests routed here by the scheduler and handled so far. The
  /// scheduler compares it with its own count before retiring the actor.
  uint64_t handled = 0;
  /// Due time of the one pending lease timer, or 0.
  int64_t lease_timer_due_ms = 0;
  bool idle_timer_pending = false;
  int64_t idle_since_ms = 0;
  /// Holder owner last reported to the deadlock detector.
  std::string reported_holder;

  static inline const char* name = "holdfast.lock";
};

using lock_pointer = lock_actor::stateful_pointer<lock_actor_state>;

/// Everything one state change must persist, reply and publish. Replies
/// and events leave only after the store has committed the batch.
struct pending_change {
  store_batch batch;
  std::vector<std::pair<reply_sink_ptr, lock_reply>> replies;
  std::vector<lock_event> events;
  /// Token of a new grant in this change, revoked if the commit fails.
  uint64_t granted_token = 0;
};

int64_t now_ms(lock_pointer self) {
  return self->state.context->config->now_ms();
}

lock_event make_event(event_type type, lock_record record, int64_t at_ms,
                      std::string reason = {}) {
  lock_event event;
  event.type = type;
  event.record = without_lock_id(std::move(record));
  event.timestamp_ms = at_ms;
  event.reason = std::move(reason);
  return event;
}

void put_lock(pending_change& change, const lock_record& record,
              uint64_t last_token) {
  store_mutation mutation;
  mutation.action = store_mutation::kind::put_lock;
  mutation.record = record;
  mutation.token_counter = last_token;
  change.batch.push_back(std::move(mutation));
}

void erase_lock(pending_change& change, const lock_record& record) {
  store_mutation mutation;
  mutation.action = store_mutation::kind::erase_lock;
  mutation.record = record;
  change.batch.push_back(std::move(mutation));
}

void arm_lease_timer(lock_pointer self) {
  // Reservations have no lease yet: the bulk's wait bounds them.
  auto holder = self->state.rules->held();
  if (holder == nullptr)
    return;
  auto due = holder->expires_at_ms;
  auto pending = self->state.lease_timer_due_ms;

  // One timer at a time: an earlier pending timer re-arms itself for the
  // current holder when it fires.
  if (pending != 0 && pending <= due)
    return;
  self->state.lease_timer_due_ms = due;
  auto delay = std::max<int64_t>(0, due - now_ms(self));
  self->delayed_send(self, std::chrono::milliseconds{delay},
                     lease_check_atom::value);
}

void arm_idle_timer(lock_pointer self) {
  auto& state = self->state;
  if (!state.rules->idle() || state.idle_timer_pending)
    return;
  state.idle_timer_pending = true;
  state.idle_since_ms = now_ms(self);
  self->delayed_send(self, state.context->config->idle_retire_after,
                     idle_check_atom::value);
}

/// Tells the deadlock detector about a new holder or reservation owner.
void report_holder(lock_pointer self) {
  auto& state = self->state;
  if (!state.context->detector)
    return;
  const auto& holder = state.rules->holder();
  auto owner = holder ? holder->owner : std::string{};
  if (owner == state.reported_holder)
    return;
  state.reported_holder = owner;
  self->send(state.context->detector,
             holder_changed{state.rules->key(), std::move(owner)});
}

void report_wait(lock_pointer self, const acquire_request& request,
                 uint64_t waiter_id, int64_t at_ms) {
  auto& state = self->state;
  if (!state.context->detector)
    return;
  wait_started wait;
  wait.key = state.rules->key();
  wait.waiter_id = waiter_id;
  wait.owner = request.owner;
  wait.level = request.level;
  wait.enqueued_at_ms = at_ms;
  wait.prevent = state.context->config->deadlock.prevention;
  self->send(state.context->detector, std::move(wait));
}

void send_holder_update(lock_pointer self, const lock_record& previous,
                        bool previous_expired, int64_t waited_ms = -1) {
  auto& rules = *self->state.rules;
  holder_update update;
  update.key = rules.key();
  if (auto held = rules.held())
    update.holder = *held;
  update.previous_lock_id = previous.lock_id;
  update.previous_expired = previous_expired;
  update.waiting = static_cast<uint32_t>(rules.waiting());
  update.depth_by_priority = rules.depth_by_priority();
  update.waited_ms = waited_ms;
  self->send(self->state.scheduler, std::move(update));
  report_holder(self);
}

/// Takes the reply sink of a waiter that leaves the queue, and drops its
/// ticket.
reply_sink_ptr take_waiter_sink(lock_pointer self, uint64_t waiter_id) {
  auto& state = self->state;
  auto ticket = state.waiter_tickets.find(waiter_id);
  if (ticket != state.waiter_tickets.end()) {
    state.ticket_waiters.erase(ticket->second);
    state.waiter_tickets.erase(ticket);
  }
  auto sink = state.waiters.find(waiter_id);
  if (sink == state.waiters.end())
    return nullptr;
  auto result = std::move(sink->second);
  state.waiters.erase(sink);
  if (state.context->detector)
    self->send(state.context->detector,
               wait_ended{state.rules->key(), waiter_id});
  return result;
}

/// Persists `change`, then delivers its replies and events. When the
/// commit fails, every reply becomes `unavailable` and a new grant is
/// revoked so that memory does not claim a lock the disk does not have.
void commit(lock_pointer self, pending_change change) {
  arm_lease_timer(self);
  arm_idle_timer(self);

  if (change.batch.empty()) {
    for (auto& [sink, reply] : change.replies)
      sink->deliver(std::move(reply));
    for (auto& event : change.events)
      caf::anon_send(self->state.context->broker, std::move(event));
    return;
  }

  auto broker = self->state.context->broker;
  auto handle = caf::actor_cast<lock_actor>(self);
  auto replies = std::move(change.replies);
  auto events = std::move(change.events);
  auto granted_token = change.granted_token;
  auto done = [broker, handle, granted_token, replies = std::move(replies),
               events = std::move(events)](bool ok,
                                           const std::string& reason) mutable {
    if (!ok) {
      for (auto& entry : replies)
        entry.first->deliver(make_error_reply(
          lock_errc::unavailable, "storage commit failed: " + reason));
      if (granted_token != 0)
        caf::anon_send(handle, store_failed_atom::value, granted_token);
      return;
    }
    for (auto& entry : replies)
      entry.first->deliver(std::move(entry.second));
    for (auto& event : events)
      caf::anon_send(broker, std::move(event));
  };
  self->state.context->store->commit(std::move(change.batch), std::move(done));
}

/// Adds the effects of a lock that ended and of the waiters that follow it.
/// Cancelled waiters get `cancel_code`. A reservation of a bulk
/// acquisition gets its reply at once: it is not persisted until the
/// scheduler commits the whole bulk.
/// Returns the wait time of a new holder, or -1.
int64_t add_transfer(lock_pointer self, pending_change& change,
                     resource_state::transfer_outcome& outcome,
                     event_type end_type, const std::string& reason,
                     lock_errc cancel_code = lock_errc::owner_closed) {
  auto at = now_ms(self);

  if (!outcome.ended.empty()) {
    erase_lock(change, outcome.ended);
    change.events.push_back(make_event(end_type, outcome.ended, at, reason));
  }

  for (auto& cancelled : outcome.cancelled) {
    if (auto sink = take_waiter_sink(self, cancelled.id))
      change.replies.emplace_back(
        std::move(sink),
        make_error_reply(cancel_code, "request cancelled: " + reason));
    change.events.push_back(make_event(event_type::lock_cancelled,
                                       describe_request(cancelled.request),
                                       at, reason));
  }

  if (outcome.handoffs.empty())
    return -1;
  const auto& first = outcome.handoffs.front();
  if (first.bulk_id != 0) {
    if (auto sink = take_waiter_sink(self, first.waiter_id))
      sink->deliver(make_lock_reply(first.record));
    return -1;
  }

  const auto& record = first.record;
  put_lock(change, record, self->state.rules->last_token());
  change.granted_token = record.token;
  change.events.push_back(make_event(event_type::lock_acquired, record, at));
  for (auto& handoff : outcome.handoffs)
    if (auto sink = take_waiter_sink(self, handoff.waiter_id))
      change.replies.emplace_back(std::move(sink), make_lock_reply(record));
  return first.waited_ms;
}

/// Rejects a request that would queue beyond the per-resource limit.
bool reject_overflow(lock_pointer self, const acquire_request& request,
                     reply_sink_ptr& sink) {
  auto& state = self->state;
  auto limit = state.context->config->max_queue_per_resource;
  if (request.wait_ms <= 0 || state.rules->idle()
      || state.rules->waiting() < limit)
    return false;

  // The holder asking again re-enters and never waits.
  if (auto held = state.rules->held(); held && held->owner == request.owner)
    return false;

  auto message = "queue of " + to_string(state.rules->key()) + " is full ("
                 + std::to_string(limit) + " waiting)";
  sink->deliver(make_error_reply(lock_errc::queue_full, message));
  caf::anon_send(state.context->broker,
                 make_event(event_type::queue_overflow,
                            describe_request(request), now_ms(self), message));
  return true;
}

/// Sinks of one acquisition. `accepted` is set for asynchronous requests
/// and receives the queue position at once.
struct acquire_sinks {
  reply_sink_ptr outcome;
  reply_sink_ptr accepted;
  std::string ticket_id;
};

void accept(acquire_sinks& sinks, uint32_t position) {
  if (!sinks.accepted)
    return;
  lock_reply reply;
  reply.ticket.position = position;
  sinks.accepted->deliver(std::move(reply));
  sinks.accepted = nullptr;
}

lock_reply conflict_reply(const acquire_request& request,
                          resource_state::acquire_outcome& outcome) {
  if (outcome.reserved)
    return make_error_reply(lock_errc::conflict,
                            to_string(request.key)
                              + " is reserved by a bulk acquisition");
  auto reply = make_error_reply(
    lock_errc::conflict, to_string(request.key) + " is held by owner '"
                           + outcome.record.owner + "'");
  reply.error.holder = without_lock_id(std::move(outcome.record));
  return reply;
}

void handle_acquire(lock_pointer self, const acquire_request& request,
                    acquire_sinks sinks, uint64_t bulk_id = 0) {
  auto& state = self->state;
  auto at = now_ms(self);
  pending_change change;

  // A lease that ran out is ended first, so that this request and the
  // waiters see the resource as it really is.
  auto expired = state.rules->expire_if_due(at);
  if (!expired.ended.empty())
    add_transfer(self, change, expired, event_type::lock_expired,
                 "lease expired");

  if (reject_overflow(self, request, sinks.outcome)) {
    accept(sinks, 0);
    if (!expired.ended.empty())
      send_holder_update(self, expired.ended, true);
    commit(self, std::move(change));
    return;
  }

  auto waiter_id = ++state.next_waiter_id;
  auto outcome = bulk_id == 0
                   ? state.rules->acquire(request, waiter_id, at)
                   : state.rules->reserve(request, bulk_id, waiter_id, at);
  int64_t waited_ms = -1;
  using status = resource_state::acquire_status;
  switch (outcome.status) {
    case status::granted:
      accept(sinks, 0);
      if (bulk_id != 0) {
        sinks.outcome->deliver(make_lock_reply(outcome.record));
        break;
      }
      put_lock(change, outcome.record, state.rules->last_token());
      change.granted_token = outcome.record.token;
      change.events.push_back(
        make_event(event_type::lock_acquired, outcome.record, at));
      change.replies.emplace_back(std::move(sinks.outcome),
                                  make_lock_reply(outcome.record));
      waited_ms = 0;
      break;
    case status::reentered: {
      accept(sinks, 0);
      auto reply = make_lock_reply(outcome.record);
      reply.reentered = true;
      if (bulk_id != 0) {
        sinks.outcome->deliver(std::move(reply));
        break;
      }
      put_lock(change, outcome.record, state.rules->last_token());
      change.replies.emplace_back(std::move(sinks.outcome), std::move(reply));
      break;
    }
    case status::conflict:
      accept(sinks, 0);
      change.replies.emplace_back(std::move(sinks.outcome),
                                  conflict_reply(request, outcome));
      break;
    case status::queued:
      accept(sinks, outcome.position);
      state.waiters.emplace(waiter_id, std::move(sinks.outcome));
      report_wait(self, request, waiter_id, at);
      if (!sinks.ticket_id.empty()) {
        state.ticket_waiters.emplace(sinks.ticket_id, waiter_id);
        state.waiter_tickets.emplace(waiter_id, sinks.ticket_id);
      }
      self->delayed_send(self, std::chrono::milliseconds{request.wait_ms},
                         wait_timeout_atom::value, waiter_id);
      change.events.push_back(make_event(
        event_type::lock_queued, describe_request(request), at,
        outcome.reserved ? "waiting for a bulk reservation"
                         : "waiting for owner '" + outcome.record.owner
                             + "'"));
      break;
  }

  if (outcome.status != status::conflict || !expired.ended.empty())
    send_holder_update(self, expired.ended, !expired.ended.empty(),
                       waited_ms);
  commit(self, std::move(change));
}

void handle_cancel(lock_pointer self, const std::string& ticket_id) {
  auto& state = self->state;
  auto waiter = state.ticket_waiters.find(ticket_id);
  if (waiter == state.ticket_waiters.end())
    return;
  auto waiter_id = waiter->second;
  auto removed = state.rules->remove_waiter(waiter_id);
  auto sink = take_waiter_sink(self, waiter_id);
  if (!removed)
    return;

  pending_change change;
  if (sink)
    change.replies.emplace_back(
      std::move(sink), make_error_reply(lock_errc::not_found,
                                        "ticket " + ticket_id + " cancelled"));
  change.events.push_back(make_event(event_type::lock_cancelled,
                                     describe_request(removed->request),
                                     now_ms(self), "ticket cancelled"));
  send_holder_update(self, {}, false);
  commit(self, std::move(change));
}

void handle_activate(lock_pointer self, uint64_t bulk_id,
                     lock_record& record) {
  auto& state = self->state;
  auto at = now_ms(self);
  auto event = make_event(event_type::lock_acquired, record, at,
                          "bulk acquisition");
  if (!state.rules->activate(bulk_id, std::move(record)))
    return;
  arm_lease_timer(self);
  send_holder_update(self, {}, false);
  caf::anon_send(state.context->broker, std::move(event));
}

void handle_unreserve(lock_pointer self, uint64_t bulk_id) {
  auto& state = self->state;
  auto outcome = state.rules->unreserve(bulk_id, now_ms(self));
  if (outcome.cancelled.empty() && outcome.handoffs.empty())
    return;

  pending_change change;
  auto waited_ms = add_transfer(self, change, outcome,
                                event_type::lock_released,
                                "bulk acquisition abandoned",
                                lock_errc::not_found);
  send_holder_update(self, {}, false, waited_ms);
  commit(self, std::move(change));
}

lock_reply error_reply_for(lock_errc code, const std::string& lock_id) {
  switch (code) {
    case lock_errc::not_owner:
      return make_error_reply(code, "token does not match lock " + lock_id,
                              "token");
    case lock_errc::lease_expired:
      return make_error_reply(code, "lease of lock " + lock_id + " expired",
                              "lock_id");
    default:
      return make_error_reply(code, "lock " + lock_id + " is not held",
                              "lock_id");
  }
}

void handle_release(lock_pointer self, const release_request& request,
                    reply_sink_ptr& sink) {
  auto& state = self->state;
  auto outcome = state.rules->release(request.lock_id, request.token,
                                      now_ms(self));
  if (outcome.error != lock_errc::none && outcome.ended.empty()) {
    sink->deliver(error_reply_for(outcome.error, request.lock_id));
    return;
  }

  pending_change change;
  bool expired = outcome.error == lock_errc::lease_expired;
  int64_t waited_ms = -1;
  if (expired) {
    waited_ms = add_transfer(self, change, outcome, event_type::lock_expired,
                             "lease expired");
    change.replies.emplace_back(std::move(sink),
                                error_reply_for(outcome.error,
                                                request.lock_id));
  } else {
    auto released = outcome.ended;
    waited_ms = add_transfer(self, change, outcome, event_type::lock_released,
                             "released by holder");
    change.replies.emplace_back(std::move(sink),
                                make_lock_reply(std::move(released)));
  }
  send_holder_update(self, outcome.ended, expired, waited_ms);
  commit(self, std::move(change));
}

void handle_renew(lock_pointer self, const renew_request& request,
                  reply_sink_ptr& sink) {
  auto& state = self->state;
  resource_state::transfer_outcome expiry;
  auto [error, record] = state.rules->renew(request.lock_id, request.token,
                                            request.ttl_ms, now_ms(self),
                                            expiry);
  if (error != lock_errc::none && expiry.ended.empty()) {
    sink->deliver(error_reply_for(error, request.lock_id));
    return;
  }

  pending_change change;
  if (error == lock_errc::lease_expired) {
    auto waited_ms = add_transfer(self, change, expiry,
                                  event_type::lock_expired, "lease expired");
    change.replies.emplace_back(std::move(sink),
                                error_reply_for(error, request.lock_id));
    send_holder_update(self, expiry.ended, true, waited_ms);
  } else {
    put_lock(change, record, state.rules->last_token());
    change.replies.emplace_back(std::move(sink), make_lock_reply(record));
    send_holder_update(self, {}, false);
  }
  commit(self, std::move(change));
}

void handle_release_owner(lock_pointer self,
                          const release_owner_request& request,
                          reply_sink_ptr& sink) {
  auto outcome = self->state.rules->remove_owner(request.owner,
                                                 now_ms(self));
  lock_reply reply;
  reply.released = outcome.ended.empty() ? 0 : 1;
  if (outcome.ended.empty() && outcome.cancelled.empty()) {
    sink->deliver(std::move(reply));
    return;
  }

  pending_change change;
  auto waited_ms = add_transfer(
    self, change, outcome, event_type::lock_released,
    "released with all locks of owner '" + request.owner + "'");
  change.replies.emplace_back(std::move(sink), std::move(reply));
  send_holder_update(self, outcome.ended, false, waited_ms);
  commit(self, std::move(change));
}

void handle_wait_timeout(lock_pointer self, uint64_t waiter_id) {
  auto& state = self->state;
  auto removed = state.rules->remove_waiter(waiter_id);
  if (!removed)
    return;

  pending_change change;
  if (auto sink = take_waiter_sink(self, waiter_id)) {
    auto reply = make_error_reply(
      lock_errc::timeout, "no grant within "
                            + std::to_string(removed->request.wait_ms)
                            + " ms for " + to_string(state.rules->key()),
      "wait_ms");
    if (auto held = state.rules->held())
      reply.error.holder = without_lock_id(*held);
    change.replies.emplace_back(std::move(sink), std::move(reply));
  }
  change.events.push_back(make_event(event_type::lock_wait_timeout,
                                     describe_request(removed->request),
                                     now_ms(self)));
  send_holder_update(self, {}, false);
  commit(self, std::move(change));
}

void handle_lease_check(lock_pointer self) {
  auto& state = self->state;
  state.lease_timer_due_ms = 0;
  auto outcome = state.rules->expire_if_due(now_ms(self));
  if (outcome.ended.empty()) {
    arm_lease_timer(self);
    return;
  }

  pending_change change;
  auto waited_ms = add_transfer(self, change, outcome,
                                event_type::lock_expired, "lease expired");
  send_holder_update(self, outcome.ended, true, waited_ms);
  commit(self, std::move(change));
}

void handle_idle_check(lock_pointer self) {
  auto& state = self->state;
  state.idle_timer_pending = false;
  if (!state.rules->idle())
    return;

  auto retire_after = state.context->config->idle_retire_after.count();
  auto idle_for = now_ms(self) - state.idle_since_ms;
  if (idle_for < retire_after) {
    state.idle_timer_pending = true;
    self->delayed_send(self, std::chrono::milliseconds{retire_after - idle_for},
                       idle_check_atom::value);
    return;
  }
  self->send(state.scheduler, idle_atom::value, state.rules->key(),
             state.rules->last_token(), state.handled);
}

void handle_store_failed(lock_pointer self, uint64_t token) {
  logger("engine")->error("revoking token {} of {}: its grant was not persisted", token,
             to_string(self->state.rules->key()));
  auto outcome = self->state.rules->revoke(token, now_ms(self));
  if (outcome.ended.empty())
    return;

  // The revoked grant never reached the disk, so there is nothing to erase.
  pending_change change;
  outcome.ended = lock_record{};
  auto waited_ms = add_transfer(self, change, outcome,
                                event_type::lock_released,
                                "grant not persisted");
  send_holder_update(self, {}, false, waited_ms);
  commit(self, std::move(change));
}

/// Fails a waiting request that the deadlock detector picked, if it still
/// waits for the holder the detector saw.
void handle_fail_waiter(lock_pointer self, fail_waiter& order) {
  auto& state = self->state;
  const auto& holder = state.rules->holder();
  bool still_waits = state.waiters.count(order.waiter_id) != 0 && holder
                     && holder->owner == order.expected_holder;
  auto removed = still_waits ? state.rules->remove_waiter(order.waiter_id)
                             : std::nullopt;

  // Taking the sink reports the end of the wait, which must reach the
  // detector before `victim_done` lets it search again.
  auto sink = removed ? take_waiter_sink(self, order.waiter_id) : nullptr;
  if (order.deadlock_id != 0)
    self->send(state.context->detector, victim_done_atom::value,
               order.deadlock_id, removed.has_value());
  if (!removed)
    return;

  pending_change change;
  if (sink) {
    auto reply = make_error_reply(order.code, order.message);
    reply.error.cycle = std::move(order.cycle);
    change.replies.emplace_back(std::move(sink), std::move(reply));
  }
  change.events.push_back(make_event(
    event_type::lock_cancelled, describe_request(removed->request),
    now_ms(self),
    order.code == lock_errc::would_deadlock ? "waiting would deadlock"
                                            : "deadlock victim"));
  send_holder_update(self, {}, false);
  commit(self, std::move(change));
}

lock_actor::behavior_type
lock_actor_impl(lock_pointer self, scheduler_actor scheduler,
                std::shared_ptr<const lock_actor_context> context,
                resource_key key, uint64_t last_token, lock_record holder) {
  auto& state = self->state;
  state.context = std::move(context);
  state.scheduler = std::move(scheduler);
  state.rules = std::make_unique<resource_state>(
    std::move(key), last_token, state.context->config->limits.default_ttl_ms,
    make_lock_id, state.context->calculator);
  if (!holder.empty())
    state.rules->restore_holder(std::move(holder));
  report_holder(self);
  arm_lease_timer(self);
  arm_idle_timer(self);

  return {
    [self](acquire_request& request, reply_sink_ptr& sink) {
      ++self->state.handled;
      handle_acquire(self, request, acquire_sinks{std::move(sink), {}, {}});
    },
    [self](acquire_async_atom, acquire_request& request,
           std::string& ticket_id, reply_sink_ptr& accepted,
           reply_sink_ptr& outcome) {
      ++self->state.handled;
      handle_acquire(self, request,
                     acquire_sinks{std::move(outcome), std::move(accepted),
                                   std::move(ticket_id)});
    },
    [self](cancel_atom, std::string& ticket_id) {
      ++self->state.handled;
      handle_cancel(self, ticket_id);
    },
    [self](reserve_atom, uint64_t bulk_id, acquire_request& request,
           reply_sink_ptr& sink) {
      ++self->state.handled;
      handle_acquire(self, request, acquire_sinks{std::move(sink), {}, {}},
                     bulk_id);
    },
    [self](activate_atom, uint64_t bulk_id, lock_record& record) {
      ++self->state.handled;
      handle_activate(self, bulk_id, record);
    },
    [self](unreserve_atom, uint64_t bulk_id) {
      ++self->state.handled;
      handle_unreserve(self, bulk_id);
    },
    [self](release_request& request, reply_sink_ptr& sink) {
      ++self->state.handled;
      handle_release(self, request, sink);
    },
    [self](renew_request& request, reply_sink_ptr& sink) {
      ++self->state.handled;
      handle_renew(self, request, sink);
    },
    [self](release_owner_request& request, reply_sink_ptr& sink) {
      ++self->state.handled;
      handle_release_owner(self, request, sink);
    },
    [self](wait_timeout_atom, uint64_t waiter_id) {
      handle_wait_timeout(self, waiter_id);
    },
    [self](lease_check_atom) { handle_lease_check(self); },
    [self](idle_check_atom) { handle_idle_check(self); },
    [self](store_failed_atom, uint64_t token) {
      handle_store_failed(self, token);
    },
    [self](fail_waiter& order) {
      ++self->state.handled;
      handle_fail_waiter(self, order);
    },
  };
}

} // namespace

lock_actor spawn_lock_actor(caf::actor_system& system,
                            scheduler_actor scheduler,
                            std::shared_ptr<const lock_actor_context> context,
                            resource_key key, uint64_t last_token,
                            lock_record holder) {
  return system.spawn(lock_actor_impl, std::move(scheduler),
                      std::move(context), std::move(key), last_token,
                      std::move(holder));
}

} // namespace holdfast
