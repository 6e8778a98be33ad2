#include "messages/wire_codec.hpp"

#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <msgpack.hpp>
#include <nlohmann/json.hpp>

// Each wire struct has one field list (`wire_fields`) that the msgpack
// encoder, the field counter and the decoder all walk. JSON is converted to
// and from msgpack with nlohmann-json, so both encodings share that mapping
// while the default msgpack path builds no intermediate tree.

namespace holdfast {

namespace {

constexpr std::array<std::string_view, 14> verb_names{
    "acquire",       "release",       "renew",  "get",    "list",
    "release_owner", "acquire_async", "ticket", "cancel", "acquire_bulk",
    "release_bulk",  "reopen_owner",  "stats",  "detect",
};

static_assert(verb_names.size() == request_verb_count,
              "every request verb needs a subject token");

/// Maximum nesting depth of a body. Requests need up to four levels (bulk
/// locks, item, metadata), replies five (ticket, lock, record, metadata).
constexpr int max_body_depth = 16;

// -- field wrappers -----------------------------------------------------------

/// An integer field that the decoder rejects when negative.
template <class T>
struct non_negative {
  T& value;
};

template <class T>
non_negative<T> as_non_negative(T& value) {
  return {value};
}

/// A field that the encoder leaves out while `value.empty()`.
template <class T>
struct omit_if_empty {
  T& value;
};

template <class T>
omit_if_empty<T> as_optional(T& value) {
  return {value};
}

/// The items of a bulk acquisition. Each is an acquire without `wait_ms`,
/// which the bulk request sets once for all of them.
template <class Vector>
struct bulk_items {
  Vector& items;
};

template <class Vector>
bulk_items<Vector> as_bulk_items(Vector& items) {
  return {items};
}

/// One item of `bulk_items`, with its own field list.
template <class Request>
struct bulk_item {
  Request& request;
};

template <class T>
struct is_bulk_item : std::false_type {};

template <class Request>
struct is_bulk_item<bulk_item<Request>> : std::true_type {};

/// The `error` map of a ticket, which exists only in the state `failed`.
template <class Ticket>
struct ticket_failure {
  Ticket& ticket;
};

template <class Ticket>
ticket_failure<Ticket> failure_of(Ticket& ticket) {
  return {ticket};
}

template <class T>
struct is_ticket_failure : std::false_type {};

template <class Ticket>
struct is_ticket_failure<ticket_failure<Ticket>> : std::true_type {};

/// The `deadlock` map of an event, which exists only for the deadlock event
/// types.
template <class Event>
struct event_deadlock {
  Event& event;
};

template <class Event>
event_deadlock<Event> deadlock_of(Event& event) {
  return {event};
}

bool is_deadlock_event(event_type type) {
  return type == event_type::deadlock_detected
         || type == event_type::deadlock_resolved
         || type == event_type::deadlock_vetoed;
}

/// Queue depths, a vector indexed by priority on the C++ side and a map
/// from priority name to depth on the wire.
template <class Vector>
struct priority_depths {
  Vector& depths;
};

template <class Vector>
priority_depths<Vector> as_priority_depths(Vector& depths) {
  return {depths};
}

// -- field lists --------------------------------------------------------------

// Each `wire_fields` accepts both `T&` (decoding) and `const T&` (encoding).
template <class T, class U>
using if_wire_type
    = std::enable_if_t<std::is_same_v<std::remove_const_t<T>, U>, int>;

template <class Visitor, class T, if_wire_type<T, lock_record> = 0>
void wire_fields(Visitor& f, T& x) {
  f("lock_id", x.lock_id);
  f("tenant", x.key.tenant);
  f("project", x.key.project);
  f("workspace", x.key.workspace);
  f("owner", x.owner);
  f("user", x.user);
  f("priority", x.level);
  f("token", x.token);
  f("acquired_at_ms", x.acquired_at_ms);
  f("expires_at_ms", x.expires_at_ms);
  f("ttl_ms", x.ttl_ms);
  f("metadata", x.metadata);
}

template <class Visitor, class T, if_wire_type<T, acquire_request> = 0>
void wire_fields(Visitor& f, T& x) {
  f("project", x.key.project);
  f("workspace", x.key.workspace);
  f("owner", x.owner);
  f("user", x.user);
  f("priority", x.level);
  f("wait_ms", as_non_negative(x.wait_ms));
  f("ttl_ms", as_non_negative(x.ttl_ms));
  f("metadata", x.metadata);
}

template <class Visitor, class T, if_wire_type<T, release_request> = 0>
void wire_fields(Visitor& f, T& x) {
  f("lock_id", x.lock_id);
  f("token", x.token);
}

template <class Visitor, class T, if_wire_type<T, renew_request> = 0>
void wire_fields(Visitor& f, T& x) {
  f("lock_id", x.lock_id);
  f("token", x.token);
  f("ttl_ms", as_non_negative(x.ttl_ms));
}

template <class Visitor, class T, if_wire_type<T, get_request> = 0>
void wire_fields(Visitor& f, T& x) {
  f("project", x.key.project);
  f("workspace", x.key.workspace);
}

template <class Visitor, class T, if_wire_type<T, list_request> = 0>
void wire_fields(Visitor& f, T& x) {
  f("project", x.project);
  f("workspace", x.workspace);
  f("owner", x.owner);
  f("meta_key", x.meta_key);
  f("meta_value", x.meta_value);
}

template <class Visitor, class T, if_wire_type<T, release_owner_request> = 0>
void wire_fields(Visitor& f, T& x) {
  f("owner", x.owner);
}

template <class Visitor, class T, if_wire_type<T, acquire_async_request> = 0>
void wire_fields(Visitor& f, T& x) {
  wire_fields(f, x.request);
  f("notify", x.notify_subject);
}

template <class Visitor, class T, if_wire_type<T, ticket_request> = 0>
void wire_fields(Visitor& f, T& x) {
  f("ticket_id", x.ticket_id);
}

template <class Visitor, class T, if_wire_type<T, cancel_request> = 0>
void wire_fields(Visitor& f, T& x) {
  f("ticket_id", x.ticket_id);
}

template <class Visitor, class T,
          std::enable_if_t<is_bulk_item<std::remove_const_t<T>>::value, int>
          = 0>
void wire_fields(Visitor& f, T& x) {
  f("project", x.request.key.project);
  f("workspace", x.request.key.workspace);
  f("owner", x.request.owner);
  f("user", x.request.user);
  f("priority", x.request.level);
  f("ttl_ms", as_non_negative(x.request.ttl_ms));
  f("metadata", x.request.metadata);
}

template <class Visitor, class T, if_wire_type<T, bulk_acquire_request> = 0>
void wire_fields(Visitor& f, T& x) {
  f("locks", as_bulk_items(x.locks));
  f("wait_ms", as_non_negative(x.wait_ms));
}

template <class Visitor, class T, if_wire_type<T, bulk_release_request> = 0>
void wire_fields(Visitor& f, T& x) {
  f("lock_ids", x.lock_ids);
}

template <class Visitor, class T, if_wire_type<T, reopen_owner_request> = 0>
void wire_fields(Visitor& f, T& x) {
  f("owner", x.owner);
}

template <class Visitor, class T, if_wire_type<T, stats_request> = 0>
void wire_fields(Visitor&, T&) {
  // The tenant travels in the subject, so the body is the empty map.
}

template <class Visitor, class T, if_wire_type<T, detect_request> = 0>
void wire_fields(Visitor&, T&) {
  // The tenant travels in the subject, so the body is the empty map.
}

/// The tenant of a member's resource is not sent, because a cycle never
/// leaves its tenant.
template <class Visitor, class T, if_wire_type<T, cycle_member> = 0>
void wire_fields(Visitor& f, T& x) {
  f("owner", x.owner);
  f("project", x.key.project);
  f("workspace", x.key.workspace);
  f("priority", x.level);
  f("waited_ms", x.waited_ms);
  f("locks_held", x.locks_held);
}

template <class Visitor, class T, if_wire_type<T, deadlock_info> = 0>
void wire_fields(Visitor& f, T& x) {
  f("id", x.id);
  f("cycle", x.cycle);
  f("victim", x.victim);
  f("policy", x.policy);
  f("outcome", x.outcome);
  f("released_locks", x.released_locks);
  f("reason", x.reason);
}

template <class Visitor, class T, if_wire_type<T, deadlock_stats> = 0>
void wire_fields(Visitor& f, T& x) {
  f("runs", x.runs);
  f("detected", x.detected);
  f("resolved", x.resolved);
  f("vetoed", x.vetoed);
  f("dissolved", x.dissolved);
  f("prevented", x.prevented);
  f("hook_timeouts", x.hook_timeouts);
  f("hook_errors", x.hook_errors);
}

template <class Visitor, class T, if_wire_type<T, lock_error> = 0>
void wire_fields(Visitor& f, T& x) {
  f("code", x.code);
  f("message", x.message);
  f("field", as_optional(x.field));
  f("holder", as_optional(x.holder));
  f("holders", as_optional(x.holders));
  f("cycle", as_optional(x.cycle));
}

template <class Visitor, class T,
          std::enable_if_t<is_ticket_failure<std::remove_const_t<T>>::value,
                           int>
          = 0>
void wire_fields(Visitor& f, T& x) {
  f("code", x.ticket.error);
  f("message", x.ticket.error_message);
  f("cycle", as_optional(x.ticket.error_cycle));
}

template <class Visitor, class T, if_wire_type<T, ticket_info> = 0>
void wire_fields(Visitor& f, T& x) {
  f("ticket_id", x.ticket_id);
  f("state", x.state);
  f("position", x.position);
  f("project", x.key.project);
  f("workspace", x.key.workspace);
  f("owner", x.owner);
  f("lock", as_optional(x.lock));
  f("error", failure_of(x));
  f("created_at_ms", x.created_at_ms);
  f("updated_at_ms", x.updated_at_ms);
}

template <class Visitor, class T, if_wire_type<T, queue_stats> = 0>
void wire_fields(Visitor& f, T& x) {
  f("depth_by_priority", as_priority_depths(x.depth_by_priority));
  f("total_depth", x.total_depth);
  f("active_locks", x.active_locks);
  f("grants_per_second", x.grants_per_second);
  f("average_wait_ms", x.average_wait_ms);
  f("p99_wait_ms", x.p99_wait_ms);
  f("total_grants", x.total_grants);
}

template <class Visitor, class T, if_wire_type<T, lock_event> = 0>
void wire_fields(Visitor& f, T& x) {
  f("type", x.type);
  f("timestamp_ms", x.timestamp_ms);
  f("reason", x.reason);
  f("lock", x.record);
  f("deadlock", deadlock_of(x));
}

// -- decoding errors ----------------------------------------------------------

/// Position of a value inside the body, as a chain of names from the root.
/// A null path is the body itself. Rendered only when decoding fails, as
/// in "locks[1].metadata.env".
struct field_path {
  const field_path* parent;
  std::string_view name;
  /// True for an array element, whose name is its index.
  bool is_index = false;
};

std::string render(const field_path* path) {
  if (path == nullptr)
    return "body";
  std::vector<const field_path*> parts;
  for (auto i = path; i != nullptr; i = i->parent)
    parts.push_back(i);
  std::string result;
  for (auto i = parts.rbegin(); i != parts.rend(); ++i) {
    if ((*i)->is_index) {
      result += '[';
      result += (*i)->name;
      result += ']';
      continue;
    }
    if (!result.empty())
      result += '.';
    result += (*i)->name;
  }
  return result;
}

/// Thrown inside the decoder and turned into a `lock_error` at its entry.
struct decode_failure {
  std::string field;
  std::string message;
};

/// Fails with a message that starts with the field name, such as
/// "wait_ms must not be negative, got -1".
[[noreturn]] void reject(const field_path* path, std::string_view problem) {
  auto field = render(path);
  std::string message = field;
  message += ' ';
  message += problem;
  throw decode_failure{std::move(field), std::move(message)};
}

std::string_view type_name(const msgpack::object& x) {
  switch (x.type) {
  case msgpack::type::NIL:
    return "null";
  case msgpack::type::BOOLEAN:
    return "a boolean";
  case msgpack::type::POSITIVE_INTEGER:
  case msgpack::type::NEGATIVE_INTEGER:
    return "an integer";
  case msgpack::type::FLOAT32:
  case msgpack::type::FLOAT64:
    return "a floating-point number";
  case msgpack::type::STR:
    return "a string";
  case msgpack::type::BIN:
    return "binary data";
  case msgpack::type::ARRAY:
    return "an array";
  case msgpack::type::MAP:
    return "a map";
  default:
    return "an extension value";
  }
}

[[noreturn]] void reject_type(const msgpack::object& x, const field_path* path,
                              std::string_view expected) {
  std::string problem = "must be ";
  problem += expected;
  problem += ", got ";
  problem += type_name(x);
  reject(path, problem);
}

std::string_view as_string_view(const msgpack::object& x) {
  return {x.via.str.ptr, x.via.str.size};
}

// -- decoding values ----------------------------------------------------------

template <class T>
void decode_fields(const msgpack::object& x, const field_path* path, T& out,
                   bool strict);

void read(const msgpack::object& x, const field_path* path, std::string& out) {
  if (x.type != msgpack::type::STR)
    reject_type(x, path, "a string");
  out.assign(x.via.str.ptr, x.via.str.size);
}

void read(const msgpack::object& x, const field_path* path, bool& out) {
  if (x.type != msgpack::type::BOOLEAN)
    reject_type(x, path, "a boolean");
  out = x.via.boolean;
}

void read(const msgpack::object& x, const field_path* path, int64_t& out) {
  if (x.type == msgpack::type::NEGATIVE_INTEGER) {
    out = x.via.i64;
    return;
  }
  if (x.type != msgpack::type::POSITIVE_INTEGER)
    reject_type(x, path, "an integer");
  if (x.via.u64 > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    reject(path, "is out of range, got " + std::to_string(x.via.u64));
  out = static_cast<int64_t>(x.via.u64);
}

void read(const msgpack::object& x, const field_path* path,
          non_negative<int64_t> out) {
  if (x.type == msgpack::type::NEGATIVE_INTEGER)
    reject(path, "must not be negative, got " + std::to_string(x.via.i64));
  read(x, path, out.value);
}

void read(const msgpack::object& x, const field_path* path, uint64_t& out) {
  if (x.type == msgpack::type::NEGATIVE_INTEGER)
    reject(path, "must not be negative, got " + std::to_string(x.via.i64));
  if (x.type != msgpack::type::POSITIVE_INTEGER)
    reject_type(x, path, "a non-negative integer");
  out = x.via.u64;
}

void read(const msgpack::object& x, const field_path* path, uint32_t& out) {
  uint64_t value = 0;
  read(x, path, value);
  if (value > std::numeric_limits<uint32_t>::max())
    reject(path, "is out of range, got " + std::to_string(value));
  out = static_cast<uint32_t>(value);
}

void read(const msgpack::object& x, const field_path* path, priority& out) {
  if (x.type != msgpack::type::STR)
    reject_type(x, path, "a priority name");
  auto name = as_string_view(x);
  auto level = parse_priority(name);
  if (!level) {
    std::string problem = "must be one of very_low, low, medium, high or "
                          "critical, got '";
    problem += name;
    problem += "'";
    reject(path, problem);
  }
  out = *level;
}

void read(const msgpack::object& x, const field_path* path, event_type& out) {
  if (x.type != msgpack::type::STR)
    reject_type(x, path, "an event type");
  auto name = as_string_view(x);
  auto type = parse_event_type(name);
  if (!type) {
    std::string problem = "must be an event type such as lock.acquired, got '";
    problem += name;
    problem += "'";
    reject(path, problem);
  }
  out = *type;
}

/// Unknown codes become `internal`, so that a client still reports a failure
/// when a newer service adds a code.
void read(const msgpack::object& x, const field_path* path, lock_errc& out) {
  if (x.type != msgpack::type::STR)
    reject_type(x, path, "an error code");
  out = parse_lock_errc(as_string_view(x)).value_or(lock_errc::internal);
}

/// Returns `key` with every byte outside printable ASCII written as \\xNN,
/// so that an error can name a malformed key without repeating its bytes.
std::string printable_key(std::string_view key) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string result;
  for (unsigned char c : key) {
    if (c >= 0x20 && c < 0x7f) {
      result += static_cast<char>(c);
      continue;
    }
    result += "\\x";
    result += digits[c >> 4];
    result += digits[c & 0x0f];
  }
  return result;
}

void read(const msgpack::object& x, const field_path* path, metadata_map& out) {
  if (x.type != msgpack::type::MAP)
    reject_type(x, path, "a map of strings");
  out.clear();
  const auto& map = x.via.map;
  for (uint32_t i = 0; i < map.size; ++i) {
    const auto& entry = map.ptr[i];
    if (entry.key.type != msgpack::type::STR)
      reject_type(entry.key, path, "a map with string keys, but a key is");
    std::string key{as_string_view(entry.key)};
    auto name = printable_key(key);
    field_path value_path{path, name};
    if (entry.val.type != msgpack::type::STR)
      reject_type(entry.val, &value_path, "a string");
    if (!out.emplace(std::move(key), std::string{as_string_view(entry.val)})
           .second)
      reject(&value_path, "appears more than once");
  }
}

/// Records only travel in replies and events, which are decoded leniently.
void read(const msgpack::object& x, const field_path* path, lock_record& out) {
  out = lock_record{};
  decode_fields(x, path, out, false);
}

/// Reads an array into `out`, one element at a time with `read_element`,
/// which receives the element, its path such as "locks[2]" and its index.
template <class T, class ReadElement>
void read_array(const msgpack::object& x, const field_path* path,
                std::vector<T>& out, std::string_view expected,
                ReadElement&& read_element) {
  if (x.type != msgpack::type::ARRAY)
    reject_type(x, path, expected);
  out.clear();
  out.resize(x.via.array.size);
  for (uint32_t i = 0; i < x.via.array.size; ++i) {
    auto index = std::to_string(i);
    field_path element_path{path, index, true};
    read_element(x.via.array.ptr[i], &element_path, i);
  }
}

void read(const msgpack::object& x, const field_path* path,
          std::vector<lock_record>& out) {
  read_array(x, path, out, "an array of locks",
             [&](const msgpack::object& element, const field_path* at,
                 uint32_t i) { read(element, at, out[i]); });
}

void read(const msgpack::object& x, const field_path* path,
          std::vector<std::string>& out) {
  read_array(x, path, out, "an array of strings",
             [&](const msgpack::object& element, const field_path* at,
                 uint32_t i) { read(element, at, out[i]); });
}

/// Bulk items only travel in requests, which are decoded strictly.
void read(const msgpack::object& x, const field_path* path,
          bulk_items<std::vector<acquire_request>> out) {
  read_array(x, path, out.items, "an array of locks",
             [&](const msgpack::object& element, const field_path* at,
                 uint32_t i) {
               bulk_item<acquire_request> item{out.items[i]};
               decode_fields(element, at, item, true);
             });
}

/// Accepts integers too, because JSON writers may drop the fraction of a
/// whole number.
void read(const msgpack::object& x, const field_path* path, double& out) {
  switch (x.type) {
  case msgpack::type::FLOAT32:
  case msgpack::type::FLOAT64:
    out = x.via.f64;
    return;
  case msgpack::type::POSITIVE_INTEGER:
    out = static_cast<double>(x.via.u64);
    return;
  case msgpack::type::NEGATIVE_INTEGER:
    out = static_cast<double>(x.via.i64);
    return;
  default:
    reject_type(x, path, "a number");
  }
}

void read(const msgpack::object& x, const field_path* path,
          ticket_state& out) {
  if (x.type != msgpack::type::STR)
    reject_type(x, path, "a ticket state");
  auto name = as_string_view(x);
  auto state = parse_ticket_state(name);
  if (!state) {
    std::string problem = "must be one of pending, granted, failed or "
                          "cancelled, got '";
    problem += name;
    problem += "'";
    reject(path, problem);
  }
  out = *state;
}

/// Tickets, their failures and statistics only travel in replies, which
/// are decoded leniently.
void read(const msgpack::object& x, const field_path* path,
          ticket_failure<ticket_info> out) {
  decode_fields(x, path, out, false);
}

void read(const msgpack::object& x, const field_path* path, ticket_info& out) {
  out = ticket_info{};
  decode_fields(x, path, out, false);
}

/// Unknown priority names are skipped like unknown fields.
void read(const msgpack::object& x, const field_path* path,
          priority_depths<std::vector<uint32_t>> out) {
  if (x.type != msgpack::type::MAP)
    reject_type(x, path, "a map of priorities to depths");
  out.depths.assign(priority_levels, 0);
  const auto& map = x.via.map;
  for (uint32_t i = 0; i < map.size; ++i) {
    const auto& entry = map.ptr[i];
    if (entry.key.type != msgpack::type::STR)
      reject_type(entry.key, path, "a map with string keys, but a key is");
    auto name = as_string_view(entry.key);
    auto level = parse_priority(name);
    if (!level)
      continue;
    field_path value_path{path, name};
    read(entry.val, &value_path, out.depths[static_cast<size_t>(*level)]);
  }
}

void read(const msgpack::object& x, const field_path* path, queue_stats& out) {
  out = queue_stats{};
  decode_fields(x, path, out, false);
}

/// Reads `{"lock_id": ..., "ok": ...}` with a `code` when not ok. A failed
/// outcome without a known code becomes `internal`.
void read(const msgpack::object& x, const field_path* path,
          release_outcome& out) {
  if (x.type != msgpack::type::MAP)
    reject_type(x, path, "a map");
  out = release_outcome{};
  bool ok = false;
  const auto& map = x.via.map;
  for (uint32_t i = 0; i < map.size; ++i) {
    const auto& entry = map.ptr[i];
    if (entry.key.type != msgpack::type::STR)
      reject_type(entry.key, path, "a map with string keys, but a key is");
    auto key = as_string_view(entry.key);
    field_path value_path{path, key};
    if (key == "lock_id")
      read(entry.val, &value_path, out.lock_id);
    else if (key == "ok")
      read(entry.val, &value_path, ok);
    else if (key == "code")
      read(entry.val, &value_path, out.code);
  }
  if (ok)
    out.code = lock_errc::none;
  else if (out.code == lock_errc::none)
    out.code = lock_errc::internal;
}

void read(const msgpack::object& x, const field_path* path,
          std::vector<release_outcome>& out) {
  read_array(x, path, out, "an array of release results",
             [&](const msgpack::object& element, const field_path* at,
                 uint32_t i) { read(element, at, out[i]); });
}

// Cycles, deadlocks and their counters only travel in replies and events,
// which are decoded leniently.

void read(const msgpack::object& x, const field_path* path, cycle_member& out) {
  out = cycle_member{};
  decode_fields(x, path, out, false);
}

void read(const msgpack::object& x, const field_path* path,
          std::vector<cycle_member>& out) {
  read_array(x, path, out, "an array of cycle members",
             [&](const msgpack::object& element, const field_path* at,
                 uint32_t i) { read(element, at, out[i]); });
}

void read(const msgpack::object& x, const field_path* path,
          deadlock_info& out) {
  out = deadlock_info{};
  decode_fields(x, path, out, false);
}

void read(const msgpack::object& x, const field_path* path,
          std::vector<deadlock_info>& out) {
  read_array(x, path, out, "an array of deadlocks",
             [&](const msgpack::object& element, const field_path* at,
                 uint32_t i) { read(element, at, out[i]); });
}

void read(const msgpack::object& x, const field_path* path,
          deadlock_stats& out) {
  out = deadlock_stats{};
  decode_fields(x, path, out, false);
}

/// Accepts the map for any event type, so that a client keeps what a newer
/// service sends.
void read(const msgpack::object& x, const field_path* path,
          event_deadlock<lock_event> out) {
  read(x, path, out.event.deadlock);
}

template <class T>
void read(const msgpack::object& x, const field_path* path,
          omit_if_empty<T> out) {
  read(x, path, out.value);
}

// -- decoding maps ------------------------------------------------------------

/// Reads the value of one map entry into the field whose name matches.
class field_decoder {
public:
  field_decoder(std::string_view key, const msgpack::object& value,
                const field_path* parent)
      : key_(key), value_(value), parent_(parent) {
    // nop
  }

