#include "messages/wire_codec.hpp"

#include <array>
#include <cstring>
#include <limits>
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

constexpr std::array<std::string_view, 6> verb_names{
    "acquire", "release", "renew", "get", "list", "release_owner",
};

/// Maximum nesting depth of a body. Requests need two levels (the
/// metadata map), replies four (locks, record, metadata).
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

template <class Visitor, class T, if_wire_type<T, lock_error> = 0>
void wire_fields(Visitor& f, T& x) {
  f("code", x.code);
  f("message", x.message);
  f("field", as_optional(x.field));
  f("holder", as_optional(x.holder));
}

template <class Visitor, class T, if_wire_type<T, lock_event> = 0>
void wire_fields(Visitor& f, T& x) {
  f("type", x.type);
  f("timestamp_ms", x.timestamp_ms);
  f("reason", x.reason);
  f("lock", x.record);
}

// -- decoding errors ----------------------------------------------------------

/// Position of a value inside the body, as a chain of names from the root.
/// A null path is the body itself. Rendered only when decoding fails.
struct field_path {
  const field_path* parent;
  std::string_view name;
};

std::string render(const field_path* path) {
  if (path == nullptr)
    return "body";
  std::vector<std::string_view> names;
  for (auto i = path; i != nullptr; i = i->parent)
    names.push_back(i->name);
  std::string result;
  for (auto i = names.rbegin(); i != names.rend(); ++i) {
    if (!result.empty())
      result += '.';
    result += *i;
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
    field_path value_path{path, key};
    if (entry.val.type != msgpack::type::STR)
      reject_type(entry.val, &value_path, "a string");
    out.insert_or_assign(std::move(key),
                         std::string{as_string_view(entry.val)});
  }
}

/// Records only travel in replies and events, which are decoded leniently.
void read(const msgpack::object& x, const field_path* path, lock_record& out) {
  out = lock_record{};
  decode_fields(x, path, out, false);
}

void read(const msgpack::object& x, const field_path* path,
          std::vector<lock_record>& out) {
  if (x.type != msgpack::type::ARRAY)
    reject_type(x, path, "an array of locks");
  out.clear();
  out.resize(x.via.array.size);
  for (uint32_t i = 0; i < x.via.array.size; ++i) {
    auto index = std::to_string(i);
    field_path element_path{path, index};
    read(x.via.array.ptr[i], &element_path, out[i]);
  }
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
    field_decoder decoder{key, entry.val, path};
    wire_fields(decoder, out);
    if (decoder.matched() || !strict)
      continue;
    field_lister lister;
    wire_fields(lister, out);
    std::string problem = "is not a known field, expected one of: ";
    problem += lister.names();
    if (path == nullptr && key == "tenant")
      problem += " (the tenant is taken from the subject)";
    field_path unknown{path, key};
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
  auto check_depth
      = [](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
          if (depth > max_body_depth)
            reject(nullptr, "nests deeper than "
                                + std::to_string(max_body_depth) + " levels");
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

void encode_reply_body(packer& pk, request_verb verb, const lock_reply& reply) {
  if (!reply.ok()) {
    pk.pack_map(2);
    pack_string(pk, "ok");
    pk.pack_false();
    pack_string(pk, "error");
    encode_fields(pk, reply.error);
    return;
  }
  uint32_t has_lock = reply.lock.empty() ? 0 : 1;
  uint32_t size = 1 + has_lock;
  if (verb == request_verb::list || verb == request_verb::release_owner)
    size = 2;
  else if (verb == request_verb::get)
    size = 2 + has_lock;
  pk.pack_map(size);
  pack_string(pk, "ok");
  pk.pack_true();
  switch (verb) {
  case request_verb::list:
    pack_string(pk, "locks");
    encode_records(pk, reply.locks);
    return;
  case request_verb::release_owner:
    pack_string(pk, "released");
    pk.pack_uint32(reply.released);
    return;
  default:
    break;
  }
  if (has_lock) {
    pack_string(pk, "lock");
    encode_fields(pk, reply.lock);
  }
  if (verb == request_verb::get) {
    pack_string(pk, "waiting");
    pk.pack_uint32(reply.waiting);
  }
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
  return verb_names[static_cast<size_t>(verb)];
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
