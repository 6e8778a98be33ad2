#include "bridges/nats_bridge.hpp"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <nats/nats.h>
#include <spdlog/logger.h>

#include "actors/logger.hpp"
#include "bridges/nats_publisher.hpp"
#include "bridges/nats_support.hpp"
#include "bridges/request_router.hpp"
#include "bridges/subjects.hpp"

namespace holdfast {

namespace {

using std::chrono::milliseconds;

/// Queue group of every bridge. NATS delivers each request to one member of
/// the group, so several service instances share the requests.
constexpr const char* queue_group = "holdfast";

/// A short reconnect wait: replies stall while the bridge is disconnected.
constexpr int64_t reconnect_wait_ms = 250;
constexpr int64_t reconnect_jitter_ms = 100;

/// Bounds of each shutdown step, so that a dead server cannot hang `stop`.
constexpr milliseconds drain_timeout{5'000};
constexpr milliseconds close_timeout{5'000};
constexpr int64_t flush_timeout_ms = 1'000;

/// State that the disconnect and close callbacks share with the bridge.
struct connection_watch {
  /// Set by `stop` before it closes the connection, so that the disconnect
  /// this causes is not reported as a failure.
  std::atomic<bool> closing{false};
};

// nats.c may run the closed callback after `natsConnection_Destroy`
// returns, when the bridge may be gone. So the closure of the disconnect
// and close callbacks is a heap-allocated reference to the watch, which
// the closed callback releases. nats.c runs connection callbacks in the
// order it posts them, and the closed callback is the last one.
using watch_ref = std::shared_ptr<connection_watch>;

const connection_watch& watch_of(void* closure) {
  return **static_cast<watch_ref*>(closure);
}

/// Returns the connected server, or while disconnected the servers that
/// nats.c tries, without passwords or tokens.
std::string server_of(natsConnection* connection) {
  auto url = connected_url(connection);
  if (!url.empty())
    return redact_url(url);
  char** servers = nullptr;
  int count = 0;
  if (natsConnection_GetServers(connection, &servers, &count) != NATS_OK)
    return "the NATS server";
  std::string result;
  for (int i = 0; i < count; ++i) {
    if (!result.empty())
      result += ", ";
    result += servers[i];
    std::free(servers[i]);
  }
  std::free(servers);
  return result.empty() ? std::string{"the NATS server"} : result;
}

void on_connected(natsConnection* connection, void*) {
  logger("nats")->info("connected to {}", server_of(connection));
}

void on_disconnected(natsConnection* connection, void* closure) {
  // nats.c also reports a disconnect when `stop` closes the connection,
  // which `stop` logs itself.
  if (watch_of(closure).closing)
    return;
  // A connection that nats.c closed does not reconnect, so `on_closed`
  // reports it as an error.
  if (natsConnection_IsClosed(connection))
    return;
  logger("nats")->warn("disconnected from {}; reconnecting every {} ms",
                       server_of(connection), reconnect_wait_ms);
}

void on_reconnected(natsConnection* connection, void*) {
  logger("nats")->info("reconnected to {}", server_of(connection));
}

void on_closed(natsConnection* connection, void* closure) {
  auto ref = static_cast<watch_ref*>(closure);
  if ((*ref)->closing) {
    logger("nats")->info("connection closed");
  } else {
    const char* text = nullptr;
    auto status = natsConnection_GetLastError(connection, &text);
    auto reason = status_text(status);
    // nats.c may store the text of the status as the error text, as it
    // does for NATS_NO_SERVER.
    if (text != nullptr && *text != '\0'
        && std::string_view{text} != natsStatus_GetText(status))
      reason += ": " + std::string{text};
    logger("nats")->error("connection to {} closed without a reconnect: {}; "
                          "no requests are served until holdfast restarts",
                          server_of(connection), reason);
  }
  delete ref;
}

void on_async_error(natsConnection*, natsSubscription* subscription,
                    natsStatus status, void*) {
  const char* subject = subscription != nullptr
                            ? natsSubscription_GetSubject(subscription)
                            : nullptr;
  logger("nats")->warn("NATS error on subscription {}: {}",
                       subject != nullptr ? subject : "(none)",
                       status_text(status));
}

// The closure of a request subscription is a heap-allocated reference to
// the router, released by the completion callback. nats.c calls that
// callback after the last message callback returned, so the router
// outlives every callback even if `stop` gives up waiting.

using router_ref = std::shared_ptr<request_router>;

void on_request(natsConnection*, natsSubscription*, natsMsg* msg,
                void* closure) {
  (*static_cast<router_ref*>(closure))->handle(msg);
}

void on_subscription_complete(void* closure) {
  auto ref = static_cast<router_ref*>(closure);
  (*ref)->subscription_closed();
  delete ref;
}

void publish_event(nats_publisher& publisher, const lock_event& event) {
  const auto& key = event.record.key;
  if (key.tenant.empty() || key.project.empty() || key.workspace.empty()) {
    publisher.log().warn("event {} for {} has an incomplete key and cannot "
                         "be published",
                         to_string_view(event.type), to_string(key));
    return;
  }
  thread_local std::string buffer;
  encode_event(event, wire_encoding::msgpack, buffer);
  auto subject = event_subject(event);
  auto status
      = publisher.publish(subject.c_str(), buffer, wire_encoding::msgpack);
  if (status != NATS_OK && status != NATS_CONNECTION_CLOSED)
    publisher.log().warn("publishing event {} on {} failed: {}",
                         to_string_view(event.type), subject,
                         status_text(status));
}

/// Receives every event from the broker and publishes it on its subject.
caf::behavior event_publisher(caf::event_based_actor*,
                              nats_publisher_ptr publisher) {
  return {
      [publisher](const lock_event& event) {
        publish_event(*publisher, event);
      },
  };
}

[[noreturn]] void fail_setup(const std::string& step, natsStatus status) {
  throw std::runtime_error(step + ": " + status_text(status));
}

void check(natsStatus status, const char* step) {
  if (status != NATS_OK)
    fail_setup(step, status);
}

} // namespace

struct nats_bridge::impl {
  impl(caf::actor_system& actor_system, engine_handles handles,
       bridge_config settings)
      : system(actor_system), engine(std::move(handles)),
        config(std::move(settings)), log(logger("nats")) {
    // nop
  }

  caf::actor_system& system;
  engine_handles engine;
  bridge_config config;
  std::shared_ptr<spdlog::logger> log;
  natsConnection* connection = nullptr;
  nats_publisher_ptr publisher;
  std::shared_ptr<request_router> router;
  std::vector<natsSubscription*> subscriptions;
  caf::actor events;
  watch_ref watch = std::make_shared<connection_watch>();
  bool started = false;
  bool stopped = false;

  nats_options_ptr make_options(watch_ref* closure);
  void connect();
  void subscribe(const char* subject);
  void start_events();
  void stop_events();
  void close_subscriptions();
  void close_connection();
};

nats_options_ptr nats_bridge::impl::make_options(watch_ref* closure) {
  natsOptions* raw = nullptr;
  check(natsOptions_Create(&raw), "creating NATS options failed");
  nats_options_ptr options{raw};
  auto status = natsOptions_SetURL(raw, config.url.c_str());
  if (status != NATS_OK)
    fail_setup("invalid NATS URL '" + redact_url(config.url) + "'", status);
  check(natsOptions_SetName(raw, config.name.c_str()),
        "setting the NATS connection name failed");
  // Without it nats.c delays each reply by about a millisecond to batch it.
  check(natsOptions_SetSendAsap(raw, true), "enabling SendAsap failed");
  check(natsOptions_SetMaxReconnect(raw, -1),
        "enabling unlimited reconnects failed");
  check(natsOptions_SetReconnectWait(raw, reconnect_wait_ms),
        "setting the reconnect wait failed");
  check(natsOptions_SetReconnectJitter(raw, reconnect_jitter_ms,
                                       reconnect_jitter_ms),
        "setting the reconnect jitter failed");
  check(natsOptions_SetRetryOnFailedConnect(raw, true, on_connected, nullptr),
        "enabling connect retries failed");
  check(natsOptions_SetDisconnectedCB(raw, on_disconnected, closure),
        "setting the disconnect callback failed");
  check(natsOptions_SetReconnectedCB(raw, on_reconnected, nullptr),
        "setting the reconnect callback failed");
  check(natsOptions_SetClosedCB(raw, on_closed, closure),
        "setting the close callback failed");
  check(natsOptions_SetErrorHandler(raw, on_async_error, nullptr),
        "setting the error handler failed");
  return options;
}

void nats_bridge::impl::connect() {
  // Owned here until a connection exists, whose closed callback then
  // releases it.
  auto closure = std::make_unique<watch_ref>(watch);
  auto options = make_options(closure.get());
  auto url = redact_url(config.url);
  log->info("connecting to {}", url);
  auto status = natsConnection_Connect(&connection, options.get());
  if (status != NATS_OK && status != NATS_NOT_YET_CONNECTED) {
    connection = nullptr;
    fail_setup("connecting to NATS at " + url + " failed", status);
  }
  closure.release();
  if (status == NATS_NOT_YET_CONNECTED)
    log->warn("{} is not reachable yet; retrying every {} ms in the "
              "background",
              url, reconnect_wait_ms);
  else
    log->info("connected to {}", server_of(connection));
}

void nats_bridge::impl::subscribe(const char* subject) {
  natsSubscription* subscription = nullptr;
  auto ref = new router_ref(router);
  auto status = natsConnection_QueueSubscribe(
      &subscription, connection, subject, queue_group, on_request, ref);
  if (status != NATS_OK) {
    delete ref;
    fail_setup(std::string{"subscribing to "} + subject + " failed", status);
  }
  subscriptions.push_back(subscription);
  status = natsSubscription_SetOnCompleteCB(subscription,
                                            on_subscription_complete, ref);
  if (status != NATS_OK) {
    // NOTE: `ref` leaks here, because nats.c may still call `on_request`
    // with it. This only happens if the subscription closed meanwhile.
    fail_setup(std::string{"watching subscription "} + subject + " failed",
               status);
  }
}

void nats_bridge::impl::start_events() {
  if (!engine.broker) {
    log->warn("no event broker; events are not published on NATS");
    return;
  }
  events = system.spawn(event_publisher, publisher);
  caf::anon_send(engine.broker, subscribe_atom::value, event_filter{}, events);
}

void nats_bridge::impl::stop_events() {
  if (!events)
    return;
  if (engine.broker)
    caf::anon_send(engine.broker, unsubscribe_atom::value, events);
  caf::anon_send_exit(events, caf::exit_reason::user_shutdown);
  events = nullptr;
}

void nats_bridge::impl::close_subscriptions() {
  for (auto subscription : subscriptions) {
    // Draining lets already received requests finish. It needs a live
    // connection, so fall back to a plain unsubscribe.
    if (natsSubscription_Drain(subscription) != NATS_OK)
      natsSubscription_Unsubscribe(subscription);
  }
  if (!router->await_closed(subscriptions.size(), drain_timeout))
    log->warn("request subscriptions did not drain within {} ms; closing "
              "the connection anyway",
              drain_timeout.count());
}

void nats_bridge::impl::close_connection() {
  log->info("closing NATS connection");
  watch->closing = true;
  if (natsConnection_Status(connection) == NATS_CONN_STATUS_CONNECTED) {
    auto status = natsConnection_FlushTimeout(connection, flush_timeout_ms);
    if (status != NATS_OK)
      log->warn("flushing the last replies failed: {}", status_text(status));
  }
  natsConnection_Close(connection);
  if (router && !router->await_closed(subscriptions.size(), close_timeout))
    log->error("request subscriptions still run {} ms after the connection "
               "closed; continuing the shutdown",
               close_timeout.count());
  // Sinks that reply from now on find the publisher retired.
  publisher->retire();
  for (auto subscription : subscriptions)
    natsSubscription_Destroy(subscription);
  subscriptions.clear();
  natsConnection_Destroy(connection);
  connection = nullptr;
}

nats_bridge::nats_bridge(caf::actor_system& system, engine_handles engine,
                         bridge_config config)
    : impl_(
        std::make_unique<impl>(system, std::move(engine), std::move(config))) {
  // nop
}

nats_bridge::~nats_bridge() {
  stop();
}

void nats_bridge::start() {
  auto& self = *impl_;
  if (self.started)
    return;
  if (self.config.url.empty())
    throw std::runtime_error("invalid bridge settings: the NATS URL is empty");
  if (self.config.max_payload == 0)
    throw std::runtime_error(
        "invalid bridge settings: max_payload must be at least 1 byte");
  if (!self.engine.scheduler)
    throw std::runtime_error("invalid bridge settings: no scheduler actor");
  self.connect();
  self.started = true;
  self.publisher = std::make_shared<nats_publisher>(self.connection, self.log);
  self.router = std::make_shared<request_router>(
      self.engine.scheduler, self.publisher, self.config.max_payload);
  try {
    self.subscribe(request_subscription);
    self.subscribe(unknown_area_subscription);

    // A flush returns once the server has processed the subscriptions, so
    // requests sent after `start` find a responder.
    if (natsConnection_Status(self.connection) == NATS_CONN_STATUS_CONNECTED) {
      auto status = natsConnection_FlushTimeout(self.connection,
                                                flush_timeout_ms);
      if (status != NATS_OK)
        self.log->warn("confirming the subscriptions with the server failed: "
                       "{}; requests may get no responder until it answers",
                       status_text(status));
    }
    self.start_events();
  } catch (...) {
    stop();
    throw;
  }
  self.log->info("NATS bridge started: serving {} in queue group {}, "
                 "max_payload {} bytes",
                 request_subscription, queue_group, self.config.max_payload);
}

void nats_bridge::stop() {
  auto& self = *impl_;
  if (!self.started || self.stopped)
    return;
  self.stopped = true;
  self.log->info("NATS bridge stopping");
  self.stop_events();
  self.close_subscriptions();
  self.close_connection();
  auto counters = self.router->stats();
  self.log->info("NATS bridge stopped after {} forwarded, {} rejected and "
                 "{} dropped requests",
                 counters.forwarded, counters.rejected, counters.dropped);
}

bridge_stats nats_bridge::stats() const {
  if (!impl_->router)
    return {};
  return impl_->router->stats();
}

} // namespace holdfast
