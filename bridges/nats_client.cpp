#include "bridges/nats_client.hpp"

#include <condition_variable>
#include <exception>
#include <mutex>
#include <stdexcept>

#include <nats/nats.h>

#include "bridges/nats_support.hpp"
#include "bridges/subjects.hpp"
#include "messages/wire_codec.hpp"

namespace holdfast {

namespace {

using std::chrono::milliseconds;

constexpr int64_t reconnect_wait_ms = 250;

/// Bound of the wait for an event subscription to close.
constexpr milliseconds unsubscribe_timeout{5'000};

std::string& tenant_of(acquire_request& request) {
  return request.key.tenant;
}

std::string& tenant_of(get_request& request) {
  return request.key.tenant;
}

std::string& tenant_of(acquire_async_request& request) {
  return request.request.key.tenant;
}

template <class Request>
std::string& tenant_of(Request& request) {
  return request.tenant;
}

/// State of one event or reply subscription. nats.c owns a reference
/// through the callback closure until the subscription's completion
/// callback, so the handler stays valid for every callback.
struct message_subscription {
  /// Receives the body and encoding of each message.
  std::function<void(std::string_view, wire_encoding)> handler;
  natsSubscription* subscription = nullptr;
  std::mutex mutex;
  std::condition_variable closed_signal;
  bool closed = false;
};

using subscription_ref = std::shared_ptr<message_subscription>;

std::string_view body_of(natsMsg* msg) {
  return {natsMsg_GetData(msg),
          static_cast<size_t>(natsMsg_GetDataLength(msg))};
}

void on_message(natsConnection*, natsSubscription*, natsMsg* raw,
                void* closure) {
  nats_msg_ptr msg{raw};
  auto& state = **static_cast<subscription_ref*>(closure);
  try {
    state.handler(body_of(raw), encoding_of(raw));
  } catch (...) {
    // An exception must not unwind into nats.c.
  }
}

void on_subscription_complete(void* closure) {
  auto ref = static_cast<subscription_ref*>(closure);
  {
    std::lock_guard<std::mutex> guard{(*ref)->mutex};
    (*ref)->closed = true;
  }
  (*ref)->closed_signal.notify_all();
  delete ref;
}

/// Unsubscribes and waits until the last callback has returned.
void close_subscription(const subscription_ref& state) {
  natsSubscription_Unsubscribe(state->subscription);
  {
    std::unique_lock<std::mutex> guard{state->mutex};
    state->closed_signal.wait_for(guard, unsubscribe_timeout,
                                  [&] { return state->closed; });
  }
  natsSubscription_Destroy(state->subscription);
}

/// Sends `body` to `subject` and waits up to `timeout` for the reply.
natsStatus send_request(natsConnection* connection, natsMsg** reply,
                        const std::string& subject, std::string_view body,
                        wire_encoding encoding, milliseconds timeout) {
  auto size = static_cast<int>(body.size());
  if (encoding == wire_encoding::msgpack)
    return natsConnection_Request(reply, connection, subject.c_str(),
                                  body.data(), size, timeout.count());
  natsMsg* raw = nullptr;
  auto status
      = natsMsg_Create(&raw, subject.c_str(), nullptr, body.data(), size);
  if (status != NATS_OK)
    return status;
  nats_msg_ptr msg{raw};
  status = natsMsgHeader_Set(raw, content_type_header, json_content_type);
  if (status != NATS_OK)
    return status;
  return natsConnection_RequestMsg(reply, connection, raw, timeout.count());
}

} // namespace

struct nats_client::impl {
  natsConnection* connection = nullptr;