  template <class T>
  void operator()(std::string_view name, T&& target) {
    if (matched_ || name != key_)
      return;
    matched_ = true;
    field_path path{parent_, name};
    read(value_, &path, std::forward<T>(target));
  }

  bool matched() const noexcept {
    return matched_;
  }

private:
  std::string_view key_;
  const msgpack::object& value_;
  const field_path* parent_;
  bool matched_ = false;
};

/// Collects the field names of a struct for error messages.
class field_lister {
public:
  template <class T>
  void operator()(std::string_view name, T&&) {
    if (!names_.empty())
      names_ += ", ";
    names_ += name;
  }

  const std::string& names() const noexcept {
    return names_;
  }

private:
  std::string names_;
};

template <class T>
void decode_fields(const msgpack::object& x, const field_path* path, T& out,
                   bool strict) {
  if (x.type != msgpack::type::MAP)
    reject_type(x, path, "a map");
  const auto& map = x.via.map;
  for (uint32_t i = 0; i < map.size; ++i) {
    const auto& entry = map.ptr[i];
    if (entry.key.type != msgpack::type::STR)
      reject_type(entry.key, path, "a map with string keys, but a key is");
    auto key = as_string_view(entry.key);

    // A repeated field would silently override the first value.
    if (strict) {
      for (uint32_t j = 0; j < i; ++j) {
        if (as_string_view(map.ptr[j].key) != key)
          continue;
        auto name = printable_key(key);
        field_path repeated{path, name};
        reject(&repeated, "appears more than once");
      }
    }
    field_decoder decoder{key, entry.val, path};
    wire_fields(decoder, out);
    if (decoder.matched() || !strict)
      continue;
    field_lister lister;
    wire_fields(lister, out);
    std::string problem = "is not a known field, expected ";
    if (lister.names().empty()) {
      problem += "no fields (send the empty map)";
    } else {
      problem += "one of: ";
      problem += lister.names();
    }
    if (path == nullptr && key == "tenant")
      problem += " (the tenant is taken from the subject)";
    auto name = printable_key(key);
    field_path unknown{path, name};
    reject(&unknown, problem);
  }
}

// -- parsing bodies -----------------------------------------------------------

bool reference_body(msgpack::type::object_type, size_t, void*) {
  // Strings point into the body, which outlives the decoded object.
  return true;
}

/// Scratch memory of the msgpack unpacker, reused by every decode on this
/// thread and cleared after each.
msgpack::zone& thread_zone() {
  thread_local msgpack::zone zone;
  return zone;
}

/// Unpacks one msgpack value that spans all of `body`. Container sizes are
/// bounded by the body size, so a forged length cannot make the unpacker
/// allocate more than the body justifies.
msgpack::object unpack_body(std::string_view body, msgpack::zone& zone) {
  if (body.empty())
    reject(nullptr, "is empty");
  auto size = body.size();
  msgpack::unpack_limit limit{size, size, size, size, size, max_body_depth};
  size_t offset = 0;
  msgpack::object root;
  try {
    root = msgpack::unpack(zone, body.data(), size, offset, reference_body,
                           nullptr, limit);
  } catch (const std::exception& e) {
    reject(nullptr, std::string{"is not valid msgpack: "} + e.what());
  }
  if (offset != size)
    reject(nullptr, "has " + std::to_string(size - offset)
                        + " bytes after the msgpack value");
  return root;
}

/// Strips the "[json.exception.parse_error.101] " prefix of nlohmann-json.
std::string_view json_problem(const char* message) {
  std::string_view text{message};
  if (!text.empty() && text.front() == '[') {
    if (auto end = text.find("] "); end != std::string_view::npos)
      text.remove_prefix(end + 2);
  }
  return text;
}

std::vector<uint8_t> json_to_msgpack(std::string_view body) {
  if (body.empty())
    reject(nullptr, "is empty");
  // Keys seen in each open object and the key that opened it, so that a
  // repeated key is rejected: nlohmann would silently keep the last value.
  struct open_object {
    std::set<std::string> keys;
    std::string name;
  };
  std::vector<open_object> objects;
  std::string last_key;
  auto check_depth = [&](int depth, nlohmann::json::parse_event_t event,
                         nlohmann::json& parsed) {
    using event_type = nlohmann::json::parse_event_t;
    if (depth > max_body_depth)
      reject(nullptr, "nests deeper than " + std::to_string(max_body_depth)
                          + " levels");
    if (event == event_type::object_start) {
      objects.push_back({{}, objects.empty() ? std::string{} : last_key});
    } else if (event == event_type::object_end && !objects.empty()) {
      objects.pop_back();
    } else if (event == event_type::key && !objects.empty()) {
      last_key = parsed.get<std::string>();
      if (!objects.back().keys.insert(last_key).second) {
        std::string field;
        for (size_t i = 1; i < objects.size(); ++i)
          field += objects[i].name + ".";
        field += last_key;
        auto name = printable_key(field);
        field_path repeated{nullptr, name};
        reject(&repeated, "appears more than once");
      }
    }
    return true;
  };
  nlohmann::json tree;
  try {
    tree = nlohmann::json::parse(body.begin(), body.end(), check_depth);
  } catch (const nlohmann::json::exception& e) {
    reject(nullptr, std::string{"is not valid JSON: "}
                        + std::string{json_problem(e.what())});
  }
  return nlohmann::json::to_msgpack(tree);
}

template <class Consumer>
lock_error decode_body(std::string_view body, wire_encoding encoding,
                       Consumer&& consume) {
  auto& zone = thread_zone();
  struct zone_reset {
    msgpack::zone& target;
    ~zone_reset() {
      target.clear();
    }
  } reset{zone};
  try {
    if (encoding == wire_encoding::msgpack) {
      consume(unpack_body(body, zone));
    } else {
      auto bytes = json_to_msgpack(body);
      std::string_view view{reinterpret_cast<const char*>(bytes.data()),
                            bytes.size()};
      consume(unpack_body(view, zone));
    }
  } catch (decode_failure& failure) {
    return make_lock_error(lock_errc::invalid_request,
                           std::move(failure.message),
                           std::move(failure.field));
  }
  return {};
}

// -- encoding -----------------------------------------------------------------

/// Output stream of msgpack::packer that appends to a string.
class string_writer {
public:
  explicit string_writer(std::string& out) : out_(out) {
    // nop
  }

