#include "messages/validation.hpp"

#include <set>
#include <string>

namespace holdfast {

namespace {

bool is_token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
         || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/// True for valid UTF-8 without control characters (tab excepted).
bool is_printable_utf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if ((c < 0x20 && c != '\t') || c == 0x7f)
        return false;
      ++i;
      continue;
    }
    size_t length = 0;
    uint32_t code = 0;
    if ((c & 0xe0) == 0xc0) {
      length = 2;
      code = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      length = 3;
      code = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      length = 4;
      code = c & 0x07;
    } else {
      return false;
    }
    if (i + length > text.size())
      return false;
    for (size_t k = 1; k < length; ++k) {
      auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xc0) != 0x80)
        return false;
      code = (code << 6) | (next & 0x3f);
    }
    // Overlong forms, surrogates and values past U+10FFFF are invalid, and
    // C1 control characters are rejected like the C0 ones.
    static constexpr uint32_t minimum[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < minimum[length] || code > 0x10ffff
        || (code >= 0xd800 && code <= 0xdfff) || (code >= 0x80 && code < 0xa0))
      return false;
    i += length;
  }
  return true;
}

lock_error ok() {
  return {};
}

lock_error invalid(std::string field, std::string message) {
  return make_lock_error(lock_errc::invalid_request, std::move(message),
                         std::move(field));
}

std::string length_text(size_t max_length) {
  return std::to_string(max_length) + " bytes";
}

lock_error check_tenant(std::string_view tenant,
                        const request_limits& limits) {
  if (tenant.empty())
    return invalid("tenant", "tenant is missing");
  if (!is_valid_tenant(tenant, limits))
    return invalid("tenant", "tenant must be 1 to "
                               + length_text(limits.max_tenant_length)
                               + " of letters, digits, '_' or '-'");
  return ok();
}

lock_error check_name(std::string_view field, std::string_view value,
                      size_t max_length, bool required) {
  std::string name{field};
  if (value.empty()) {
    if (required)
      return invalid(name, name + " is missing");
    return ok();
  }
  if (!is_valid_name(value, max_length))
    return invalid(name, name + " must be 1 to " + length_text(max_length)
                           + " of printable ASCII without spaces");
  return ok();
}

lock_error check_key(const resource_key& key, const request_limits& limits) {
  if (auto error = check_tenant(key.tenant, limits); error.code != lock_errc::none)
    return error;
  if (auto error = check_name("project", key.project, limits.max_name_length,
                              true);
      error.code != lock_errc::none)
    return error;
  return check_name("workspace", key.workspace, limits.max_name_length, true);
}

lock_error check_lock_id(std::string_view lock_id,
                         const request_limits& limits) {
  return check_name("lock_id", lock_id, limits.max_lock_id_length, true);
}

lock_error check_ttl(int64_t ttl_ms, const request_limits& limits) {
  if (ttl_ms == 0)
    return ok();
  if (ttl_ms < limits.min_ttl_ms || ttl_ms > limits.max_ttl_ms)
    return invalid("ttl_ms", "ttl_ms must be 0 (the default lease) or between "
                               + std::to_string(limits.min_ttl_ms) + " and "
                               + std::to_string(limits.max_ttl_ms));
  return ok();
}

lock_error check_metadata(const metadata_map& metadata,
                          const request_limits& limits) {
  if (metadata.size() > limits.max_metadata_entries)
    return invalid("metadata", "metadata has more than "
                                 + std::to_string(limits.max_metadata_entries)
                                 + " entries");
  for (const auto& [key, value] : metadata) {
    if (key.empty() || key.size() > limits.max_metadata_key_length)
      return invalid("metadata", "metadata key must be 1 to "
                                   + length_text(limits.max_metadata_key_length));
    for (char c : key)
      if (!is_token_char(c) && c != '.')
        return invalid("metadata." + key,
                       "metadata key must contain only letters, digits, "
                       "'.', '_' or '-'");
    if (value.size() > limits.max_metadata_value_length)
      return invalid("metadata." + key,
                     "metadata value exceeds "
                       + length_text(limits.max_metadata_value_length));
    if (!is_printable_utf8(value))
      return invalid("metadata." + key,
                     "metadata value must be valid UTF-8 without control "
                     "characters");
  }
  return ok();
}

} // namespace

