#include "actors/resource_state.hpp"

namespace holdfast {

resource_state::resource_state(resource_key key, uint64_t last_token,
                               int64_t default_ttl_ms,
                               lock_id_generator make_lock_id,
                               priority_calculator_ptr calculator)
  : key_(std::move(key)),
    last_token_(last_token),
    default_ttl_ms_(default_ttl_ms),
    make_lock_id_(std::move(make_lock_id)),
    calculator_(std::move(calculator)) {
  // Nothing else to do.
}

void resource_state::restore_holder(lock_record record) {
  if (record.token > last_token_)
    last_token_ = record.token;
  holder_ = std::move(record);
  reserved_by_ = 0;
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
  reserved_by_ = 0;
  return record;
}

double resource_state::rank_of(const waiter& entry, int64_t now_ms) const {
  if (!calculator_)
    return static_cast<double>(entry.request.level);
  return calculator_->effective_priority(entry.request,
                                         now_ms - entry.enqueued_at_ms);
}

size_t resource_state::next_waiter(int64_t now_ms) const {
  // The queue is in arrival order, so the first of equal ranks wins.
  size_t best = 0;
  double best_rank = rank_of(queue_.front(), now_ms);
  for (size_t i = 1; i < queue_.size(); ++i) {
    auto rank = rank_of(queue_[i], now_ms);
    if (rank > best_rank) {
      best = i;
      best_rank = rank;
    }
  }
  return best;
}

uint32_t resource_state::position_of(const waiter& entry,
                                     int64_t now_ms) const {
  auto rank = rank_of(entry, now_ms);
  uint32_t ahead = 0;
  for (auto& other : queue_) {
    if (other.id == entry.id)
      continue;
    auto other_rank = rank_of(other, now_ms);
    if (other_rank > rank || (other_rank == rank && other.arrival < entry.arrival))
      ++ahead;
  }
  return ahead;
}

resource_state::acquire_outcome
resource_state::enqueue(const acquire_request& request, uint64_t bulk_id,
                        uint64_t waiter_id, int64_t now_ms) {
  acquire_outcome outcome;
  if (holder_ && reserved_by_ == 0)
    outcome.record = *holder_;
  outcome.reserved = holder_ && reserved_by_ != 0;
  if (request.wait_ms <= 0) {
    outcome.status = acquire_status::conflict;
    return outcome;
  }
  queue_.push_back(waiter{waiter_id, request, now_ms, ++arrivals_, bulk_id});
  outcome.status = acquire_status::queued;
  outcome.position = position_of(queue_.back(), now_ms);
  return outcome;
}

resource_state::acquire_outcome
resource_state::acquire(const acquire_request& request, uint64_t waiter_id,
                        int64_t now_ms) {
  // A holder whose lease ran out no longer counts, even before its expiry
  // timer fires. The caller learns of it through `expire_if_due`.
  if (holder_ && reserved_by_ == 0 && holder_->owner == request.owner
      && now_ms < holder_->expires_at_ms) {
    holder_->ttl_ms = ttl_of(request);
    holder_->expires_at_ms = now_ms + holder_->ttl_ms;
    return {acquire_status::reentered, *holder_};
  }

  if (!holder_ && queue_.empty())
    return {acquire_status::granted, grant(request, now_ms)};
  return enqueue(request, 0, waiter_id, now_ms);
}

resource_state::acquire_outcome
resource_state::reserve(const acquire_request& request, uint64_t bulk_id,
                        uint64_t waiter_id, int64_t now_ms) {
  if (holder_ && reserved_by_ == 0 && holder_->owner == request.owner
      && now_ms < holder_->expires_at_ms)
    return {acquire_status::reentered, *holder_};

  if (!holder_ && queue_.empty()) {
    auto record = grant(request, now_ms);
    reserved_by_ = bulk_id;
    return {acquire_status::granted, std::move(record)};
  }
  return enqueue(request, bulk_id, waiter_id, now_ms);
}

bool resource_state::activate(uint64_t bulk_id, lock_record record) {
  if (!holder_ || reserved_by_ != bulk_id || bulk_id == 0)
    return false;
  holder_ = std::move(record);
  reserved_by_ = 0;
  return true;
}

resource_state::transfer_outcome resource_state::unreserve(uint64_t bulk_id,
                                                           int64_t now_ms) {
  transfer_outcome outcome;
  if (bulk_id == 0)
    return outcome;
  for (size_t i = 0; i < queue_.size(); ++i) {
    if (queue_[i].bulk_id == bulk_id) {
      outcome.cancelled.push_back(take_waiter(i));
      break;
    }
  }

  // The reservation was never visible as a lock, so its end is reported
  // through `handoffs` only.
  if (holder_ && reserved_by_ == bulk_id) {
    holder_.reset();
    reserved_by_ = 0;
    hand_off(outcome, now_ms);
  }
  return outcome;
}

lock_errc resource_state::check_holder(const std::string& lock_id,
                                       uint64_t token, int64_t now_ms) const {
  if (!holder_ || reserved_by_ != 0 || holder_->lock_id != lock_id)
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
  if (holder_ && reserved_by_ == 0 && now_ms >= holder_->expires_at_ms)
    end_holder(outcome, now_ms);
  return outcome;
}

resource_state::waiter resource_state::take_waiter(size_t index) {
  waiter result = std::move(queue_[index]);
  queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(index));
  return result;
}

