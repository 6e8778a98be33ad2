#include "actors/memory_store.hpp"

#include <algorithm>
#include <utility>

#include "actors/store_factory.hpp"

namespace holdfast {

memory_store::memory_store(recovered_state initial)
    : token_counters_(std::move(initial.token_counters)),
      closed_owners_(initial.closed_owners.begin(),
                     initial.closed_owners.end()) {
  for (auto& record : initial.locks) {
    auto id = record.lock_id;
    locks_.emplace(std::move(id), std::move(record));
  }
}

recovered_state memory_store::load() {
  std::lock_guard<std::mutex> guard{mutex_};
  recovered_state result;
  result.locks.reserve(locks_.size());
  for (const auto& entry : locks_)
    result.locks.push_back(entry.second);
  result.token_counters = token_counters_;
  result.closed_owners.assign(closed_owners_.begin(), closed_owners_.end());
  return result;
}

void memory_store::commit(store_batch batch, commit_callback done) {
  bool ok = true;
  std::string reason;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    if (closed_) {
      ok = false;
      reason = "store is closed";
    } else if (auto invalid = find_invalid_mutation(batch); !invalid.empty()) {
      ok = false;
      reason = std::move(invalid);
    } else {
      for (auto& mutation : batch)
        apply(mutation);
      ++batches_;
    }
  }
  // The callback runs without the lock so that it may commit again.
  if (done)
    done(ok, reason);
}

void memory_store::apply(store_mutation& mutation) {
  auto owner = std::make_pair(mutation.record.key.tenant,
                              mutation.record.owner);
  if (mutation.action == store_mutation::kind::close_owner) {
    closed_owners_.insert(std::move(owner));
    return;
  }
  if (mutation.action == store_mutation::kind::reopen_owner) {
    closed_owners_.erase(owner);
    return;
  }

  auto id = mutation.record.lock_id;
  if (mutation.action == store_mutation::kind::erase_lock) {
    locks_.erase(id);
    return;
  }
  auto& counter = token_counters_[mutation.record.key];
  counter = std::max(counter, mutation.token_counter);
  locks_.insert_or_assign(std::move(id), std::move(mutation.record));
}

void memory_store::close() {
  std::lock_guard<std::mutex> guard{mutex_};
  closed_ = true;
}

std::string memory_store::name() const {
  return "memory";
}

uint64_t memory_store::batches() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return batches_;
}

} // namespace holdfast
