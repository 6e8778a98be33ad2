// All-or-nothing bulk acquisition. Each resource is first reserved: a
// reservation blocks everyone else but is neither persisted nor shown by
// get, list or events. Once every resource is reserved, one storage batch
// persists all grants, the scheduler's index shows them at once, and the
// lock actors turn their reservations into locks. A failure undoes every
// reservation, so no other client ever sees a partial set.

#include <algorithm>
#include <atomic>
#include <mutex>

#include <caf/send.hpp>

#include "actors/scheduler_state.hpp"

namespace holdfast {

namespace {

/// Sends the reply to one reservation back to the scheduler.
class bulk_step_sink : public reply_sink {
public:
  bulk_step_sink(scheduler_actor scheduler, uint64_t bulk_id, uint64_t index)
    : scheduler_(std::move(scheduler)), bulk_id_(bulk_id), index_(index) {
    // Nothing else to do.
  }

  /// A lock actor that fails drops its sinks unanswered; the bulk then
  /// fails instead of waiting for ever.
  ~bulk_step_sink() override {
    if (!delivered_)
      deliver(make_error_reply(lock_errc::unavailable,
                               "the resource failed during the bulk "
                               "acquisition"));
  }

  void deliver(lock_reply reply) override {
    delivered_ = true;
    caf::anon_send(scheduler_, bulk_step_atom::value, bulk_id_, index_,
                   std::move(reply));
  }

private:
  scheduler_actor scheduler_;
  uint64_t bulk_id_;
  uint64_t index_;
  bool delivered_ = false;
};

void reserve_item(scheduler_pointer self, uint64_t bulk_id, bulk_entry& bulk,
                  size_t index) {
  auto request = bulk.items[index].request;
  request.wait_ms = bulk.try_mode
                      ? 0
                      : std::max<int64_t>(1, bulk.deadline_ms - now_ms(self));
  ++bulk.outstanding;
  reply_sink_ptr sink = std::make_shared<bulk_step_sink>(
    caf::actor_cast<scheduler_actor>(self), bulk_id, index);
  send_to_resource(self, resource_of(self, request.key), reserve_atom::value,
                   bulk_id, std::move(request), std::move(sink));
}

void undo_reservations(scheduler_pointer self, uint64_t bulk_id,
                       bulk_entry& bulk) {
  // A waiting reservation leaves its queue now instead of blocking others
  // until its wait ends; its step then arrives as a failure.
  if (!bulk.try_mode && bulk.outstanding > 0 && bulk.next < bulk.items.size())
    send_to_resource(self, resource_of(self, bulk.items[bulk.next].request.key),
                     unreserve_atom::value, bulk_id);
  for (auto& item : bulk.items) {
    if (!item.reserved || item.reentered)
      continue;
    send_to_resource(self, resource_of(self, item.request.key),
                     unreserve_atom::value, bulk_id);
    item.reserved = false;
  }
}

/// Delivers `reply` to the client and undoes the bulk. The entry stays
/// until every outstanding reservation has replied.
void fail(scheduler_pointer self, uint64_t bulk_id, lock_reply reply) {
  auto it = self->state.bulks.find(bulk_id);
  if (it == self->state.bulks.end())
    return;
  auto& bulk = it->second;
  if (bulk.committing) {
    // The grants may be on disk already; `bulk_committed` releases them.
    bulk.closed_while_committing = true;
    return;
  }
  if (!bulk.finished) {
    bulk.finished = true;
    bulk.sink->deliver(std::move(reply));
  }
  undo_reservations(self, bulk_id, bulk);
  if (bulk.outstanding == 0)
    self->state.bulks.erase(it);
}

void commit(scheduler_pointer self, uint64_t bulk_id, bulk_entry& bulk) {
  bulk.committing = true;
  auto now = now_ms(self);
  store_batch batch;
  for (auto& item : bulk.items) {
    if (item.reentered)
      continue;
    item.record.acquired_at_ms = now;
    item.record.expires_at_ms = now + item.record.ttl_ms;
    store_mutation mutation;
    mutation.action = store_mutation::kind::put_lock;
    mutation.record = item.record;
    mutation.token_counter = item.record.token;
    batch.push_back(std::move(mutation));
  }

  auto handle = caf::actor_cast<scheduler_actor>(self);
  self->state.context->store->commit(
    std::move(batch), [handle, bulk_id](bool ok, const std::string& reason) {
      caf::anon_send(handle, bulk_commit_atom::value, bulk_id, ok, reason);
    });
}

lock_reply conflict_reply(bulk_entry& bulk) {
  std::string names;
  for (auto& holder : bulk.conflicts) {
    if (!names.empty())
      names += ", ";
    names += to_string(holder.key);
    if (!holder.owner.empty())
      names += " (owner '" + holder.owner + "')";
  }
  auto reply = make_error_reply(lock_errc::conflict,
                                "bulk acquisition conflicts on " + names);
  reply.error.holders = std::move(bulk.conflicts);
  return reply;
}

} // namespace

void acquire_bulk(scheduler_pointer self, bulk_acquire_request& request,
                  reply_sink_ptr& sink) {
  auto bulk_id = ++self->state.next_bulk_id;
  bulk_entry bulk;
  bulk.tenant = request.tenant;
  bulk.sink = std::move(sink);
  bulk.try_mode = request.wait_ms == 0;
  bulk.deadline_ms = now_ms(self) + request.wait_ms;
  for (size_t i = 0; i < request.locks.size(); ++i) {
    bulk_item item;
    item.request = std::move(request.locks[i]);
    item.request_index = i;
    bulk.items.push_back(std::move(item));
  }
  std::sort(bulk.items.begin(), bulk.items.end(),
            [](const bulk_item& x, const bulk_item& y) {
              return x.request.key < y.request.key;
            });

  auto& entry = self->state.bulks.emplace(bulk_id, std::move(bulk))
                  .first->second;

  // A try never waits, so all reservations may go out at once. A waiting
  // bulk reserves in key order, one resource at a time.
  if (entry.try_mode) {
    for (size_t i = 0; i < entry.items.size(); ++i)
      reserve_item(self, bulk_id, entry, i);
  } else {
    reserve_item(self, bulk_id, entry, 0);
  }
}

void bulk_step(scheduler_pointer self, uint64_t bulk_id, uint64_t index,
               lock_reply& reply) {
  auto it = self->state.bulks.find(bulk_id);
  if (it == self->state.bulks.end())
    return;
  auto& bulk = it->second;
  --bulk.outstanding;
  auto& item = bulk.items[index];
  if (reply.ok()) {
    item.record = std::move(reply.lock);
    item.reserved = true;
    item.reentered = reply.reentered;
  }

  if (bulk.finished) {
    fail(self, bulk_id, {});
    return;
  }
  if (!reply.ok()) {
    if (reply.error.code == lock_errc::conflict) {
      auto holder = std::move(reply.error.holder);
      if (holder.empty())
        holder.key = item.request.key;
      bulk.conflicts.push_back(std::move(holder));
    } else {
      fail(self, bulk_id, std::move(reply));
      return;
    }
  }

  if (bulk.try_mode) {
    if (bulk.outstanding != 0)
      return;
    if (!bulk.conflicts.empty()) {
      fail(self, bulk_id, conflict_reply(bulk));
      return;
    }
    commit(self, bulk_id, bulk);
    return;
  }

  if (++bulk.next < bulk.items.size()) {
    reserve_item(self, bulk_id, bulk, bulk.next);
    return;
  }
  commit(self, bulk_id, bulk);
}

void bulk_committed(scheduler_pointer self, uint64_t bulk_id, bool ok,
                    const std::string& reason) {
  auto it = self->state.bulks.find(bulk_id);
  if (it == self->state.bulks.end())
    return;
  auto& bulk = it->second;
  bulk.committing = false;
  if (!ok) {
    fail(self, bulk_id,
         make_error_reply(lock_errc::unavailable,
                          "storage commit failed: " + reason));
    return;
  }

  // The index shows every lock of the bulk from this handler on; the lock
  // actors catch up with the activation messages.
  auto& state = self->state;
  lock_reply reply;
  reply.locks.resize(bulk.items.size());
  for (auto& item : bulk.items) {
    reply.locks[item.request_index] = item.record;
    if (item.reentered)
      continue;
    auto& entry = resource_of(self, item.request.key);
    state.lock_index[item.record.lock_id] = item.request.key;
    entry.holder = item.record;
    entry.expected_lock_id = item.record.lock_id;
    entry.expect_held = true;
    entry.max_token = std::max(entry.max_token, item.record.token);
    record_grant(self, bulk.tenant, 0);
    send_to_resource(self, entry, activate_atom::value, bulk_id, item.record);
  }

  // The owner closed while the grants were written: they count as granted
  // and are released at once, so the closed owner ends up holding nothing.
  if (bulk.closed_while_committing) {
    for (auto& item : bulk.items)
      if (!item.reentered)
        release_quietly(self, item.record);
    if (!bulk.finished)
      bulk.sink->deliver(make_error_reply(lock_errc::owner_closed,
                                          "owner closed during the bulk "
                                          "acquisition",
                                          "owner"));
    state.bulks.erase(it);
    return;
  }
  bulk.finished = true;
  bulk.sink->deliver(std::move(reply));
  state.bulks.erase(it);
}

void abort_owner_bulks(scheduler_pointer self, const std::string& tenant,
                       const std::string& owner) {
  std::vector<uint64_t> affected;
  for (auto& [id, bulk] : self->state.bulks) {
    if (bulk.finished || bulk.tenant != tenant)
      continue;
    for (auto& item : bulk.items)
      if (item.request.owner == owner) {
        affected.push_back(id);
        break;
      }
  }
  for (auto id : affected)
    fail(self, id,
         make_error_reply(lock_errc::owner_closed,
                          "owner '" + owner + "' was closed", "owner"));
}

namespace {

/// Collects the outcome of each release of a bulk release.
class bulk_release_collector {
public:
  bulk_release_collector(std::vector<std::string> lock_ids,
                         reply_sink_ptr target)
    : remaining_(lock_ids.size()), target_(std::move(target)) {
    outcomes_.resize(lock_ids.size());
    for (size_t i = 0; i < lock_ids.size(); ++i)
      outcomes_[i].lock_id = std::move(lock_ids[i]);
  }

