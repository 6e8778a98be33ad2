#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include <caf/meta/type_name.hpp>

#include "messages/priority.hpp"

namespace holdfast {

/// Free-form labels attached to a lock by its requester.
using metadata_map = std::map<std::string, std::string>;

/// Identity of one lockable resource.
struct resource_key {
  std::string tenant;
  std::string project;
  std::string workspace;

  friend bool operator==(const resource_key& x, const resource_key& y) {
    return x.tenant == y.tenant && x.project == y.project
           && x.workspace == y.workspace;
  }

  friend bool operator!=(const resource_key& x, const resource_key& y) {
    return !(x == y);
  }

  friend bool operator<(const resource_key& x, const resource_key& y) {
    if (x.tenant != y.tenant)
      return x.tenant < y.tenant;
    if (x.project != y.project)
      return x.project < y.project;
    return x.workspace < y.workspace;
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, resource_key& x) {
  return f(caf::meta::type_name("resource_key"), x.tenant, x.project,
           x.workspace);
}

/// Renders `key` as "tenant/project/workspace" for logs and messages.
std::string to_string(const resource_key& key);

/// A granted lock as the service stores and reports it. Times are
/// milliseconds since the Unix epoch (wall clock).
struct lock_record {
  /// Unguessable nonce that authorizes release and renew. Replies to the
  /// holder carry it, and copies sent to anyone else have it cleared.
  std::string lock_id;
  resource_key key;
  std::string owner;
  std::string user;
  priority level = priority::medium;
  /// Fencing token: strictly increases with every grant of this resource.
  uint64_t token = 0;
  int64_t acquired_at_ms = 0;
  int64_t expires_at_ms = 0;
  int64_t ttl_ms = 0;
  metadata_map metadata;

  /// True for the absent record: every real record names its owner.
  bool empty() const noexcept {
    return owner.empty();
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, lock_record& x) {
  return f(caf::meta::type_name("lock_record"), x.lock_id, x.key, x.owner,
           x.user, x.level, x.token, x.acquired_at_ms, x.expires_at_ms,
           x.ttl_ms, x.metadata);
}

bool operator==(const lock_record& x, const lock_record& y);

/// Returns `record` without its lock id. Everything shown to parties other
/// than the holder (get, list, conflicts, events) goes through this,
/// because the lock id alone authorizes release and renew.
lock_record without_lock_id(lock_record record);

} // namespace holdfast

namespace std {

template <>
struct hash<holdfast::resource_key> {
  size_t operator()(const holdfast::resource_key& key) const noexcept;
};

} // namespace std
