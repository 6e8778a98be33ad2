#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <nats/nats.h>

#include "messages/wire_codec.hpp"

namespace holdfast {

/// Header that marks a JSON body, and its value.
constexpr const char* content_type_header = "Content-Type";
constexpr const char* json_content_type = "application/json";

/// Returns the Content-Type header of `msg`, or an empty string.
std::string content_type_of(natsMsg* msg);

/// Returns `json` when `msg` carries `Content-Type: application/json`
/// (parameters such as "; charset=utf-8" allowed), `msgpack` otherwise.
wire_encoding encoding_of(natsMsg* msg);

/// Publishes `data` on `subject`, with the JSON content type when
/// `encoding` is JSON. Safe to call from any thread while `connection`
/// exists.
natsStatus publish(natsConnection* connection, const char* subject,
                   std::string_view data, wire_encoding encoding);

/// Renders a status for messages, such as "Timeout (status 26)".
std::string status_text(natsStatus status);

/// Returns the URL of the server that `connection` uses, or an empty string
/// while it has none. The URL includes any user and password; pass it
/// through `redact_url` before logging it.
std::string connected_url(natsConnection* connection);

/// Returns `url` with the password of `user:password@` and a token given as
/// `token@` replaced by `***`, for logs and error messages. Handles a
/// comma-separated list of URLs as nats.c accepts it, and splits the user
/// information at the last '@' of each URL, as nats.c does.
std::string redact_url(std::string_view url);

struct nats_options_deleter {
  void operator()(natsOptions* options) const {
    natsOptions_Destroy(options);
  }
};

using nats_options_ptr = std::unique_ptr<natsOptions, nats_options_deleter>;

struct nats_msg_deleter {
  void operator()(natsMsg* msg) const {
    natsMsg_Destroy(msg);
  }
};

using nats_msg_ptr = std::unique_ptr<natsMsg, nats_msg_deleter>;

} // namespace holdfast
