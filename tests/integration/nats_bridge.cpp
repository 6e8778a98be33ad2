#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <nats/nats.h>
#include <nlohmann/json.hpp>

#include "actors/event_broker.hpp"
#include "actors/scheduler.hpp"
#include "bridges/nats_bridge.hpp"
#include "bridges/nats_client.hpp"
#include "messages/registration.hpp"
#include "messages/wire_codec.hpp"
#include "tests/support/nats_server.hpp"

namespace holdfast {

// Lets BOOST_TEST print codes by name when a comparison fails.
std::ostream& boost_test_print_type(std::ostream& out, lock_errc code) {
  return out << to_string_view(code);
}

} // namespace holdfast

using namespace holdfast;
using namespace std::chrono_literals;

namespace {

constexpr size_t test_max_payload = 4096;

/// Requests that the stub scheduler received, and a sink it keeps unanswered
/// for the test to deliver later.
struct stub_record {
  std::mutex mutex;
  std::vector<std::string> verbs;
  reply_sink_ptr parked;

  void add(std::string verb) {
    std::lock_guard<std::mutex> guard{mutex};
    verbs.push_back(std::move(verb));
  }

  size_t count() {
    std::lock_guard<std::mutex> guard{mutex};
    return verbs.size();
  }
};

lock_record record_for(const acquire_request& request) {
  lock_record record;
  record.lock_id = "lk-" + request.owner;
  record.key = request.key;
  record.owner = request.owner;
  record.user = request.user;
  record.level = request.level;
  record.token = 7;
  record.acquired_at_ms = 1'000;
  record.expires_at_ms = 1'000 + request.ttl_ms;
  record.ttl_ms = request.ttl_ms;
  record.metadata = request.metadata;
  return record;
}

ticket_info ticket_for(const acquire_request& request, ticket_state state) {
  ticket_info ticket;
  ticket.ticket_id = "tk-" + request.owner;
  ticket.state = state;
  ticket.position = 1;
  ticket.key = request.key;
  ticket.owner = request.owner;
  ticket.created_at_ms = 2'000;
  ticket.updated_at_ms = 2'000;
  if (state == ticket_state::granted)
    ticket.lock = record_for(request);
  return ticket;
}

lock_reply ticket_reply(ticket_info ticket) {
  lock_reply reply;
  reply.ticket = std::move(ticket);
  return reply;
}

/// Replies to every request at once through its sink. Owner "busy" gets a
/// conflict, "drop" gets no reply, and the test replies to "park". An
/// asynchronous acquisition is granted at once, except that "busy" gets a
/// conflict and "drop" gets a ticket without notification.
scheduler_actor::behavior_type
stub_scheduler(scheduler_actor::pointer, std::shared_ptr<stub_record> seen) {
  return {
      [seen](acquire_request& request, reply_sink_ptr& sink) {
        seen->add("acquire");
        if (request.owner == "drop")
          return;
        if (request.owner == "park") {
          std::lock_guard<std::mutex> guard{seen->mutex};
          seen->parked = sink;
          return;
        }
        if (request.owner == "busy") {
          auto reply = make_error_reply(lock_errc::conflict,
                                        "held by another owner", "workspace");
          acquire_request holder = request;
          holder.owner = "holder";
          reply.error.holder = record_for(holder);
          sink->deliver(std::move(reply));
          return;
        }
        sink->deliver(make_lock_reply(record_for(request)));
      },
      [seen](release_request& request, reply_sink_ptr& sink) {
        seen->add("release");
        lock_record record;
        record.lock_id = request.lock_id;
        record.key.tenant = request.tenant;
        record.owner = "stub-owner";
        record.token = request.token;
        sink->deliver(make_lock_reply(record));
      },
      [seen](renew_request& request, reply_sink_ptr& sink) {
        seen->add("renew");
        lock_record record;
        record.lock_id = request.lock_id;
        record.key.tenant = request.tenant;
        record.owner = "stub-owner";
        record.ttl_ms = request.ttl_ms;
        sink->deliver(make_lock_reply(record));
      },
      [seen](get_request& request, reply_sink_ptr& sink) {
        seen->add("get");
        lock_record record;
        record.lock_id = "lk-get";
        record.key = request.key;
        record.owner = "stub-owner";
        auto reply = make_lock_reply(record);
        reply.waiting = 3;
        sink->deliver(std::move(reply));
      },
      [seen](list_request& request, reply_sink_ptr& sink) {
        seen->add("list");
        lock_reply reply;
        for (auto id : {"lk-1", "lk-2"}) {
          lock_record record;
          record.lock_id = id;
          record.key = {request.tenant, "p", "w"};
          record.owner = "stub-owner";
          reply.locks.push_back(record);
        }
        sink->deliver(std::move(reply));
      },
      [seen](release_owner_request&, reply_sink_ptr& sink) {
        seen->add("release_owner");
        lock_reply reply;
        reply.released = 2;
        sink->deliver(std::move(reply));
      },
      [seen](acquire_async_request& request, reply_sink_ptr& reply,
             reply_sink_ptr& notify) {
        seen->add("acquire_async " + request.notify_subject);
        const auto& inner = request.request;
        if (inner.owner == "busy") {
          reply->deliver(
              make_error_reply(lock_errc::conflict, "held", "workspace"));
          return;
        }
        reply->deliver(ticket_reply(ticket_for(inner, ticket_state::pending)));
        if (inner.owner != "drop")
          notify->deliver(
              ticket_reply(ticket_for(inner, ticket_state::granted)));
      },
      [seen](ticket_request& request, reply_sink_ptr& sink) {
        seen->add("ticket " + request.tenant);
        ticket_info ticket;
        ticket.ticket_id = request.ticket_id;
        ticket.state = ticket_state::failed;
        ticket.owner = "stub-owner";
        ticket.error = lock_errc::timeout;
        ticket.error_message = "waited too long";
        sink->deliver(ticket_reply(std::move(ticket)));
      },
      [seen](cancel_request& request, reply_sink_ptr& sink) {
        seen->add("cancel " + request.tenant);
        ticket_info ticket;
        ticket.ticket_id = request.ticket_id;
        ticket.state = ticket_state::cancelled;
        ticket.owner = "stub-owner";
        sink->deliver(ticket_reply(std::move(ticket)));
      },
      [seen](bulk_acquire_request& request, reply_sink_ptr& sink) {
        seen->add("acquire_bulk " + request.tenant);
        lock_reply reply;
        std::vector<lock_record> holders;
        for (const auto& item : request.locks) {
          if (item.owner == "busy") {
            acquire_request holder = item;
            holder.owner = "holder";
            holders.push_back(without_lock_id(record_for(holder)));
          }
          reply.locks.push_back(record_for(item));
        }
        if (!holders.empty()) {
          reply = make_error_reply(lock_errc::conflict, "locks are held",
                                   "locks");
          reply.error.holders = std::move(holders);
        }
        sink->deliver(std::move(reply));
      },
      [seen](bulk_release_request& request, reply_sink_ptr& sink) {
        seen->add("release_bulk " + request.tenant);
        lock_reply reply;
        for (const auto& id : request.lock_ids)
          reply.outcomes.push_back({id, id.rfind("gone", 0) == 0
                                            ? lock_errc::not_found
                                            : lock_errc::none});
        sink->deliver(std::move(reply));
      },
      [seen](reopen_owner_request& request, reply_sink_ptr& sink) {
        seen->add("reopen_owner " + request.tenant + " " + request.owner);
        sink->deliver(lock_reply{});
      },
      [seen](stats_request& request, reply_sink_ptr& sink) {
        seen->add("stats " + request.tenant);
        lock_reply reply;
        reply.stats.depth_by_priority = {0, 1, 2, 0, 4};
        reply.stats.total_depth = 7;
        reply.stats.active_locks = 1;
        reply.stats.grants_per_second = 0.5;
        reply.stats.average_wait_ms = 120.5;
        reply.stats.p99_wait_ms = 900;
        reply.stats.total_grants = 31;
        lock_record record;
        record.key = {request.tenant, "network", "prod"};
        record.owner = "stub-owner";
        reply.locks.push_back(record);
        sink->deliver(std::move(reply));
      },
      [](holder_update&) {
        // The stub keeps no routing index.
      },
      // The stub replies to tickets and bulk requests itself, so the
      // scheduler's internal steps never arrive.
      [](ticket_queued_atom, std::string&, uint32_t) {},
      [](ticket_done_atom, std::string&, lock_reply&) {},
      [](bulk_step_atom, uint64_t, uint64_t, lock_reply&) {},
      [](bulk_commit_atom, uint64_t, bool, std::string&) {},
      [](idle_atom, resource_key&, uint64_t, uint64_t) {
        // The stub has no lock actors.
      },
      [seen](detect_request& request, reply_sink_ptr& sink) {
        seen->add("detect " + request.tenant);
        lock_reply reply;
        reply.deadlock_counters.runs = 3;
        sink->deliver(std::move(reply));
      },
      [](fail_waiter&) {
        // No detector sends to the stub.
      },
      [](release_locks_atom, std::string&, std::string&) {},
  };
}

class test_config : public caf::actor_system_config {
public:
  test_config() {
    register_messages(*this);
  }
};

/// Messages that a client subscription received, with a bounded wait.
template <class T>
class message_inbox {
public:
  void push(const T& message) {
    {
      std::lock_guard<std::mutex> guard{mutex_};
      messages_.push_back(message);
    }
    changed_.notify_all();
  }

