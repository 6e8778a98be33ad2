#include "bridges/request_router.hpp"

#include <exception>
#include <memory>
#include <string>
#include <utility>

#include <caf/send.hpp>
#include <spdlog/logger.h>

#include "bridges/nats_reply_sink.hpp"
#include "bridges/nats_support.hpp"
#include "bridges/subjects.hpp"

namespace holdfast {

namespace {

void set_tenant(acquire_request& request, std::string_view tenant) {
  request.key.tenant.assign(tenant);
}

void set_tenant(get_request& request, std::string_view tenant) {
  request.key.tenant.assign(tenant);
}

void set_tenant(acquire_async_request& request, std::string_view tenant) {
  request.request.key.tenant.assign(tenant);
}

void set_tenant(bulk_acquire_request& request, std::string_view tenant) {
  request.tenant.assign(tenant);
  for (auto& item : request.locks)
    item.key.tenant.assign(tenant);
}

template <class Request>
void set_tenant(Request& request, std::string_view tenant) {
  request.tenant.assign(tenant);
}

// One-line summaries for the debug log, after the "[req N]" prefix.

/// Shortens a lock id for logs: the full id authorizes release and renew,
/// so it must not appear in them.
std::string redact(const std::string& lock_id) {
  constexpr size_t shown = 8;
  if (lock_id.size() <= shown)
    return std::string(lock_id.size(), '*');
  return lock_id.substr(0, shown) + "...";
}

std::string describe(const acquire_request& request) {
  return "acquire key=" + to_string(request.key) + " owner=" + request.owner
         + " priority=" + std::string{to_string_view(request.level)}
         + " wait_ms=" + std::to_string(request.wait_ms);
}

std::string describe(const release_request& request) {
  return "release tenant=" + request.tenant + " lock_id="
         + redact(request.lock_id) + " token=" + std::to_string(request.token);
}

std::string describe(const renew_request& request) {
  return "renew tenant=" + request.tenant + " lock_id="
         + redact(request.lock_id) + " token=" + std::to_string(request.token)
         + " ttl_ms=" + std::to_string(request.ttl_ms);
}

std::string describe(const get_request& request) {
  return "get key=" + to_string(request.key);
}

std::string describe(const list_request& request) {
  return "list tenant=" + request.tenant + " project=" + request.project
         + " workspace=" + request.workspace + " owner=" + request.owner;
}

std::string describe(const release_owner_request& request) {
  return "release_owner tenant=" + request.tenant + " owner=" + request.owner;
}

std::string describe(const acquire_async_request& request) {
  return "acquire_async key=" + to_string(request.request.key)
         + " owner=" + request.request.owner + " priority="
         + std::string{to_string_view(request.request.level)}
         + " wait_ms=" + std::to_string(request.request.wait_ms)
         + " notify=" + request.notify_subject;
}

// Ticket ids only read and cancel tickets, which release a granted lock,
// so they are shortened like lock ids.

std::string describe(const ticket_request& request) {
  return "ticket tenant=" + request.tenant + " ticket_id="
         + redact(request.ticket_id);
}

std::string describe(const cancel_request& request) {
  return "cancel tenant=" + request.tenant + " ticket_id="
         + redact(request.ticket_id);
}

std::string describe(const bulk_acquire_request& request) {
  std::string result = "acquire_bulk tenant=" + request.tenant + " locks=";
  for (size_t i = 0; i < request.locks.size(); ++i) {
    const auto& item = request.locks[i];
    if (i > 0)
      result += ',';
    result += item.key.project + '/' + item.key.workspace + '@' + item.owner;
  }
  return result + " wait_ms=" + std::to_string(request.wait_ms);
}

std::string describe(const bulk_release_request& request) {
  std::string result = "release_bulk tenant=" + request.tenant + " lock_ids=";
  for (size_t i = 0; i < request.lock_ids.size(); ++i) {
    if (i > 0)
      result += ',';
    result += redact(request.lock_ids[i]);
  }
  return result;
}

std::string describe(const reopen_owner_request& request) {
  return "reopen_owner tenant=" + request.tenant + " owner=" + request.owner;
}

std::string describe(const stats_request& request) {
  return "stats tenant=" + request.tenant;
}

std::string describe(const detect_request& request) {
  return "detect tenant=" + request.tenant;
}

} // namespace

/// State of one request while the router handles it. The views point into
/// the NATS message, which lives until `handle` returns.
struct request_router::request_context {
  uint64_t id = 0;
  const char* reply_subject = nullptr;
  std::string_view subject;
  std::string_view body;
  std::string_view tenant;
  request_verb verb = request_verb::acquire;
  wire_encoding encoding = wire_encoding::msgpack;
};

request_router::request_router(scheduler_actor scheduler,
                               nats_publisher_ptr publisher, size_t max_payload)
    : scheduler_(std::move(scheduler)), publisher_(std::move(publisher)),
      max_payload_(max_payload) {
  // nop
}

void request_router::handle(natsMsg* raw) noexcept {
  nats_msg_ptr msg{raw};
  try {
    request_context context;
    context.subject = natsMsg_GetSubject(raw);
    context.reply_subject = natsMsg_GetReply(raw);
    if (context.reply_subject == nullptr || *context.reply_subject == '\0') {
      auto count = dropped_.fetch_add(1, std::memory_order_relaxed) + 1;
      publisher_->log().debug("message on {} has no reply subject; dropped "
                              "({} so far)",
                              context.subject, count);
      return;
    }
    context.id = next_request_id_.fetch_add(1, std::memory_order_relaxed) + 1;
    context.body = {natsMsg_GetData(raw),
                    static_cast<size_t>(natsMsg_GetDataLength(raw))};
    context.encoding = encoding_of(raw);
    if (context.body.size() > max_payload_) {
      answer_error(context,
                   make_lock_error(lock_errc::invalid_request,
                                   "body has "
                                       + std::to_string(context.body.size())
                                       + " bytes, more than the maximum of "
                                       + std::to_string(max_payload_),
                                   "body"));
      return;
    }
    auto parsed = parse_request_subject(context.subject);
    if (parsed.error.code != lock_errc::none) {
      answer_error(context, std::move(parsed.error));
      return;
    }
    context.tenant = parsed.tenant;
    context.verb = parsed.verb;
    dispatch(context);
  } catch (const std::exception& e) {
    // Only unexpected failures such as bad_alloc end up here, and the
    // client then times out.
    publisher_->log().error("handling a request failed: {}", e.what());
  }
}

void request_router::dispatch(const request_context& context) {
  switch (context.verb) {
  case request_verb::acquire:
    forward<acquire_request>(context);
    break;
  case request_verb::release:
    forward<release_request>(context);
    break;
  case request_verb::renew:
    forward<renew_request>(context);
    break;
  case request_verb::get:
    forward<get_request>(context);
    break;
  case request_verb::list:
    forward<list_request>(context);
    break;
  case request_verb::release_owner:
    forward<release_owner_request>(context);
    break;
  case request_verb::acquire_async:
    forward_async(context);
    break;
  case request_verb::ticket:
    forward<ticket_request>(context);
    break;
  case request_verb::cancel:
    forward<cancel_request>(context);
    break;
  case request_verb::acquire_bulk:
    forward<bulk_acquire_request>(context);
    break;
  case request_verb::release_bulk:
    forward<bulk_release_request>(context);
    break;
  case request_verb::reopen_owner:
    forward<reopen_owner_request>(context);
    break;
  case request_verb::stats:
    forward<stats_request>(context);
    break;
  case request_verb::detect:
    forward<detect_request>(context);
    break;
  }
}

template <class Request>
bool request_router::decode(const request_context& context, Request& request) {
  auto error = decode_request(context.body, context.encoding, request);
  if (error.code != lock_errc::none) {
    answer_error(context, std::move(error));
    return false;
  }
  set_tenant(request, context.tenant);
  auto& log = publisher_->log();
  if (log.should_log(spdlog::level::debug))
    log.debug("[req {}] {}", context.id, describe(request));
  return true;
}

template <class Request>
void request_router::forward(const request_context& context) {
  Request request;
  if (!decode(context, request))
    return;
  forwarded_.fetch_add(1, std::memory_order_relaxed);
  reply_sink_ptr sink = std::make_shared<nats_reply_sink>(
      publisher_, context.reply_subject, context.verb, context.encoding,
      context.id);
  caf::anon_send(scheduler_, std::move(request), std::move(sink));
}

void request_router::forward_async(const request_context& context) {
  acquire_async_request request;
  if (!decode(context, request))
    return;
  // The scheduler checks the subject syntax. A notification inside the
  // service's own subjects would reach event subscribers or the request
  // subscription as if holdfast had published it there.
  std::string_view notify{request.notify_subject};
  if (notify.substr(0, subject_prefix.size()) == subject_prefix) {
    answer_error(context,
                 make_lock_error(lock_errc::invalid_request,
                                 "notify '" + request.notify_subject
                                     + "' must not start with "
                                     + std::string{subject_prefix}
                                     + ", which holdfast itself uses; "
                                       "use an inbox such as _INBOX.<id>",
                                 "notify"));
    return;
  }
  forwarded_.fetch_add(1, std::memory_order_relaxed);
  auto accepted = std::make_shared<std::atomic<bool>>(false);
  reply_sink_ptr reply = std::make_shared<nats_reply_sink>(
      publisher_, context.reply_subject, context.verb, context.encoding,
      context.id, nats_reply_sink::role::reply, accepted);
  reply_sink_ptr notify_sink = std::make_shared<nats_reply_sink>(
      publisher_, request.notify_subject, context.verb, context.encoding,
      context.id, nats_reply_sink::role::notification, accepted);
  caf::anon_send(scheduler_, std::move(request), std::move(reply),
                 std::move(notify_sink));
}

void request_router::answer_error(const request_context& context,
                                  lock_error error) {
  rejected_.fetch_add(1, std::memory_order_relaxed);
  publisher_->log().debug("[req {}] rejected request on {}", context.id,
                          context.subject);
  lock_reply reply;
  reply.error = std::move(error);
  nats_reply_sink::publish_reply(*publisher_, context.reply_subject,
                                 context.verb, reply, context.encoding,
                                 context.id);
}

void request_router::subscription_closed() {
  {
    std::lock_guard<std::mutex> guard{closed_mutex_};
    ++closed_;
  }
  closed_signal_.notify_all();
}

bool request_router::await_closed(size_t count,
                                  std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> guard{closed_mutex_};
  return closed_signal_.wait_for(guard, timeout,
                                 [&] { return closed_ >= count; });
}

bridge_stats request_router::stats() const noexcept {
  bridge_stats result;
  result.forwarded = forwarded_.load(std::memory_order_relaxed);
  result.rejected = rejected_.load(std::memory_order_relaxed);
  result.dropped = dropped_.load(std::memory_order_relaxed);
  return result;
}

} // namespace holdfast
