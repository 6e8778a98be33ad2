#pragma once

#include <cstdint>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "messages/lock_record.hpp"

namespace holdfast {

/// Lock actor to scheduler: the holder of a resource changed or its lease
/// moved. An empty `holder` means the resource is free. The scheduler
/// serves get, list and lock-id routing from these updates.
struct holder_update {
  resource_key key;
  lock_record holder;
  /// Lock id of the previous holder, to drop from the routing index.
  std::string previous_lock_id;
  /// True when the previous holder lost the lock by lease expiry, so that
  /// a late release or renew with its id gets `lease_expired`.
  bool previous_expired = false;
  uint32_t waiting = 0;
  /// Waiters by requested priority, very_low first.
  std::vector<uint32_t> depth_by_priority;
  /// For a new grant: milliseconds its request waited (0 when granted at
  /// once); -1 when `holder` is not a new grant.
  int64_t waited_ms = -1;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, holder_update& x) {
  return f(caf::meta::type_name("holder_update"), x.key, x.holder,
           x.previous_lock_id, x.previous_expired, x.waiting,
           x.depth_by_priority, x.waited_ms);
}

} // namespace holdfast
