// Resolution hook that asks an approver over NATS before a deadlock on
// listed workspaces is resolved. Factory: nats_approval.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nats/nats.h>
#include <nlohmann/json.hpp>

#include <holdfast/plugin.hpp>

#include "support/nats_connection.hpp"
#include "support/plugin_settings.hpp"

namespace holdfast::plugins {

namespace {

using clock_type = std::chrono::steady_clock;
using plugin::log_level;

constexpr auto default_timeout = std::chrono::seconds{30};

/// Returns whether `pattern` ("*", "workspace" or "project/workspace")
/// covers the resource `project`/`workspace`.
bool covers(const std::string& pattern, const std::string& project,
            const std::string& workspace) {
  if (pattern == "*")
    return true;
  auto slash = pattern.find('/');
  if (slash == std::string::npos)
    return pattern == workspace;
  return pattern.compare(0, slash, project) == 0 && slash == project.size()
         && pattern.compare(slash + 1, std::string::npos, workspace) == 0;
}

/// Checks one item of the `workspaces` setting.
void check_pattern(const std::string& pattern) {
  auto slash = pattern.find('/');
  bool valid
      = pattern == "*"
        || (pattern.find('*') == std::string::npos
            && (slash == std::string::npos
                || (slash > 0 && slash + 1 < pattern.size()
                    && pattern.find('/', slash + 1) == std::string::npos)));
  if (!valid)
    throw std::invalid_argument(
        "setting 'workspaces' has the invalid item \"" + pattern
        + "\": expected a workspace, project/workspace or *");
}

nlohmann::json request_body(const plugin::deadlock& found) {
  auto cycle = nlohmann::json::array();
  for (const auto& member : found.cycle)
    cycle.push_back({{"owner", member.owner},
                     {"project", member.project},
                     {"workspace", member.workspace},
                     {"priority", priority_name(member.level)},
                     {"waited_ms", member.waited_ms},
                     {"locks_held", member.locks_held}});
  return {{"deadlock_id", found.id},
          {"tenant", found.tenant},
          {"cycle", std::move(cycle)},
          {"victim", found.victim},
          {"policy", found.policy}};
}

/// A request that waits for its reply.
struct pending_request {
  uint64_t deadlock_id = 0;
  std::shared_ptr<plugin::verdict> answer;
  clock_type::time_point deadline;
};

/// State shared by the hook and the reply callback. nats.c threads may use
/// it after the hook is gone, until the subscription's completion callback
/// drops their reference.
struct approval_state {
  approval_state(callback_log_ptr out, std::string reply_prefix)
      : log(std::move(out)), inbox(std::move(reply_prefix)) {
  }

  callback_log_ptr log;
  /// Reply subjects are "<inbox>.<token>".
  const std::string inbox;
  std::mutex mutex;
  std::map<uint64_t, pending_request> pending;

  /// Drops requests whose time is up, since their replies no longer count.
  void drop_expired(clock_type::time_point now) {
    for (auto i = pending.begin(); i != pending.end();) {
      if (i->second.deadline <= now)
        i = pending.erase(i);
      else
        ++i;
    }
  }
};

using state_ref = std::shared_ptr<approval_state>;

/// Reads a reply. Returns false when it is not a valid answer.
bool read_reply(const std::string& body, bool& approve, std::string& reason) {
  auto parsed = nlohmann::json::parse(body, nullptr, false);
  if (!parsed.is_object())
    return false;
  auto found = parsed.find("approve");
  if (found == parsed.end() || !found->is_boolean())
    return false;
  approve = found->get<bool>();
  auto text = parsed.find("reason");
  if (text != parsed.end() && text->is_string())
    reason = text->get<std::string>();
  return true;
}

/// Takes the request that `token` names out of `state` and checks the
/// reply to it. Returns the request when the reply answers it.
std::optional<pending_request> match_reply(approval_state& state,
                                           uint64_t token, bool no_responders,
                                           const std::string& body,
                                           bool& approve, std::string& reason) {
  std::lock_guard<std::mutex> guard{state.mutex};
  auto found = state.pending.find(token);
  if (found == state.pending.end()) {
    state.log->write(log_level::info,
                     "ignoring a reply to a request that was answered or "
                     "timed out before");
    return std::nullopt;
  }
  auto id = std::to_string(found->second.deadlock_id);
  if (no_responders) {
    // Nobody can approve, so waiting would only hold the cycle longer.
    state.log->write(log_level::warn,
                     "no approver listens for deadlock " + id
                         + "; approving it so that the resolution goes on");
    approve = true;
    auto request = std::move(found->second);
    state.pending.erase(found);
    return request;
  }
  if (!read_reply(body, approve, reason)) {
    // The request stays pending: a valid reply within the timeout counts.
    state.log->write(log_level::warn,
                     "invalid reply for deadlock " + id
                         + ": expected {\"approve\": true} or "
                           "{\"approve\": false, \"reason\": \"...\"}, got "
                         + body.substr(0, 200));
    return std::nullopt;
  }
  auto request = std::move(found->second);
  state.pending.erase(found);
  if (request.deadline <= clock_type::now()) {
    state.log->write(log_level::info, "ignoring the reply for deadlock " + id
                                          + ", which came after the timeout");
    return std::nullopt;
  }
  return request;
}

void on_reply(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  auto& state = **static_cast<state_ref*>(closure);
  std::string subject = natsMsg_GetSubject(msg);
  bool no_responders = natsMsg_IsNoResponders(msg);
  std::string body{natsMsg_GetData(msg),
                   static_cast<size_t>(natsMsg_GetDataLength(msg))};
  natsMsg_Destroy(msg);

  uint64_t token = 0;
  try {
    token = std::stoull(subject.substr(state.inbox.size() + 1));
  } catch (const std::exception&) {
    state.log->write(log_level::warn,
                     "ignoring a message on the unexpected subject " + subject);
    return;
  }
  bool approve = false;
  std::string reason;
  auto request
      = match_reply(state, token, no_responders, body, approve, reason);
  if (!request)
    return;

  // The verdict is answered outside the lock: it may call into the service.
  auto id = std::to_string(request->deadlock_id);
  if (approve) {
    state.log->write(log_level::info, "deadlock " + id + " approved");
    request->answer->approve();
    return;
  }
  if (reason.empty())
    reason = "vetoed by the approver";
  state.log->write(log_level::info, "deadlock " + id + " vetoed: " + reason);
  request->answer->veto(reason);
}

void on_subscription_complete(void* closure) {
  delete static_cast<state_ref*>(closure);
}

class approval_hook : public plugin::hook {
public:
  approval_hook(const plugin::settings& values, plugin::host& host) {
    check_known_settings(values, {"subject", "workspaces", "timeout", "url"});
    subject_ = required_setting(values, "subject");
    if (subject_.find_first_of(" \t\r\n") != std::string::npos)
      throw std::invalid_argument("setting 'subject' has the invalid value \""
                                  + subject_
                                  + "\": a NATS subject has no spaces");
    workspaces_ = list_setting(values, "workspaces");
    for (const auto& pattern : workspaces_)
      check_pattern(pattern);
    timeout_ = duration_setting(values, "timeout", default_timeout);
    auto url = optional_setting(values, "url", host.nats_url());

    log_ = std::make_shared<callback_log>(host);
    connection_ = std::make_unique<nats_connection>(
        url, "holdfast plugin nats_approval", log_);
    subscribe();
    log_->write(log_level::info, "asking for approval on " + subject_ + " via "
                                     + connection_->display_url());
  }

