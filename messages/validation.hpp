#pragma once

#include <cstdint>
#include <string_view>

#include "messages/deadlock.hpp"
#include "messages/queueing.hpp"
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
  size_t max_subject_length = 256;
  size_t max_bulk_locks = 256;
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
lock_error validate(const acquire_async_request& request,
                    const request_limits& limits);
lock_error validate(const ticket_request& request,
                    const request_limits& limits);
lock_error validate(const cancel_request& request,
                    const request_limits& limits);
lock_error validate(const bulk_acquire_request& request,
                    const request_limits& limits);
lock_error validate(const bulk_release_request& request,
                    const request_limits& limits);
lock_error validate(const reopen_owner_request& request,
                    const request_limits& limits);
lock_error validate(const stats_request& request,
                    const request_limits& limits);
lock_error validate(const detect_request& request,
                    const request_limits& limits);

/// A subject to publish on: tokens of printable ASCII separated by '.',
/// without the wildcards '*' and '>'.
bool is_valid_publish_subject(std::string_view subject, size_t max_length);

} // namespace holdfast
