// Asynchronous acquisitions: the scheduler keeps each ticket's state, and
// every outcome passes through it, so that a cancellation and a grant that
// cross each other end with the lock released.

#include <caf/send.hpp>

#include "actors/lock_id.hpp"
#include "actors/scheduler_state.hpp"

namespace holdfast {

namespace {

/// Delivers the ticket to the client as soon as the lock actor reports the
/// queue position, and sends that position to the scheduler.
class ticket_accept_sink : public reply_sink {
public:
  ticket_accept_sink(scheduler_actor scheduler, ticket_info info,
                     reply_sink_ptr client)
    : scheduler_(std::move(scheduler)),
      info_(std::move(info)),
      client_(std::move(client)) {
    // Nothing else to do.
  }

  void deliver(lock_reply reply) override {
    info_.position = reply.ticket.position;
    caf::anon_send(scheduler_, ticket_queued_atom::value, info_.ticket_id,
                   info_.position);
    lock_reply answer;
    answer.ticket = std::move(info_);
    client_->deliver(std::move(answer));
  }

private:
  scheduler_actor scheduler_;
  ticket_info info_;
  reply_sink_ptr client_;
};

/// Hands the outcome of a ticket's request back to the scheduler.
class ticket_outcome_sink : public reply_sink {
public:
  ticket_outcome_sink(scheduler_actor scheduler, std::string ticket_id)
    : scheduler_(std::move(scheduler)), ticket_id_(std::move(ticket_id)) {
    // Nothing else to do.
  }

  /// A lock actor that fails drops its sinks unanswered; the ticket then
  /// fails instead of staying pending for ever.
  ~ticket_outcome_sink() override {
    if (!delivered_)
      deliver(make_error_reply(lock_errc::unavailable,
                               "the resource failed before the ticket was "
                               "decided"));
  }

