#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "messages/deadlock.hpp"
#include "messages/events.hpp"
#include "messages/queueing.hpp"
#include "messages/replies.hpp"
#include "messages/requests.hpp"

namespace holdfast {

/// Encoding of a request, reply or event body. Requests carrying the NATS
/// header `Content-Type: application/json` are JSON and get JSON replies.
/// Every other request is msgpack. The enum lives here rather than in
/// bridges/ because the codec needs it and messages/ must not depend on
/// bridges/.
enum class wire_encoding : uint8_t {
  msgpack,
  json,
};

/// Operation named by the last token of a request subject.
enum class request_verb : uint8_t {
  acquire,
  release,
  renew,
  get,
  list,
  release_owner,
  acquire_async,
  ticket,
  cancel,
  acquire_bulk,
  release_bulk,
  reopen_owner,
  stats,
  detect,
};

/// Number of request verbs; `request_verb` values are 0 to this minus one.
constexpr size_t request_verb_count
    = static_cast<size_t>(request_verb::detect) + 1;

/// Returns the subject token of `verb`, such as "release_owner".
std::string_view to_string_view(request_verb verb);

/// Parses a subject token; returns nothing for an unknown verb.
std::optional<request_verb> parse_request_verb(std::string_view name);

// Encoders replace the contents of `out` but keep its capacity, so that a
// caller can reuse one buffer per thread. Requests never carry the tenant:
// it travels in the subject.

void encode_request(const acquire_request& request, wire_encoding encoding,
                    std::string& out);
void encode_request(const release_request& request, wire_encoding encoding,
                    std::string& out);
void encode_request(const renew_request& request, wire_encoding encoding,
                    std::string& out);
void encode_request(const get_request& request, wire_encoding encoding,
                    std::string& out);
void encode_request(const list_request& request, wire_encoding encoding,
                    std::string& out);
void encode_request(const release_owner_request& request,
                    wire_encoding encoding, std::string& out);
void encode_request(const acquire_async_request& request,
                    wire_encoding encoding, std::string& out);
void encode_request(const ticket_request& request, wire_encoding encoding,
                    std::string& out);
void encode_request(const cancel_request& request, wire_encoding encoding,
                    std::string& out);
void encode_request(const bulk_acquire_request& request,
                    wire_encoding encoding, std::string& out);
void encode_request(const bulk_release_request& request,
                    wire_encoding encoding, std::string& out);
void encode_request(const reopen_owner_request& request,
                    wire_encoding encoding, std::string& out);
void encode_request(const stats_request& request, wire_encoding encoding,
                    std::string& out);
void encode_request(const detect_request& request, wire_encoding encoding,
                    std::string& out);

/// Encodes the reply to a `verb` request. A success carries the fields of
/// its verb:
/// - `lock` (omitted when empty) for acquire, release and renew,
/// - `lock` and `waiting` for get,
/// - `locks` for list and acquire_bulk,
/// - `released` for release_owner,
/// - `ticket` for acquire_async, ticket and cancel,
/// - `results` for release_bulk,
/// - `stats` and `locks` for stats,
/// - `deadlocks` and `deadlock_stats` for detect,
/// - nothing more for reopen_owner.
/// A failure carries `error`, whose `holders` and `cycle` lists appear only
/// when they are not empty.
void encode_reply(request_verb verb, const lock_reply& reply,
                  wire_encoding encoding, std::string& out);

/// Encodes an event. Only the types deadlock.detected, deadlock.resolved
/// and deadlock.vetoed carry the `deadlock` map.
void encode_event(const lock_event& event, wire_encoding encoding,
                  std::string& out);

template <class T>
std::string encode_request(const T& request, wire_encoding encoding) {
  std::string out;
  encode_request(request, encoding, out);
  return out;
}

std::string encode_reply(request_verb verb, const lock_reply& reply,
                         wire_encoding encoding);

std::string encode_event(const lock_event& event, wire_encoding encoding);

// Decoders return an error with code `none` on success. Request decoding is
// strict. The body must be a map, and a wrong type, a negative or
// out-of-range number, an unknown field or an unknown priority fails with
// `invalid_request` naming the field ("body" when the body itself is
// malformed, "locks[1].project" inside an array). Fields missing from the
// body keep their defaults. Semantic checks (lengths, charset, ranges,
// required fields) belong to `validate`. The tenant stays empty, also in
// the items of a bulk acquisition, for the caller to fill in from the
// subject.

lock_error decode_request(std::string_view body, wire_encoding encoding,
                          acquire_request& out);
lock_error decode_request(std::string_view body, wire_encoding encoding,
                          release_request& out);
lock_error decode_request(std::string_view body, wire_encoding encoding,
                          renew_request& out);
lock_error decode_request(std::string_view body, wire_encoding encoding,
                          get_request& out);
lock_error decode_request(std::string_view body, wire_encoding encoding,
                          list_request& out);
lock_error decode_request(std::string_view body, wire_encoding encoding,
                          release_owner_request& out);
lock_error decode_request(std::string_view body, wire_encoding encoding,
                          acquire_async_request& out);
lock_error decode_request(std::string_view body, wire_encoding encoding,
                          ticket_request& out);
lock_error decode_request(std::string_view body, wire_encoding encoding,
                          cancel_request& out);
lock_error decode_request(std::string_view body, wire_encoding encoding,
                          bulk_acquire_request& out);
lock_error decode_request(std::string_view body, wire_encoding encoding,
                          bulk_release_request& out);
lock_error decode_request(std::string_view body, wire_encoding encoding,
                          reopen_owner_request& out);
lock_error decode_request(std::string_view body, wire_encoding encoding,
                          stats_request& out);
lock_error decode_request(std::string_view body, wire_encoding encoding,
                          detect_request& out);

/// Decodes a reply of any verb. Unknown fields are skipped, so that older
/// clients accept replies of newer services. A malformed body or a wrong
/// type fails with `invalid_request` naming the field.
lock_error decode_reply(std::string_view body, wire_encoding encoding,
                        lock_reply& out);

/// Decodes an event, skipping unknown fields like `decode_reply`.
lock_error decode_event(std::string_view body, wire_encoding encoding,
                        lock_event& out);

} // namespace holdfast
