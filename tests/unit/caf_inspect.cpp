// Every message type survives a round trip through CAF's binary serializer,
// which walks the same `inspect` functions that CAF uses for messages.

#include <boost/test/unit_test.hpp>

#include <caf/all.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include "messages/engine.hpp"
#include "messages/events.hpp"
#include "messages/registration.hpp"
#include "messages/replies.hpp"
#include "messages/requests.hpp"

using namespace holdfast;

namespace {

struct system_fixture {
  caf::actor_system_config config;
  std::unique_ptr<caf::actor_system> system;

  system_fixture() {
    register_messages(config);
    config.set("logger.file-verbosity", caf::atom("quiet"));
    system = std::make_unique<caf::actor_system>(config);
  }

  template <class T>
  T round_trip(T value) {
    std::vector<char> buffer;
    caf::binary_serializer sink{*system, buffer};
    auto written = inspect(sink, value);
    BOOST_REQUIRE(!written);
    T result;
    caf::binary_deserializer source{*system, buffer};
    auto read = inspect(source, result);
    BOOST_REQUIRE(!read);
    return result;
  }
};

lock_record sample_record() {
  lock_record record;
  record.lock_id = "0123456789abcdef0123456789abcdef";
  record.key = {"team-a", "network/core", "prod.eu"};
  record.owner = "pr-42";
  record.user = "alice";
  record.level = priority::critical;
  record.token = 981;
  record.acquired_at_ms = 1'700'000'000'123;
  record.expires_at_ms = 1'700'000'600'123;
  record.ttl_ms = 600'000;
  record.metadata = {{"commit", "abc123"}, {"pr", "42"}};
  return record;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(caf_inspect, system_fixture)

BOOST_AUTO_TEST_CASE(lock_record_round_trip) {
  auto record = sample_record();
  BOOST_TEST((round_trip(record) == record));
}

BOOST_AUTO_TEST_CASE(acquire_request_round_trip) {
  acquire_request request;
  request.key = {"team-a", "network", "prod"};
  request.owner = "pr-42";
  request.user = "alice";
  request.level = priority::very_low;
  request.wait_ms = 30'000;
  request.ttl_ms = 120'000;
  request.metadata = {{"pr", "42"}};
  auto copy = round_trip(request);
  BOOST_TEST((copy.key == request.key));
  BOOST_TEST(copy.owner == request.owner);
  BOOST_TEST(copy.user == request.user);
  BOOST_TEST((copy.level == request.level));
  BOOST_TEST(copy.wait_ms == request.wait_ms);
  BOOST_TEST(copy.ttl_ms == request.ttl_ms);
  BOOST_TEST((copy.metadata == request.metadata));
}

BOOST_AUTO_TEST_CASE(small_requests_round_trip) {
  auto release = round_trip(release_request{"t", "id-1", 7});
  BOOST_TEST(release.tenant == "t");
  BOOST_TEST(release.lock_id == "id-1");
  BOOST_TEST(release.token == 7u);

  auto renew = round_trip(renew_request{"t", "id-2", 8, 9'000});
  BOOST_TEST(renew.lock_id == "id-2");
  BOOST_TEST(renew.token == 8u);
  BOOST_TEST(renew.ttl_ms == 9'000);

  auto get = round_trip(get_request{{"t", "p", "w"}});
  BOOST_TEST((get.key == resource_key{"t", "p", "w"}));

  auto list = round_trip(list_request{"t", "p", "w", "o", "k", "v"});
  BOOST_TEST(list.owner == "o");
  BOOST_TEST(list.meta_key == "k");
  BOOST_TEST(list.meta_value == "v");

  auto owner = round_trip(release_owner_request{"t", "pr-1"});
  BOOST_TEST(owner.owner == "pr-1");
}

BOOST_AUTO_TEST_CASE(reply_round_trip) {
  lock_reply reply;
  reply.error = make_lock_error(lock_errc::conflict, "held", "project");
  reply.error.holder = sample_record();
  reply.lock = sample_record();
  reply.locks = {sample_record(), sample_record()};
  reply.released = 3;
  reply.waiting = 2;
  auto copy = round_trip(reply);
  BOOST_TEST((copy.error.code == lock_errc::conflict));
  BOOST_TEST(copy.error.message == "held");
  BOOST_TEST(copy.error.field == "project");
  BOOST_TEST((copy.error.holder == reply.error.holder));
  BOOST_TEST((copy.lock == reply.lock));
  BOOST_TEST(copy.locks.size() == 2u);
  BOOST_TEST(copy.released == 3u);
  BOOST_TEST(copy.waiting == 2u);
}

BOOST_AUTO_TEST_CASE(event_and_update_round_trip) {
  lock_event event;
  event.type = event_type::lock_expired;
  event.record = sample_record();
  event.timestamp_ms = 1'700'000'000'999;
  event.reason = "lease expired";
  auto copy = round_trip(event);
  BOOST_TEST((copy.type == event.type));
  BOOST_TEST((copy.record == event.record));
  BOOST_TEST(copy.timestamp_ms == event.timestamp_ms);
  BOOST_TEST(copy.reason == event.reason);

  holder_update update;
  update.key = {"t", "p", "w"};
  update.holder = sample_record();
  update.previous_lock_id = "old";
  update.previous_expired = true;
  update.waiting = 4;
  auto update_copy = round_trip(update);
  BOOST_TEST((update_copy.holder == update.holder));
  BOOST_TEST(update_copy.previous_lock_id == "old");
  BOOST_TEST(update_copy.previous_expired);
  BOOST_TEST(update_copy.waiting == 4u);

  event_filter filter{"t", "lock.acquired", "p", "w"};
  auto filter_copy = round_trip(filter);
  BOOST_TEST(filter_copy.type == "lock.acquired");
  BOOST_TEST(filter_copy.workspace == "w");
}

BOOST_AUTO_TEST_SUITE_END()
