#pragma once

#include <cstdint>
#include <mutex>
#include <set>
#include <utility>
#include <string>
#include <unordered_map>

#include "actors/store_backend.hpp"

namespace holdfast {

/// Store that keeps its state in memory only, for tests. `commit` applies a
/// batch and runs its callback at once, on the caller's thread.
class memory_store final : public store_backend {
public:
  memory_store() = default;

  /// Starts from `initial`, as if it had been committed before.
  explicit memory_store(recovered_state initial);

  recovered_state load() override;

  void commit(store_batch batch, commit_callback done) override;

  void close() override;

  std::string name() const override;

  /// Number of batches applied so far.
  uint64_t batches() const;

private:
  void apply(store_mutation& mutation);

  mutable std::mutex mutex_;
  std::unordered_map<std::string, lock_record> locks_;
  std::unordered_map<resource_key, uint64_t> token_counters_;
  std::set<std::pair<std::string, std::string>> closed_owners_;
  uint64_t batches_ = 0;
  bool closed_ = false;
};

} // namespace holdfast
