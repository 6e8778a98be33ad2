#include "actors/lmdb_format.hpp"

#include <map>

#include <msgpack.hpp>

namespace holdfast {

namespace {

constexpr uint32_t lock_value_fields = 13;
constexpr uint32_t counter_value_fields = 2;

std::string to_string(const msgpack::sbuffer& buffer) {
  return std::string{buffer.data(), buffer.size()};
}

// Parses exactly one msgpack object that spans all of `bytes`. The limits
// keep a corrupt length prefix from allocating more elements than the value
// has bytes.
msgpack::object_handle unpack_whole(std::string_view bytes) {
  auto size = bytes.size();
  msgpack::unpack_limit limit{size, size, size, size, size, 8};
  msgpack::object_handle handle;
  size_t offset = 0;
  try {
    msgpack::unpack(handle, bytes.data(), size, offset, nullptr, nullptr,
                    limit);
  } catch (const msgpack::unpack_error& error) {
    throw lmdb_format_error("invalid msgpack data (" + std::to_string(size)
                            + " bytes): " + error.what());
  }
  if (offset != size)
    throw lmdb_format_error("unexpected " + std::to_string(size - offset)
                            + " bytes after the msgpack value");
  return handle;
}

// Returns the elements of a versioned array after checking its version and
// its length.
const msgpack::object* open_versioned_array(const msgpack::object& object,
                                            uint32_t expected_fields) {
  if (object.type != msgpack::type::ARRAY || object.via.array.size == 0)
    throw lmdb_format_error("expected a msgpack array starting with the "
                            "format version");
  const auto* fields = object.via.array.ptr;
  if (fields[0].type != msgpack::type::POSITIVE_INTEGER)
    throw lmdb_format_error("the format version is not an unsigned integer");
  if (fields[0].via.u64 != lmdb_format_version)
    throw lmdb_format_error("unsupported format version "
                            + std::to_string(fields[0].via.u64)
                            + " (this build reads version "
                            + std::to_string(lmdb_format_version) + ")");
  if (object.via.array.size != expected_fields)
    throw lmdb_format_error("expected " + std::to_string(expected_fields)
                            + " fields, found "
                            + std::to_string(object.via.array.size));
  return fields;
}

template <class T>
T field_as(const msgpack::object* fields, size_t index, const char* name) {
  try {
    return fields[index].as<T>();
  } catch (const msgpack::type_error&) {
    // type_error also covers integers out of the range of T.
    throw lmdb_format_error(std::string{"field '"} + name
                            + "' has the wrong msgpack type or range");
  }
}

} // namespace

std::string encode_lock_value(const lock_record& record) {
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> packer{buffer};
  packer.pack_array(lock_value_fields);
  packer.pack(lmdb_format_version);
  packer.pack(record.lock_id);
  packer.pack(record.key.tenant);
  packer.pack(record.key.project);
  packer.pack(record.key.workspace);
  packer.pack(record.owner);
  packer.pack(record.user);
  packer.pack(static_cast<uint8_t>(record.level));
  packer.pack(record.token);
  packer.pack(record.acquired_at_ms);
  packer.pack(record.expires_at_ms);
  packer.pack(record.ttl_ms);
  packer.pack(record.metadata);
  return to_string(buffer);
}

lock_record decode_lock_value(std::string_view bytes) {
  auto handle = unpack_whole(bytes);
  const auto* fields = open_versioned_array(handle.get(), lock_value_fields);
  lock_record record;
  record.lock_id = field_as<std::string>(fields, 1, "lock_id");
  record.key.tenant = field_as<std::string>(fields, 2, "tenant");
  record.key.project = field_as<std::string>(fields, 3, "project");
  record.key.workspace = field_as<std::string>(fields, 4, "workspace");
  record.owner = field_as<std::string>(fields, 5, "owner");
  record.user = field_as<std::string>(fields, 6, "user");
  auto level = field_as<uint8_t>(fields, 7, "level");
  if (level > static_cast<uint8_t>(priority::critical))
    throw lmdb_format_error("invalid priority level " + std::to_string(level));
  record.level = static_cast<priority>(level);
  record.token = field_as<uint64_t>(fields, 8, "token");
  record.acquired_at_ms = field_as<int64_t>(fields, 9, "acquired_at_ms");
  record.expires_at_ms = field_as<int64_t>(fields, 10, "expires_at_ms");
  record.ttl_ms = field_as<int64_t>(fields, 11, "ttl_ms");
  record.metadata = field_as<metadata_map>(fields, 12, "metadata");
  return record;
}

std::string encode_counter_value(uint64_t counter) {
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> packer{buffer};
  packer.pack_array(counter_value_fields);
  packer.pack(lmdb_format_version);
  packer.pack(counter);
  return to_string(buffer);
}

uint64_t decode_counter_value(std::string_view bytes) {
  auto handle = unpack_whole(bytes);
  const auto* fields = open_versioned_array(handle.get(), counter_value_fields);
  if (fields[1].type != msgpack::type::POSITIVE_INTEGER)
    throw lmdb_format_error("the token counter is not an unsigned integer");
  return fields[1].via.u64;
}

std::string encode_token_key(const resource_key& key) {
  std::string result;
  result.reserve(key.tenant.size() + key.project.size() + key.workspace.size()
                 + 2);
  result += key.tenant;
  result += '\0';
  result += key.project;
  result += '\0';
  result += key.workspace;
  return result;
}

resource_key decode_token_key(std::string_view bytes) {
  auto first = bytes.find('\0');
  auto second = first == std::string_view::npos ? std::string_view::npos
                                                : bytes.find('\0', first + 1);
  if (second == std::string_view::npos
      || bytes.find('\0', second + 1) != std::string_view::npos)
    throw lmdb_format_error("a token key must contain exactly two '\\0' "
                            "separators");
  resource_key key;
  key.tenant = std::string{bytes.substr(0, first)};
  key.project = std::string{bytes.substr(first + 1, second - first - 1)};
  key.workspace = std::string{bytes.substr(second + 1)};
  return key;
}

std::string encode_schema_value(uint64_t version) {
  msgpack::sbuffer buffer;
  msgpack::pack(buffer, version);
  return to_string(buffer);
}

uint64_t decode_schema_value(std::string_view bytes) {
  auto handle = unpack_whole(bytes);
  const auto& object = handle.get();
  if (object.type != msgpack::type::POSITIVE_INTEGER)
    throw lmdb_format_error("the schema version is not an unsigned integer");
  return object.via.u64;
}

} // namespace holdfast
