#include "bridges/subjects.hpp"

namespace holdfast {

namespace {

constexpr std::string_view hex_digits = "0123456789ABCDEF";

bool is_subject_safe(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
         || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

bool is_subject_token(std::string_view text) {
  for (char c : text)
    if (!is_subject_safe(c))
      return false;
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

/// Splits off the text before the next dot, or all of `rest`.
std::string_view next_token(std::string_view& rest) {
  auto dot = rest.find('.');
  auto token = rest.substr(0, dot);
  rest = dot == std::string_view::npos ? std::string_view{}
                                       : rest.substr(dot + 1);
  return token;
}

lock_error invalid_subject(std::string_view subject, std::string_view problem) {
  std::string message = "subject '";
  message += subject;
  message += "' ";
  message += problem;
  message += ": requests go to holdfast.v1.<tenant>.lock.<verb>";
  return make_lock_error(lock_errc::invalid_request, std::move(message),
                         "subject");
}

/// Returns "acquire, release, ... or stats" for error messages.
std::string known_verbs() {
  std::string result;
  for (size_t i = 0; i < request_verb_count; ++i) {
    if (i > 0)
      result += i + 1 == request_verb_count ? " or " : ", ";
    result += to_string_view(static_cast<request_verb>(i));
  }
  return result;
}

void append_escaped(std::string& out, std::string_view text) {
  for (char c : text) {
    if (is_subject_safe(c)) {
      out += c;
      continue;
    }
    auto byte = static_cast<unsigned char>(c);
    out += '%';
    out += hex_digits[byte >> 4];
    out += hex_digits[byte & 0x0F];
  }
}

/// Appends a filter token: `*` when empty, the escaped text otherwise.
void append_filter_token(std::string& out, std::string_view text) {
  if (text.empty())
    out += '*';
  else
    append_escaped(out, text);
}

} // namespace

std::string request_subject(std::string_view tenant, request_verb verb) {
  auto verb_name = to_string_view(verb);
  std::string result;
  result.reserve(subject_prefix.size() + tenant.size() + verb_name.size() + 6);
  result += subject_prefix;
  result += tenant;
  result += ".lock.";
  result += verb_name;
  return result;
}

parsed_request_subject parse_request_subject(std::string_view subject) {
  parsed_request_subject result;
  if (subject.substr(0, subject_prefix.size()) != subject_prefix) {
    result.error = invalid_subject(subject, "does not start with holdfast.v1.");
    return result;
  }

  auto rest = subject.substr(subject_prefix.size());
  auto tenant = next_token(rest);
  auto area = next_token(rest);
  if (area != "lock") {
    result.error = invalid_subject(subject, "names an unknown area '"
                                                + std::string{area} + "'");
    return result;
  }
  if (rest.empty()) {
    result.error = invalid_subject(subject, "has no verb");
    return result;
  }

  auto verb_token = next_token(rest);
  auto verb = parse_request_verb(verb_token);
  if (!verb) {
    result.error = invalid_subject(subject, "names an unknown verb '"
                                                + std::string{verb_token}
                                                + "' (expected one of "
                                                + known_verbs() + ")");
    return result;
  }
  if (!rest.empty()) {
    result.error = invalid_subject(subject, "has extra tokens after the verb");
    return result;
  }

  if (!is_subject_token(tenant)) {
    result.error = make_lock_error(
        lock_errc::invalid_request,
        "tenant '" + std::string{tenant}
            + "' must contain only letters, digits, '_' or '-'",
        "tenant");
    return result;
  }
  result.tenant = tenant;
  result.verb = *verb;
  return result;
}

std::string escape_subject_token(std::string_view text) {
  std::string result;
  result.reserve(text.size());
  append_escaped(result, text);
  return result;
}

std::optional<std::string> unescape_subject_token(std::string_view token) {
  std::string result;
  result.reserve(token.size());
  for (size_t i = 0; i < token.size(); ++i) {
    char c = token[i];
    if (c != '%') {
      result += c;
      continue;
    }
    if (token.size() - i < 3)
      return std::nullopt;
    int high = hex_value(token[i + 1]);
    int low = hex_value(token[i + 2]);
    if (high < 0 || low < 0)
      return std::nullopt;
    result += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return result;
}

std::string event_subject(const lock_event& event) {
  const auto& key = event.record.key;
  auto type = to_string_view(event.type);
  std::string result;
  result.reserve(subject_prefix.size() + key.tenant.size() + type.size()
                 + key.project.size() + key.workspace.size() + 12);
  result += subject_prefix;
  append_escaped(result, key.tenant);
  result += ".events.";
  // Event type names are "<category>.<action>" of subject-safe characters.
  result += type;
  result += '.';
  append_escaped(result, key.project);
  result += '.';
  append_escaped(result, key.workspace);
  return result;
}

std::string event_filter_subject(const event_filter& filter) {
  std::string result{subject_prefix};
  append_filter_token(result, filter.tenant);
  result += ".events.";
  auto type = std::string_view{filter.type};
  auto dot = type.find('.');
  append_filter_token(result, type.substr(0, dot));
  result += '.';
  append_filter_token(result, dot == std::string_view::npos
                                  ? std::string_view{}
                                  : type.substr(dot + 1));
  result += '.';
  append_filter_token(result, filter.project);
  result += '.';
  append_filter_token(result, filter.workspace);
  return result;
}

} // namespace holdfast