  void set(size_t index, lock_errc code) {
    {
      std::lock_guard<std::mutex> guard{mutex_};
      outcomes_[index].code = code;
    }
    if (--remaining_ != 0)
      return;
    lock_reply reply;
    reply.outcomes = std::move(outcomes_);
    target_->deliver(std::move(reply));
  }

private:
  std::atomic<size_t> remaining_;
  std::mutex mutex_;
  std::vector<release_outcome> outcomes_;
  reply_sink_ptr target_;
};

class release_item_sink : public reply_sink {
public:
  release_item_sink(std::shared_ptr<bulk_release_collector> collector,
                    size_t index)
    : collector_(std::move(collector)), index_(index) {
    // Nothing else to do.
  }

  void deliver(lock_reply reply) override {
    collector_->set(index_, reply.error.code);
  }

private:
  std::shared_ptr<bulk_release_collector> collector_;
  size_t index_;
};

} // namespace

void release_bulk(scheduler_pointer self, bulk_release_request& request,
                  reply_sink_ptr& sink) {
  auto& state = self->state;
  auto lock_ids = request.lock_ids;
  auto collector = std::make_shared<bulk_release_collector>(
    std::move(lock_ids), std::move(sink));
  for (size_t i = 0; i < request.lock_ids.size(); ++i) {
    const auto& lock_id = request.lock_ids[i];
    reply_sink_ptr item = std::make_shared<release_item_sink>(collector, i);
    auto it = state.lock_index.find(lock_id);
    if (it == state.lock_index.end() || it->second.tenant != request.tenant) {
      auto expired = state.expired_ids.find(lock_id);
      bool was_expired = expired != state.expired_ids.end()
                         && expired->second == request.tenant;
      item->deliver(make_error_reply(was_expired ? lock_errc::lease_expired
                                                 : lock_errc::not_found,
                                     {}));
      continue;
    }
    auto& entry = resource_of(self, it->second);
    send_to_resource(self, entry, release_request{request.tenant, lock_id, 0},
                     std::move(item));

    // The set disappears from get and list at once; the lock actors'
    // updates catch up.
    entry.holder = lock_record{};
    entry.expected_lock_id = lock_id;
    entry.expect_held = false;
    state.lock_index.erase(lock_id);
  }
}

} // namespace holdfast