  void write(const char* data, size_t size) {
    out_.append(data, size);
  }

private:
  std::string& out_;
};

using packer = msgpack::packer<string_writer>;

void pack_string(packer& pk, std::string_view value) {
  auto size = static_cast<uint32_t>(value.size());
  pk.pack_str(size);
  pk.pack_str_body(value.data(), size);
}

template <class T>
bool is_present(const T&) {
  return true;
}

template <class T>
bool is_present(const omit_if_empty<T>& x) {
  return !x.value.empty();
}

template <class Ticket>
bool is_present(const ticket_failure<Ticket>& x) {
  return x.ticket.state == ticket_state::failed;
}

template <class Event>
bool is_present(const event_deadlock<Event>& x) {
  return is_deadlock_event(x.event.type);
}

class field_counter {
public:
  template <class T>
  void operator()(std::string_view, const T& value) {
    if (is_present(value))
      ++count_;
  }

  uint32_t count() const noexcept {
    return count_;
  }

private:
  uint32_t count_ = 0;
};

template <class T>
void encode_fields(packer& pk, const T& x);

void encode_records(packer& pk, const std::vector<lock_record>& records);

class field_encoder {
public:
  explicit field_encoder(packer& pk) : pk_(pk) {
    // nop
  }

  void operator()(std::string_view name, const std::string& value) {
    pack_string(pk_, name);
    pack_string(pk_, value);
  }

