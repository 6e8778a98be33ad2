#include "bridges/nats_reply_sink.hpp"

#include <cstring>

#include <spdlog/logger.h>

#include "bridges/nats_support.hpp"

namespace holdfast {

namespace {

constexpr size_t max_kept_buffer = 1024 * 1024;

const char* name_of(nats_reply_sink::role kind) {
  return kind == nats_reply_sink::role::notification ? "notification"
                                                     : "reply";
}

} // namespace

nats_reply_sink::nats_reply_sink(nats_publisher_ptr publisher,
                                 std::string_view reply_subject,
                                 request_verb verb, wire_encoding encoding,
                                 uint64_t request_id, role kind,
                                 accept_flag accepted)
    : publisher_(std::move(publisher)), verb_(verb), encoding_(encoding),
      request_id_(request_id), role_(kind), accepted_(std::move(accepted)) {
  if (reply_subject.size() < short_subject_.size()) {
    std::memcpy(short_subject_.data(), reply_subject.data(),
                reply_subject.size());
    short_subject_[reply_subject.size()] = '\0';
  } else {
    short_subject_[0] = '\0';
    long_subject_.assign(reply_subject);
  }
}

nats_reply_sink::~nats_reply_sink() {
  if (delivered_.load())
    return;
  if (role_ == role::notification) {
    if (!accepted_ || !accepted_->load())
      return;
    auto reply = make_error_reply(lock_errc::unavailable,
                                  "the lock engine dropped the ticket before "
                                  "its outcome, probably because it is "
                                  "shutting down; acquire again later");
    publish_reply(*publisher_, reply_subject(), verb_, reply, encoding_,
                  request_id_, role_);
    return;
  }
  auto reply = make_error_reply(lock_errc::unavailable,
                                "the lock engine dropped the request, "
                                "probably because it is shutting down; "
                                "retry later");
  publish_reply(*publisher_, reply_subject(), verb_, reply, encoding_,
                request_id_, role_);
}

void nats_reply_sink::deliver(lock_reply reply) {
  if (delivered_.exchange(true)) {
    publisher_->log().error("[req {}] second {} to one request dropped; "
                            "the engine must send it exactly once",
                            request_id_, name_of(role_));
    return;
  }
  if (role_ == role::reply && accepted_ && reply.ok())
    accepted_->store(true);
  publish_reply(*publisher_, reply_subject(), verb_, reply, encoding_,
                request_id_, role_);
}

void nats_reply_sink::publish_reply(nats_publisher& publisher,
                                    const char* reply_subject,
                                    request_verb verb, const lock_reply& reply,
                                    wire_encoding encoding,
                                    uint64_t request_id, role kind) {
  auto& log = publisher.log();
  if (log.should_log(spdlog::level::debug)) {
    if (reply.ok())
      log.debug("[req {}] {} ok", request_id, name_of(kind));
    else
      log.debug("[req {}] {} {}: {}", request_id, name_of(kind),
                to_string_view(reply.error.code), reply.error.message);
  }
  // Sinks run on many threads, so each thread reuses its own buffer.
  thread_local std::string buffer;
  encode_reply(verb, reply, encoding, buffer);
  auto status = publisher.publish(reply_subject, buffer, encoding);
  // A large list reply should not pin its buffer on this thread forever.
  if (buffer.capacity() > max_kept_buffer) {
    buffer.clear();
    buffer.shrink_to_fit();
  }
  if (status == NATS_CONNECTION_CLOSED)
    log.debug("[req {}] {} dropped: the NATS connection is closed",
              request_id, name_of(kind));
  else if (status != NATS_OK)
    log.warn("[req {}] publishing the {} to {} failed: {}", request_id,
             name_of(kind), reply_subject, status_text(status));
}

const char* nats_reply_sink::reply_subject() const noexcept {
  return long_subject_.empty() ? short_subject_.data() : long_subject_.c_str();
}

} // namespace holdfast
