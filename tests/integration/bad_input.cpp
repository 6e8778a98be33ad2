// Malformed and out-of-bounds requests each get their error code and the
// offending field, and the service keeps serving afterwards.

#include <boost/test/unit_test.hpp>

#include "messages/wire_codec.hpp"
#include "tests/support/holdfast_service.hpp"
#include "tests/support/nats_server.hpp"

using namespace holdfast;
using namespace holdfast::test;
using namespace std::chrono_literals;

namespace {

constexpr auto acquire_subject = "holdfast.v1.default.lock.acquire";

struct service_fixture {
  nats_server nats;
  holdfast_service service{nats.url()};
  std::unique_ptr<nats_client> client = service.make_client();

  lock_reply send(const std::string& subject, const std::string& body,
                  bool json) {
    auto raw = client->request_raw(subject, body, json, 5s);
    BOOST_REQUIRE_MESSAGE(!raw.timed_out, "no reply on " << subject);
    if (json)
      BOOST_TEST(raw.content_type == "application/json");
    lock_reply reply;
    auto encoding = json ? wire_encoding::json : wire_encoding::msgpack;
    auto error = decode_reply(raw.data, encoding, reply);
    BOOST_REQUIRE_MESSAGE(error.code == lock_errc::none,
                          "undecodable reply: " << error.message);
    return reply;
  }

  void expect_invalid(const std::string& subject, const std::string& body,
                      bool json, const std::string& field) {
    auto reply = send(subject, body, json);
    BOOST_TEST((reply.error.code == lock_errc::invalid_request));
    BOOST_TEST(reply.error.field == field);
    BOOST_TEST(!reply.error.message.empty());
  }

  void expect_still_serving() {
    acquire_request request;
    request.key = {"default", "network", "prod"};
    request.owner = "after-bad-input";
    auto granted = client->acquire(request);
    BOOST_REQUIRE(granted.ok());
    BOOST_TEST(client->release({"default", granted.lock.lock_id, 0}).ok());
    BOOST_TEST(service.running().is_running());
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(bad_input, service_fixture)

BOOST_AUTO_TEST_CASE(malformed_msgpack) {
  expect_invalid(acquire_subject, std::string("\xc1\xff\x00\x93", 4), false,
                 "body");
  expect_invalid(acquire_subject, std::string("\x93\x01\x02\x03", 4), false,
                 "body");
  expect_invalid(acquire_subject, "", false, "body");
  expect_still_serving();
}

BOOST_AUTO_TEST_CASE(malformed_json) {
  expect_invalid(acquire_subject, "{\"project\": ", true, "body");
  expect_invalid(acquire_subject, "[1, 2]", true, "body");
  expect_invalid(acquire_subject, "{\"project\": 7, \"workspace\": \"w\", "
                                  "\"owner\": \"o\"}",
                 true, "project");
  expect_invalid(acquire_subject, "{\"project\": \"p\", \"workspace\": \"w\", "
                                  "\"owner\": \"o\", \"wait_ms\": -5}",
                 true, "wait_ms");
  expect_invalid(acquire_subject, "{\"project\": \"p\", \"workspace\": \"w\", "
                                  "\"owner\": \"o\", \"colour\": \"red\"}",
                 true, "colour");
  expect_invalid(acquire_subject, "{\"project\": \"p\", \"workspace\": \"w\", "
                                  "\"owner\": \"o\", \"priority\": \"urgent\"}",
                 true, "priority");
  expect_still_serving();
}

BOOST_AUTO_TEST_CASE(missing_and_oversized_fields) {
  expect_invalid(acquire_subject, "{\"workspace\": \"w\", \"owner\": \"o\"}",
                 true, "project");
  expect_invalid(acquire_subject, "{\"project\": \"p\", \"workspace\": \"w\"}",
                 true, "owner");
  std::string long_name(129, 'p');
  expect_invalid(acquire_subject, "{\"project\": \"" + long_name
                                    + "\", \"workspace\": \"w\", "
                                      "\"owner\": \"o\"}",
                 true, "project");
  expect_invalid(acquire_subject, "{\"project\": \"p\", \"workspace\": "
                                  "\"has space\", \"owner\": \"o\"}",
                 true, "workspace");
  expect_invalid(acquire_subject, "{\"project\": \"p\", \"workspace\": \"w\", "
                                  "\"owner\": \"o\", \"ttl_ms\": 5}",
                 true, "ttl_ms");
  std::string huge(70 * 1024, 'x');
  expect_invalid(acquire_subject, "{\"project\": \"" + huge
                                    + "\", \"workspace\": \"w\", "
                                      "\"owner\": \"o\"}",
                 true, "body");
  expect_invalid("holdfast.v1.default.lock.release", "{}", true, "lock_id");
  expect_still_serving();
}

BOOST_AUTO_TEST_CASE(unknown_subjects) {
  expect_invalid("holdfast.v1.default.lock.frobnicate", "{}", true,
                 "subject");
  expect_invalid("holdfast.v1.default.lock.acquire.extra", "{}", true,
                 "subject");
  expect_invalid("holdfast.v1.default.unknown", "{}", true, "subject");
  expect_invalid("holdfast.v1.bad$tenant.lock.get",
                 "{\"project\": \"p\", \"workspace\": \"w\"}", true,
                 "tenant");
  expect_still_serving();
}

BOOST_AUTO_TEST_CASE(stale_ids_and_tokens) {
  acquire_request request;
  request.key = {"default", "network", "prod"};
  request.owner = "pr-1";
  auto granted = client->acquire(request);
  BOOST_REQUIRE(granted.ok());

  auto wrong_token = client->release(
    {"default", granted.lock.lock_id, granted.lock.token + 1});
  BOOST_TEST((wrong_token.error.code == lock_errc::not_owner));
  auto unknown = client->release({"default", std::string(32, 'a'), 0});
  BOOST_TEST((unknown.error.code == lock_errc::not_found));
  auto other_tenant = client->release({"other", granted.lock.lock_id, 0});
  BOOST_TEST((other_tenant.error.code == lock_errc::not_found));
  BOOST_TEST(client->release({"default", granted.lock.lock_id, 0}).ok());
  auto twice = client->release({"default", granted.lock.lock_id, 0});
  BOOST_TEST((twice.error.code == lock_errc::not_found));
}

BOOST_AUTO_TEST_SUITE_END()