  void operator()(std::string_view name, int64_t value) {
    pack_string(pk_, name);
    pk_.pack_int64(value);
  }

  void operator()(std::string_view name, uint64_t value) {
    pack_string(pk_, name);
    pk_.pack_uint64(value);
  }

  void operator()(std::string_view name, uint32_t value) {
    pack_string(pk_, name);
    pk_.pack_uint32(value);
  }

  void operator()(std::string_view name, bool value) {
    pack_string(pk_, name);
    if (value)
      pk_.pack_true();
    else
      pk_.pack_false();
  }

  /// NaN and infinity have no JSON form, so they travel as 0.
  void operator()(std::string_view name, double value) {
    pack_string(pk_, name);
    pk_.pack_double(std::isfinite(value) ? value : 0.0);
  }

  void operator()(std::string_view name, non_negative<const int64_t> value) {
    (*this)(name, value.value);
  }

  void operator()(std::string_view name, priority value) {
    pack_string(pk_, name);
    pack_string(pk_, to_string_view(value));
  }

  void operator()(std::string_view name, event_type value) {
    pack_string(pk_, name);
    pack_string(pk_, to_string_view(value));
  }

  void operator()(std::string_view name, lock_errc value) {
    pack_string(pk_, name);
    pack_string(pk_, to_string_view(value));
  }