  void deliver(lock_reply reply) override {
    delivered_ = true;
    caf::anon_send(scheduler_, ticket_done_atom::value, ticket_id_,
                   std::move(reply));
  }

private:
  scheduler_actor scheduler_;
  std::string ticket_id_;
  bool delivered_ = false;
};

lock_reply ticket_reply(const ticket_info& info) {
  lock_reply reply;
  reply.ticket = info;
  return reply;
}

/// Moves a ticket to its final `state` and notifies its client.
void finish(scheduler_pointer self, ticket_entry& entry, ticket_state state) {
  auto& tickets = self->state;
  entry.info.state = state;
  entry.info.updated_at_ms = now_ms(self);
  if (entry.notify) {
    entry.notify->deliver(ticket_reply(entry.info));
    entry.notify = nullptr;
  }

  // Finished tickets stay readable for a while, oldest dropped first.
  tickets.finished_tickets.push_back(entry.info.ticket_id);
  auto capacity = tickets.context->config->max_finished_tickets;
  while (tickets.finished_tickets.size() > capacity) {
    tickets.tickets.erase(tickets.finished_tickets.front());
    tickets.finished_tickets.pop_front();
  }
}

ticket_entry* find_ticket(scheduler_pointer self, const std::string& tenant,
                          const std::string& ticket_id, reply_sink_ptr& sink) {
  auto it = self->state.tickets.find(ticket_id);
  if (it != self->state.tickets.end() && it->second.info.key.tenant == tenant)
    return &it->second;
  sink->deliver(make_error_reply(lock_errc::not_found,
                                 "ticket " + ticket_id + " is not known",
                                 "ticket_id"));
  return nullptr;
}

void cancel_entry(scheduler_pointer self, ticket_entry& entry) {
  switch (entry.info.state) {
    case ticket_state::pending:
      send_to_resource(self, resource_of(self, entry.info.key),
                       cancel_atom::value, entry.info.ticket_id);
      finish(self, entry, ticket_state::cancelled);
      break;
    case ticket_state::granted:
      release_quietly(self, entry.info.lock);
      entry.info.state = ticket_state::cancelled;
      entry.info.updated_at_ms = now_ms(self);
      break;
    default:
      break;
  }
}

} // namespace

void acquire_async(scheduler_pointer self, acquire_async_request& request,
                   reply_sink_ptr& reply, reply_sink_ptr& notify) {
  ticket_entry entry;
  entry.info.ticket_id = make_lock_id();
  entry.info.key = request.request.key;
  entry.info.owner = request.request.owner;
  entry.info.created_at_ms = now_ms(self);
  entry.info.updated_at_ms = entry.info.created_at_ms;
  entry.notify = std::move(notify);

  auto handle = caf::actor_cast<scheduler_actor>(self);
  reply_sink_ptr accepted = std::make_shared<ticket_accept_sink>(
    handle, entry.info, std::move(reply));
  reply_sink_ptr outcome = std::make_shared<ticket_outcome_sink>(
    handle, entry.info.ticket_id);
  auto ticket_id = entry.info.ticket_id;
  self->state.tickets.emplace(ticket_id, std::move(entry));
  send_to_resource(self, resource_of(self, request.request.key),
                   acquire_async_atom::value, std::move(request.request),
                   std::move(ticket_id), std::move(accepted),
                   std::move(outcome));
}

void ticket_queued(scheduler_pointer self, const std::string& ticket_id,
                   uint32_t position) {
  auto it = self->state.tickets.find(ticket_id);
  if (it != self->state.tickets.end())
    it->second.info.position = position;
}

void ticket_done(scheduler_pointer self, const std::string& ticket_id,
                 lock_reply& reply) {
  auto it = self->state.tickets.find(ticket_id);
  bool granted = reply.ok() && !reply.lock.empty();
  if (it == self->state.tickets.end()) {
    // The ticket was dropped from memory, so no client can claim this lock.
    if (granted)
      release_quietly(self, reply.lock);
    return;
  }

  auto& entry = it->second;
  if (entry.info.state == ticket_state::cancelled) {
    if (granted)
      release_quietly(self, reply.lock);
    return;
  }
  if (entry.info.state != ticket_state::pending)
    return;
  if (granted) {
    entry.info.lock = std::move(reply.lock);
    finish(self, entry, ticket_state::granted);
    return;
  }
  entry.info.error = reply.error.code;
  entry.info.error_message = std::move(reply.error.message);
  entry.info.error_cycle = std::move(reply.error.cycle);
  finish(self, entry, ticket_state::failed);
}

void get_ticket(scheduler_pointer self, const ticket_request& request,
                reply_sink_ptr& sink) {
  if (auto entry = find_ticket(self, request.tenant, request.ticket_id, sink))
    sink->deliver(ticket_reply(entry->info));
}

void cancel_ticket(scheduler_pointer self, const cancel_request& request,
                   reply_sink_ptr& sink) {
  auto entry = find_ticket(self, request.tenant, request.ticket_id, sink);
  if (entry == nullptr)
    return;
  auto ticket_id = entry->info.ticket_id;
  cancel_entry(self, *entry);
  if (auto it = self->state.tickets.find(ticket_id);
      it != self->state.tickets.end())
    sink->deliver(ticket_reply(it->second.info));
}

void cancel_owner_tickets(scheduler_pointer self, const std::string& tenant,
                          const std::string& owner) {
  // `finish` may drop old tickets, so the loop must not hold iterators.
  auto& tickets = self->state.tickets;
  std::vector<std::string> pending;
  for (auto& [id, entry] : tickets)
    if (entry.info.state == ticket_state::pending
        && entry.info.key.tenant == tenant && entry.info.owner == owner)
      pending.push_back(id);
  for (auto& id : pending)
    if (auto it = tickets.find(id); it != tickets.end())
      finish(self, it->second, ticket_state::cancelled);
}

} // namespace holdfast
