#include <boost/test/unit_test.hpp>

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

/// Replies to every request at once through its sink. Owner "busy" gets a
/// conflict, "drop" gets no reply, and the test replies to "park".
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
      [](holder_update&) {
        // The stub keeps no routing index.
      },
      [](idle_atom, resource_key&, uint64_t, uint64_t) {
        // The stub has no lock actors.
      },
  };
}

class test_config : public caf::actor_system_config {
public:
  test_config() {
    register_messages(*this);
  }
};

/// Events that a client subscription received, with a bounded wait.
class event_inbox {
public:
  void push(const lock_event& event) {
    {
      std::lock_guard<std::mutex> guard{mutex_};
      events_.push_back(event);
    }
    changed_.notify_all();
  }

  /// Waits until `count` events arrived, and returns whether they did.
  bool await(size_t count, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> guard{mutex_};
    return changed_.wait_for(guard, timeout,
                             [&] { return events_.size() >= count; });
  }

  std::vector<lock_event> events() {
    std::lock_guard<std::mutex> guard{mutex_};
    return events_;
  }

private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<lock_event> events_;
};

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
  auto events = inbox.events();
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

BOOST_AUTO_TEST_SUITE_END()