std::optional<resource_state::waiter>
resource_state::remove_waiter(uint64_t waiter_id) {
  for (size_t i = 0; i < queue_.size(); ++i)
    if (queue_[i].id == waiter_id)
      return take_waiter(i);
  return std::nullopt;
}

resource_state::transfer_outcome
resource_state::remove_owner(const std::string& owner, int64_t now_ms) {
  transfer_outcome outcome;
  for (size_t i = 0; i < queue_.size();) {
    if (queue_[i].request.owner == owner && queue_[i].bulk_id == 0)
      outcome.cancelled.push_back(take_waiter(i));
    else
      ++i;
  }
  if (holder_ && reserved_by_ == 0 && holder_->owner == owner)
    end_holder(outcome, now_ms);
  return outcome;
}

resource_state::transfer_outcome resource_state::revoke(uint64_t token,
                                                        int64_t now_ms) {
  transfer_outcome outcome;
  if (holder_ && reserved_by_ == 0 && holder_->token == token)
    end_holder(outcome, now_ms);
  return outcome;
}

std::vector<uint32_t> resource_state::depth_by_priority() const {
  std::vector<uint32_t> result(static_cast<size_t>(priority::critical) + 1, 0);
  for (auto& entry : queue_)
    ++result[static_cast<size_t>(entry.request.level)];
  return result;
}

void resource_state::end_holder(transfer_outcome& outcome, int64_t now_ms) {
  outcome.ended = std::move(*holder_);
  holder_.reset();
  reserved_by_ = 0;
  hand_off(outcome, now_ms);
}

void resource_state::hand_off(transfer_outcome& outcome, int64_t now_ms) {
  if (queue_.empty())
    return;

  auto first = take_waiter(next_waiter(now_ms));
  auto waited_ms = now_ms - first.enqueued_at_ms;
  auto record = grant(first.request, now_ms);
  if (first.bulk_id != 0) {
    reserved_by_ = first.bulk_id;
    outcome.handoffs.push_back({first.id, record, waited_ms, first.bulk_id});
    return;
  }
  outcome.handoffs.push_back({first.id, record, waited_ms, 0});

  // Other plain waiters of the same owner share the lock, as a re-entrant
  // acquire would.
  for (size_t i = 0; i < queue_.size();) {
    if (queue_[i].request.owner == record.owner && queue_[i].bulk_id == 0) {
      auto same = take_waiter(i);
      outcome.handoffs.push_back(
        {same.id, record, now_ms - same.enqueued_at_ms, 0});
    } else {
      ++i;
    }
  }
}

} // namespace holdfast