  void operator()(std::string_view name, ticket_state value) {
    pack_string(pk_, name);
    pack_string(pk_, to_string_view(value));
  }

  void operator()(std::string_view name,
                  const std::vector<std::string>& values) {
    pack_string(pk_, name);
    pk_.pack_array(static_cast<uint32_t>(values.size()));
    for (const auto& value : values)
      pack_string(pk_, value);
  }

  void operator()(std::string_view name,
                  const std::vector<lock_record>& records) {
    pack_string(pk_, name);
    encode_records(pk_, records);
  }

  void operator()(std::string_view name,
                  bulk_items<const std::vector<acquire_request>> value) {
    pack_string(pk_, name);
    pk_.pack_array(static_cast<uint32_t>(value.items.size()));
    for (const auto& request : value.items)
      encode_fields(pk_, bulk_item<const acquire_request>{request});
  }

  void operator()(std::string_view name,
                  ticket_failure<const ticket_info> value) {
    if (!is_present(value))
      return;
    pack_string(pk_, name);
    encode_fields(pk_, value);
  }

  /// Writes every level, with 0 for levels missing from a short vector.
  void operator()(std::string_view name,
                  priority_depths<const std::vector<uint32_t>> value) {
    pack_string(pk_, name);
    pk_.pack_map(static_cast<uint32_t>(priority_levels));
    for (size_t i = 0; i < priority_levels; ++i) {
      pack_string(pk_, to_string_view(static_cast<priority>(i)));
      pk_.pack_uint32(i < value.depths.size() ? value.depths[i] : 0);
    }
  }

