#include "messages/events.hpp"

#include <array>

namespace holdfast {

namespace {

constexpr std::array<std::string_view, 10> event_names{
  "lock.acquired",     "lock.released",     "lock.expired",
  "lock.wait_timeout", "lock.queued",       "lock.cancelled",
  "queue.overflow",    "deadlock.detected", "deadlock.resolved",
  "deadlock.vetoed",
};

} // namespace

std::string_view to_string_view(event_type type) {
  auto index = static_cast<size_t>(type);
  if (index < event_names.size())
    return event_names[index];
  return "unknown";
}

std::optional<event_type> parse_event_type(std::string_view name) {
  for (size_t i = 0; i < event_names.size(); ++i)
    if (event_names[i] == name)
      return static_cast<event_type>(i);
  return std::nullopt;
}

lock_record describe_request(const acquire_request& request) {
  lock_record record;
  record.key = request.key;
  record.owner = request.owner;
  record.user = request.user.empty() ? request.owner : request.user;
  record.level = request.level;
  record.ttl_ms = request.ttl_ms;
  record.metadata = request.metadata;
  return record;
}

bool event_filter::matches(const lock_event& event) const {
  if (!tenant.empty() && tenant != event.record.key.tenant)
    return false;
  if (!type.empty() && type != to_string_view(event.type))
    return false;
  if (!project.empty() && project != event.record.key.project)
    return false;
  return workspace.empty() || workspace == event.record.key.workspace;
}

} // namespace holdfast
