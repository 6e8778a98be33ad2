#include <boost/test/unit_test.hpp>

#include <cstring>

#include <array>
#include <cstdint>
#include <limits>
#include <ostream>
#include <string>
#include <vector>

#include <msgpack.hpp>
#include <nlohmann/json.hpp>

#include "messages/wire_codec.hpp"

namespace holdfast {

// Lets BOOST_TEST print codes by name when a comparison fails.
std::ostream& boost_test_print_type(std::ostream& out, lock_errc code) {
  return out << to_string_view(code);
}

} // namespace holdfast

using namespace holdfast;

namespace {

constexpr std::array<wire_encoding, 2> encodings{wire_encoding::msgpack,
                                                 wire_encoding::json};

const char* name_of(wire_encoding encoding) {
  return encoding == wire_encoding::json ? "json" : "msgpack";
}

lock_record sample_record(std::string lock_id = "lk-7f3a9c") {
  lock_record record;
  record.lock_id = std::move(lock_id);
  record.key = {"team-a", "network", "prod"};
  record.owner = "pr-1234";
  record.user = "alice";
  record.level = priority::critical;
  record.token = (uint64_t{1} << 63) + 17;
  record.acquired_at_ms = 1'700'000'000'123;
  record.expires_at_ms = 1'700'000'300'123;
  record.ttl_ms = 300'000;
  record.metadata = {{"env", "prod"}, {"pr.url", "https://git/pr/1234"}};
  return record;
}

template <class Request>
Request round_trip_request(const Request& request, wire_encoding encoding) {
  std::string body;
  encode_request(request, encoding, body);
  Request result;
  auto error = decode_request(body, encoding, result);
  BOOST_TEST(error.code == lock_errc::none, error.message);
  return result;
}

lock_reply round_trip_reply(request_verb verb, const lock_reply& reply,
                            wire_encoding encoding) {
  auto body = encode_reply(verb, reply, encoding);
  lock_reply result;
  auto error = decode_reply(body, encoding, result);
  BOOST_TEST(error.code == lock_errc::none, error.message);
  return result;
}

/// Decodes `body` as an acquire request and returns the error.
lock_error acquire_error(const std::string& body, wire_encoding encoding) {
  acquire_request request;
  return decode_request(body, encoding, request);
}

std::string to_msgpack(const nlohmann::json& tree) {
  auto bytes = nlohmann::json::to_msgpack(tree);
  return {bytes.begin(), bytes.end()};
}

/// Encodes `tree` in `encoding`, so that one malformed request can be
/// checked in both encodings.
std::string body_of(const nlohmann::json& tree, wire_encoding encoding) {
  return encoding == wire_encoding::json ? tree.dump() : to_msgpack(tree);
}

ticket_info sample_ticket(ticket_state state) {
  ticket_info ticket;
  ticket.ticket_id = "tk-5d1e";
  ticket.state = state;
  ticket.position = 3;
  ticket.key = {"team-a", "network", "prod"};
  ticket.owner = "pr-1234";
  ticket.created_at_ms = 1'700'000'000'000;
  ticket.updated_at_ms = 1'700'000'000'500;
  if (state == ticket_state::granted)
    ticket.lock = sample_record();
  if (state == ticket_state::failed) {
    ticket.error = lock_errc::timeout;
    ticket.error_message = "no grant within 1500 ms";
  }
  return ticket;
}

/// Returns a cycle of two owners, in which pr-1 waits for network/prod held
/// by pr-2 and pr-2 waits for dns/prod held by pr-1.
std::vector<cycle_member> sample_cycle() {
  cycle_member first;
  first.owner = "pr-1";
  first.key = {"", "network", "prod"};
  first.level = priority::high;
  first.waited_ms = 1'250;
  first.locks_held = 1;
  cycle_member second;
  second.owner = "pr-2";
  second.key = {"", "dns", "prod"};
  second.level = priority::very_low;
  second.waited_ms = 900;
  second.locks_held = 3;
  return {first, second};
}

deadlock_info sample_deadlock() {
  deadlock_info info;
  info.id = (uint64_t{1} << 40) + 7;
  info.cycle = sample_cycle();
  info.victim = "pr-2";
  info.policy = "plugin:prod-approval";
  info.outcome = "victim_failed";
  info.released_locks = true;
  info.reason = "approved by hook 'prod-approval'";
  return info;
}

/// Checks every wire field of a decoded cycle against the one sent. The
/// tenant is not on the wire, so it stays empty.
void check_cycle(const std::vector<cycle_member>& result,
                 const std::vector<cycle_member>& expected) {
  BOOST_REQUIRE(result.size() == expected.size());
  for (size_t i = 0; i < result.size(); ++i) {
    BOOST_TEST_CONTEXT("member " << i) {
      BOOST_TEST(result[i].owner == expected[i].owner);
      BOOST_TEST(result[i].key.tenant == "");
      BOOST_TEST(result[i].key.project == expected[i].key.project);
      BOOST_TEST(result[i].key.workspace == expected[i].key.workspace);
      BOOST_TEST((result[i].level == expected[i].level));
      BOOST_TEST(result[i].waited_ms == expected[i].waited_ms);
      BOOST_TEST(result[i].locks_held == expected[i].locks_held);
    }
  }
}

void check_deadlock(const deadlock_info& result,
                    const deadlock_info& expected) {
  BOOST_TEST(result.id == expected.id);
  check_cycle(result.cycle, expected.cycle);
  BOOST_TEST(result.victim == expected.victim);
  BOOST_TEST(result.policy == expected.policy);
  BOOST_TEST(result.outcome == expected.outcome);
  BOOST_TEST(result.released_locks == expected.released_locks);
  BOOST_TEST(result.reason == expected.reason);
}

/// Decodes `tree`, encoded in `encoding`, as a reply and returns the error.
lock_error reply_error(const nlohmann::json& tree, wire_encoding encoding) {
  lock_reply reply;
  return decode_reply(body_of(tree, encoding), encoding, reply);
}

/// Returns a failed reply whose error carries `cycle`.
nlohmann::json victim_reply(nlohmann::json cycle) {
  return {{"ok", false},
          {"error",
           {{"code", "deadlock_victim"},
            {"message", "m"},
            {"cycle", std::move(cycle)}}}};
}

/// Decodes `body` as a bulk acquire request and returns the error.
lock_error bulk_error(const nlohmann::json& tree, wire_encoding encoding) {
  bulk_acquire_request request;
  return decode_request(body_of(tree, encoding), encoding, request);
}

} // namespace

BOOST_AUTO_TEST_SUITE(wire_codec)

BOOST_AUTO_TEST_CASE(verb_names_round_trip) {
  for (size_t i = 0; i < request_verb_count; ++i) {
    auto verb = static_cast<request_verb>(i);
    BOOST_TEST_CONTEXT(to_string_view(verb)) {
      auto parsed = parse_request_verb(to_string_view(verb));
      BOOST_TEST(parsed.has_value());
      BOOST_TEST((parsed == verb));
    }
  }
  BOOST_TEST(!parse_request_verb("lock").has_value());
}

BOOST_AUTO_TEST_CASE(new_verb_names) {
  BOOST_TEST(to_string_view(request_verb::acquire_async) == "acquire_async");
  BOOST_TEST(to_string_view(request_verb::ticket) == "ticket");
  BOOST_TEST(to_string_view(request_verb::cancel) == "cancel");
  BOOST_TEST(to_string_view(request_verb::acquire_bulk) == "acquire_bulk");
  BOOST_TEST(to_string_view(request_verb::release_bulk) == "release_bulk");
  BOOST_TEST(to_string_view(request_verb::reopen_owner) == "reopen_owner");
  BOOST_TEST(to_string_view(request_verb::stats) == "stats");
  BOOST_TEST(to_string_view(request_verb::detect) == "detect");
}