  void operator()(std::string_view name, const metadata_map& value) {
    pack_string(pk_, name);
    pk_.pack_map(static_cast<uint32_t>(value.size()));
    for (const auto& [key, text] : value) {
      pack_string(pk_, key);
      pack_string(pk_, text);
    }
  }

  void operator()(std::string_view name, const lock_record& value) {
    pack_string(pk_, name);
    encode_fields(pk_, value);
  }

  void operator()(std::string_view name, const ticket_info& value) {
    pack_string(pk_, name);
    encode_fields(pk_, value);
  }

  void operator()(std::string_view name, const queue_stats& value) {
    pack_string(pk_, name);
    encode_fields(pk_, value);
  }

  void operator()(std::string_view name,
                  const std::vector<cycle_member>& members) {
    pack_string(pk_, name);
    pk_.pack_array(static_cast<uint32_t>(members.size()));
    for (const auto& member : members)
      encode_fields(pk_, member);
  }

  void operator()(std::string_view name,
                  const std::vector<deadlock_info>& deadlocks) {
    pack_string(pk_, name);
    pk_.pack_array(static_cast<uint32_t>(deadlocks.size()));
    for (const auto& deadlock : deadlocks)
      encode_fields(pk_, deadlock);
  }

  void operator()(std::string_view name, const deadlock_stats& value) {
    pack_string(pk_, name);
    encode_fields(pk_, value);
  }

  void operator()(std::string_view name,
                  event_deadlock<const lock_event> value) {
    if (!is_present(value))
      return;
    pack_string(pk_, name);
    encode_fields(pk_, value.event.deadlock);
  }

