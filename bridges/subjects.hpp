#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "messages/events.hpp"
#include "messages/replies.hpp"
#include "messages/wire_codec.hpp"

namespace holdfast {

/// Prefix of every subject of version 1 of the protocol.
constexpr std::string_view subject_prefix = "holdfast.v1.";

/// Subscription of the bridge that receives every lock request.
constexpr const char* request_subscription = "holdfast.v1.*.lock.>";

/// Subscription of the bridge that receives requests to unknown areas such
/// as `holdfast.v1.<tenant>.locks`, so that they get an error reply instead
/// of no reply at all.
constexpr const char* unknown_area_subscription = "holdfast.v1.*.*";

/// Returns `holdfast.v1.<tenant>.lock.<verb>`. The tenant is inserted as
/// is, because a valid tenant contains only subject-safe characters.
std::string request_subject(std::string_view tenant, request_verb verb);

/// Tenant and verb of a request subject, or the reason it is not one.
struct parsed_request_subject {
  /// Code `none` on success, otherwise `invalid_request` with field
  /// "subject" for a malformed subject or "tenant" for invalid characters.
  lock_error error;
  /// Points into the parsed subject.
  std::string_view tenant;
  request_verb verb = request_verb::acquire;
};

/// Parses `holdfast.v1.<tenant>.lock.<verb>`. Only the tenant's characters
/// are checked here, because request validation checks its length.
parsed_request_subject parse_request_subject(std::string_view subject);

/// Escapes `text` for use as one subject token: every byte outside
/// [A-Za-z0-9_-] becomes `%XX` in upper-case hex, so '.', '*', '>' and
/// '%' itself never reach NATS. An empty text stays empty, which is not a
/// valid token.
std::string escape_subject_token(std::string_view text);

/// Reverses `escape_subject_token`; returns nothing for a malformed escape.
std::optional<std::string> unescape_subject_token(std::string_view token);

/// Returns `holdfast.v1.<tenant>.events.<category>.<action>.<project>.
/// <workspace>`, where the event type "lock.acquired" gives the two tokens
/// `lock` and `acquired`, and every name is escaped.
std::string event_subject(const lock_event& event);

/// Returns the subject that matches the events selected by `filter`, with
/// `*` for each empty field. A type without a dot, such as "lock", selects
/// every action of that category.
std::string event_filter_subject(const event_filter& filter);

} // namespace holdfast
