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
  }
}

template <class Request>
void request_router::forward(const request_context& context) {
  Request request;
  auto error = decode_request(context.body, context.encoding, request);
  if (error.code != lock_errc::none) {
    answer_error(context, std::move(error));
    return;
  }
  set_tenant(request, context.tenant);
  auto& log = publisher_->log();
  if (log.should_log(spdlog::level::debug))
    log.debug("[req {}] {}", context.id, describe(request));
  forwarded_.fetch_add(1, std::memory_order_relaxed);
  reply_sink_ptr sink = std::make_shared<nats_reply_sink>(
      publisher_, context.reply_subject, context.verb, context.encoding,
      context.id);
  caf::anon_send(scheduler_, std::move(request), std::move(sink));
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
