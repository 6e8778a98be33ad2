#pragma once

#include <cstdint>
#include <string>

#include <caf/meta/type_name.hpp>

#include "messages/lock_record.hpp"

namespace holdfast {

/// Requests a lock on one resource. A `wait_ms` of 0 makes it a try-lock
/// that fails at once with `conflict`; a `ttl_ms` of 0 takes the
/// configured default lease.
struct acquire_request {
  resource_key key;
  std::string owner;
  std::string user;
  priority level = priority::medium;
  int64_t wait_ms = 0;
  int64_t ttl_ms = 0;
  metadata_map metadata;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, acquire_request& x) {
  return f(caf::meta::type_name("acquire_request"), x.key, x.owner, x.user,
           x.level, x.wait_ms, x.ttl_ms, x.metadata);
}

/// Releases a held lock. A non-zero `token` must match the grant's token.
struct release_request {
  std::string tenant;
  std::string lock_id;
  uint64_t token = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, release_request& x) {
  return f(caf::meta::type_name("release_request"), x.tenant, x.lock_id,
           x.token);
}

/// Extends the lease of a held lock to `ttl_ms` from now (0: the lock's
/// current TTL). A non-zero `token` must match the grant's token.
struct renew_request {
  std::string tenant;
  std::string lock_id;
  uint64_t token = 0;
  int64_t ttl_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, renew_request& x) {
  return f(caf::meta::type_name("renew_request"), x.tenant, x.lock_id,
           x.token, x.ttl_ms);
}

/// Reads the current holder of one resource.
struct get_request {
  resource_key key;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, get_request& x) {
  return f(caf::meta::type_name("get_request"), x.key);
}

/// Lists held locks of a tenant. Empty filter fields match everything; a
/// metadata filter needs `meta_key` and matches `meta_value` if given.
struct list_request {
  std::string tenant;
  std::string project;
  std::string workspace;
  std::string owner;
  std::string meta_key;
  std::string meta_value;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, list_request& x) {
  return f(caf::meta::type_name("list_request"), x.tenant, x.project,
           x.workspace, x.owner, x.meta_key, x.meta_value);
}

/// Releases every lock of an owner and cancels its waiting requests.
struct release_owner_request {
  std::string tenant;
  std::string owner;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f,
                                        release_owner_request& x) {
  return f(caf::meta::type_name("release_owner_request"), x.tenant, x.owner);
}

} // namespace holdfast