  /// Waits until `count` messages arrived, and returns whether they did.
  bool await(size_t count, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> guard{mutex_};
    return changed_.wait_for(guard, timeout,
                             [&] { return messages_.size() >= count; });
  }

  std::vector<T> messages() {
    std::lock_guard<std::mutex> guard{mutex_};
    return messages_;
  }

private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<T> messages_;
};

using event_inbox = message_inbox<lock_event>;

using reply_inbox = message_inbox<lock_reply>;

/// A real nats-server, an actor system with the stub scheduler and the real
/// event broker, a started bridge and a client of tenant "team-a".
struct bridge_fixture {
  test::nats_server server;
  test_config config;
  caf::actor_system system{config};
  std::shared_ptr<stub_record> seen = std::make_shared<stub_record>();
  engine_handles engine;
  std::unique_ptr<nats_bridge> bridge;
  std::unique_ptr<nats_client> client;

  bridge_fixture() {
    engine.scheduler = system.spawn(stub_scheduler, seen);
    engine.broker = spawn_event_broker(system);
    bridge_config settings;
    settings.url = server.url();
    settings.max_payload = test_max_payload;
    bridge = std::make_unique<nats_bridge>(system, engine, settings);
    bridge->start();
    client = make_client(wire_encoding::msgpack);
  }

