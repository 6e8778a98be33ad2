#include "actors/resource_state.hpp"

namespace holdfast {

resource_state::resource_state(resource_key key, uint64_t last_token,
                               int64_t default_ttl_ms,
                               lock_id_generator make_lock_id)
  : key_(std::move(key)),
    last_token_(last_token),
    default_ttl_ms_(default_ttl_ms),
    make_lock_id_(std::move(make_lock_id)) {
  // Nothing else to do.
}

void resource_state::restore_holder(lock_record record) {
  if (record.token > last_token_)
    last_token_ = record.token;
  holder_ = std::move(record);
}

int64_t resource_state::ttl_of(const acquire_request& request) const noexcept {
  return request.ttl_ms > 0 ? request.ttl_ms : default_ttl_ms_;
}

lock_record resource_state::grant(const acquire_request& request,
                                  int64_t now_ms) {
  lock_record record;
  record.lock_id = make_lock_id_();
  record.key = key_;
  record.owner = request.owner;
  record.user = request.user.empty() ? request.owner : request.user;
  record.level = request.level;
  record.token = ++last_token_;
  record.acquired_at_ms = now_ms;
  record.ttl_ms = ttl_of(request);
  record.expires_at_ms = now_ms + record.ttl_ms;
  record.metadata = request.metadata;
  holder_ = record;
  return record;
}

resource_state::acquire_outcome
resource_state::acquire(const acquire_request& request, uint64_t waiter_id,
                        int64_t now_ms) {
  // A holder whose lease ran out no longer blocks anyone, even before its
  // expiry timer fires. The caller learns of it through `expire_if_due`.
  if (holder_ && holder_->owner == request.owner
      && now_ms < holder_->expires_at_ms) {
    holder_->ttl_ms = ttl_of(request);
    holder_->expires_at_ms = now_ms + holder_->ttl_ms;
    return {acquire_status::reentered, *holder_};
  }

  if (!holder_ && queue_.empty())
    return {acquire_status::granted, grant(request, now_ms)};

  lock_record blocking = holder_ ? *holder_ : lock_record{};
  if (request.wait_ms <= 0)
    return {acquire_status::conflict, std::move(blocking)};

  queue_key position{-static_cast<int>(request.level), ++arrivals_};
  queue_.emplace(position, waiter{waiter_id, request, now_ms});
  positions_.emplace(waiter_id, position);
  return {acquire_status::queued, std::move(blocking)};
}

lock_errc resource_state::check_holder(const std::string& lock_id,
                                       uint64_t token, int64_t now_ms) const {
  if (!holder_ || holder_->lock_id != lock_id)
    return lock_errc::not_found;
  if (token != 0 && token != holder_->token)
    return lock_errc::not_owner;
  if (now_ms >= holder_->expires_at_ms)
    return lock_errc::lease_expired;
  return lock_errc::none;
}

resource_state::transfer_outcome
resource_state::release(const std::string& lock_id, uint64_t token,
                        int64_t now_ms) {
  transfer_outcome outcome;
  outcome.error = check_holder(lock_id, token, now_ms);

  // An expired lease ends here as well, so the caller reports the expiry.
  if (outcome.error == lock_errc::none
      || outcome.error == lock_errc::lease_expired)
    end_holder(outcome, now_ms);
  return outcome;
}

std::pair<lock_errc, lock_record>
resource_state::renew(const std::string& lock_id, uint64_t token,
                      int64_t ttl_ms, int64_t now_ms,
                      transfer_outcome& expiry) {
  auto error = check_holder(lock_id, token, now_ms);
  if (error == lock_errc::lease_expired) {
    end_holder(expiry, now_ms);
    return {error, expiry.ended};
  }
  if (error != lock_errc::none)
    return {error, {}};
  if (ttl_ms > 0)
    holder_->ttl_ms = ttl_ms;
  holder_->expires_at_ms = now_ms + holder_->ttl_ms;
  return {lock_errc::none, *holder_};
}

resource_state::transfer_outcome
resource_state::expire_if_due(int64_t now_ms) {
  transfer_outcome outcome;
  if (holder_ && now_ms >= holder_->expires_at_ms)
    end_holder(outcome, now_ms);
  return outcome;
}

std::optional<resource_state::waiter>
resource_state::take_waiter(std::map<queue_key, waiter>::iterator it) {
  waiter result = std::move(it->second);
  positions_.erase(result.id);
  queue_.erase(it);
  return result;
}

std::optional<resource_state::waiter>
resource_state::remove_waiter(uint64_t waiter_id) {
  auto position = positions_.find(waiter_id);
  if (position == positions_.end())
    return std::nullopt;
  return take_waiter(queue_.find(position->second));
}

resource_state::transfer_outcome
resource_state::remove_owner(const std::string& owner, int64_t now_ms) {
  transfer_outcome outcome;
  for (auto it = queue_.begin(); it != queue_.end();) {
    auto next = std::next(it);
    if (it->second.request.owner == owner)
      outcome.cancelled.push_back(*take_waiter(it));
    it = next;
  }
  if (holder_ && holder_->owner == owner)
    end_holder(outcome, now_ms);
  return outcome;
}

resource_state::transfer_outcome resource_state::revoke(uint64_t token,
                                                        int64_t now_ms) {
  transfer_outcome outcome;
  if (holder_ && holder_->token == token)
    end_holder(outcome, now_ms);
  return outcome;
}

void resource_state::end_holder(transfer_outcome& outcome, int64_t now_ms) {
  outcome.ended = std::move(*holder_);
  holder_.reset();
  hand_off(outcome, now_ms);
}

void resource_state::hand_off(transfer_outcome& outcome, int64_t now_ms) {
  if (queue_.empty())
    return;

  // The first waiter gets a new lock. Other waiters of the same owner share
  // it, as a re-entrant acquire would.
  auto first = take_waiter(queue_.begin());
  auto record = grant(first->request, now_ms);
  outcome.handoffs.push_back({first->id, record});
  for (auto it = queue_.begin(); it != queue_.end();) {
    auto next = std::next(it);
    if (it->second.request.owner == record.owner)
      outcome.handoffs.push_back({take_waiter(it)->id, record});
    it = next;
  }
}

} // namespace holdfast