  ~impl() {
    if (connection != nullptr) {
      natsConnection_Close(connection);
      natsConnection_Destroy(connection);
    }
  }
};

nats_client::nats_client(client_options options)
    : options_(std::move(options)), impl_(std::make_unique<impl>()) {
  natsOptions* raw = nullptr;
  auto status = natsOptions_Create(&raw);
  nats_options_ptr nats_options{raw};
  if (status == NATS_OK)
    status = natsOptions_SetURL(raw, options_.url.c_str());
  if (status == NATS_OK)
    status = natsOptions_SetName(raw, options_.name.c_str());
  if (status == NATS_OK)
    status = natsOptions_SetSendAsap(raw, true);
  if (status == NATS_OK)
    status = natsOptions_SetTimeout(raw, options_.timeout.count());
  if (status == NATS_OK)
    status = natsOptions_SetReconnectWait(raw, reconnect_wait_ms);
  if (status == NATS_OK)
    status = natsConnection_Connect(&impl_->connection, raw);
  if (status != NATS_OK) {
    impl_->connection = nullptr;
    throw std::runtime_error("connecting to NATS at " + redact_url(options_.url)
                             + " failed: " + status_text(status)
                             + "; check that nats-server runs there");
  }
}

nats_client::~nats_client() = default;

namespace {

/// Sends one typed request and decodes its reply. Transport failures and
/// undecodable replies become error replies.
template <class Request>
lock_reply call(natsConnection* connection, const client_options& options,
                request_verb verb, Request& request, milliseconds timeout) {
  if (tenant_of(request).empty())
    tenant_of(request) = options.tenant;
  auto subject = request_subject(tenant_of(request), verb);
  // A tenant with subject characters would address another subject.
  auto parsed = parse_request_subject(subject);
  if (parsed.error.code != lock_errc::none) {
    lock_reply reply;
    reply.error = std::move(parsed.error);
    return reply;
  }
  thread_local std::string body;
  encode_request(request, options.encoding, body);
  natsMsg* raw_reply = nullptr;
  auto status = send_request(connection, &raw_reply, subject, body,
                             options.encoding, timeout);
  nats_msg_ptr reply_msg{raw_reply};
  if (status == NATS_TIMEOUT)
    return make_error_reply(lock_errc::unavailable,
                            "no reply from holdfast at " + redact_url(options.url)
                                + " within " + std::to_string(timeout.count())
                                + " ms on " + subject);
  if (status == NATS_NO_RESPONDERS)
    return make_error_reply(lock_errc::unavailable,
                            "no holdfast service answers " + subject + " at "
                                + redact_url(options.url) + " (request timeout "
                                + std::to_string(timeout.count())
                                + " ms); check that it runs");
  if (status != NATS_OK)
    return make_error_reply(lock_errc::unavailable,
                            "request to holdfast at " + redact_url(options.url)
                                + " failed: " + status_text(status));
  std::string_view data{natsMsg_GetData(raw_reply),
                        static_cast<size_t>(natsMsg_GetDataLength(raw_reply))};
  lock_reply reply;
  auto error = decode_reply(data, encoding_of(raw_reply), reply);
  if (error.code != lock_errc::none)
    return make_error_reply(lock_errc::internal,
                            "invalid reply from holdfast at " + redact_url(options.url)
                                + ": " + error.message,
                            error.field);
  return reply;
}

} // namespace

lock_reply nats_client::acquire(acquire_request request) {
  auto wait = milliseconds{request.wait_ms > 0 ? request.wait_ms : 0};
  return call(impl_->connection, options_, request_verb::acquire, request,
              options_.timeout + wait);
}

lock_reply nats_client::release(release_request request) {
  return call(impl_->connection, options_, request_verb::release, request,
              options_.timeout);
}

lock_reply nats_client::renew(renew_request request) {
  return call(impl_->connection, options_, request_verb::renew, request,
              options_.timeout);
}

lock_reply nats_client::get(get_request request) {
  return call(impl_->connection, options_, request_verb::get, request,
              options_.timeout);
}

lock_reply nats_client::list(list_request request) {
  return call(impl_->connection, options_, request_verb::list, request,
              options_.timeout);
}

lock_reply nats_client::release_owner(release_owner_request request) {
  return call(impl_->connection, options_, request_verb::release_owner, request,
              options_.timeout);
}

lock_reply nats_client::acquire_async(acquire_request request,
                                      std::string notify_subject) {
  acquire_async_request async{std::move(request), std::move(notify_subject)};
  return call(impl_->connection, options_, request_verb::acquire_async, async,
              options_.timeout);
}

lock_reply nats_client::ticket(ticket_request request) {
  return call(impl_->connection, options_, request_verb::ticket, request,
              options_.timeout);
}

lock_reply nats_client::cancel(cancel_request request) {
  return call(impl_->connection, options_, request_verb::cancel, request,
              options_.timeout);
}

lock_reply nats_client::acquire_bulk(bulk_acquire_request request) {
  auto wait = milliseconds{request.wait_ms > 0 ? request.wait_ms : 0};
  return call(impl_->connection, options_, request_verb::acquire_bulk, request,
              options_.timeout + wait);
}

lock_reply nats_client::release_bulk(bulk_release_request request) {
  return call(impl_->connection, options_, request_verb::release_bulk, request,
              options_.timeout);
}

lock_reply nats_client::reopen_owner(reopen_owner_request request) {
  return call(impl_->connection, options_, request_verb::reopen_owner, request,
              options_.timeout);
}

lock_reply nats_client::stats(stats_request request) {
  return call(impl_->connection, options_, request_verb::stats, request,
              options_.timeout);
}

lock_reply nats_client::detect(std::string tenant) {
  detect_request request{std::move(tenant)};
  return call(impl_->connection, options_, request_verb::detect, request,
              options_.timeout);
}

std::string nats_client::new_inbox() {
  natsInbox* inbox = nullptr;
  auto status = natsInbox_Create(&inbox);
  if (status != NATS_OK)
    throw std::runtime_error("creating an inbox subject failed: "
                             + status_text(status));
  std::string result{inbox};
  natsInbox_Destroy(inbox);
  return result;
}

raw_reply nats_client::request_raw(const std::string& subject,
                                   const std::string& payload, bool json,
                                   milliseconds timeout) {
  natsMsg* raw = nullptr;
  auto status = send_request(
      impl_->connection, &raw, subject, payload,
      json ? wire_encoding::json : wire_encoding::msgpack, timeout);
  nats_msg_ptr reply{raw};
  raw_reply result;
  if (status == NATS_TIMEOUT || status == NATS_NO_RESPONDERS) {
    result.timed_out = true;
    return result;
  }
  if (status != NATS_OK)
    throw std::runtime_error("request to " + subject + " at " + redact_url(options_.url)
                             + " failed: " + status_text(status));
  result.data.assign(natsMsg_GetData(raw),
                     static_cast<size_t>(natsMsg_GetDataLength(raw)));
  result.content_type = content_type_of(raw);
  return result;
}

std::shared_ptr<void> nats_client::subscribe_events(const event_filter& filter,
                                                    event_handler handler) {
  auto on_event = [handler = std::move(handler)](std::string_view body,
                                                  wire_encoding encoding) {
    lock_event event;
    // NOTE: events that fail to decode are skipped silently, because the
    // client has no logger and the handler only accepts events.
    if (decode_event(body, encoding, event).code != lock_errc::none)
      return;
    handler(event);
  };
  return subscribe(event_filter_subject(filter), std::move(on_event));
}

std::shared_ptr<void> nats_client::subscribe_replies(const std::string& subject,
                                                     reply_handler handler) {
  auto on_reply = [handler = std::move(handler),
                   subject](std::string_view body, wire_encoding encoding) {
    lock_reply reply;
    auto error = decode_reply(body, encoding, reply);
    if (error.code != lock_errc::none)
      reply = make_error_reply(lock_errc::internal,
                               "invalid message on " + subject + ": "
                                   + error.message,
                               error.field);
    handler(reply);
  };
  return subscribe(subject, std::move(on_reply));
}

std::shared_ptr<void>
nats_client::subscribe(const std::string& subject, message_handler handler) {
  auto state = std::make_shared<message_subscription>();
  state->handler = std::move(handler);
  auto ref = new subscription_ref(state);
  auto status
      = natsConnection_Subscribe(&state->subscription, impl_->connection,
                                 subject.c_str(), on_message, ref);
  if (status != NATS_OK) {
    delete ref;
    throw std::runtime_error("subscribing to " + subject + " at " + redact_url(options_.url)
                             + " failed: " + status_text(status));
  }
  status = natsSubscription_SetOnCompleteCB(state->subscription,
                                            on_subscription_complete, ref);
  if (status != NATS_OK) {
    // NOTE: `ref` leaks, because a callback may still be running with it.
    natsSubscription_Unsubscribe(state->subscription);
    natsSubscription_Destroy(state->subscription);
    throw std::runtime_error("subscribing to " + subject + " at " + redact_url(options_.url)
                             + " failed: " + status_text(status));
  }
  // Returns once the server has the subscription, so that no message
  // published after this call is missed.
  status = natsConnection_FlushTimeout(impl_->connection,
                                       options_.timeout.count());
  if (status != NATS_OK) {
    close_subscription(state);
    throw std::runtime_error("subscribing to " + subject + " at " + redact_url(options_.url)
                             + " failed: " + status_text(status));
  }
  return {state.get(), [state](void*) { close_subscription(state); }};
}

} // namespace holdfast
