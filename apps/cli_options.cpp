#include "apps/cli_options.hpp"

#include <iostream>

#include "apps/durations.hpp"
#include "apps/output.hpp"
#include "messages/priority.hpp"

namespace holdfast {

int exit_status_for(lock_errc code) {
  switch (code) {
  case lock_errc::none:
    return exit_status::ok;
  case lock_errc::invalid_request:
    return exit_status::usage;
  case lock_errc::conflict:
    return exit_status::conflict;
  case lock_errc::timeout:
    return exit_status::timeout;
  case lock_errc::not_found:
  case lock_errc::not_owner:
  case lock_errc::lease_expired:
    return exit_status::not_held;
  case lock_errc::quota_exceeded:
  case lock_errc::queue_full:
    return exit_status::limit_reached;
  case lock_errc::deadlock_victim:
  case lock_errc::would_deadlock:
    return exit_status::deadlock;
  case lock_errc::owner_closed:
    return exit_status::owner_closed;
  case lock_errc::unavailable:
    return exit_status::unavailable;
  case lock_errc::internal:
    return exit_status::failure;
  }
  return exit_status::failure;
}

void add_client_flags(CLI::App& command, client_flags& flags) {
  command.add_option("--nats", flags.url, "URL of the NATS server")
      ->capture_default_str();
  command.add_option("--tenant", flags.tenant, "tenant of the locks")
      ->capture_default_str();
  command.add_flag("--json", flags.json,
                   "print JSON instead of text (one object per line)");
  command
      .add_option("--timeout", flags.timeout,
                  "time to wait for a reply; commands with --wait add it")
      ->capture_default_str()
      ->check(duration_validator());
}

client_options make_client_options(const client_flags& flags) {
  client_options options;
  options.url = flags.url;
  options.tenant = flags.tenant;
  options.timeout = std::chrono::milliseconds{duration_ms(flags.timeout)};
  return options;
}

CLI::Validator duration_validator() {
  return CLI::Validator{[](std::string& text) -> std::string {
                          if (parse_duration(text))
                            return {};
                          return "invalid duration \"" + text
                                 + "\": " + std::string{duration_syntax_hint};
                        },
                        "DURATION", "duration"};
}

CLI::Validator priority_validator() {
  return CLI::Validator{
      [](std::string& text) -> std::string {
        if (parse_priority(text))
          return {};
        return "invalid priority \"" + text
               + "\": expected very_low, low, medium, high or critical";
      },
      "PRIORITY", "priority"};
}

CLI::Validator metadata_validator() {
  return CLI::Validator{[](std::string& text) -> std::string {
                          auto pos = text.find('=');
                          if (pos != std::string::npos && pos > 0)
                            return {};
                          return "invalid metadata \"" + text
                                 + "\": expected key=value";
                        },
                        "KEY=VALUE", "metadata"};
}

int64_t duration_ms(const std::string& text) {
  return parse_duration(text).value_or(std::chrono::milliseconds{0}).count();
}

metadata_map parse_metadata(const std::vector<std::string>& entries) {
  metadata_map result;
  for (const auto& entry : entries) {
    auto pos = entry.find('=');
    result[entry.substr(0, pos)] = entry.substr(pos + 1);
  }
  return result;
}

std::unique_ptr<nats_client> connect_client(const client_flags& flags,
                                            request_verb verb) {
  try {
    return std::make_unique<nats_client>(make_client_options(flags));
  } catch (const std::exception& e) {
    report_failure(flags, verb,
                   make_lock_error(lock_errc::unavailable,
                                   std::string{e.what()}
                                       + "; start the service with `holdfast "
                                         "serve` or point --nats at its NATS "
                                         "server"));
    return nullptr;
  }
}

int report_failure(const client_flags& flags, request_verb verb,
                   const lock_error& error) {
  std::cerr << describe_error(error) << std::endl;
  if (flags.json) {
    lock_reply reply;
    reply.error = error;
    std::cout << encode_reply(verb, reply, wire_encoding::json) << std::endl;
  }
  return exit_status_for(error.code);
}

int print_outcome(const client_flags& flags, request_verb verb,
                  const lock_reply& reply,
                  const std::function<std::string()>& text_output) {
  if (!reply.ok())
    return report_failure(flags, verb, reply.error);
  if (flags.json)
    std::cout << encode_reply(verb, reply, wire_encoding::json) << std::endl;
  else
    std::cout << text_output() << std::endl;
  return exit_status::ok;
}

int report_usage_error(const std::string& message) {
  std::cerr << "error: " << message << std::endl;
  return exit_status::usage;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

} // namespace holdfast
