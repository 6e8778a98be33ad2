#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "messages/lock_record.hpp"

namespace holdfast {

/// Version written as the first element of every encoded value. A change to
/// the layout of a value bumps it, and decoders reject versions they do not
/// know.
constexpr uint64_t lmdb_format_version = 1;

/// Layout of the LMDB databases (names, keys). Stored in the `meta` database
/// so that an older build does not misread a newer store.
constexpr uint64_t lmdb_schema_version = 1;

/// Raised when a stored value or key cannot be decoded.
class lmdb_format_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Encodes `record` as the msgpack array [format version, lock_id, tenant,
/// project, workspace, owner, user, level, token, acquired_at_ms,
/// expires_at_ms, ttl_ms, metadata].
std::string encode_lock_value(const lock_record& record);

/// Decodes a value written by `encode_lock_value`. Throws lmdb_format_error.
lock_record decode_lock_value(std::string_view bytes);

/// Encodes a token counter as the msgpack array [format version, counter].
std::string encode_counter_value(uint64_t counter);

/// Decodes a value written by `encode_counter_value`. Throws
/// lmdb_format_error.
uint64_t decode_counter_value(std::string_view bytes);

/// Encodes the key of the `tokens` database: tenant, project and workspace
/// separated by '\0', which valid names never contain.
std::string encode_token_key(const resource_key& key);

/// Decodes a key written by `encode_token_key`. Throws lmdb_format_error.
resource_key decode_token_key(std::string_view bytes);

/// Encodes the schema version as a bare msgpack unsigned integer. Unlike the
/// other values it carries no format version, because every build must be
/// able to read it in order to reject a newer store.
std::string encode_schema_value(uint64_t version);

/// Decodes a value written by `encode_schema_value`. Throws
/// lmdb_format_error.
uint64_t decode_schema_value(std::string_view bytes);

} // namespace holdfast
