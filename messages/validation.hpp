#pragma once

#include <cstdint>
#include <string_view>

#include "messages/replies.hpp"
#include "messages/requests.hpp"

namespace holdfast {

/// Bounds that every request must respect. The defaults are the ones the
/// service starts with; the configuration may change the time limits.
struct request_limits {
  size_t max_tenant_length = 64;
  size_t max_name_length = 128;
  size_t max_owner_length = 256;
  size_t max_user_length = 256;
  size_t max_lock_id_length = 64;
  size_t max_metadata_entries = 32;
  size_t max_metadata_key_length = 64;
  size_t max_metadata_value_length = 1024;
  int64_t max_wait_ms = 3'600'000;
  int64_t min_ttl_ms = 1'000;
  int64_t max_ttl_ms = 86'400'000;
  int64_t default_ttl_ms = 300'000;
};

/// Tenants are NATS subject tokens: letters, digits, '_' and '-'.
bool is_valid_tenant(std::string_view tenant, const request_limits& limits);

/// Projects, workspaces, owners and users: printable ASCII without spaces.
/// Characters that NATS reserves are escaped where a name enters a subject.
bool is_valid_name(std::string_view name, size_t max_length);

// Each function returns an error naming the first offending field, or an
// error with code `none` when the request is valid.

lock_error validate(const acquire_request& request,
                    const request_limits& limits);
lock_error validate(const release_request& request,
                    const request_limits& limits);
lock_error validate(const renew_request& request,
                    const request_limits& limits);
lock_error validate(const get_request& request, const request_limits& limits);
lock_error validate(const list_request& request, const request_limits& limits);
lock_error validate(const release_owner_request& request,
                    const request_limits& limits);

} // namespace holdfast