  ~approval_hook() override {
    {
      std::lock_guard<std::mutex> guard{state_->mutex};
      state_->pending.clear();
    }
    if (subscription_ != nullptr) {
      natsSubscription_Unsubscribe(subscription_);
      natsSubscription_Destroy(subscription_);
    }
    connection_.reset();
  }

  void before_resolution(const plugin::deadlock& found,
                         std::shared_ptr<plugin::verdict> answer) override {
    if (!needs_approval(found)) {
      answer->approve();
      return;
    }
    answer->extend(timeout_);
    auto token = next_token_++;
    auto reply = state_->inbox + "." + std::to_string(token);
    auto body = request_body(found).dump();
    auto now = clock_type::now();
    {
      std::lock_guard<std::mutex> guard{state_->mutex};
      state_->drop_expired(now);
      state_->pending[token] = {found.id, answer, now + timeout_};
    }
    auto status = natsConnection_PublishRequest(
        connection_->get(), subject_.c_str(), reply.c_str(), body.data(),
        static_cast<int>(body.size()));
    auto id = std::to_string(found.id);
    if (status != NATS_OK) {
      log_->write(log_level::error,
                  "sending the approval request for deadlock " + id + " to "
                      + subject_ + " failed: " + status_text(status)
                      + "; approving it so that the resolution goes on");
      {
        std::lock_guard<std::mutex> guard{state_->mutex};
        state_->pending.erase(token);
      }
      answer->approve();
      return;
    }
    log_->write(log_level::info, "asked " + subject_ + " to approve deadlock "
                                     + id + " (victim " + found.victim + ")");
  }

private:
  bool needs_approval(const plugin::deadlock& found) const {
    for (const auto& member : found.cycle)
      for (const auto& pattern : workspaces_)
        if (covers(pattern, member.project, member.workspace))
          return true;
    return false;
  }

  /// Subscribes once to all reply subjects of this instance.
  void subscribe() {
    natsInbox* inbox = nullptr;
    auto status = natsInbox_Create(&inbox);
    if (status != NATS_OK)
      throw std::runtime_error("creating a reply inbox failed: "
                               + status_text(status));
    std::string prefix = inbox;
    natsInbox_Destroy(inbox);
    state_ = std::make_shared<approval_state>(log_, prefix);

    auto closure = std::make_unique<state_ref>(state_);
    auto wildcard = prefix + ".*";
    status
        = natsConnection_Subscribe(&subscription_, connection_->get(),
                                   wildcard.c_str(), on_reply, closure.get());
    if (status != NATS_OK) {
      subscription_ = nullptr;
      throw std::runtime_error("subscribing to the replies on " + wildcard
                               + " failed: " + status_text(status));
    }
    status = natsSubscription_SetOnCompleteCB(
        subscription_, on_subscription_complete, closure.get());
    // NOTE: without the completion callback the closure leaks on purpose,
    // because nats.c may still pass it to `on_reply`.
    closure.release();
    if (status != NATS_OK)
      throw std::runtime_error("watching the reply subscription failed: "
                               + status_text(status));
  }

  std::string subject_;
  std::vector<std::string> workspaces_;
  std::chrono::milliseconds timeout_{default_timeout};
  callback_log_ptr log_;
  std::unique_ptr<nats_connection> connection_;
  state_ref state_;
  natsSubscription* subscription_ = nullptr;
  /// Used by `before_resolution` only, which runs one call at a time.
  uint64_t next_token_ = 1;
};

void register_factories(plugin::registry& target) {
  target.add("nats_approval",
             [](const plugin::settings& values, plugin::host& host) {
               return std::make_unique<approval_hook>(values, host);
             });
}

} // namespace

} // namespace holdfast::plugins

HOLDFAST_PLUGIN(holdfast::plugins::register_factories)