  template <class T>
  void operator()(std::string_view name, omit_if_empty<const T> value) {
    if (!value.value.empty())
      (*this)(name, value.value);
  }

private:
  packer& pk_;
};

template <class T>
void encode_fields(packer& pk, const T& x) {
  field_counter counter;
  wire_fields(counter, x);
  pk.pack_map(counter.count());
  field_encoder encoder{pk};
  wire_fields(encoder, x);
}

void encode_records(packer& pk, const std::vector<lock_record>& records) {
  pk.pack_array(static_cast<uint32_t>(records.size()));
  for (const auto& record : records)
    encode_fields(pk, record);
}

void encode_outcomes(packer& pk,
                     const std::vector<release_outcome>& outcomes) {
  pk.pack_array(static_cast<uint32_t>(outcomes.size()));
  for (const auto& outcome : outcomes) {
    bool released = outcome.code == lock_errc::none;
    pk.pack_map(released ? 2 : 3);
    pack_string(pk, "lock_id");
    pack_string(pk, outcome.lock_id);
    pack_string(pk, "ok");
    if (released) {
      pk.pack_true();
      continue;
    }
    pk.pack_false();
    pack_string(pk, "code");
    pack_string(pk, to_string_view(outcome.code));
  }
}

/// Starts a successful reply map of `size` entries with `"ok": true`.
void begin_success(packer& pk, uint32_t size) {
  pk.pack_map(size);
  pack_string(pk, "ok");
  pk.pack_true();
}

void encode_success(packer& pk, request_verb verb, const lock_reply& reply) {
  field_encoder encoder{pk};
  bool has_lock = !reply.lock.empty();
  switch (verb) {
  case request_verb::acquire:
  case request_verb::release:
  case request_verb::renew:
    begin_success(pk, has_lock ? 2 : 1);
    if (has_lock)
      encoder("lock", reply.lock);
    return;
  case request_verb::get:
    begin_success(pk, has_lock ? 3 : 2);
    if (has_lock)
      encoder("lock", reply.lock);
    encoder("waiting", reply.waiting);
    return;
  case request_verb::list:
  case request_verb::acquire_bulk:
    begin_success(pk, 2);
    encoder("locks", reply.locks);
    return;
  case request_verb::release_owner:
    begin_success(pk, 2);
    encoder("released", reply.released);
    return;
  case request_verb::acquire_async:
  case request_verb::ticket:
  case request_verb::cancel:
    begin_success(pk, 2);
    encoder("ticket", reply.ticket);
    return;
  case request_verb::release_bulk:
    begin_success(pk, 2);
    pack_string(pk, "results");
    encode_outcomes(pk, reply.outcomes);
    return;
  case request_verb::reopen_owner:
    begin_success(pk, 1);
    return;
  case request_verb::stats:
    begin_success(pk, 3);
    encoder("stats", reply.stats);
    encoder("locks", reply.locks);
    return;
  case request_verb::detect:
    begin_success(pk, 3);
    encoder("deadlocks", reply.deadlocks);
    encoder("deadlock_stats", reply.deadlock_counters);
    return;
  }
  // Unreachable for valid verbs; an empty success keeps the body valid.
  begin_success(pk, 1);
}

void encode_reply_body(packer& pk, request_verb verb, const lock_reply& reply) {
  if (reply.ok()) {
    encode_success(pk, verb, reply);
    return;
  }
  pk.pack_map(2);
  pack_string(pk, "ok");
  pk.pack_false();
  pack_string(pk, "error");
  encode_fields(pk, reply.error);
}

/// Runs `write` on a msgpack packer and stores the result in `out`, either
/// as msgpack or converted to JSON.
template <class Writer>
void encode_body(wire_encoding encoding, std::string& out, Writer&& write) {
  out.clear();
  if (encoding == wire_encoding::msgpack) {
    string_writer writer{out};
    packer pk{writer};
    write(pk);
    return;
  }
  std::string bytes;
  string_writer writer{bytes};
  packer pk{writer};
  write(pk);
  // ordered_json keeps the field order of the mapping ("ok" first). Strings
  // such as metadata values may hold invalid UTF-8 from msgpack clients, so
  // the dump replaces it instead of throwing.
  auto tree = nlohmann::ordered_json::from_msgpack(bytes);
  out = tree.dump(-1, ' ', false,
                  nlohmann::ordered_json::error_handler_t::replace);
}

template <class Request>
void encode_request_body(const Request& request, wire_encoding encoding,
                         std::string& out) {
  encode_body(encoding, out, [&](packer& pk) { encode_fields(pk, request); });
}

template <class Request>
lock_error decode_request_body(std::string_view body, wire_encoding encoding,
                               Request& out) {
  out = Request{};
  return decode_body(body, encoding, [&](const msgpack::object& root) {
    decode_fields(root, nullptr, out, true);
  });
}

/// Reads one entry of a reply map and skips unknown entries.
void read_reply_entry(std::string_view key, const msgpack::object& value,
                      lock_reply& out, bool& ok, bool& has_ok) {
  field_path path{nullptr, key};
  if (key == "ok") {
    read(value, &path, ok);
    has_ok = true;
  } else if (key == "error") {
    decode_fields(value, &path, out.error, false);
  } else if (key == "lock") {
    read(value, &path, out.lock);
  } else if (key == "locks") {
    read(value, &path, out.locks);
  } else if (key == "released") {
    read(value, &path, out.released);
  } else if (key == "waiting") {
    read(value, &path, out.waiting);
  } else if (key == "ticket") {
    read(value, &path, out.ticket);
  } else if (key == "results") {
    read(value, &path, out.outcomes);
  } else if (key == "stats") {
    read(value, &path, out.stats);
  } else if (key == "deadlocks") {
    read(value, &path, out.deadlocks);
  } else if (key == "deadlock_stats") {
    read(value, &path, out.deadlock_counters);
  }
}

void read_reply(const msgpack::object& root, lock_reply& out) {
  if (root.type != msgpack::type::MAP)
    reject_type(root, nullptr, "a map");
  bool ok = false;
  bool has_ok = false;
  const auto& map = root.via.map;
  for (uint32_t i = 0; i < map.size; ++i) {
    const auto& entry = map.ptr[i];
    if (entry.key.type != msgpack::type::STR)
      reject_type(entry.key, nullptr, "a map with string keys, but a key is");
    read_reply_entry(as_string_view(entry.key), entry.val, out, ok, has_ok);
  }
  if (!has_ok) {
    field_path path{nullptr, "ok"};
    reject(&path, "is missing");
  }
  if (ok) {
    out.error = lock_error{};
  } else if (out.error.code == lock_errc::none) {
    field_path path{nullptr, "error"};
    reject(&path, "is missing or has no code in a failed reply");
  }
}

} // namespace

std::string_view to_string_view(request_verb verb) {
  auto index = static_cast<size_t>(verb);
  if (index < verb_names.size())
    return verb_names[index];
  return "unknown";
}

std::optional<request_verb> parse_request_verb(std::string_view name) {
  for (size_t i = 0; i < verb_names.size(); ++i)
    if (verb_names[i] == name)
      return static_cast<request_verb>(i);
  return std::nullopt;
}

void encode_request(const acquire_request& request, wire_encoding encoding,
                    std::string& out) {
  encode_request_body(request, encoding, out);
}

void encode_request(const release_request& request, wire_encoding encoding,
                    std::string& out) {
  encode_request_body(request, encoding, out);
}

void encode_request(const renew_request& request, wire_encoding encoding,
                    std::string& out) {
  encode_request_body(request, encoding, out);
}

void encode_request(const get_request& request, wire_encoding encoding,
                    std::string& out) {
  encode_request_body(request, encoding, out);
}

void encode_request(const list_request& request, wire_encoding encoding,
                    std::string& out) {
  encode_request_body(request, encoding, out);
}

void encode_request(const release_owner_request& request,
                    wire_encoding encoding, std::string& out) {
  encode_request_body(request, encoding, out);
}

void encode_request(const acquire_async_request& request,
                    wire_encoding encoding, std::string& out) {
  encode_request_body(request, encoding, out);
}

void encode_request(const ticket_request& request, wire_encoding encoding,
                    std::string& out) {
  encode_request_body(request, encoding, out);
}

void encode_request(const cancel_request& request, wire_encoding encoding,
                    std::string& out) {
  encode_request_body(request, encoding, out);
}

void encode_request(const bulk_acquire_request& request, wire_encoding encoding,
                    std::string& out) {
  encode_request_body(request, encoding, out);
}

void encode_request(const bulk_release_request& request, wire_encoding encoding,
                    std::string& out) {
  encode_request_body(request, encoding, out);
}

void encode_request(const reopen_owner_request& request, wire_encoding encoding,
                    std::string& out) {
  encode_request_body(request, encoding, out);
}

void encode_request(const stats_request& request, wire_encoding encoding,
                    std::string& out) {
  encode_request_body(request, encoding, out);
}

void encode_request(const detect_request& request, wire_encoding encoding,
                    std::string& out) {
  encode_request_body(request, encoding, out);
}

void encode_reply(request_verb verb, const lock_reply& reply,
                  wire_encoding encoding, std::string& out) {
  encode_body(encoding, out,
              [&](packer& pk) { encode_reply_body(pk, verb, reply); });
}

std::string encode_reply(request_verb verb, const lock_reply& reply,
                         wire_encoding encoding) {
  std::string out;
  encode_reply(verb, reply, encoding, out);
  return out;
}

void encode_event(const lock_event& event, wire_encoding encoding,
                  std::string& out) {
  encode_body(encoding, out, [&](packer& pk) { encode_fields(pk, event); });
}

std::string encode_event(const lock_event& event, wire_encoding encoding) {
  std::string out;
  encode_event(event, encoding, out);
  return out;
}

lock_error decode_request(std::string_view body, wire_encoding encoding,
                          acquire_request& out) {
  return decode_request_body(body, encoding, out);
}

lock_error decode_request(std::string_view body, wire_encoding encoding,
                          release_request& out) {
  return decode_request_body(body, encoding, out);
}

lock_error decode_request(std::string_view body, wire_encoding encoding,
                          renew_request& out) {
  return decode_request_body(body, encoding, out);
}

lock_error decode_request(std::string_view body, wire_encoding encoding,
                          get_request& out) {
  return decode_request_body(body, encoding, out);
}

lock_error decode_request(std::string_view body, wire_encoding encoding,
                          list_request& out) {
  return decode_request_body(body, encoding, out);
}

lock_error decode_request(std::string_view body, wire_encoding encoding,
                          release_owner_request& out) {
  return decode_request_body(body, encoding, out);
}

lock_error decode_request(std::string_view body, wire_encoding encoding,
                          acquire_async_request& out) {
  return decode_request_body(body, encoding, out);
}

lock_error decode_request(std::string_view body, wire_encoding encoding,
                          ticket_request& out) {
  return decode_request_body(body, encoding, out);
}

lock_error decode_request(std::string_view body, wire_encoding encoding,
                          cancel_request& out) {
  return decode_request_body(body, encoding, out);
}

lock_error decode_request(std::string_view body, wire_encoding encoding,
                          bulk_acquire_request& out) {
  return decode_request_body(body, encoding, out);
}

lock_error decode_request(std::string_view body, wire_encoding encoding,
                          bulk_release_request& out) {
  return decode_request_body(body, encoding, out);
}

lock_error decode_request(std::string_view body, wire_encoding encoding,
                          reopen_owner_request& out) {
  return decode_request_body(body, encoding, out);
}

lock_error decode_request(std::string_view body, wire_encoding encoding,
                          stats_request& out) {
  return decode_request_body(body, encoding, out);
}

lock_error decode_request(std::string_view body, wire_encoding encoding,
                          detect_request& out) {
  return decode_request_body(body, encoding, out);
}

lock_error decode_reply(std::string_view body, wire_encoding encoding,
                        lock_reply& out) {
  out = lock_reply{};
  return decode_body(body, encoding, [&](const msgpack::object& root) {
    read_reply(root, out);
  });
}

lock_error decode_event(std::string_view body, wire_encoding encoding,
                        lock_event& out) {
  out = lock_event{};
  return decode_body(body, encoding, [&](const msgpack::object& root) {
    decode_fields(root, nullptr, out, false);
  });
}

} // namespace holdfast
