#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "messages/lock_record.hpp"

namespace holdfast {

/// One change to durable state. A grant writes the lock record together with
/// the resource's token counter, so that a recovered counter is never below
/// a recovered token.
struct store_mutation {
  enum class kind : uint8_t {
    /// Insert or overwrite `record` (grant, renew, re-entrant acquire).
    put_lock,
    /// Remove the lock `record.lock_id` (release, expiry).
    erase_lock,
    /// Mark the owner `record.owner` of tenant `record.key.tenant` closed.
    close_owner,
    /// Remove the closed mark of that owner.
    reopen_owner,
  };

  kind action = kind::put_lock;
  lock_record record;
  /// Highest fencing token issued for `record.key`; written on every put.
  uint64_t token_counter = 0;
};

using store_batch = std::vector<store_mutation>;

/// Called once a batch is durable (`ok`) or failed (`!ok`, with a reason).
/// It may run on a storage thread, so it must be thread-safe and must not
/// block.
using commit_callback = std::function<void(bool ok, const std::string& reason)>;

/// Everything the service needs at start to continue where it stopped.
struct recovered_state {
  std::vector<lock_record> locks;
  std::unordered_map<resource_key, uint64_t> token_counters;
  /// Closed owners as (tenant, owner).
  std::vector<std::pair<std::string, std::string>> closed_owners;
};

/// Persistence of held locks and token counters.
///
/// `commit` is asynchronous: batches are applied in submission order, and a
/// callback runs only after its batch and every earlier batch are durable.
/// Backends may combine many batches into one disk sync (group commit).
class store_backend {
public:
  virtual ~store_backend();

  /// Reads all durable state. Called once, before the first commit.
  virtual recovered_state load() = 0;

  virtual void commit(store_batch batch, commit_callback done) = 0;

  /// Waits until every submitted batch has completed, then stops accepting
  /// new ones. Idempotent.
  virtual void close() = 0;

  /// Short name for logs, such as "lmdb" or "memory".
  virtual std::string name() const = 0;
};

using store_backend_ptr = std::unique_ptr<store_backend>;

} // namespace holdfast
