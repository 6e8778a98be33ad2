#include "actors/scheduler.hpp"

#include <algorithm>
#include <atomic>
#include <deque>
#include <unordered_map>

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/lock_actor.hpp"
#include "actors/logger.hpp"
#include "actors/scheduler_spawn.hpp"
#include "messages/validation.hpp"

namespace holdfast {

namespace {

/// How many lock ids of expired leases the scheduler remembers, so that a
/// late release or renew gets `lease_expired` instead of `not_found`.
constexpr size_t expired_ids_capacity = 10'000;

struct resource_entry {
  lock_actor actor;
  /// Requests sent to `actor`; compared with its own count on retirement.
  uint64_t routed = 0;
  lock_record holder;
  uint32_t waiting = 0;
  /// Highest token seen in holder updates, so that a replacement actor
  /// continues above it should this one fail.
  uint64_t max_token = 0;
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

  static inline const char* name = "holdfast.scheduler";
};

using scheduler_pointer = scheduler_actor::stateful_pointer<scheduler_state>;

const request_limits& limits(scheduler_pointer self) {
  return self->state.context->config->limits;
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

template <class Request>
void route(scheduler_pointer self, const resource_key& key, Request& request,
           reply_sink_ptr& sink) {
  auto& resources = self->state.resources;
  auto it = resources.find(key);
  auto& entry = it != resources.end() ? it->second
                                      : spawn_resource(self, key, {});
  ++entry.routed;
  self->send(entry.actor, std::move(request), std::move(sink));
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
  auto error = validate(request, limits(self));
  if (error.code == lock_errc::none)
    return false;
  lock_reply reply;
  reply.error = std::move(error);
  sink->deliver(std::move(reply));
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

  if (!update.previous_lock_id.empty()) {
    state.lock_index.erase(update.previous_lock_id);
    if (update.previous_expired)
      remember_expired(self, update.key.tenant, update.previous_lock_id);
  }
  if (!update.holder.empty()) {
    state.lock_index[update.holder.lock_id] = update.key;
    entry.max_token = std::max(entry.max_token, update.holder.token);
  }
  entry.holder = std::move(update.holder);
  entry.waiting = update.waiting;
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

/// Sums the replies of all lock actors asked to release an owner.
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

void release_owner(scheduler_pointer self, release_owner_request& request,
                   reply_sink_ptr& sink) {
  std::vector<resource_entry*> targets;
  for (auto& [key, entry] : self->state.resources)
    if (key.tenant == request.tenant)
      targets.push_back(&entry);
  if (targets.empty()) {
    sink->deliver(lock_reply{});
    return;
  }

  auto collector = std::make_shared<owner_release_sink>(targets.size(),
                                                        std::move(sink));
  for (auto* entry : targets) {
    ++entry->routed;
    self->send(entry->actor, request, reply_sink_ptr{collector});
  }
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

void list_locks(scheduler_pointer self, const list_request& request,
                reply_sink_ptr& sink) {
  lock_reply reply;
  for (auto& [key, entry] : self->state.resources)
    if (!entry.holder.empty() && matches(request, entry.holder))
      reply.locks.push_back(without_lock_id(entry.holder));
  std::sort(reply.locks.begin(), reply.locks.end(),
            [](const lock_record& x, const lock_record& y) {
              return x.key < y.key;
            });
  sink->deliver(std::move(reply));
}

void recover(scheduler_pointer self, recovered_state& recovered) {
  auto& state = self->state;
  state.last_tokens = std::move(recovered.token_counters);

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
  logger("engine")->info("scheduler recovered {} locks on {} resources",
                         recovered.locks.size(), holders.size());
}

scheduler_actor::behavior_type
scheduler_impl(scheduler_pointer self,
               std::shared_ptr<const lock_actor_context> context,
               recovered_state recovered) {
  self->state.context = std::move(context);
  recover(self, recovered);

  self->set_exit_handler([self](const caf::exit_msg& message) {
    auto& state = self->state;
    auto it = state.resource_by_actor.find(message.source);
    if (it == state.resource_by_actor.end()) {
      self->quit(message.reason);
      return;
    }

    // A replacement actor takes over the holder and continues above every
    // token seen. NOTE: requests queued at the failed actor are lost, so
    // their clients run into their own timeouts.
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
    state.lock_index.erase(holder.lock_id);
    state.resources.erase(entry);
    spawn_resource(self, key, std::move(holder));
  });

  return {
    [self](acquire_request& request, reply_sink_ptr& sink) {
      if (reject_invalid(self, request, sink))
        return;
      auto key = request.key;
      route(self, key, request, sink);
    },
    [self](release_request& request, reply_sink_ptr& sink) {
      if (reject_invalid(self, request, sink))
        return;
      if (auto key = find_lock(self, request.tenant, request.lock_id, sink))
        route(self, *key, request, sink);
    },
    [self](renew_request& request, reply_sink_ptr& sink) {
      if (reject_invalid(self, request, sink))
        return;
      if (auto key = find_lock(self, request.tenant, request.lock_id, sink))
        route(self, *key, request, sink);
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
    [self](holder_update& update) { apply_update(self, update); },
    [self](idle_atom, resource_key& key, uint64_t last_token,
           uint64_t handled) { retire(self, key, last_token, handled); },
  };
}

} // namespace

scheduler_actor spawn_scheduler(caf::actor_system& system,
                                std::shared_ptr<const lock_actor_context> context,
                                recovered_state recovered) {
  return system.spawn(scheduler_impl, std::move(context),
                      std::move(recovered));
}

} // namespace holdfast