  ~bridge_fixture() {
    client.reset();
    bridge->stop();
    caf::anon_send_exit(engine.scheduler, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(engine.broker, caf::exit_reason::user_shutdown);
  }

  std::unique_ptr<nats_client> make_client(wire_encoding encoding) {
    client_options options;
    options.url = server.url();
    options.tenant = "team-a";
    options.encoding = encoding;
    options.timeout = 5s;
    return std::make_unique<nats_client>(options);
  }

  /// Sends a raw request and decodes its reply in the reply's encoding.
  lock_reply raw_request(const std::string& subject, const std::string& body,
                         bool json) {
    auto raw = client->request_raw(subject, body, json, 5s);
    BOOST_REQUIRE(!raw.timed_out);
    auto encoding = raw.content_type == "application/json"
                        ? wire_encoding::json
                        : wire_encoding::msgpack;
    lock_reply reply;
    auto error = decode_reply(raw.data, encoding, reply);
    BOOST_REQUIRE_MESSAGE(error.code == lock_errc::none, error.message);
    return reply;
  }

  /// Waits until the bridge counted `count` dropped messages.
  bool await_dropped(uint64_t count, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (bridge->stats().dropped < count) {
      if (std::chrono::steady_clock::now() >= deadline)
        return false;
      std::this_thread::sleep_for(5ms);
    }
    return true;
  }
};

acquire_request sample_acquire(std::string owner = "pr-1") {
  acquire_request request;
  request.key = {"", "network", "prod"};
  request.owner = std::move(owner);
  request.user = "alice";
  request.level = priority::high;
  request.ttl_ms = 60'000;
  request.metadata = {{"env", "prod"}};
  return request;
}

std::string acquire_subject() {
  return "holdfast.v1.team-a.lock.acquire";
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(nats_bridge_suite, bridge_fixture)

BOOST_AUTO_TEST_CASE(msgpack_acquire_round_trip) {
  auto reply = client->acquire(sample_acquire());
  BOOST_TEST(reply.ok(), reply.error.message);
  BOOST_TEST(reply.lock.lock_id == "lk-pr-1");
  BOOST_TEST(reply.lock.key.tenant == "team-a");
  BOOST_TEST(reply.lock.key.project == "network");
  BOOST_TEST(reply.lock.owner == "pr-1");
  BOOST_TEST(reply.lock.ttl_ms == 60'000);
  BOOST_TEST(reply.lock.metadata.at("env") == "prod");
  BOOST_TEST(bridge->stats().forwarded == 1u);
}

BOOST_AUTO_TEST_CASE(json_request_gets_json_reply) {
  auto body = nlohmann::json{
      {"project", "network"},
      {"workspace", "prod"},
      {"owner", "pr-2"},
      {"priority",
       "low"}}.dump();
  auto raw = client->request_raw(acquire_subject(), body, true, 5s);
  BOOST_REQUIRE(!raw.timed_out);
  BOOST_TEST(raw.content_type == "application/json");
  auto tree = nlohmann::json::parse(raw.data);
  BOOST_TEST(tree.at("ok") == true);
  BOOST_TEST(tree.at("lock").at("owner") == "pr-2");
  BOOST_TEST(tree.at("lock").at("priority") == "low");
  BOOST_TEST(tree.at("lock").at("tenant") == "team-a");
}

BOOST_AUTO_TEST_CASE(msgpack_request_gets_msgpack_reply) {
  auto body = encode_request(sample_acquire(), wire_encoding::msgpack);
  auto raw = client->request_raw(acquire_subject(), body, false, 5s);
  BOOST_REQUIRE(!raw.timed_out);
  BOOST_TEST(raw.content_type == "");
  lock_reply reply;
  auto error = decode_reply(raw.data, wire_encoding::msgpack, reply);
  BOOST_TEST((error.code == lock_errc::none), error.message);
  BOOST_TEST(reply.ok());
}

BOOST_AUTO_TEST_CASE(every_verb_in_both_encodings) {
  for (auto encoding : {wire_encoding::msgpack, wire_encoding::json}) {
    BOOST_TEST_CONTEXT((encoding == wire_encoding::json ? "json" : "msgpack")) {
      auto verb_client = make_client(encoding);
      auto released = verb_client->release({"", "lk-9", 5});
      BOOST_TEST(released.ok(), released.error.message);
      BOOST_TEST(released.lock.lock_id == "lk-9");
      BOOST_TEST(released.lock.token == 5u);
      BOOST_TEST(released.lock.key.tenant == "team-a");
      auto renewed = verb_client->renew({"", "lk-9", 5, 30'000});
      BOOST_TEST(renewed.ok(), renewed.error.message);
      BOOST_TEST(renewed.lock.ttl_ms == 30'000);
      auto got = verb_client->get({{"", "network", "prod"}});
      BOOST_TEST(got.ok(), got.error.message);
      BOOST_TEST(got.lock.key.workspace == "prod");
      BOOST_TEST(got.waiting == 3u);
      auto listed = verb_client->list({});
      BOOST_TEST(listed.ok(), listed.error.message);
      BOOST_TEST(listed.locks.size() == 2u);
      auto closed = verb_client->release_owner({"", "pr-1"});
      BOOST_TEST(closed.ok(), closed.error.message);
      BOOST_TEST(closed.released == 2u);
    }
  }
}

BOOST_AUTO_TEST_CASE(conflict_names_holder) {
  auto reply = client->acquire(sample_acquire("busy"));
  BOOST_TEST(!reply.ok());
  BOOST_TEST(reply.error.code == lock_errc::conflict);
  BOOST_TEST(reply.error.field == "workspace");
  BOOST_TEST(reply.error.holder.owner == "holder");
  BOOST_TEST(reply.error.holder.key.tenant == "team-a");
}

BOOST_AUTO_TEST_CASE(malformed_msgpack_is_rejected) {
  auto reply = raw_request(acquire_subject(), std::string{"\xc1", 1}, false);
  BOOST_TEST(reply.error.code == lock_errc::invalid_request);
  BOOST_TEST(reply.error.field == "body");
  BOOST_TEST(seen->count() == 0u);
  BOOST_TEST(bridge->stats().rejected == 1u);
}

BOOST_AUTO_TEST_CASE(malformed_json_is_rejected) {
  auto reply = raw_request(acquire_subject(), R"({"project": )", true);
  BOOST_TEST(reply.error.code == lock_errc::invalid_request);
  BOOST_TEST(reply.error.field == "body");
  BOOST_TEST(seen->count() == 0u);
}

BOOST_AUTO_TEST_CASE(wrong_field_type_is_rejected) {
  auto reply = raw_request(acquire_subject(), R"({"wait_ms": -5})", true);
  BOOST_TEST(reply.error.code == lock_errc::invalid_request);
  BOOST_TEST(reply.error.field == "wait_ms");
  reply = raw_request(acquire_subject(), R"({"metadata": {"env": ["prod"]}})",
                      true);
  BOOST_TEST(reply.error.field == "metadata.env");
  BOOST_TEST(seen->count() == 0u);
}

BOOST_AUTO_TEST_CASE(oversized_body_is_rejected) {
  auto request = sample_acquire();
  request.metadata["blob"] = std::string(test_max_payload, 'x');
  auto reply = client->acquire(request);
  BOOST_TEST(reply.error.code == lock_errc::invalid_request);
  BOOST_TEST(reply.error.field == "body");
  BOOST_TEST(seen->count() == 0u);
}

BOOST_AUTO_TEST_CASE(unknown_verb_is_rejected) {
  auto reply = raw_request("holdfast.v1.team-a.lock.steal", "{}", true);
  BOOST_TEST(reply.error.code == lock_errc::invalid_request);
  BOOST_TEST(reply.error.field == "subject");
}

BOOST_AUTO_TEST_CASE(unknown_area_is_rejected) {
  auto reply = raw_request("holdfast.v1.team-a.locks", "{}", true);
  BOOST_TEST(reply.error.code == lock_errc::invalid_request);
  BOOST_TEST(reply.error.field == "subject");
}

BOOST_AUTO_TEST_CASE(extra_subject_tokens_are_rejected) {
  auto reply = raw_request("holdfast.v1.team-a.lock.get.now", "{}", true);
  BOOST_TEST(reply.error.code == lock_errc::invalid_request);
  BOOST_TEST(reply.error.field == "subject");
}

BOOST_AUTO_TEST_CASE(bad_tenant_is_rejected) {
  auto reply = raw_request("holdfast.v1.te%m.lock.get", "{}", true);
  BOOST_TEST(reply.error.code == lock_errc::invalid_request);
  BOOST_TEST(reply.error.field == "tenant");
}

BOOST_AUTO_TEST_CASE(client_rejects_bad_tenant) {
  auto request = sample_acquire();
  request.key.tenant = "a.b";
  auto reply = client->acquire(request);
  BOOST_TEST(reply.error.code == lock_errc::invalid_request);
  BOOST_TEST(reply.error.field == "subject");
}

BOOST_AUTO_TEST_CASE(message_without_reply_is_dropped) {
  natsConnection* connection = nullptr;
  BOOST_REQUIRE(natsConnection_ConnectTo(&connection, server.url().c_str())
                == NATS_OK);
  auto body = encode_request(sample_acquire(), wire_encoding::msgpack);
  BOOST_TEST(natsConnection_Publish(connection, acquire_subject().c_str(),
                                    body.data(), static_cast<int>(body.size()))
             == NATS_OK);
  BOOST_TEST(natsConnection_Flush(connection) == NATS_OK);
  natsConnection_Destroy(connection);
  BOOST_TEST(await_dropped(1, 5s));
  BOOST_TEST(seen->count() == 0u);
}

BOOST_AUTO_TEST_CASE(dropped_request_gets_unavailable) {
  auto reply = client->acquire(sample_acquire("drop"));
  BOOST_TEST(reply.error.code == lock_errc::unavailable);
  BOOST_TEST(reply.error.message.find("dropped") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(no_responders_is_unavailable) {
  bridge->stop();
  auto reply = client->get({{"", "network", "prod"}});
  BOOST_TEST(reply.error.code == lock_errc::unavailable);
  BOOST_TEST(reply.error.message.find(server.url()) != std::string::npos);
}

BOOST_AUTO_TEST_CASE(reply_after_stop_is_dropped_safely) {
  // Boost.Test assertions are not thread-safe, so the thread only stores
  // the reply code.
  auto code = lock_errc::none;
  std::thread requester{[&] {
    client_options options;
    options.url = server.url();
    options.timeout = 300ms;
    nats_client parked_client{options};
    code = parked_client.acquire(sample_acquire("park")).error.code;
  }};
  auto deadline = std::chrono::steady_clock::now() + 5s;
  reply_sink_ptr parked;
  while (!parked && std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard<std::mutex> guard{seen->mutex};
      parked = seen->parked;
      seen->parked = nullptr;
    }
    std::this_thread::sleep_for(5ms);
  }
  BOOST_REQUIRE(parked != nullptr);
  bridge->stop();
  bridge->stop();
  parked->deliver(make_lock_reply(record_for(sample_acquire("park"))));
  parked.reset();
  requester.join();
  BOOST_TEST(code == lock_errc::unavailable);
}

BOOST_AUTO_TEST_CASE(reconnects_after_server_restart) {
  BOOST_TEST(client->acquire(sample_acquire()).ok());
  server.restart();
  client_options options;
  options.url = server.url();
  options.tenant = "team-a";
  options.timeout = 250ms;
  auto deadline = std::chrono::steady_clock::now() + 15s;
  bool served = false;
  while (!served && std::chrono::steady_clock::now() < deadline) {
    try {
      nats_client fresh{options};
      served = fresh.acquire(sample_acquire("again")).ok();
    } catch (const std::runtime_error&) {
      // The server may not accept connections yet.
    }
    if (!served)
      std::this_thread::sleep_for(50ms);
  }
  BOOST_TEST(served);
}

BOOST_AUTO_TEST_CASE(starts_before_server) {
  client.reset();
  bridge->stop();
  server.stop();
  bridge_config settings;
  settings.url = server.url();
  nats_bridge early{system, engine, settings};
  early.start();
  server.start();
  client_options options;
  options.url = server.url();
  options.tenant = "team-a";
  options.timeout = 250ms;
  auto deadline = std::chrono::steady_clock::now() + 15s;
  bool served = false;
  while (!served && std::chrono::steady_clock::now() < deadline) {
    nats_client fresh{options};
    served = fresh.acquire(sample_acquire()).ok();
    if (!served)
      std::this_thread::sleep_for(50ms);
  }
  BOOST_TEST(served);
  early.stop();
}

BOOST_AUTO_TEST_CASE(events_reach_filtered_subscriber) {
  event_inbox inbox;
  event_filter filter{"team-a", "lock.released", "infra.core", ""};
  auto subscription = client->subscribe_events(
      filter, [&](const lock_event& event) { inbox.push(event); });
  auto make_event
      = [](event_type type, std::string project, std::string reason) {
          lock_event event;
          event.type = type;
          event.record.lock_id = "lk-e";
          event.record.key = {"team-a", std::move(project), "prod"};
          event.timestamp_ms = 42;
          event.reason = std::move(reason);
          return event;
        };
  caf::anon_send(engine.broker,
                 make_event(event_type::lock_acquired, "infra.core", "other"));
  caf::anon_send(engine.broker,
                 make_event(event_type::lock_released, "network", "other"));
  caf::anon_send(engine.broker,
                 make_event(event_type::lock_released, "infra.core", "first"));
  caf::anon_send(engine.broker,
                 make_event(event_type::lock_released, "infra.core", "second"));
  BOOST_REQUIRE(inbox.await(2, 5s));
  auto events = inbox.messages();
  BOOST_TEST(events.size() == 2u);
  BOOST_TEST(events[0].reason == "first");
  BOOST_TEST(events[1].reason == "second");
  BOOST_TEST(events[0].record.key.project == "infra.core");
  BOOST_TEST(events[0].record.lock_id == "lk-e");
  BOOST_TEST(events[0].timestamp_ms == 42);
}

BOOST_AUTO_TEST_CASE(event_handle_outlives_client) {
  auto subscriber = make_client(wire_encoding::msgpack);
  auto subscription
      = subscriber->subscribe_events({}, [](const lock_event&) {});
  subscriber.reset();
  subscription.reset();
  BOOST_TEST(client->get({{"", "network", "prod"}}).ok());
}

BOOST_AUTO_TEST_CASE(async_ticket_then_notification) {
  for (auto encoding : {wire_encoding::msgpack, wire_encoding::json}) {
    BOOST_TEST_CONTEXT((encoding == wire_encoding::json ? "json" : "msgpack")) {
      auto async_client = make_client(encoding);
      auto inbox_subject = async_client->new_inbox();
      reply_inbox inbox;
      auto subscription = async_client->subscribe_replies(
          inbox_subject, [&](const lock_reply& reply) { inbox.push(reply); });
      auto reply = async_client->acquire_async(sample_acquire("pr-5"),
                                               inbox_subject);
      BOOST_TEST(reply.ok(), reply.error.message);
      BOOST_TEST(reply.ticket.ticket_id == "tk-pr-5");
      BOOST_TEST((reply.ticket.state == ticket_state::pending));
      BOOST_TEST(reply.ticket.position == 1u);
      BOOST_TEST(reply.ticket.key.project == "network");
      BOOST_REQUIRE(inbox.await(1, 5s));
      auto notification = inbox.messages().front();
      BOOST_TEST(notification.ok(), notification.error.message);
      BOOST_TEST(notification.ticket.ticket_id == "tk-pr-5");
      BOOST_TEST((notification.ticket.state == ticket_state::granted));
      BOOST_TEST(notification.ticket.lock.lock_id == "lk-pr-5");
      BOOST_TEST(notification.ticket.lock.key.tenant == "team-a");
    }
  }
}

BOOST_AUTO_TEST_CASE(notification_uses_request_encoding) {
  natsConnection* connection = nullptr;
  BOOST_REQUIRE(natsConnection_ConnectTo(&connection, server.url().c_str())
                == NATS_OK);
  natsSubscription* subscription = nullptr;
  BOOST_REQUIRE(natsConnection_SubscribeSync(&subscription, connection,
                                             "_INBOX.json-notify")
                == NATS_OK);
  BOOST_REQUIRE(natsConnection_Flush(connection) == NATS_OK);
  auto body = nlohmann::json{{"project", "network"},
                             {"workspace", "prod"},
                             {"owner", "pr-6"},
                             {"notify", "_INBOX.json-notify"}}
                  .dump();
  auto raw = client->request_raw("holdfast.v1.team-a.lock.acquire_async",
                                 body, true, 5s);
  BOOST_REQUIRE(!raw.timed_out);
  auto reply = nlohmann::json::parse(raw.data);
  BOOST_TEST(reply.at("ok") == true);
  BOOST_TEST(reply.at("ticket").at("state") == "pending");
  natsMsg* msg = nullptr;
  BOOST_REQUIRE(natsSubscription_NextMsg(&msg, subscription, 5'000)
                == NATS_OK);
  std::string data{natsMsg_GetData(msg),
                   static_cast<size_t>(natsMsg_GetDataLength(msg))};
  const char* content_type = nullptr;
  BOOST_TEST(natsMsgHeader_Get(msg, "Content-Type", &content_type)
             == NATS_OK);
  BOOST_TEST(std::string{content_type != nullptr ? content_type : ""}
             == "application/json");
  auto notification = nlohmann::json::parse(data);
  BOOST_TEST(notification.size() == 2u);
  BOOST_TEST(notification.at("ok") == true);
  BOOST_TEST(notification.at("ticket").at("state") == "granted");
  BOOST_TEST(notification.at("ticket").at("lock").at("owner") == "pr-6");
  natsMsg_Destroy(msg);
  natsSubscription_Destroy(subscription);
  natsConnection_Destroy(connection);
}

BOOST_AUTO_TEST_CASE(rejected_async_gets_no_notification) {
  auto inbox_subject = client->new_inbox();
  reply_inbox inbox;
  auto subscription = client->subscribe_replies(
      inbox_subject, [&](const lock_reply& reply) { inbox.push(reply); });
  auto reply = client->acquire_async(sample_acquire("busy"), inbox_subject);
  BOOST_TEST(reply.error.code == lock_errc::conflict);
  // A dropped notification sink would publish within milliseconds.
  BOOST_TEST(!inbox.await(1, 300ms));
}

BOOST_AUTO_TEST_CASE(dropped_ticket_notifies_unavailable) {
  auto inbox_subject = client->new_inbox();
  reply_inbox inbox;
  auto subscription = client->subscribe_replies(
      inbox_subject, [&](const lock_reply& reply) { inbox.push(reply); });
  auto reply = client->acquire_async(sample_acquire("drop"), inbox_subject);
  BOOST_TEST(reply.ok(), reply.error.message);
  BOOST_REQUIRE(inbox.await(1, 5s));
  auto notification = inbox.messages().front();
  BOOST_TEST(notification.error.code == lock_errc::unavailable);
  BOOST_TEST(notification.error.message.find("dropped the ticket")
             != std::string::npos);
}

BOOST_AUTO_TEST_CASE(notify_on_service_subject_is_rejected) {
  auto reply = client->acquire_async(sample_acquire(),
                                     "holdfast.v1.team-a.events.lock.x.y.z");
  BOOST_TEST(reply.error.code == lock_errc::invalid_request);
  BOOST_TEST(reply.error.field == "notify");
  BOOST_TEST(seen->count() == 0u);
}

BOOST_AUTO_TEST_CASE(queueing_verbs_in_both_encodings) {
  for (auto encoding : {wire_encoding::msgpack, wire_encoding::json}) {
    BOOST_TEST_CONTEXT((encoding == wire_encoding::json ? "json" : "msgpack")) {
      auto verb_client = make_client(encoding);

      auto ticket = verb_client->ticket({"", "tk-1"});
      BOOST_TEST(ticket.ok(), ticket.error.message);
      BOOST_TEST(ticket.ticket.ticket_id == "tk-1");
      BOOST_TEST((ticket.ticket.state == ticket_state::failed));
      BOOST_TEST(ticket.ticket.error == lock_errc::timeout);
      BOOST_TEST(ticket.ticket.error_message == "waited too long");

      auto cancelled = verb_client->cancel({"", "tk-2"});
      BOOST_TEST(cancelled.ok(), cancelled.error.message);
      BOOST_TEST((cancelled.ticket.state == ticket_state::cancelled));

      auto reopened = verb_client->reopen_owner({"", "pr-1"});
      BOOST_TEST(reopened.ok(), reopened.error.message);

      auto released = verb_client->release_bulk({"", {"lk-1", "gone-2"}});
      BOOST_TEST(released.ok(), released.error.message);
      BOOST_REQUIRE(released.outcomes.size() == 2u);
      BOOST_TEST(released.outcomes[0].lock_id == "lk-1");
      BOOST_TEST(released.outcomes[0].code == lock_errc::none);
      BOOST_TEST(released.outcomes[1].code == lock_errc::not_found);

      auto stats = verb_client->stats({});
      BOOST_TEST(stats.ok(), stats.error.message);
      BOOST_TEST(stats.stats.total_depth == 7u);
      BOOST_TEST(stats.stats.depth_by_priority[4] == 4u);
      BOOST_TEST(stats.stats.grants_per_second == 0.5);
      BOOST_TEST(stats.stats.p99_wait_ms == 900);
      BOOST_TEST(stats.stats.total_grants == 31u);
      BOOST_REQUIRE(stats.locks.size() == 1u);
      BOOST_TEST(stats.locks[0].key.tenant == "team-a");

      auto detected = verb_client->detect();
      BOOST_TEST(detected.ok(), detected.error.message);
      BOOST_TEST(detected.deadlock_counters.runs == 3u);
    }
  }
  std::vector<std::string> verbs;
  {
    std::lock_guard<std::mutex> guard{seen->mutex};
    verbs = seen->verbs;
  }
  BOOST_TEST(std::count(verbs.begin(), verbs.end(), "ticket team-a") == 2);
  BOOST_TEST(std::count(verbs.begin(), verbs.end(), "cancel team-a") == 2);
  BOOST_TEST(std::count(verbs.begin(), verbs.end(), "reopen_owner team-a pr-1")
             == 2);
  BOOST_TEST(std::count(verbs.begin(), verbs.end(), "stats team-a") == 2);
  BOOST_TEST(std::count(verbs.begin(), verbs.end(), "detect team-a") == 2);
}

BOOST_AUTO_TEST_CASE(bulk_acquire_sets_item_tenants) {
  bulk_acquire_request request;
  request.wait_ms = 1'000;
  request.locks = {sample_acquire("pr-1"), sample_acquire("pr-1")};
  request.locks[1].key.workspace = "staging";
  auto reply = client->acquire_bulk(request);
  BOOST_TEST(reply.ok(), reply.error.message);
  BOOST_REQUIRE(reply.locks.size() == 2u);
  BOOST_TEST(reply.locks[0].key.tenant == "team-a");
  BOOST_TEST(reply.locks[1].key.tenant == "team-a");
  BOOST_TEST(reply.locks[1].key.workspace == "staging");
  BOOST_TEST(reply.locks[0].lock_id == "lk-pr-1");
}

BOOST_AUTO_TEST_CASE(bulk_conflict_names_holders) {
  bulk_acquire_request request;
  request.locks = {sample_acquire("busy"), sample_acquire("pr-1"),
                   sample_acquire("busy")};
  request.locks[1].key.workspace = "staging";
  request.locks[2].key.workspace = "dev";
  auto reply = client->acquire_bulk(request);
  BOOST_TEST(reply.error.code == lock_errc::conflict);
  BOOST_REQUIRE(reply.error.holders.size() == 2u);
  BOOST_TEST(reply.error.holders[0].owner == "holder");
  BOOST_TEST(reply.error.holders[1].key.workspace == "dev");
  BOOST_TEST(reply.error.holders[1].lock_id == "");
}

BOOST_AUTO_TEST_CASE(bulk_item_error_names_index) {
  auto body = R"({"locks": [{"project": "p", "workspace": "w"},
                            {"project": "p", "workspace": 3}]})";
  auto reply
      = raw_request("holdfast.v1.team-a.lock.acquire_bulk", body, true);
  BOOST_TEST(reply.error.code == lock_errc::invalid_request);
  BOOST_TEST(reply.error.field == "locks[1].workspace");
  BOOST_TEST(seen->count() == 0u);
}

BOOST_AUTO_TEST_CASE(queue_overflow_event_is_published) {
  event_inbox inbox;
  event_filter filter{"team-a", "queue.overflow", "", ""};
  auto subscription = client->subscribe_events(
      filter, [&](const lock_event& event) { inbox.push(event); });
  lock_event event;
  event.type = event_type::queue_overflow;
  event.record.key = {"team-a", "network", "prod"};
  event.record.owner = "pr-8";
  event.reason = "queue full";
  caf::anon_send(engine.broker, event);
  BOOST_REQUIRE(inbox.await(1, 5s));
  auto events = inbox.messages();
  BOOST_TEST((events[0].type == event_type::queue_overflow));
  BOOST_TEST(events[0].record.owner == "pr-8");
  BOOST_TEST(events[0].reason == "queue full");
}

BOOST_AUTO_TEST_SUITE_END()
