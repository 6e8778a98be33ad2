#include "actors/scheduler.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/lock_actor.hpp"
#include "actors/logger.hpp"
#include "actors/scheduler_spawn.hpp"
#include "actors/scheduler_state.hpp"
#include "messages/validation.hpp"

namespace holdfast {

namespace {

/// How many lock ids of expired leases the scheduler remembers, so that a
/// late release or renew gets `lease_expired` instead of `not_found`.
constexpr size_t expired_ids_capacity = 10'000;

/// How many wait times of recent grants feed the wait statistics.
constexpr size_t wait_samples_capacity = 1'024;

constexpr int64_t rate_window_ms = 60'000;

const engine_config& config(scheduler_pointer self) {
  return *self->state.context->config;
}

resource_entry& spawn_resource(scheduler_pointer self, const resource_key& key,
                               lock_record holder) {
  auto& state = self->state;
  uint64_t last_token = 0;
  if (auto it = state.last_tokens.find(key); it != state.last_tokens.end()) {
    last_token = it->second;
    state.last_tokens.erase(it);
  }

  auto actor = spawn_lock_actor(self->system(),
                                caf::actor_cast<scheduler_actor>(self),
                                state.context, key, last_token, holder);
  self->link_to(actor);
  state.resource_by_actor.emplace(actor.address(), key);
  auto& entry = state.resources[key];
  entry.actor = std::move(actor);
  entry.max_token = last_token;
  if (!holder.empty()) {
    state.lock_index.emplace(holder.lock_id, key);
    entry.max_token = std::max(entry.max_token, holder.token);
    entry.holder = std::move(holder);
  }
  return entry;
}

/// Finds the resource of `lock_id` or delivers the matching error.
const resource_key* find_lock(scheduler_pointer self, const std::string& tenant,
                              const std::string& lock_id,
                              reply_sink_ptr& sink) {
  auto& state = self->state;
  auto it = state.lock_index.find(lock_id);
  if (it != state.lock_index.end() && it->second.tenant == tenant)
    return &it->second;
  auto expired = state.expired_ids.find(lock_id);
  if (expired != state.expired_ids.end() && expired->second == tenant)
    sink->deliver(make_error_reply(lock_errc::lease_expired,
                                   "lease of lock " + lock_id + " expired",
                                   "lock_id"));
  else
    sink->deliver(make_error_reply(lock_errc::not_found,
                                   "lock " + lock_id + " is not held",
                                   "lock_id"));
  return nullptr;
}

template <class Request>
bool reject_invalid(scheduler_pointer self, const Request& request,
                    reply_sink_ptr& sink) {
  auto error = validate(request, config(self).limits);
  if (error.code == lock_errc::none)
    return false;
  lock_reply reply;
  reply.error = std::move(error);
  sink->deliver(std::move(reply));
  return true;
}

/// Rejects a request that would wait while the queues of all resources
/// hold the configured total. The count comes from holder updates, so a
/// burst may pass the limit by the requests still in flight.
bool reject_total_overflow(scheduler_pointer self,
                           const acquire_request& request,
                           reply_sink_ptr& sink) {
  auto& state = self->state;
  auto limit = config(self).max_queue_total;
  if (request.wait_ms <= 0 || state.total_waiting < limit)
    return false;
  auto it = state.resources.find(request.key);
  if (it == state.resources.end()
      || (it->second.holder.empty() && it->second.waiting == 0)
      || it->second.holder.owner == request.owner)
    return false;

  auto message = "total queue limit of " + std::to_string(limit)
                 + " waiting requests reached";
  sink->deliver(make_error_reply(lock_errc::queue_full, message));
  lock_event event;
  event.type = event_type::queue_overflow;
  event.record = describe_request(request);
  event.timestamp_ms = now_ms(self);
  event.reason = message;
  caf::anon_send(state.context->broker, std::move(event));
  return true;
}

void remember_expired(scheduler_pointer self, const std::string& tenant,
                      const std::string& lock_id) {
  auto& state = self->state;
  if (!state.expired_ids.emplace(lock_id, tenant).second)
    return;
  state.expired_order.push_back(lock_id);
  if (state.expired_order.size() > expired_ids_capacity) {
    state.expired_ids.erase(state.expired_order.front());
    state.expired_order.pop_front();
  }
}

void apply_update(scheduler_pointer self, holder_update& update) {
  auto& state = self->state;
  auto it = state.resources.find(update.key);
  if (it == state.resources.end())
    return;
  auto& entry = it->second;
  state.total_waiting = state.total_waiting - entry.waiting + update.waiting;
  entry.waiting = update.waiting;
  entry.depth_by_priority = std::move(update.depth_by_priority);

  // An update from before an activation or bulk release keeps the state
  // the scheduler already shows.
  if (!entry.expected_lock_id.empty()) {
    bool shows_lock = update.holder.lock_id == entry.expected_lock_id;
    if (shows_lock != entry.expect_held)
      return;
    entry.expected_lock_id.clear();
  }

  if (!update.previous_lock_id.empty()) {
    state.lock_index.erase(update.previous_lock_id);
    if (update.previous_expired)
      remember_expired(self, update.key.tenant, update.previous_lock_id);
  }
  if (!update.holder.empty()) {
    state.lock_index[update.holder.lock_id] = update.key;
    entry.max_token = std::max(entry.max_token, update.holder.token);
    if (update.waited_ms >= 0)
      record_grant(self, update.key.tenant, update.waited_ms);
  }
  entry.holder = std::move(update.holder);
}

void retire(scheduler_pointer self, const resource_key& key,
            uint64_t last_token, uint64_t handled) {
  auto& state = self->state;
  auto it = state.resources.find(key);
  if (it == state.resources.end())
    return;
  auto& entry = it->second;

  // Requests still in the actor's mailbox keep it alive; it reports idle
  // again once it has handled them and stayed idle.
  if (entry.routed != handled || !entry.holder.empty() || entry.waiting != 0)
    return;
  state.last_tokens[key] = last_token;
  state.resource_by_actor.erase(entry.actor.address());
  self->unlink_from(entry.actor);
  self->send_exit(entry.actor, caf::exit_reason::user_shutdown);
  state.resources.erase(it);
}

/// Sums the replies of all lock actors asked to release an owner, plus the
/// commit of the owner's closed mark.
class owner_release_sink : public reply_sink {
public:
  owner_release_sink(size_t expected, reply_sink_ptr target)
    : remaining_(expected), target_(std::move(target)) {
    // Nothing else to do.
  }

