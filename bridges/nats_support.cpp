#include "bridges/nats_support.hpp"

#include <cctype>
#include <cstring>

namespace holdfast {

namespace {

bool is_json_type(std::string_view value) {
  constexpr std::string_view json = "application/json";
  if (value.size() < json.size())
    return false;
  for (size_t i = 0; i < json.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(value[i])) != json[i])
      return false;
  if (value.size() == json.size())
    return true;
  auto next = value[json.size()];
  return next == ';' || next == ' ';
}

const char* content_type_value(natsMsg* msg) {
  const char* value = nullptr;
  if (natsMsgHeader_Get(msg, content_type_header, &value) == NATS_OK)
    return value;
  // Header names are case-sensitive in nats.c; accept the lower-case
  // spelling that some HTTP-minded clients send.
  if (natsMsgHeader_Get(msg, "content-type", &value) == NATS_OK)
    return value;
  return nullptr;
}

} // namespace

std::string content_type_of(natsMsg* msg) {
  auto value = content_type_value(msg);
  return value != nullptr ? std::string{value} : std::string{};
}

wire_encoding encoding_of(natsMsg* msg) {
  auto value = content_type_value(msg);
  if (value != nullptr && is_json_type(value))
    return wire_encoding::json;
  return wire_encoding::msgpack;
}

natsStatus publish(natsConnection* connection, const char* subject,
                   std::string_view data, wire_encoding encoding) {
  auto size = static_cast<int>(data.size());
  if (encoding == wire_encoding::msgpack)
    return natsConnection_Publish(connection, subject, data.data(), size);
  natsMsg* raw = nullptr;
  auto status = natsMsg_Create(&raw, subject, nullptr, data.data(), size);
  if (status != NATS_OK)
    return status;
  nats_msg_ptr msg{raw};
  status = natsMsgHeader_Set(msg.get(), content_type_header, json_content_type);
  if (status != NATS_OK)
    return status;
  return natsConnection_PublishMsg(connection, msg.get());
}

std::string status_text(natsStatus status) {
  std::string result = natsStatus_GetText(status);
  result += " (status ";
  result += std::to_string(static_cast<int>(status));
  result += ')';
  return result;
}

std::string redact_url(std::string_view url) {
  constexpr std::string_view mask = "***";
  std::string result;
  result.reserve(url.size());
  size_t start = 0;
  while (start <= url.size()) {
    auto end = url.find(',', start);
    if (end == std::string_view::npos)
      end = url.size();
    auto part = url.substr(start, end - start);

    // The user information starts after the scheme, when there is one.
    auto scheme_end = part.find("://");
    auto info_begin = scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
    auto at = part.rfind('@');
    if (at == std::string_view::npos || at < info_begin) {
      result += part;
    } else {
      auto info = part.substr(info_begin, at - info_begin);
      auto colon = info.find(':');
      result += part.substr(0, info_begin);
      // Without a colon the whole user information is a token.
      if (colon != std::string_view::npos)
        result += info.substr(0, colon + 1);
      result += mask;
      result += part.substr(at);
    }

    if (end == url.size())
      break;
    result += ',';
    start = end + 1;
  }
  return result;
}

std::string connected_url(natsConnection* connection) {
  char buffer[256];
  if (natsConnection_GetConnectedUrl(connection, buffer, sizeof(buffer))
      != NATS_OK)
    return {};
  return buffer;
}

} // namespace holdfast