BOOST_AUTO_TEST_CASE(acquire_round_trip) {
  acquire_request request;
  request.key = {"", "network", "prod"};
  request.owner = "pr-1234";
  request.user = "alice";
  request.level = priority::high;
  request.wait_ms = 1'500;
  request.ttl_ms = 60'000;
  request.metadata = {{"env", "prod"}, {"ticket", "OPS-9"}};
  for (auto encoding : encodings) {
    BOOST_TEST_CONTEXT(name_of(encoding)) {
      auto result = round_trip_request(request, encoding);
      BOOST_TEST(result.key.tenant == "");
      BOOST_TEST(result.key.project == "network");
      BOOST_TEST(result.key.workspace == "prod");
      BOOST_TEST(result.owner == "pr-1234");
      BOOST_TEST(result.user == "alice");
      BOOST_TEST((result.level == priority::high));
      BOOST_TEST(result.wait_ms == 1'500);
      BOOST_TEST(result.ttl_ms == 60'000);
      BOOST_CHECK(result.metadata == request.metadata);
    }
  }
}

BOOST_AUTO_TEST_CASE(release_round_trip) {
  release_request request{"", "lk-1", std::numeric_limits<uint64_t>::max()};
  for (auto encoding : encodings) {
    BOOST_TEST_CONTEXT(name_of(encoding)) {
      auto result = round_trip_request(request, encoding);
      BOOST_TEST(result.lock_id == "lk-1");
      BOOST_TEST(result.token == std::numeric_limits<uint64_t>::max());
    }
  }
}

BOOST_AUTO_TEST_CASE(renew_round_trip) {
  renew_request request{"", "lk-2", 42, 90'000};
  for (auto encoding : encodings) {
    BOOST_TEST_CONTEXT(name_of(encoding)) {
      auto result = round_trip_request(request, encoding);
      BOOST_TEST(result.lock_id == "lk-2");
      BOOST_TEST(result.token == 42u);
      BOOST_TEST(result.ttl_ms == 90'000);
    }
  }
}

BOOST_AUTO_TEST_CASE(get_round_trip) {
  get_request request{{"", "network", "staging"}};
  for (auto encoding : encodings) {
    BOOST_TEST_CONTEXT(name_of(encoding)) {
      auto result = round_trip_request(request, encoding);
      BOOST_TEST(result.key.project == "network");
      BOOST_TEST(result.key.workspace == "staging");
    }
  }
}

BOOST_AUTO_TEST_CASE(list_round_trip) {
  list_request request{"", "network", "prod", "pr-9", "env", "prod"};
  for (auto encoding : encodings) {
    BOOST_TEST_CONTEXT(name_of(encoding)) {
      auto result = round_trip_request(request, encoding);
      BOOST_TEST(result.project == "network");
      BOOST_TEST(result.workspace == "prod");
      BOOST_TEST(result.owner == "pr-9");
      BOOST_TEST(result.meta_key == "env");
      BOOST_TEST(result.meta_value == "prod");
    }
  }
}

BOOST_AUTO_TEST_CASE(release_owner_round_trip) {
  release_owner_request request{"", "pr-77"};
  for (auto encoding : encodings) {
    BOOST_TEST_CONTEXT(name_of(encoding)) {
      auto result = round_trip_request(request, encoding);
      BOOST_TEST(result.owner == "pr-77");
    }
  }
}

BOOST_AUTO_TEST_CASE(missing_fields_keep_defaults) {
  for (auto encoding : encodings) {
    BOOST_TEST_CONTEXT(name_of(encoding)) {
      acquire_request request;
      auto body = body_of({{"project", "p"}}, encoding);
      auto error = decode_request(body, encoding, request);
      BOOST_TEST(error.code == lock_errc::none, error.message);
      BOOST_TEST(request.key.project == "p");
      BOOST_TEST((request.level == priority::medium));
      BOOST_TEST(request.wait_ms == 0);
      BOOST_TEST(request.ttl_ms == 0);
    }
  }
}

BOOST_AUTO_TEST_CASE(lock_reply_round_trip) {
  auto reply = make_lock_reply(sample_record());
  for (auto verb :
       {request_verb::acquire, request_verb::release, request_verb::renew}) {
    for (auto encoding : encodings) {
      BOOST_TEST_CONTEXT(name_of(encoding) << " " << to_string_view(verb)) {
        auto result = round_trip_reply(verb, reply, encoding);
        BOOST_TEST(result.ok());
        BOOST_CHECK(result.lock == reply.lock);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(get_reply_round_trip) {
  auto reply = make_lock_reply(sample_record());
  reply.waiting = 4;
  for (auto encoding : encodings) {
    BOOST_TEST_CONTEXT(name_of(encoding)) {
      auto result = round_trip_reply(request_verb::get, reply, encoding);
      BOOST_TEST(result.ok());
      BOOST_CHECK(result.lock == reply.lock);
      BOOST_TEST(result.waiting == 4u);
    }
  }
}

BOOST_AUTO_TEST_CASE(get_reply_without_holder) {
  lock_reply reply;
  reply.waiting = 2;
  for (auto encoding : encodings) {
    BOOST_TEST_CONTEXT(name_of(encoding)) {
      auto body = encode_reply(request_verb::get, reply, encoding);
      auto result = round_trip_reply(request_verb::get, reply, encoding);
      BOOST_TEST(result.ok());
      BOOST_TEST(result.lock.empty());
      BOOST_TEST(result.waiting == 2u);
    }
  }
  auto tree = nlohmann::json::parse(
      encode_reply(request_verb::get, reply, wire_encoding::json));
  BOOST_TEST(!tree.contains("lock"));
}

BOOST_AUTO_TEST_CASE(list_reply_round_trip) {
  lock_reply reply;
  reply.locks = {sample_record("lk-a"), sample_record("lk-b")};
  reply.locks[1].key.workspace = "dev";
  reply.locks[1].metadata.clear();
  for (auto encoding : encodings) {
    BOOST_TEST_CONTEXT(name_of(encoding)) {
      auto result = round_trip_reply(request_verb::list, reply, encoding);
      BOOST_TEST(result.ok());
      BOOST_TEST(result.locks.size() == 2u);
      BOOST_CHECK(result.locks == reply.locks);
    }
  }
}

BOOST_AUTO_TEST_CASE(release_owner_reply_round_trip) {
  lock_reply reply;
  reply.released = 3;
  for (auto encoding : encodings) {
    BOOST_TEST_CONTEXT(name_of(encoding)) {
      auto result
          = round_trip_reply(request_verb::release_owner, reply, encoding);
      BOOST_TEST(result.ok());
      BOOST_TEST(result.released == 3u);
    }
  }
}

BOOST_AUTO_TEST_CASE(error_reply_round_trip) {
  auto reply
      = make_error_reply(lock_errc::conflict, "held by pr-1234", "workspace");
  reply.error.holder = sample_record();
  for (auto encoding : encodings) {
    BOOST_TEST_CONTEXT(name_of(encoding)) {
      auto result = round_trip_reply(request_verb::acquire, reply, encoding);
      BOOST_TEST(!result.ok());
      BOOST_TEST((result.error.code == lock_errc::conflict));
      BOOST_TEST(result.error.message == "held by pr-1234");
      BOOST_TEST(result.error.field == "workspace");
      BOOST_CHECK(result.error.holder == reply.error.holder);
    }
  }
}

BOOST_AUTO_TEST_CASE(reply_json_shapes) {
  auto ok = nlohmann::json::parse(encode_reply(request_verb::acquire,
                                               make_lock_reply(sample_record()),
                                               wire_encoding::json));
  BOOST_TEST(ok.at("ok") == true);
  BOOST_TEST(ok.at("lock").at("lock_id") == "lk-7f3a9c");
  BOOST_TEST(ok.at("lock").at("tenant") == "team-a");
  BOOST_TEST(ok.at("lock").at("priority") == "critical");
  BOOST_TEST(ok.at("lock").at("metadata").at("env") == "prod");
  BOOST_TEST(ok.size() == 2u);

  lock_reply listed;
  listed.locks = {sample_record()};
  auto list = nlohmann::json::parse(
      encode_reply(request_verb::list, listed, wire_encoding::json));
  BOOST_TEST(list.at("locks").size() == 1u);
  BOOST_TEST(!list.contains("lock"));

  lock_reply released;
  released.released = 5;
  auto owner = nlohmann::json::parse(
      encode_reply(request_verb::release_owner, released, wire_encoding::json));
  BOOST_TEST(owner.at("released") == 5);

  auto failure = nlohmann::json::parse(encode_reply(
      request_verb::release, make_error_reply(lock_errc::not_found, "no lock"),
      wire_encoding::json));
  BOOST_TEST(failure.at("ok") == false);
  BOOST_TEST(failure.at("error").at("code") == "not_found");
  BOOST_TEST(failure.at("error").at("message") == "no lock");
  BOOST_TEST(!failure.at("error").contains("field"));
  BOOST_TEST(!failure.at("error").contains("holder"));
}

BOOST_AUTO_TEST_CASE(reply_json_replaces_invalid_utf8) {
  auto record = sample_record();
  record.metadata["raw"] = std::string{"\xff\xfe", 2};
  auto body = encode_reply(request_verb::acquire, make_lock_reply(record),
                           wire_encoding::json);
  lock_reply result;
  auto error = decode_reply(body, wire_encoding::json, result);
  BOOST_TEST(error.code == lock_errc::none, error.message);
  BOOST_TEST(result.lock.metadata.count("raw") == 1u);
}

BOOST_AUTO_TEST_CASE(reply_decoding_skips_unknown_fields) {
  for (auto encoding : encodings) {
    BOOST_TEST_CONTEXT(name_of(encoding)) {
      auto body = body_of({{"ok", true},
                           {"released", 2},
                           {"server", "next"},
                           {"lock", {{"lock_id", "x"}, {"new", 1}}}},
                          encoding);
      lock_reply result;
      auto error = decode_reply(body, encoding, result);
      BOOST_TEST(error.code == lock_errc::none, error.message);
      BOOST_TEST(result.released == 2u);
      BOOST_TEST(result.lock.lock_id == "x");
    }
  }
}

BOOST_AUTO_TEST_CASE(reply_with_unknown_code_is_internal) {
  auto body = body_of(
      {{"ok", false}, {"error", {{"code", "brand_new"}, {"message", "m"}}}},
      wire_encoding::msgpack);
  lock_reply result;
  auto error = decode_reply(body, wire_encoding::msgpack, result);
  BOOST_TEST(error.code == lock_errc::none, error.message);
  BOOST_TEST((result.error.code == lock_errc::internal));
  BOOST_TEST(result.error.message == "m");
}

BOOST_AUTO_TEST_CASE(reply_without_ok_is_rejected) {
  lock_reply result;
  auto error = decode_reply(body_of({{"released", 1}}, wire_encoding::json),
                            wire_encoding::json, result);
  BOOST_TEST((error.code == lock_errc::invalid_request));
  BOOST_TEST(error.field == "ok");
}

BOOST_AUTO_TEST_CASE(failed_reply_without_error_is_rejected) {
  lock_reply result;
  auto error = decode_reply(body_of({{"ok", false}}, wire_encoding::msgpack),
                            wire_encoding::msgpack, result);
  BOOST_TEST((error.code == lock_errc::invalid_request));
  BOOST_TEST(error.field == "error");
}

BOOST_AUTO_TEST_CASE(event_round_trip) {
  for (auto type : {event_type::lock_acquired, event_type::lock_released,
                    event_type::lock_expired, event_type::lock_wait_timeout,
                    event_type::lock_queued, event_type::lock_cancelled,
                    event_type::queue_overflow}) {
    lock_event event{type,
                     sample_record(),
                     1'700'000'000'999,
                     "released by owner close",
                     {}};
    for (auto encoding : encodings) {
      BOOST_TEST_CONTEXT(name_of(encoding) << " " << to_string_view(type)) {
        auto body = encode_event(event, encoding);
        lock_event result;
        auto error = decode_event(body, encoding, result);
        BOOST_TEST(error.code == lock_errc::none, error.message);
        BOOST_TEST((result.type == type));
        BOOST_TEST(result.timestamp_ms == event.timestamp_ms);
        BOOST_TEST(result.reason == event.reason);
        BOOST_CHECK(result.record == event.record);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(event_json_shape) {
  lock_event event{event_type::lock_wait_timeout,
                   sample_record(""),
                   12,
                   "waited 5000 ms",
                   {}};
  auto tree = nlohmann::json::parse(encode_event(event, wire_encoding::json));
  BOOST_TEST(tree.at("type") == "lock.wait_timeout");
  BOOST_TEST(tree.at("timestamp_ms") == 12);
  BOOST_TEST(tree.at("reason") == "waited 5000 ms");
  BOOST_TEST(tree.at("lock").at("project") == "network");
  BOOST_TEST(tree.at("lock").at("lock_id") == "");
  BOOST_TEST(!tree.contains("deadlock"));
}

BOOST_AUTO_TEST_CASE(event_with_unknown_type_is_rejected) {
  lock_event result;
  auto error = decode_event(
      body_of({{"type", "lock.exploded"}}, wire_encoding::msgpack),
      wire_encoding::msgpack, result);
  BOOST_TEST((error.code == lock_errc::invalid_request));
  BOOST_TEST(error.field == "type");
}

BOOST_AUTO_TEST_CASE(malformed_msgpack_is_rejected) {
  // 0xc1 is the one byte that msgpack never uses.
  auto error = acquire_error(std::string{"\xc1", 1}, wire_encoding::msgpack);
  BOOST_TEST((error.code == lock_errc::invalid_request));
  BOOST_TEST(error.field == "body");
  BOOST_TEST(error.message.find("msgpack") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(truncated_msgpack_is_rejected) {
  auto body = to_msgpack({{"project", "network"}});
  body.pop_back();
  auto error = acquire_error(body, wire_encoding::msgpack);
  BOOST_TEST((error.code == lock_errc::invalid_request));
  BOOST_TEST(error.field == "body");
}

BOOST_AUTO_TEST_CASE(trailing_msgpack_bytes_are_rejected) {
  auto body = to_msgpack({{"project", "network"}}) + '\x01';
  auto error = acquire_error(body, wire_encoding::msgpack);
  BOOST_TEST((error.code == lock_errc::invalid_request));
  BOOST_TEST(error.field == "body");
}

BOOST_AUTO_TEST_CASE(forged_msgpack_length_is_rejected) {
  // A map header that claims 2^32-1 entries in a five-byte body.
  std::string body{"\xdf\xff\xff\xff\xff", 5};
  auto error = acquire_error(body, wire_encoding::msgpack);
  BOOST_TEST((error.code == lock_errc::invalid_request));
  BOOST_TEST(error.field == "body");
}

BOOST_AUTO_TEST_CASE(malformed_json_is_rejected) {
  auto error = acquire_error(R"({"project": )", wire_encoding::json);
  BOOST_TEST((error.code == lock_errc::invalid_request));
  BOOST_TEST(error.field == "body");
  BOOST_TEST(error.message.find("JSON") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(empty_body_is_rejected) {
  for (auto encoding : encodings) {
    BOOST_TEST_CONTEXT(name_of(encoding)) {
      auto error = acquire_error("", encoding);
      BOOST_TEST((error.code == lock_errc::invalid_request));
      BOOST_TEST(error.field == "body");
    }
  }
}

BOOST_AUTO_TEST_CASE(deep_nesting_is_rejected) {
  std::string json(200, '[');
  json.append(200, ']');
  auto error = acquire_error(json, wire_encoding::json);
  BOOST_TEST((error.code == lock_errc::invalid_request));
  BOOST_TEST(error.field == "body");
  std::string packed(200, '\x91');
  packed += '\x90';
  error = acquire_error(packed, wire_encoding::msgpack);
  BOOST_TEST((error.code == lock_errc::invalid_request));
  BOOST_TEST(error.field == "body");
}

BOOST_AUTO_TEST_CASE(non_map_body_is_rejected) {
  for (auto encoding : encodings) {
    BOOST_TEST_CONTEXT(name_of(encoding)) {
      auto error = acquire_error(body_of({1, 2, 3}, encoding), encoding);
      BOOST_TEST((error.code == lock_errc::invalid_request));
      BOOST_TEST(error.field == "body");
      BOOST_TEST(error.message == "body must be a map, got an array");
    }
  }
}

BOOST_AUTO_TEST_CASE(wrong_type_names_field) {
  for (auto encoding : encodings) {
    BOOST_TEST_CONTEXT(name_of(encoding)) {
      auto error
          = acquire_error(body_of({{"wait_ms", "5"}}, encoding), encoding);
      BOOST_TEST((error.code == lock_errc::invalid_request));
      BOOST_TEST(error.field == "wait_ms");
      BOOST_TEST(error.message == "wait_ms must be an integer, got a string");
      error = acquire_error(body_of({{"owner", 7}}, encoding), encoding);
      BOOST_TEST(error.field == "owner");
      error = acquire_error(body_of({{"ttl_ms", 1.5}}, encoding), encoding);
      BOOST_TEST(error.field == "ttl_ms");
      error = acquire_error(body_of({{"user", nullptr}}, encoding), encoding);
      BOOST_TEST(error.field == "user");
    }
  }
}

BOOST_AUTO_TEST_CASE(metadata_value_type_names_key) {
  for (auto encoding : encodings) {
    BOOST_TEST_CONTEXT(name_of(encoding)) {
      auto error = acquire_error(
          body_of({{"metadata", {{"env", 1}}}}, encoding), encoding);
      BOOST_TEST((error.code == lock_errc::invalid_request));
      BOOST_TEST(error.field == "metadata.env");
      error
          = acquire_error(body_of({{"metadata", {"env"}}}, encoding), encoding);
      BOOST_TEST(error.field == "metadata");
    }
  }
}

BOOST_AUTO_TEST_CASE(unknown_field_is_rejected) {
  for (auto encoding : encodings) {
    BOOST_TEST_CONTEXT(name_of(encoding)) {
      auto error
          = acquire_error(body_of({{"tenant", "other"}}, encoding), encoding);
      BOOST_TEST((error.code == lock_errc::invalid_request));
      BOOST_TEST(error.field == "tenant");
      BOOST_TEST(error.message.find("project, workspace") != std::string::npos);
      release_owner_request request;
      error = decode_request(body_of({{"owner", "o"}, {"all", true}}, encoding),
                             encoding, request);
      BOOST_TEST(error.field == "all");
    }
  }
}

BOOST_AUTO_TEST_CASE(unknown_priority_is_rejected) {
  for (auto encoding : encodings) {
    BOOST_TEST_CONTEXT(name_of(encoding)) {
      auto error = acquire_error(body_of({{"priority", "urgent"}}, encoding),
                                 encoding);
      BOOST_TEST((error.code == lock_errc::invalid_request));
      BOOST_TEST(error.field == "priority");
      BOOST_TEST(error.message.find("'urgent'") != std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_CASE(negative_numbers_are_rejected) {
  for (auto encoding : encodings) {
    BOOST_TEST_CONTEXT(name_of(encoding)) {
      auto error
          = acquire_error(body_of({{"wait_ms", -1}}, encoding), encoding);
      BOOST_TEST((error.code == lock_errc::invalid_request));
      BOOST_TEST(error.field == "wait_ms");
      BOOST_TEST(error.message == "wait_ms must not be negative, got -1");
      error = acquire_error(body_of({{"ttl_ms", -5}}, encoding), encoding);
      BOOST_TEST(error.field == "ttl_ms");
      release_request request;
      error = decode_request(body_of({{"token", -3}}, encoding), encoding,
                             request);
      BOOST_TEST((error.code == lock_errc::invalid_request));
      BOOST_TEST(error.field == "token");
    }
  }
}

BOOST_AUTO_TEST_CASE(out_of_range_numbers_are_rejected) {
  for (auto encoding : encodings) {
    BOOST_TEST_CONTEXT(name_of(encoding)) {
      auto error = acquire_error(
          body_of({{"wait_ms", std::numeric_limits<uint64_t>::max()}},
                  encoding),
          encoding);
      BOOST_TEST((error.code == lock_errc::invalid_request));
      BOOST_TEST(error.field == "wait_ms");
    }
  }
}

BOOST_AUTO_TEST_CASE(non_string_keys_are_rejected) {
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> pk{buffer};
  pk.pack_map(1);
  pk.pack_int(1);
  pk.pack_int(2);
  auto error
      = acquire_error({buffer.data(), buffer.size()}, wire_encoding::msgpack);
  BOOST_TEST((error.code == lock_errc::invalid_request));
  BOOST_TEST(error.field == "body");
}

// -- queueing requests --------------------------------------------------------

BOOST_AUTO_TEST_CASE(acquire_async_round_trip) {
  acquire_async_request request;
  request.request.key = {"", "network", "prod"};
  request.request.owner = "pr-1234";
  request.request.user = "alice";
  request.request.level = priority::low;
  request.request.wait_ms = 60'000;
  request.request.ttl_ms = 120'000;
  request.request.metadata = {{"env", "prod"}};
  request.notify_subject = "_INBOX.abc.1";
  for (auto encoding : encodings) {
    BOOST_TEST_CONTEXT(name_of(encoding)) {
      auto result = round_trip_request(request, encoding);
      BOOST_TEST(result.request.key.tenant == "");
      BOOST_TEST(result.request.key.project == "network");
      BOOST_TEST(result.request.key.workspace == "prod");
      BOOST_TEST(result.request.owner == "pr-1234");
      BOOST_TEST(result.request.user == "alice");
      BOOST_TEST((result.request.level == priority::low));
      BOOST_TEST(result.request.wait_ms == 60'000);
      BOOST_TEST(result.request.ttl_ms == 120'000);
      BOOST_CHECK(result.request.metadata == request.request.metadata);
      BOOST_TEST(result.notify_subject == "_INBOX.abc.1");
    }
  }
  auto tree = nlohmann::json::parse(
      encode_request(request, wire_encoding::json));
  BOOST_TEST(tree.at("notify") == "_INBOX.abc.1");
  BOOST_TEST(tree.at("project") == "network");
}

BOOST_AUTO_TEST_CASE(acquire_async_rejects_unknown_field) {
  for (auto encoding : encodings) {
    BOOST_TEST_CONTEXT(name_of(encoding)) {
      acquire_async_request request;
      auto error = decode_request(
          body_of({{"notify", "_INBOX.x"}, {"reply", "y"}}, encoding),
          encoding, request);
      BOOST_TEST((error.code == lock_errc::invalid_request));
      BOOST_TEST(error.field == "reply");
      BOOST_TEST(error.message.find("notify") != std::string::npos);
      error = decode_request(body_of({{"notify", 5}}, encoding), encoding,
                             request);
      BOOST_TEST(error.field == "notify");
    }
  }
}

BOOST_AUTO_TEST_CASE(ticket_and_cancel_round_trip) {
  ticket_request ticket{"", "tk-1"};
  cancel_request cancel{"", "tk-2"};
  for (auto encoding : encodings) {
    BOOST_TEST_CONTEXT(name_of(encoding)) {
      BOOST_TEST(round_trip_request(ticket, encoding).ticket_id == "tk-1");
      BOOST_TEST(round_trip_request(cancel, encoding).ticket_id == "tk-2");
    }
  }
  auto tree
      = nlohmann::json::parse(encode_request(cancel, wire_encoding::json));
  BOOST_TEST(tree.at("ticket_id") == "tk-2");
  BOOST_TEST(tree.size() == 1u);
}

BOOST_AUTO_TEST_CASE(bulk_acquire_round_trip) {
  bulk_acquire_request request;
  request.wait_ms = 30'000;
  for (auto workspace : {"prod", "staging", "dev"}) {
    acquire_request item;
    item.key = {"", "network", workspace};
    item.owner = "pr-1234";
    item.user = "alice";
    item.level = priority::high;
    item.ttl_ms = 90'000;
    request.locks.push_back(item);
  }
  request.locks[1].metadata = {{"env", "staging"}};
  request.locks[2].owner = "pr-9";
  for (auto encoding : encodings) {
    BOOST_TEST_CONTEXT(name_of(encoding)) {
      auto result = round_trip_request(request, encoding);
      BOOST_TEST(result.tenant == "");
      BOOST_TEST(result.wait_ms == 30'000);
      BOOST_REQUIRE(result.locks.size() == 3u);
      BOOST_TEST(result.locks[0].key.project == "network");
      BOOST_TEST(result.locks[0].key.workspace == "prod");
      BOOST_TEST(result.locks[1].key.workspace == "staging");
      BOOST_TEST(result.locks[2].key.workspace == "dev");
      BOOST_TEST(result.locks[0].key.tenant == "");
      BOOST_TEST(result.locks[0].owner == "pr-1234");
      BOOST_TEST(result.locks[2].owner == "pr-9");
      BOOST_TEST(result.locks[0].user == "alice");
      BOOST_TEST((result.locks[0].level == priority::high));
      BOOST_TEST(result.locks[0].ttl_ms == 90'000);
      BOOST_TEST(result.locks[0].wait_ms == 0);
      BOOST_CHECK(result.locks[1].metadata == request.locks[1].metadata);
    }
  }
  auto tree
      = nlohmann::json::parse(encode_request(request, wire_encoding::json));
  BOOST_TEST(tree.at("wait_ms") == 30'000);
  BOOST_TEST(tree.at("locks").size() == 3u);
  BOOST_TEST(!tree.at("locks").at(0).contains("wait_ms"));
  BOOST_TEST(!tree.at("locks").at(0).contains("tenant"));
}

BOOST_AUTO_TEST_CASE(bulk_locks_not_array_is_rejected) {
  for (auto encoding : encodings) {
    BOOST_TEST_CONTEXT(name_of(encoding)) {
      auto error = bulk_error({{"locks", {{"project", "p"}}}}, encoding);
      BOOST_TEST((error.code == lock_errc::invalid_request));
      BOOST_TEST(error.field == "locks");
      BOOST_TEST(error.message == "locks must be an array of locks, got a map");
      error = bulk_error({{"locks", "network/prod"}}, encoding);
      BOOST_TEST(error.field == "locks");
    }
  }
}

BOOST_AUTO_TEST_CASE(bulk_item_not_map_is_rejected) {
  for (auto encoding : encodings) {
    BOOST_TEST_CONTEXT(name_of(encoding)) {
      auto locks = nlohmann::json::array(
          {{{"project", "p"}, {"workspace", "w"}}, "p/w2"});
      auto error = bulk_error({{"locks", locks}}, encoding);
      BOOST_TEST((error.code == lock_errc::invalid_request));
      BOOST_TEST(error.field == "locks[1]");
      BOOST_TEST(error.message == "locks[1] must be a map, got a string");
    }
  }
}

BOOST_AUTO_TEST_CASE(bulk_item_field_names_index) {
  for (auto encoding : encodings) {
    BOOST_TEST_CONTEXT(name_of(encoding)) {
      auto locks = nlohmann::json::array(
          {{{"project", "p"}, {"workspace", "w"}},
           {{"project", 7}, {"workspace", "w"}}});
      auto error = bulk_error({{"locks", locks}}, encoding);
      BOOST_TEST((error.code == lock_errc::invalid_request));
      BOOST_TEST(error.field == "locks[1].project");
      BOOST_TEST(error.message
                 == "locks[1].project must be a string, got an integer");

      locks = nlohmann::json::array({{{"project", "p"}},
                                     {{"project", "p"}},
                                     {{"project", "p"}},
                                     {{"project", "p"}, {"colour", "red"}}});
      error = bulk_error({{"locks", locks}}, encoding);
      BOOST_TEST(error.field == "locks[3].colour");
      BOOST_TEST(error.message.find("project, workspace, owner")
                 != std::string::npos);

      locks = nlohmann::json::array({{{"wait_ms", 5}}});
      error = bulk_error({{"locks", locks}}, encoding);
      BOOST_TEST(error.field == "locks[0].wait_ms");

      locks = nlohmann::json::array({{{"ttl_ms", -1}}});
      error = bulk_error({{"locks", locks}}, encoding);
      BOOST_TEST(error.field == "locks[0].ttl_ms");

      locks = nlohmann::json::array({{{"metadata", {{"env", 1}}}}});
      error = bulk_error({{"locks", locks}}, encoding);
      BOOST_TEST(error.field == "locks[0].metadata.env");

      error = bulk_error({{"locks", nlohmann::json::array()}, {"wait_ms", -2}},
                         encoding);
      BOOST_TEST(error.field == "wait_ms");
    }
  }
}

BOOST_AUTO_TEST_CASE(bulk_release_round_trip) {
  bulk_release_request request{"", {"lk-1", "lk-2", "lk-3"}};
  for (auto encoding : encodings) {
    BOOST_TEST_CONTEXT(name_of(encoding)) {
      auto result = round_trip_request(request, encoding);
      BOOST_CHECK(result.lock_ids == request.lock_ids);
    }
  }
}

BOOST_AUTO_TEST_CASE(bulk_release_rejects_bad_ids) {
  for (auto encoding : encodings) {
    BOOST_TEST_CONTEXT(name_of(encoding)) {
      bulk_release_request request;
      auto error = decode_request(body_of({{"lock_ids", "lk-1"}}, encoding),
                                  encoding, request);
      BOOST_TEST((error.code == lock_errc::invalid_request));
      BOOST_TEST(error.field == "lock_ids");
      error = decode_request(
          body_of({{"lock_ids", nlohmann::json::array({"lk-1", 2})}},
                  encoding),
          encoding, request);
      BOOST_TEST(error.field == "lock_ids[1]");
      BOOST_TEST(error.message == "lock_ids[1] must be a string, got an "
                                  "integer");
    }
  }
}

BOOST_AUTO_TEST_CASE(reopen_owner_round_trip) {
  reopen_owner_request request{"", "pr-77"};
  for (auto encoding : encodings) {
    BOOST_TEST_CONTEXT(name_of(encoding)) {
      BOOST_TEST(round_trip_request(request, encoding).owner == "pr-77");
    }
  }
}

BOOST_AUTO_TEST_CASE(stats_request_is_empty_map) {
  // 0x80 is the empty msgpack map.
  auto empty_map = std::string(1, '\x80');
  BOOST_TEST(encode_request(stats_request{}, wire_encoding::json) == "{}");
  BOOST_TEST(encode_request(stats_request{}, wire_encoding::msgpack)
             == empty_map);
  for (auto encoding : encodings) {
    BOOST_TEST_CONTEXT(name_of(encoding)) {
      round_trip_request(stats_request{}, encoding);
      stats_request request;
      auto error = decode_request(body_of({{"tenant", "x"}}, encoding),
                                  encoding, request);
      BOOST_TEST((error.code == lock_errc::invalid_request));
      BOOST_TEST(error.field == "tenant");
      BOOST_TEST(error.message.find("no fields") != std::string::npos);
    }
  }
}

// -- queueing replies ---------------------------------------------------------

BOOST_AUTO_TEST_CASE(ticket_reply_round_trip) {
  for (auto state : {ticket_state::pending, ticket_state::granted,
                     ticket_state::failed, ticket_state::cancelled}) {
    lock_reply reply;
    reply.ticket = sample_ticket(state);
    for (auto verb : {request_verb::acquire_async, request_verb::ticket,
                      request_verb::cancel}) {
      for (auto encoding : encodings) {
        BOOST_TEST_CONTEXT(name_of(encoding)
                           << " " << to_string_view(verb) << " "
                           << to_string_view(state)) {
          auto result = round_trip_reply(verb, reply, encoding);
          const auto& ticket = result.ticket;
          BOOST_TEST(result.ok());
          BOOST_TEST(ticket.ticket_id == "tk-5d1e");
          BOOST_TEST((ticket.state == state));
          BOOST_TEST(ticket.position == 3u);
          BOOST_TEST(ticket.key.project == "network");
          BOOST_TEST(ticket.key.workspace == "prod");
          BOOST_TEST(ticket.owner == "pr-1234");
          BOOST_CHECK(ticket.lock == reply.ticket.lock);
          BOOST_TEST((ticket.error == reply.ticket.error));
          BOOST_TEST(ticket.error_message == reply.ticket.error_message);
          BOOST_TEST(ticket.created_at_ms == 1'700'000'000'000);
          BOOST_TEST(ticket.updated_at_ms == 1'700'000'000'500);
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(ticket_json_shape) {
  lock_reply pending;
  pending.ticket = sample_ticket(ticket_state::pending);
  auto tree = nlohmann::json::parse(
      encode_reply(request_verb::acquire_async, pending, wire_encoding::json));
  BOOST_TEST(tree.size() == 2u);
  BOOST_TEST(tree.at("ok") == true);
  const auto& ticket = tree.at("ticket");
  BOOST_TEST(ticket.at("ticket_id") == "tk-5d1e");
  BOOST_TEST(ticket.at("state") == "pending");
  BOOST_TEST(ticket.at("position") == 3);
  BOOST_TEST(ticket.at("project") == "network");
  BOOST_TEST(ticket.at("workspace") == "prod");
  BOOST_TEST(ticket.at("owner") == "pr-1234");
  BOOST_TEST(ticket.at("created_at_ms") == 1'700'000'000'000);
  BOOST_TEST(ticket.at("updated_at_ms") == 1'700'000'000'500);
  BOOST_TEST(!ticket.contains("lock"));
  BOOST_TEST(!ticket.contains("error"));
  BOOST_TEST(!ticket.contains("tenant"));

  lock_reply granted;
  granted.ticket = sample_ticket(ticket_state::granted);
  tree = nlohmann::json::parse(
      encode_reply(request_verb::ticket, granted, wire_encoding::json));
  BOOST_TEST(tree.at("ticket").at("state") == "granted");
  BOOST_TEST(tree.at("ticket").at("lock").at("lock_id") == "lk-7f3a9c");
  BOOST_TEST(!tree.at("ticket").contains("error"));

  lock_reply failed;
  failed.ticket = sample_ticket(ticket_state::failed);
  tree = nlohmann::json::parse(
      encode_reply(request_verb::ticket, failed, wire_encoding::json));
  BOOST_TEST(tree.at("ticket").at("state") == "failed");
  BOOST_TEST(tree.at("ticket").at("error").at("code") == "timeout");
  BOOST_TEST(tree.at("ticket").at("error").at("message")
             == "no grant within 1500 ms");
  BOOST_TEST(tree.at("ticket").at("error").size() == 2u);
  BOOST_TEST(!tree.at("ticket").contains("lock"));
}

BOOST_AUTO_TEST_CASE(ticket_with_unknown_state_is_rejected) {
  auto body = body_of({{"ok", true},
                       {"ticket", {{"ticket_id", "t"}, {"state", "lost"}}}},
                      wire_encoding::msgpack);
  lock_reply result;
  auto error = decode_reply(body, wire_encoding::msgpack, result);
  BOOST_TEST((error.code == lock_errc::invalid_request));
  BOOST_TEST(error.field == "ticket.state");
}

BOOST_AUTO_TEST_CASE(bulk_acquire_reply_round_trip) {
  lock_reply reply;
  reply.locks = {sample_record("lk-a"), sample_record("lk-b")};
  reply.locks[1].key.workspace = "staging";
  for (auto encoding : encodings) {
    BOOST_TEST_CONTEXT(name_of(encoding)) {
      auto result
          = round_trip_reply(request_verb::acquire_bulk, reply, encoding);
      BOOST_TEST(result.ok());
      BOOST_CHECK(result.locks == reply.locks);
    }
  }
  auto tree = nlohmann::json::parse(
      encode_reply(request_verb::acquire_bulk, reply, wire_encoding::json));
  BOOST_TEST(tree.size() == 2u);
  BOOST_TEST(tree.at("locks").at(0).at("lock_id") == "lk-a");
  BOOST_TEST(tree.at("locks").at(1).at("workspace") == "staging");
}

BOOST_AUTO_TEST_CASE(conflict_with_holders_round_trip) {
  auto reply = make_error_reply(lock_errc::conflict,
                                "2 of 3 locks are held", "locks");
  reply.error.holders = {sample_record(""), sample_record("")};
  reply.error.holders[1].key.workspace = "staging";
  reply.error.holders[1].owner = "pr-9";
  for (auto encoding : encodings) {
    BOOST_TEST_CONTEXT(name_of(encoding)) {
      auto result
          = round_trip_reply(request_verb::acquire_bulk, reply, encoding);
      BOOST_TEST(!result.ok());
      BOOST_TEST((result.error.code == lock_errc::conflict));
      BOOST_TEST(result.error.message == "2 of 3 locks are held");
      BOOST_TEST(result.error.field == "locks");
      BOOST_CHECK(result.error.holders == reply.error.holders);
    }
  }
  auto tree = nlohmann::json::parse(
      encode_reply(request_verb::acquire_bulk, reply, wire_encoding::json));
  BOOST_TEST(tree.at("ok") == false);
  BOOST_TEST(tree.at("error").at("holders").size() == 2u);
  BOOST_TEST(tree.at("error").at("holders").at(1).at("owner") == "pr-9");
  BOOST_TEST(!tree.at("error").contains("holder"));
}

BOOST_AUTO_TEST_CASE(release_bulk_reply_round_trip) {
  lock_reply reply;
  reply.outcomes = {{"lk-1", lock_errc::none},
                    {"lk-2", lock_errc::not_found},
                    {"lk-3", lock_errc::lease_expired}};
  for (auto encoding : encodings) {
    BOOST_TEST_CONTEXT(name_of(encoding)) {
      auto result
          = round_trip_reply(request_verb::release_bulk, reply, encoding);
      BOOST_TEST(result.ok());
      BOOST_REQUIRE(result.outcomes.size() == 3u);
      BOOST_TEST(result.outcomes[0].lock_id == "lk-1");
      BOOST_TEST((result.outcomes[0].code == lock_errc::none));
      BOOST_TEST(result.outcomes[1].lock_id == "lk-2");
      BOOST_TEST((result.outcomes[1].code == lock_errc::not_found));
      BOOST_TEST((result.outcomes[2].code == lock_errc::lease_expired));
    }
  }
}

BOOST_AUTO_TEST_CASE(release_bulk_json_shape) {
  lock_reply reply;
  reply.outcomes = {{"lk-1", lock_errc::none}, {"lk-2", lock_errc::not_found}};
  auto tree = nlohmann::json::parse(
      encode_reply(request_verb::release_bulk, reply, wire_encoding::json));
  BOOST_TEST(tree.size() == 2u);
  const auto& results = tree.at("results");
  BOOST_TEST(results.size() == 2u);
  BOOST_TEST(results.at(0).at("lock_id") == "lk-1");
  BOOST_TEST(results.at(0).at("ok") == true);
  BOOST_TEST(!results.at(0).contains("code"));
  BOOST_TEST(results.at(1).at("lock_id") == "lk-2");
  BOOST_TEST(results.at(1).at("ok") == false);
  BOOST_TEST(results.at(1).at("code") == "not_found");
}

BOOST_AUTO_TEST_CASE(failed_outcome_without_code_is_internal) {
  auto body = body_of(
      {{"ok", true},
       {"results", nlohmann::json::array({{{"lock_id", "x"}, {"ok", false}}})}},
      wire_encoding::json);
  lock_reply result;
  auto error = decode_reply(body, wire_encoding::json, result);
  BOOST_TEST(error.code == lock_errc::none, error.message);
  BOOST_REQUIRE(result.outcomes.size() == 1u);
  BOOST_TEST((result.outcomes[0].code == lock_errc::internal));
}

BOOST_AUTO_TEST_CASE(reopen_owner_reply_is_ok_only) {
  lock_reply reply;
  reply.released = 4;
  auto body
      = encode_reply(request_verb::reopen_owner, reply, wire_encoding::json);
  BOOST_TEST(body == R"({"ok":true})");
  auto result = round_trip_reply(request_verb::reopen_owner, reply,
                                 wire_encoding::msgpack);
  BOOST_TEST(result.ok());
}

BOOST_AUTO_TEST_CASE(stats_reply_round_trip) {
  lock_reply reply;
  reply.stats.depth_by_priority = {1, 2, 3, 4, 5};
  reply.stats.total_depth = 15;
  reply.stats.active_locks = 2;
  reply.stats.grants_per_second = 0.25;
  reply.stats.average_wait_ms = 1'250.5;
  reply.stats.p99_wait_ms = 4'000;
  reply.stats.total_grants = 12'345;
  reply.locks = {sample_record(""), sample_record("")};
  reply.locks[1].key.workspace = "staging";
  for (auto encoding : encodings) {
    BOOST_TEST_CONTEXT(name_of(encoding)) {
      auto result = round_trip_reply(request_verb::stats, reply, encoding);
      const auto& stats = result.stats;
      BOOST_TEST(result.ok());
      BOOST_CHECK(stats.depth_by_priority == reply.stats.depth_by_priority);
      BOOST_TEST(stats.total_depth == 15u);
      BOOST_TEST(stats.active_locks == 2u);
      BOOST_TEST(stats.grants_per_second == 0.25);
      BOOST_TEST(stats.average_wait_ms == 1'250.5);
      BOOST_TEST(stats.p99_wait_ms == 4'000);
      BOOST_TEST(stats.total_grants == 12'345u);
      BOOST_CHECK(result.locks == reply.locks);
    }
  }
}

BOOST_AUTO_TEST_CASE(stats_json_shape) {
  lock_reply reply;
  reply.stats.depth_by_priority = {0, 1, 0, 2, 0};
  reply.stats.total_depth = 3;
  reply.stats.grants_per_second = 1.5;
  auto tree = nlohmann::json::parse(
      encode_reply(request_verb::stats, reply, wire_encoding::json));
  BOOST_TEST(tree.size() == 3u);
  BOOST_TEST(tree.at("locks").size() == 0u);
  const auto& stats = tree.at("stats");
  const auto& depths = stats.at("depth_by_priority");
  BOOST_TEST(depths.size() == 5u);
  BOOST_TEST(depths.at("very_low") == 0);
  BOOST_TEST(depths.at("low") == 1);
  BOOST_TEST(depths.at("medium") == 0);
  BOOST_TEST(depths.at("high") == 2);
  BOOST_TEST(depths.at("critical") == 0);
  BOOST_TEST(stats.at("total_depth") == 3);
  BOOST_TEST(stats.at("active_locks") == 0);
  BOOST_TEST(stats.at("grants_per_second") == 1.5);
  BOOST_TEST(stats.at("average_wait_ms") == 0.0);
  BOOST_TEST(stats.at("p99_wait_ms") == 0);
  BOOST_TEST(stats.at("total_grants") == 0);
}

BOOST_AUTO_TEST_CASE(stats_decoding_is_lenient) {
  auto body = body_of({{"ok", true},
                       {"stats",
                        {{"depth_by_priority", {{"high", 2}, {"urgent", 9}}},
                         {"grants_per_second", 3},
                         {"queue_limit", 100}}},
                       {"locks", nlohmann::json::array()}},
                      wire_encoding::json);
  lock_reply result;
  auto error = decode_reply(body, wire_encoding::json, result);
  BOOST_TEST(error.code == lock_errc::none, error.message);
  BOOST_REQUIRE(result.stats.depth_by_priority.size() == priority_levels);
  BOOST_TEST(result.stats.depth_by_priority[3] == 2u);
  BOOST_TEST(result.stats.depth_by_priority[0] == 0u);
  BOOST_TEST(result.stats.grants_per_second == 3.0);
}

BOOST_AUTO_TEST_CASE(queue_overflow_event_json) {
  lock_event event{event_type::queue_overflow,
                   sample_record(""),
                   5,
                   "queue of team-a/network/prod is full",
                   {}};
  auto tree = nlohmann::json::parse(encode_event(event, wire_encoding::json));
  BOOST_TEST(tree.at("type") == "queue.overflow");
  BOOST_TEST(
      (parse_event_type("queue.overflow") == event_type::queue_overflow));
}

// -- deadlocks ----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(detect_request_is_empty_map) {
  BOOST_TEST(encode_request(detect_request{"team-a"}, wire_encoding::json)
             == "{}");
  BOOST_TEST(encode_request(detect_request{"team-a"}, wire_encoding::msgpack)
             == std::string(1, '\x80'));
  for (auto encoding : encodings) {
    BOOST_TEST_CONTEXT(name_of(encoding)) {
      auto result = round_trip_request(detect_request{"team-a"}, encoding);
      BOOST_TEST(result.tenant == "");

      detect_request request;
      auto tenant = decode_request(body_of({{"tenant", "x"}}, encoding),
                                   encoding, request);
      BOOST_TEST((tenant.code == lock_errc::invalid_request));
      BOOST_TEST(tenant.field == "tenant");
      BOOST_TEST(tenant.message.find("taken from the subject")
                 != std::string::npos);

      auto unknown = decode_request(body_of({{"all", true}}, encoding),
                                    encoding, request);
      BOOST_TEST((unknown.code == lock_errc::invalid_request));
      BOOST_TEST(unknown.field == "all");

      auto not_map = decode_request(body_of(nlohmann::json::array(), encoding),
                                    encoding, request);
      BOOST_TEST((not_map.code == lock_errc::invalid_request));
      BOOST_TEST(not_map.field == "body");
    }
  }
}

BOOST_AUTO_TEST_CASE(deadlock_error_round_trip) {
  for (auto code : {lock_errc::deadlock_victim, lock_errc::would_deadlock}) {
    auto reply = make_error_reply(code, describe_cycle(sample_cycle()));
    reply.error.cycle = sample_cycle();
    for (auto verb : {request_verb::acquire, request_verb::acquire_async,
                      request_verb::acquire_bulk}) {
      for (auto encoding : encodings) {
        BOOST_TEST_CONTEXT(name_of(encoding) << " " << to_string_view(code)
                                             << " " << to_string_view(verb)) {
          auto result = round_trip_reply(verb, reply, encoding);
          BOOST_TEST(!result.ok());
          BOOST_TEST((result.error.code == code));
          BOOST_TEST(result.error.message == reply.error.message);
          BOOST_TEST(result.error.field == "");
          check_cycle(result.error.cycle, reply.error.cycle);
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(deadlock_error_json_shape) {
  auto reply = make_error_reply(lock_errc::would_deadlock, "closes a cycle");
  reply.error.cycle = sample_cycle();
  auto tree = nlohmann::json::parse(
      encode_reply(request_verb::acquire, reply, wire_encoding::json));
  const auto& error = tree.at("error");
  BOOST_TEST(error.at("code") == "would_deadlock");
  BOOST_TEST(!error.contains("holder"));
  BOOST_TEST(!error.contains("holders"));
  const auto& cycle = error.at("cycle");
  BOOST_REQUIRE(cycle.size() == 2u);
  const auto& first = cycle.at(0);
  BOOST_TEST(first.size() == 6u);
  BOOST_TEST(first.at("owner") == "pr-1");
  BOOST_TEST(first.at("project") == "network");
  BOOST_TEST(first.at("workspace") == "prod");
  BOOST_TEST(first.at("priority") == "high");
  BOOST_TEST(first.at("waited_ms") == 1'250);
  BOOST_TEST(first.at("locks_held") == 1);
  BOOST_TEST(cycle.at(1).at("priority") == "very_low");
}

BOOST_AUTO_TEST_CASE(error_without_cycle_omits_it) {
  auto reply = make_error_reply(lock_errc::timeout, "no grant", "wait_ms");
  auto tree = nlohmann::json::parse(
      encode_reply(request_verb::acquire, reply, wire_encoding::json));
  BOOST_TEST(!tree.at("error").contains("cycle"));
  lock_reply result;
  auto error = decode_reply(tree.dump(), wire_encoding::json, result);
  BOOST_TEST(error.code == lock_errc::none, error.message);
  BOOST_TEST(result.error.cycle.empty());
}

BOOST_AUTO_TEST_CASE(detect_reply_round_trip) {
  lock_reply reply;
  reply.deadlocks = {sample_deadlock(), sample_deadlock()};
  reply.deadlocks[1].id = 2;
  reply.deadlocks[1].cycle.push_back(reply.deadlocks[1].cycle.front());
  reply.deadlocks[1].cycle.back().owner = "pr-3";
  reply.deadlocks[1].victim = "";
  reply.deadlocks[1].policy = "";
  reply.deadlocks[1].outcome = "";
  reply.deadlocks[1].released_locks = false;
  reply.deadlocks[1].reason = "";
  auto& counters = reply.deadlock_counters;
  counters.runs = 11;
  counters.detected = 7;
  counters.resolved = 5;
  counters.vetoed = 1;
  counters.dissolved = 2;
  counters.prevented = 3;
  counters.hook_timeouts = 4;
  counters.hook_errors = std::numeric_limits<uint64_t>::max();
  for (auto encoding : encodings) {
    BOOST_TEST_CONTEXT(name_of(encoding)) {
      auto result = round_trip_reply(request_verb::detect, reply, encoding);
      BOOST_TEST(result.ok());
      BOOST_REQUIRE(result.deadlocks.size() == 2u);
      check_deadlock(result.deadlocks[0], reply.deadlocks[0]);
      check_deadlock(result.deadlocks[1], reply.deadlocks[1]);
      const auto& decoded = result.deadlock_counters;
      BOOST_TEST(decoded.runs == 11u);
      BOOST_TEST(decoded.detected == 7u);
      BOOST_TEST(decoded.resolved == 5u);
      BOOST_TEST(decoded.vetoed == 1u);
      BOOST_TEST(decoded.dissolved == 2u);
      BOOST_TEST(decoded.prevented == 3u);
      BOOST_TEST(decoded.hook_timeouts == 4u);
      BOOST_TEST(decoded.hook_errors == std::numeric_limits<uint64_t>::max());
    }
  }
}

BOOST_AUTO_TEST_CASE(detect_reply_json_shape) {
  lock_reply reply;
  reply.deadlocks = {sample_deadlock()};
  reply.deadlock_counters.detected = 1;
  auto tree = nlohmann::json::parse(
      encode_reply(request_verb::detect, reply, wire_encoding::json));
  BOOST_TEST(tree.size() == 3u);
  BOOST_TEST(tree.at("ok") == true);
  const auto& deadlock = tree.at("deadlocks").at(0);
  BOOST_TEST(deadlock.size() == 7u);
  BOOST_TEST(deadlock.at("id") == (uint64_t{1} << 40) + 7);
  BOOST_TEST(deadlock.at("cycle").size() == 2u);
  BOOST_TEST(deadlock.at("victim") == "pr-2");
  BOOST_TEST(deadlock.at("policy") == "plugin:prod-approval");
  BOOST_TEST(deadlock.at("outcome") == "victim_failed");
  BOOST_TEST(deadlock.at("released_locks") == true);
  BOOST_TEST(deadlock.at("reason") == "approved by hook 'prod-approval'");
  const auto& stats = tree.at("deadlock_stats");
  BOOST_TEST(stats.size() == 8u);
  for (auto name : {"runs", "detected", "resolved", "vetoed", "dissolved",
                    "prevented", "hook_timeouts", "hook_errors"}) {
    BOOST_TEST_CONTEXT(name) {
      BOOST_TEST(stats.contains(name));
    }
  }
  BOOST_TEST(stats.at("detected") == 1);
}

BOOST_AUTO_TEST_CASE(empty_detect_reply) {
  auto body
      = encode_reply(request_verb::detect, lock_reply{}, wire_encoding::json);
  auto tree = nlohmann::json::parse(body);
  BOOST_TEST(tree.at("deadlocks").is_array());
  BOOST_TEST(tree.at("deadlocks").empty());
  BOOST_TEST(tree.at("deadlock_stats").at("runs") == 0);
  lock_reply result;
  auto error = decode_reply(body, wire_encoding::json, result);
  BOOST_TEST(error.code == lock_errc::none, error.message);
  BOOST_TEST(result.deadlocks.empty());
}

BOOST_AUTO_TEST_CASE(deadlock_event_round_trip) {
  for (auto type :
       {event_type::deadlock_detected, event_type::deadlock_resolved,
        event_type::deadlock_vetoed}) {
    auto waiting = sample_record("");
    waiting.token = 0;
    lock_event event{type, waiting, 1'700'000'000'999, "cycle of 2 owners",
                     sample_deadlock()};
    for (auto encoding : encodings) {
      BOOST_TEST_CONTEXT(name_of(encoding) << " " << to_string_view(type)) {
        auto body = encode_event(event, encoding);
        lock_event result;
        auto error = decode_event(body, encoding, result);
        BOOST_TEST(error.code == lock_errc::none, error.message);
        BOOST_TEST((result.type == type));
        BOOST_TEST(result.timestamp_ms == event.timestamp_ms);
        BOOST_TEST(result.reason == event.reason);
        BOOST_CHECK(result.record == event.record);
        check_deadlock(result.deadlock, event.deadlock);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(deadlock_event_json_shape) {
  lock_event event{event_type::deadlock_vetoed, sample_record(""), 5,
                   "vetoed by hook 'prod-approval'", sample_deadlock()};
  event.deadlock.outcome = "vetoed";
  event.deadlock.released_locks = false;
  auto tree = nlohmann::json::parse(encode_event(event, wire_encoding::json));
  BOOST_TEST(tree.size() == 5u);
  BOOST_TEST(tree.at("type") == "deadlock.vetoed");
  BOOST_TEST(tree.at("deadlock").at("outcome") == "vetoed");
  BOOST_TEST(tree.at("deadlock").at("released_locks") == false);
  BOOST_TEST(tree.at("deadlock").at("cycle").at(1).at("owner") == "pr-2");
  BOOST_TEST(
      (parse_event_type("deadlock.detected") == event_type::deadlock_detected));
  BOOST_TEST(
      (parse_event_type("deadlock.resolved") == event_type::deadlock_resolved));
}

BOOST_AUTO_TEST_CASE(other_events_omit_deadlock) {
  // A deadlock set by mistake on another event type is not sent.
  lock_event event{event_type::lock_cancelled, sample_record(""), 5,
                   "ticket cancelled", sample_deadlock()};
  for (auto encoding : encodings) {
    BOOST_TEST_CONTEXT(name_of(encoding)) {
      auto body = encode_event(event, encoding);
      lock_event result;
      auto error = decode_event(body, encoding, result);
      BOOST_TEST(error.code == lock_errc::none, error.message);
      BOOST_TEST(result.deadlock.id == 0u);
      BOOST_TEST(result.deadlock.cycle.empty());
    }
  }
}

BOOST_AUTO_TEST_CASE(cycle_with_wrong_types_is_rejected) {
  struct bad_cycle {
    nlohmann::json cycle;
    std::string field;
    std::string problem;
  };
  nlohmann::json member
      = {{"owner", "pr-1"},    {"project", "network"}, {"workspace", "prod"},
         {"priority", "high"}, {"waited_ms", 10},      {"locks_held", 1}};
  auto with = [&](const char* key, nlohmann::json value) {
    auto result = member;
    result[key] = std::move(value);
    return result;
  };
  std::vector<bad_cycle> cases{
      {"pr-1", "error.cycle", "must be an array of cycle members"},
      {member, "error.cycle", "must be an array of cycle members"},
      {{member, 7}, "error.cycle[1]", "must be a map"},
      {{with("owner", 1)}, "error.cycle[0].owner", "must be a string"},
      {{with("project", nullptr)},
       "error.cycle[0].project",
       "must be a string"},
      {{with("priority", 3)},
       "error.cycle[0].priority",
       "must be a priority name"},
      {{with("priority", "urgent")},
       "error.cycle[0].priority",
       "must be one of very_low"},
      {{member, with("waited_ms", "10")},
       "error.cycle[1].waited_ms",
       "must be an integer"},
      {{with("waited_ms", 1.5)},
       "error.cycle[0].waited_ms",
       "must be an integer"},
      {{with("locks_held", -1)},
       "error.cycle[0].locks_held",
       "must not be negative"},
      {{with("locks_held", uint64_t{1} << 32)},
       "error.cycle[0].locks_held",
       "is out of range"},
  };
  for (const auto& bad : cases) {
    for (auto encoding : encodings) {
      BOOST_TEST_CONTEXT(name_of(encoding) << " " << bad.cycle.dump()) {
        auto error = reply_error(victim_reply(bad.cycle), encoding);
        BOOST_TEST((error.code == lock_errc::invalid_request));
        BOOST_TEST(error.field == bad.field);
        BOOST_TEST(error.message.find(bad.problem) != std::string::npos,
                   error.message);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(deadlocks_with_wrong_types_are_rejected) {
  struct bad_reply {
    nlohmann::json body;
    std::string field;
  };
  std::vector<bad_reply> cases{
      {{{"ok", true}, {"deadlocks", {{"id", 1}}}}, "deadlocks"},
      {{{"ok", true}, {"deadlocks", {"x"}}}, "deadlocks[0]"},
      {{{"ok", true}, {"deadlocks", {{{"id", -1}}}}}, "deadlocks[0].id"},
      {{{"ok", true}, {"deadlocks", {{{"released_locks", 1}}}}},
       "deadlocks[0].released_locks"},
      {{{"ok", true}, {"deadlocks", {{{"cycle", {{{"owner", 5}}}}}}}},
       "deadlocks[0].cycle[0].owner"},
      {{{"ok", true}, {"deadlocks", {{{"victim", false}}}}},
       "deadlocks[0].victim"},
      {{{"ok", true}, {"deadlock_stats", {1, 2}}}, "deadlock_stats"},
      {{{"ok", true}, {"deadlock_stats", {{"runs", "3"}}}},
       "deadlock_stats.runs"},
      {{{"ok", true}, {"deadlock_stats", {{"hook_errors", -2}}}},
       "deadlock_stats.hook_errors"},
  };
  for (const auto& bad : cases) {
    for (auto encoding : encodings) {
      BOOST_TEST_CONTEXT(name_of(encoding) << " " << bad.body.dump()) {
        auto error = reply_error(bad.body, encoding);
        BOOST_TEST((error.code == lock_errc::invalid_request));
        BOOST_TEST(error.field == bad.field);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(event_deadlock_with_wrong_types_is_rejected) {
  for (auto encoding : encodings) {
    BOOST_TEST_CONTEXT(name_of(encoding)) {
      lock_event result;
      auto not_map = decode_event(
          body_of({{"type", "deadlock.detected"}, {"deadlock", "pr-1"}},
                  encoding),
          encoding, result);
      BOOST_TEST((not_map.code == lock_errc::invalid_request));
      BOOST_TEST(not_map.field == "deadlock");

      auto bad_member = decode_event(
          body_of({{"type", "deadlock.detected"},
                   {"deadlock", {{"cycle", {{{"waited_ms", "long"}}}}}}},
                  encoding),
          encoding, result);
      BOOST_TEST((bad_member.code == lock_errc::invalid_request));
      BOOST_TEST(bad_member.field == "deadlock.cycle[0].waited_ms");
    }
  }
}

BOOST_AUTO_TEST_CASE(cycle_member_skips_unknown_keys) {
  // Replies and events may gain fields, also inside a cycle member, and an
  // older client must still read the error code and the known fields.
  nlohmann::json member
      = {{"owner", "pr-1"},     {"project", "network"},
         {"workspace", "prod"}, {"priority", "low"},
         {"waited_ms", 10},     {"locks_held", 2},
         {"tenant", "team-a"},  {"queue_position", {{"nested", 1}}}};
  for (auto encoding : encodings) {
    BOOST_TEST_CONTEXT(name_of(encoding)) {
      lock_reply reply;
      auto error = decode_reply(body_of(victim_reply({member}), encoding),
                                encoding, reply);
      BOOST_TEST(error.code == lock_errc::none, error.message);
      BOOST_TEST((reply.error.code == lock_errc::deadlock_victim));
      BOOST_REQUIRE(reply.error.cycle.size() == 1u);
      const auto& decoded = reply.error.cycle.front();
      BOOST_TEST(decoded.owner == "pr-1");
      BOOST_TEST(decoded.key.project == "network");
      BOOST_TEST(decoded.key.workspace == "prod");
      BOOST_TEST(decoded.key.tenant == "");
      BOOST_TEST((decoded.level == priority::low));
      BOOST_TEST(decoded.waited_ms == 10);
      BOOST_TEST(decoded.locks_held == 2u);

      lock_event event;
      auto event_error = decode_event(
          body_of({{"type", "deadlock.resolved"},
                   {"deadlock", {{"cycle", {member}}, {"hooks", 2}}}},
                  encoding),
          encoding, event);
      BOOST_TEST(event_error.code == lock_errc::none, event_error.message);
      BOOST_TEST(event.deadlock.cycle.size() == 1u);
    }
  }
}

BOOST_AUTO_TEST_CASE(cycle_member_repeated_json_key_is_rejected) {
  auto body = R"({"ok": false, "error": {"code": "deadlock_victim",
                  "message": "m", "cycle": [{"owner": "a", "owner": "b"}]}})";
  lock_reply reply;
  auto error = decode_reply(body, wire_encoding::json, reply);
  BOOST_TEST((error.code == lock_errc::invalid_request));
  BOOST_TEST(error.message.find("appears more than once") != std::string::npos);
  BOOST_TEST(error.field == "error.cycle.owner");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(repeated_and_malformed_keys)

BOOST_AUTO_TEST_CASE(repeated_field_is_rejected) {
  auto json = acquire_error(R"({"project": "a", "workspace": "w",
                                "owner": "o", "project": "b"})",
                            wire_encoding::json);
  BOOST_TEST((json.code == lock_errc::invalid_request));
  BOOST_TEST(json.field == "project");

  // msgpack map with "owner" twice, built by hand.
  std::string body("\x83", 1);
  for (auto [key, value] : {std::pair{"project", "p"}, std::pair{"owner", "a"},
                            std::pair{"owner", "b"}}) {
    body += static_cast<char>(0xa0 | std::strlen(key));
    body += key;
    body += static_cast<char>(0xa0 | std::strlen(value));
    body += value;
  }
  auto packed = acquire_error(body, wire_encoding::msgpack);
  BOOST_TEST((packed.code == lock_errc::invalid_request));
  BOOST_TEST(packed.field == "owner");
}

BOOST_AUTO_TEST_CASE(repeated_metadata_key_is_rejected) {
  std::string body("\x82", 1);
  body += "\xa5owner";
  body += "\xa1o";
  body += "\xa8metadata";
  body += "\x82";
  body += "\xa1k\xa1x";
  body += "\xa1k\xa1y";
  auto error = acquire_error(body, wire_encoding::msgpack);
  BOOST_TEST((error.code == lock_errc::invalid_request));
  BOOST_TEST(error.field == "metadata.k");
}

BOOST_AUTO_TEST_CASE(malformed_key_is_escaped) {
  std::string body("\x81", 1);
  body += "\xa2\xc3\x28";
  body += "\xa1x";
  auto error = acquire_error(body, wire_encoding::msgpack);
  BOOST_TEST((error.code == lock_errc::invalid_request));
  BOOST_TEST(error.field == "\\xc3(");
}

BOOST_AUTO_TEST_SUITE_END()