bool is_valid_tenant(std::string_view tenant, const request_limits& limits) {
  if (tenant.empty() || tenant.size() > limits.max_tenant_length)
    return false;
  for (char c : tenant)
    if (!is_token_char(c))
      return false;
  return true;
}

bool is_valid_name(std::string_view name, size_t max_length) {
  if (name.empty() || name.size() > max_length)
    return false;
  for (char c : name)
    if (c <= ' ' || c > '~')
      return false;
  return true;
}

lock_error validate(const acquire_request& request,
                    const request_limits& limits) {
  if (auto error = check_key(request.key, limits); error.code != lock_errc::none)
    return error;
  if (auto error = check_name("owner", request.owner, limits.max_owner_length,
                              true);
      error.code != lock_errc::none)
    return error;
  if (auto error = check_name("user", request.user, limits.max_user_length,
                              false);
      error.code != lock_errc::none)
    return error;
  if (request.wait_ms < 0 || request.wait_ms > limits.max_wait_ms)
    return invalid("wait_ms", "wait_ms must be between 0 and "
                                + std::to_string(limits.max_wait_ms));
  if (auto error = check_ttl(request.ttl_ms, limits);
      error.code != lock_errc::none)
    return error;
  return check_metadata(request.metadata, limits);
}

lock_error validate(const release_request& request,
                    const request_limits& limits) {
  if (auto error = check_tenant(request.tenant, limits);
      error.code != lock_errc::none)
    return error;
  return check_lock_id(request.lock_id, limits);
}

lock_error validate(const renew_request& request,
                    const request_limits& limits) {
  if (auto error = check_tenant(request.tenant, limits);
      error.code != lock_errc::none)
    return error;
  if (auto error = check_lock_id(request.lock_id, limits);
      error.code != lock_errc::none)
    return error;
  return check_ttl(request.ttl_ms, limits);
}

lock_error validate(const get_request& request, const request_limits& limits) {
  return check_key(request.key, limits);
}

lock_error validate(const list_request& request,
                    const request_limits& limits) {
  if (auto error = check_tenant(request.tenant, limits);
      error.code != lock_errc::none)
    return error;
  if (auto error = check_name("project", request.project,
                              limits.max_name_length, false);
      error.code != lock_errc::none)
    return error;
  if (auto error = check_name("workspace", request.workspace,
                              limits.max_name_length, false);
      error.code != lock_errc::none)
    return error;
  if (auto error = check_name("owner", request.owner, limits.max_owner_length,
                              false);
      error.code != lock_errc::none)
    return error;
  if (request.meta_key.empty() && !request.meta_value.empty())
    return invalid("meta_key", "meta_key is missing but meta_value is set");
  if (request.meta_key.size() > limits.max_metadata_key_length)
    return invalid("meta_key", "meta_key exceeds "
                                 + length_text(limits.max_metadata_key_length));
  return ok();
}

lock_error validate(const release_owner_request& request,
                    const request_limits& limits) {
  if (auto error = check_tenant(request.tenant, limits);
      error.code != lock_errc::none)
    return error;
  return check_name("owner", request.owner, limits.max_owner_length, true);
}

} // namespace holdfast

