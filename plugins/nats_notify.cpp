// Resolution hook that publishes a plain-text summary of each ended
// deadlock on NATS. Factory: nats_notify.

#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>

#include <nats/nats.h>

#include <holdfast/plugin.hpp>

#include "support/nats_connection.hpp"
#include "support/plugin_settings.hpp"

namespace holdfast::plugins {

namespace {

using plugin::log_level;

constexpr const char* tenant_placeholder = "{tenant}";

std::string replace_tenant(std::string subject, const std::string& tenant) {
  std::string placeholder = tenant_placeholder;
  for (auto pos = subject.find(placeholder); pos != std::string::npos;
       pos = subject.find(placeholder, pos + tenant.size()))
    subject.replace(pos, placeholder.size(), tenant);
  return subject;
}

std::string plural(uint32_t count, const char* noun) {
  return std::to_string(count) + " " + noun + (count == 1 ? "" : "s");
}

/// Renders the summary, such as:
///   deadlock 7 in tenant acme resolved: pr-12 was the victim (youngest)
///   pr-12 waits for web/prod (medium, waited 1520 ms, holds 1 lock),
///     held by pr-34
///   ...
std::string summary(const plugin::deadlock& found,
                    const plugin::resolution& result) {
  std::ostringstream out;
  out << "deadlock " << found.id << " in tenant " << found.tenant;
  if (result.outcome == "victim_failed") {
    out << " resolved: the waiting request of " << found.victim
        << " failed (victim policy " << found.policy << ")";
    if (result.released_locks)
      out << ", and its locks were released";
  } else if (result.outcome == "vetoed") {
    out << " vetoed: the cycle is left alone";
  } else if (result.outcome == "dissolved") {
    out << " dissolved before it was resolved";
  } else {
    out << " ended: " << result.outcome;
  }
  out << '\n';
  if (!result.reason.empty())
    out << "reason: " << result.reason << '\n';
  for (size_t i = 0; i < found.cycle.size(); ++i) {
    const auto& member = found.cycle[i];
    const auto& next = found.cycle[(i + 1) % found.cycle.size()];
    out << "  " << member.owner << " waits for " << member.project << '/'
        << member.workspace << " (" << priority_name(member.level)
        << ", waited " << member.waited_ms << " ms, holds "
        << plural(member.locks_held, "lock") << "), held by " << next.owner
        << '\n';
  }
  return out.str();
}

class notify_hook : public plugin::hook {
public:
  notify_hook(const plugin::settings& values, plugin::host& host) {
    check_known_settings(values, {"subject", "url"});
    subject_ = required_setting(values, "subject");
    if (subject_.find_first_of(" \t\r\n") != std::string::npos)
      throw std::invalid_argument("setting 'subject' has the invalid value \""
                                  + subject_
                                  + "\": a NATS subject has no spaces");
    auto url = optional_setting(values, "url", host.nats_url());
    log_ = std::make_shared<callback_log>(host);
    connection_ = std::make_unique<nats_connection>(
        url, "holdfast plugin nats_notify", log_);
    log_->write(log_level::info, "publishing deadlock summaries on " + subject_
                                     + " via " + connection_->display_url());
  }

  void after_resolution(const plugin::deadlock& found,
                        const plugin::resolution& result) override {
    auto subject = replace_tenant(subject_, found.tenant);
    auto text = summary(found, result);
    auto status
        = natsConnection_Publish(connection_->get(), subject.c_str(),
                                 text.data(), static_cast<int>(text.size()));
    if (status != NATS_OK)
      log_->write(log_level::warn, "publishing the summary of deadlock "
                                       + std::to_string(found.id) + " on "
                                       + subject
                                       + " failed: " + status_text(status));
  }

private:
  std::string subject_;
  callback_log_ptr log_;
  std::unique_ptr<nats_connection> connection_;
};

void register_factories(plugin::registry& target) {
  target.add("nats_notify",
             [](const plugin::settings& values, plugin::host& host) {
               return std::make_unique<notify_hook>(values, host);
             });
}

} // namespace

} // namespace holdfast::plugins

HOLDFAST_PLUGIN(holdfast::plugins::register_factories)