  void deliver(lock_reply reply) override {
    if (!reply.ok()) {
      std::lock_guard<std::mutex> guard{mutex_};
      if (first_error_.ok())
        first_error_ = std::move(reply);
    } else {
      released_ += reply.released;
    }
    if (--remaining_ != 0)
      return;
    if (!first_error_.ok()) {
      target_->deliver(std::move(first_error_));
      return;
    }
    lock_reply result;
    result.released = released_.load();
    target_->deliver(std::move(result));
  }

private:
  std::atomic<size_t> remaining_;
  std::atomic<uint32_t> released_{0};
  std::mutex mutex_;
  lock_reply first_error_;
  reply_sink_ptr target_;
};

/// Persists the closed mark of an owner, or its removal.
void save_owner(scheduler_pointer self, const std::string& tenant,
                const std::string& owner, bool closed, reply_sink_ptr sink) {
  store_mutation mutation;
  mutation.action = closed ? store_mutation::kind::close_owner
                           : store_mutation::kind::reopen_owner;
  mutation.record.key.tenant = tenant;
  mutation.record.owner = owner;
  self->state.context->store->commit(
    {std::move(mutation)},
    [sink = std::move(sink)](bool ok, const std::string& reason) {
      if (ok)
        sink->deliver(lock_reply{});
      else
        sink->deliver(make_error_reply(lock_errc::unavailable,
                                       "storage commit failed: " + reason));
    });
}

void release_owner(scheduler_pointer self, release_owner_request& request,
                   reply_sink_ptr& sink) {
  auto& state = self->state;

  // Closing first rejects every later request of the owner; requests the
  // lock actors have already queued are cancelled by the release below.
  state.closed_owners.emplace(request.tenant, request.owner);
  cancel_owner_tickets(self, request.tenant, request.owner);
  abort_owner_bulks(self, request.tenant, request.owner);

  std::vector<resource_entry*> targets;
  for (auto& [key, entry] : state.resources)
    if (key.tenant == request.tenant)
      targets.push_back(&entry);
  auto collector = std::make_shared<owner_release_sink>(targets.size() + 1,
                                                        std::move(sink));
  for (auto* entry : targets)
    send_to_resource(self, *entry, request, reply_sink_ptr{collector});
  save_owner(self, request.tenant, request.owner, true, collector);
}

void reopen_owner(scheduler_pointer self, reopen_owner_request& request,
                  reply_sink_ptr& sink) {
  self->state.closed_owners.erase({request.tenant, request.owner});
  save_owner(self, request.tenant, request.owner, false, std::move(sink));
}

void get_lock(scheduler_pointer self, const get_request& request,
              reply_sink_ptr& sink) {
  auto& resources = self->state.resources;
  auto it = resources.find(request.key);
  if (it == resources.end() || it->second.holder.empty()) {
    sink->deliver(make_error_reply(lock_errc::not_found,
                                   "no lock is held on "
                                     + to_string(request.key)));
    return;
  }
  auto reply = make_lock_reply(without_lock_id(it->second.holder));
  reply.waiting = it->second.waiting;
  sink->deliver(std::move(reply));
}

bool matches(const list_request& request, const lock_record& record) {
  if (record.key.tenant != request.tenant)
    return false;
  if (!request.project.empty() && record.key.project != request.project)
    return false;
  if (!request.workspace.empty() && record.key.workspace != request.workspace)
    return false;
  if (!request.owner.empty() && record.owner != request.owner)
    return false;
  if (request.meta_key.empty())
    return true;
  auto value = record.metadata.find(request.meta_key);
  if (value == record.metadata.end())
    return false;
  return request.meta_value.empty() || value->second == request.meta_value;
}

void sort_by_key(std::vector<lock_record>& records) {
  std::sort(records.begin(), records.end(),
            [](const lock_record& x, const lock_record& y) {
              return x.key < y.key;
            });
}

void list_locks(scheduler_pointer self, const list_request& request,
                reply_sink_ptr& sink) {
  lock_reply reply;
  for (auto& [key, entry] : self->state.resources)
    if (!entry.holder.empty() && matches(request, entry.holder))
      reply.locks.push_back(without_lock_id(entry.holder));
  sort_by_key(reply.locks);
  sink->deliver(std::move(reply));
}

void report_stats(scheduler_pointer self, const stats_request& request,
                  reply_sink_ptr& sink) {
  auto& state = self->state;
  lock_reply reply;
  auto& stats = reply.stats;
  for (auto& [key, entry] : state.resources) {
    if (key.tenant != request.tenant)
      continue;
    for (size_t i = 0;
         i < entry.depth_by_priority.size() && i < priority_levels; ++i)
      stats.depth_by_priority[i] += entry.depth_by_priority[i];
    stats.total_depth += entry.waiting;
    if (!entry.holder.empty())
      reply.locks.push_back(without_lock_id(entry.holder));
  }
  stats.active_locks = static_cast<uint32_t>(reply.locks.size());
  sort_by_key(reply.locks);

  auto history = state.grants.find(request.tenant);
  if (history != state.grants.end()) {
    auto& grants = history->second;
    auto horizon = now_ms(self) - rate_window_ms;
    while (!grants.recent_times.empty()
           && grants.recent_times.front() < horizon)
      grants.recent_times.pop_front();
    stats.total_grants = grants.total;
    stats.grants_per_second = static_cast<double>(grants.recent_times.size())
                              / (rate_window_ms / 1000.0);
    if (!grants.recent_waits.empty()) {
      std::vector<int64_t> waits(grants.recent_waits.begin(),
                                 grants.recent_waits.end());
      double sum = 0;
      for (auto wait : waits)
        sum += static_cast<double>(wait);
      stats.average_wait_ms = sum / static_cast<double>(waits.size());
      std::sort(waits.begin(), waits.end());
      auto index = (waits.size() * 99) / 100;
      stats.p99_wait_ms = waits[std::min(index, waits.size() - 1)];
    }
  }
  sink->deliver(std::move(reply));
}

/// Discards the reply of a release the service makes on its own.
class discard_sink : public reply_sink {
public:
  void deliver(lock_reply) override {
    // No client waits for this reply.
  }
};

/// Hands a detection request to the deadlock detector.
void detect(scheduler_pointer self, detect_request& request,
            reply_sink_ptr& sink) {
  auto& detector = self->state.context->detector;
  if (!detector) {
    sink->deliver(make_error_reply(lock_errc::invalid_request,
                                   "deadlock detection is off on this "
                                   "service (deadlock.enabled: false)"));
    return;
  }
  self->send(detector, std::move(request), std::move(sink));
}

/// Routes a victim's failure to its lock actor. A resource without a lock
/// actor has no waiter left to fail.
void route_fail_waiter(scheduler_pointer self, fail_waiter& order) {
  auto& state = self->state;
  auto it = state.resources.find(order.key);
  if (it != state.resources.end()) {
    send_to_resource(self, it->second, std::move(order));
    return;
  }
  if (order.deadlock_id != 0 && state.context->detector)
    self->send(state.context->detector, victim_done_atom::value,
               order.deadlock_id, false);
}

/// Releases every lock of a deadlock victim without closing its owner.
void release_victim_locks(scheduler_pointer self, const std::string& tenant,
                          const std::string& owner) {
  release_owner_request request{tenant, owner};
  for (auto& [key, entry] : self->state.resources)
    if (key.tenant == tenant && entry.holder.owner == owner)
      send_to_resource(self, entry, request,
                       reply_sink_ptr{std::make_shared<discard_sink>()});
}

void recover(scheduler_pointer self, recovered_state& recovered) {
  auto& state = self->state;
  state.last_tokens = std::move(recovered.token_counters);
  state.closed_owners.insert(recovered.closed_owners.begin(),
                             recovered.closed_owners.end());

  // One holder per resource; should storage ever contain two, the newer
  // grant (higher token) wins and the other is dropped from memory.
  std::unordered_map<resource_key, lock_record> holders;
  for (auto& record : recovered.locks) {
    auto& current = holders[record.key];
    if (!current.empty()) {
      logger("engine")->warn("storage has two locks on {}: keeping token {}",
                             to_string(record.key),
                             std::max(current.token, record.token));
      if (current.token > record.token)
        continue;
    }
    current = std::move(record);
  }
  for (auto& [key, holder] : holders) {
    auto& token = state.last_tokens[key];
    token = std::max(token, holder.token);
    spawn_resource(self, key, std::move(holder));
  }
  logger("engine")->info("scheduler recovered {} locks on {} resources and "
                         "{} closed owners",
                         recovered.locks.size(), holders.size(),
                         recovered.closed_owners.size());
}

void handle_failed_actor(scheduler_pointer self, const caf::exit_msg& message) {
  auto& state = self->state;
  auto it = state.resource_by_actor.find(message.source);
  if (it == state.resource_by_actor.end()) {
    self->quit(message.reason);
    return;
  }

  // A replacement actor takes over the holder and continues above every
  // token seen. NOTE: requests queued at the failed actor are lost; their
  // reply sinks go with it, and the NATS sinks then reply `unavailable`.
  // Their waits stay in the deadlock detector's graph, where a cycle
  // through them ends as `dissolved`.
  auto key = it->second;
  state.resource_by_actor.erase(it);
  logger("engine")->error("lock actor of {} failed: {}; replacing it",
                          to_string(key),
                          self->system().render(message.reason));
  auto entry = state.resources.find(key);
  if (entry == state.resources.end())
    return;
  auto holder = std::move(entry->second.holder);
  state.last_tokens[key] = entry->second.max_token;
  state.total_waiting -= entry->second.waiting;
  state.lock_index.erase(holder.lock_id);
  state.resources.erase(entry);
  spawn_resource(self, key, std::move(holder));
}

scheduler_actor::behavior_type
scheduler_impl(scheduler_pointer self,
               std::shared_ptr<const lock_actor_context> context,
               recovered_state recovered) {
  self->state.context = std::move(context);
  recover(self, recovered);
  self->set_exit_handler([self](const caf::exit_msg& message) {
    handle_failed_actor(self, message);
  });

  return {
    [self](acquire_request& request, reply_sink_ptr& sink) {
      if (reject_invalid(self, request, sink)
          || reject_closed_owner(self, request.key.tenant, request.owner, sink)
          || reject_total_overflow(self, request, sink))
        return;
      auto& entry = resource_of(self, request.key);
      send_to_resource(self, entry, std::move(request), std::move(sink));
    },
    [self](release_request& request, reply_sink_ptr& sink) {
      if (reject_invalid(self, request, sink))
        return;
      if (auto key = find_lock(self, request.tenant, request.lock_id, sink))
        send_to_resource(self, resource_of(self, *key), std::move(request),
                         std::move(sink));
    },
    [self](renew_request& request, reply_sink_ptr& sink) {
      if (reject_invalid(self, request, sink))
        return;
      if (auto key = find_lock(self, request.tenant, request.lock_id, sink))
        send_to_resource(self, resource_of(self, *key), std::move(request),
                         std::move(sink));
    },
    [self](get_request& request, reply_sink_ptr& sink) {
      if (!reject_invalid(self, request, sink))
        get_lock(self, request, sink);
    },
    [self](list_request& request, reply_sink_ptr& sink) {
      if (!reject_invalid(self, request, sink))
        list_locks(self, request, sink);
    },
    [self](release_owner_request& request, reply_sink_ptr& sink) {
      if (!reject_invalid(self, request, sink))
        release_owner(self, request, sink);
    },
    [self](acquire_async_request& request, reply_sink_ptr& reply,
           reply_sink_ptr& notify) {
      if (reject_invalid(self, request, reply)
          || reject_closed_owner(self, request.request.key.tenant,
                                 request.request.owner, reply)
          || reject_total_overflow(self, request.request, reply))
        return;
      acquire_async(self, request, reply, notify);
    },
    [self](ticket_request& request, reply_sink_ptr& sink) {
      if (!reject_invalid(self, request, sink))
        get_ticket(self, request, sink);
    },
    [self](cancel_request& request, reply_sink_ptr& sink) {
      if (!reject_invalid(self, request, sink))
        cancel_ticket(self, request, sink);
    },
    [self](bulk_acquire_request& request, reply_sink_ptr& sink) {
      if (reject_invalid(self, request, sink))
        return;
      for (auto& item : request.locks)
        if (reject_closed_owner(self, request.tenant, item.owner, sink))
          return;
      acquire_bulk(self, request, sink);
    },
    [self](bulk_release_request& request, reply_sink_ptr& sink) {
      if (!reject_invalid(self, request, sink))
        release_bulk(self, request, sink);
    },
    [self](reopen_owner_request& request, reply_sink_ptr& sink) {
      if (!reject_invalid(self, request, sink))
        reopen_owner(self, request, sink);
    },
    [self](stats_request& request, reply_sink_ptr& sink) {
      if (!reject_invalid(self, request, sink))
        report_stats(self, request, sink);
    },
    [self](holder_update& update) { apply_update(self, update); },
    [self](ticket_queued_atom, std::string& ticket_id, uint32_t position) {
      ticket_queued(self, ticket_id, position);
    },
    [self](ticket_done_atom, std::string& ticket_id, lock_reply& reply) {
      ticket_done(self, ticket_id, reply);
    },
    [self](bulk_step_atom, uint64_t bulk_id, uint64_t index,
           lock_reply& reply) { bulk_step(self, bulk_id, index, reply); },
    [self](bulk_commit_atom, uint64_t bulk_id, bool ok, std::string& reason) {
      bulk_committed(self, bulk_id, ok, reason);
    },
    [self](idle_atom, resource_key& key, uint64_t last_token,
           uint64_t handled) { retire(self, key, last_token, handled); },
    [self](detect_request& request, reply_sink_ptr& sink) {
      if (!reject_invalid(self, request, sink))
        detect(self, request, sink);
    },
    [self](fail_waiter& order) { route_fail_waiter(self, order); },
    [self](release_locks_atom, std::string& tenant, std::string& owner) {
      release_victim_locks(self, tenant, owner);
    },
  };
}

} // namespace

int64_t now_ms(scheduler_pointer self) {
  return self->state.context->config->now_ms();
}

resource_entry& resource_of(scheduler_pointer self, const resource_key& key) {
  auto& resources = self->state.resources;
  auto it = resources.find(key);
  if (it != resources.end())
    return it->second;
  return spawn_resource(self, key, {});
}

bool reject_closed_owner(scheduler_pointer self, const std::string& tenant,
                         const std::string& owner, reply_sink_ptr& sink) {
  if (self->state.closed_owners.count({tenant, owner}) == 0)
    return false;
  sink->deliver(make_error_reply(lock_errc::owner_closed,
                                 "owner '" + owner
                                   + "' is closed; reopen it to take locks",
                                 "owner"));
  return true;
}

void release_quietly(scheduler_pointer self, const lock_record& record) {
  auto it = self->state.lock_index.find(record.lock_id);
  if (it == self->state.lock_index.end())
    return;
  release_request request{record.key.tenant, record.lock_id, record.token};
  send_to_resource(self, resource_of(self, it->second), std::move(request),
                   reply_sink_ptr{std::make_shared<discard_sink>()});
}

void record_grant(scheduler_pointer self, const std::string& tenant,
                  int64_t waited_ms) {
  auto& history = self->state.grants[tenant];
  ++history.total;
  auto now = now_ms(self);
  history.recent_times.push_back(now);
  while (history.recent_times.front() < now - rate_window_ms)
    history.recent_times.pop_front();
  history.recent_waits.push_back(waited_ms);
  if (history.recent_waits.size() > wait_samples_capacity)
    history.recent_waits.pop_front();
}

scheduler_actor spawn_scheduler(caf::actor_system& system,
                                std::shared_ptr<const lock_actor_context> context,
                                recovered_state recovered) {
  return system.spawn(scheduler_impl, std::move(context),
                      std::move(recovered));
}

} // namespace holdfast