namespace holdfast {

bool is_valid_publish_subject(std::string_view subject, size_t max_length) {
  if (subject.empty() || subject.size() > max_length)
    return false;
  size_t token_start = 0;
  for (size_t i = 0; i <= subject.size(); ++i) {
    if (i == subject.size() || subject[i] == '.') {
      auto token = subject.substr(token_start, i - token_start);
      if (token.empty() || token == "*" || token == ">")
        return false;
      token_start = i + 1;
      continue;
    }
    if (subject[i] <= ' ' || subject[i] > '~')
      return false;
  }
  return true;
}

namespace {

lock_error invalid_field(std::string field, std::string message) {
  return make_lock_error(lock_errc::invalid_request, std::move(message),
                         std::move(field));
}

lock_error check_ticket(const std::string& tenant,
                        const std::string& ticket_id,
                        const request_limits& limits) {
  release_request shape{tenant, ticket_id, 0};
  auto error = validate(shape, limits);
  if (error.field == "lock_id") {
    error.field = "ticket_id";
    error.message.replace(0, 7, "ticket_id");
  }
  return error;
}

} // namespace

lock_error validate(const acquire_async_request& request,
                    const request_limits& limits) {
  if (auto error = validate(request.request, limits);
      error.code != lock_errc::none)
    return error;
  if (request.notify_subject.empty())
    return invalid_field("notify", "notify is missing");
  if (!is_valid_publish_subject(request.notify_subject,
                                limits.max_subject_length))
    return invalid_field("notify",
                         "notify must be a NATS subject of at most "
                           + std::to_string(limits.max_subject_length)
                           + " bytes without wildcards or spaces");
  return {};
}

lock_error validate(const ticket_request& request,
                    const request_limits& limits) {
  return check_ticket(request.tenant, request.ticket_id, limits);
}

lock_error validate(const cancel_request& request,
                    const request_limits& limits) {
  return check_ticket(request.tenant, request.ticket_id, limits);
}

lock_error validate(const bulk_acquire_request& request,
                    const request_limits& limits) {
  if (auto error = check_tenant(request.tenant, limits);
      error.code != lock_errc::none)
    return error;
  if (request.locks.empty())
    return invalid_field("locks", "locks must name at least one lock");
  if (request.locks.size() > limits.max_bulk_locks)
    return invalid_field("locks", "locks may name at most "
                                    + std::to_string(limits.max_bulk_locks)
                                    + " locks");
  if (request.wait_ms < 0 || request.wait_ms > limits.max_wait_ms)
    return invalid_field("wait_ms", "wait_ms must be between 0 and "
                                      + std::to_string(limits.max_wait_ms));

  std::set<resource_key> seen;
  for (size_t i = 0; i < request.locks.size(); ++i) {
    const auto& item = request.locks[i];
    auto prefix = "locks[" + std::to_string(i) + "].";
    if (item.key.tenant != request.tenant)
      return invalid_field(prefix + "tenant",
                           "every lock of a bulk request must belong to "
                           "tenant '" + request.tenant + "'");
    auto error = validate(item, limits);
    if (error.code != lock_errc::none) {
      error.field = prefix + error.field;
      return error;
    }
    if (!seen.insert(item.key).second)
      return invalid_field("locks[" + std::to_string(i) + "]",
                           to_string(item.key) + " appears twice");
  }
  return {};
}

lock_error validate(const bulk_release_request& request,
                    const request_limits& limits) {
  if (auto error = check_tenant(request.tenant, limits);
      error.code != lock_errc::none)
    return error;
  if (request.lock_ids.empty())
    return invalid_field("lock_ids", "lock_ids must name at least one lock");
  if (request.lock_ids.size() > limits.max_bulk_locks)
    return invalid_field("lock_ids", "lock_ids may name at most "
                                       + std::to_string(limits.max_bulk_locks)
                                       + " locks");
  for (size_t i = 0; i < request.lock_ids.size(); ++i)
    if (!is_valid_name(request.lock_ids[i], limits.max_lock_id_length))
      return invalid_field("lock_ids[" + std::to_string(i) + "]",
                           "lock id must be 1 to "
                             + std::to_string(limits.max_lock_id_length)
                             + " bytes of printable ASCII");
  return {};
}

lock_error validate(const reopen_owner_request& request,
                    const request_limits& limits) {
  return validate(release_owner_request{request.tenant, request.owner},
                  limits);
}

lock_error validate(const stats_request& request,
                    const request_limits& limits) {
  return check_tenant(request.tenant, limits);
}

lock_error validate(const detect_request& request,
                    const request_limits& limits) {
  return check_tenant(request.tenant, limits);
}

} // namespace holdfast
