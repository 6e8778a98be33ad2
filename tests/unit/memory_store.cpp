#include "actors/memory_store.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <thread>

#include <boost/test/unit_test.hpp>

#include "actors/store_factory.hpp"

using namespace holdfast;

namespace {

lock_record make_record(std::string id, std::string workspace, uint64_t token) {
  lock_record record;
  record.lock_id = std::move(id);
  record.key = resource_key{"acme", "build", std::move(workspace)};
  record.owner = "ci-runner";
  record.user = "alice";
  record.token = token;
  record.acquired_at_ms = 1'700'000'000'000;
  record.expires_at_ms = 1'700'000'060'000;
  record.ttl_ms = 60'000;
  return record;
}

store_mutation put(lock_record record, uint64_t counter) {
  store_mutation mutation;
  mutation.action = store_mutation::kind::put_lock;
  mutation.record = std::move(record);
  mutation.token_counter = counter;
  return mutation;
}

store_mutation erase(std::string id) {
  store_mutation mutation;
  mutation.action = store_mutation::kind::erase_lock;
  mutation.record.lock_id = std::move(id);
  return mutation;
}

struct outcome {
  bool called = false;
  bool ok = false;
  std::string reason;
};

outcome commit_now(store_backend& store, store_batch batch) {
  outcome result;
  store.commit(std::move(batch), [&result](bool ok, const std::string& why) {
    result.called = true;
    result.ok = ok;
    result.reason = why;
  });
  return result;
}

} // namespace

BOOST_AUTO_TEST_CASE(load_returns_committed_state) {
  memory_store store;
  auto first = commit_now(store, {put(make_record("a", "w1", 1), 1),
                                  put(make_record("b", "w2", 4), 4)});
  BOOST_TEST(first.called);
  BOOST_TEST(first.ok);
  auto state = store.load();
  BOOST_REQUIRE_EQUAL(state.locks.size(), 2u);
  std::sort(state.locks.begin(), state.locks.end(),
            [](const auto& x, const auto& y) { return x.lock_id < y.lock_id; });
  BOOST_TEST((state.locks[0] == make_record("a", "w1", 1)));
  BOOST_TEST((state.locks[1] == make_record("b", "w2", 4)));
  BOOST_TEST(state.token_counters.at(resource_key{"acme", "build", "w1"})
             == 1u);
  BOOST_TEST(state.token_counters.at(resource_key{"acme", "build", "w2"})
             == 4u);
  BOOST_TEST(store.batches() == 1u);
}

BOOST_AUTO_TEST_CASE(counters_never_decrease) {
  memory_store store;
  resource_key key{"acme", "build", "w1"};
  BOOST_TEST(commit_now(store, {put(make_record("a", "w1", 10), 10)}).ok);
  BOOST_TEST(commit_now(store, {put(make_record("b", "w1", 5), 5)}).ok);
  BOOST_TEST(commit_now(store, {erase("a"), erase("missing")}).ok);
  auto state = store.load();
  BOOST_REQUIRE_EQUAL(state.locks.size(), 1u);
  BOOST_TEST(state.locks[0].lock_id == "b");
  BOOST_TEST(state.token_counters.at(key) == 10u);
}

BOOST_AUTO_TEST_CASE(callback_runs_on_caller_thread) {
  memory_store store;
  auto caller = std::this_thread::get_id();
  bool same_thread = false;
  bool called = false;
  store.commit({put(make_record("a", "w1", 1), 1)},
               [&](bool, const std::string&) {
                 called = true;
                 same_thread = std::this_thread::get_id() == caller;
               });
  BOOST_TEST(called);
  BOOST_TEST(same_thread);
}

BOOST_AUTO_TEST_CASE(invalid_batch_is_not_applied) {
  memory_store store;
  auto nameless = make_record("", "w2", 3);
  auto result = commit_now(
      store, {put(make_record("a", "w1", 1), 1), put(nameless, 3)});
  BOOST_TEST(result.called);
  BOOST_TEST(!result.ok);
  BOOST_TEST(result.reason.find("without a lock_id") != std::string::npos);
  auto state = store.load();
  BOOST_TEST(state.locks.empty());
  BOOST_TEST(state.token_counters.empty());
}

BOOST_AUTO_TEST_CASE(commit_after_close_fails) {
  memory_store store;
  store.close();
  store.close();
  auto result = commit_now(store, {put(make_record("a", "w1", 1), 1)});
  BOOST_TEST(result.called);
  BOOST_TEST(!result.ok);
  BOOST_TEST(result.reason == "store is closed");
  BOOST_TEST(store.load().locks.empty());
}

BOOST_AUTO_TEST_CASE(starts_from_recovered_state) {
  recovered_state initial;
  initial.locks.push_back(make_record("a", "w1", 7));
  initial.token_counters[resource_key{"acme", "build", "w1"}] = 9;
  memory_store store{initial};
  auto state = store.load();
  BOOST_REQUIRE_EQUAL(state.locks.size(), 1u);
  BOOST_TEST((state.locks[0] == make_record("a", "w1", 7)));
  BOOST_TEST(state.token_counters.at(resource_key{"acme", "build", "w1"})
             == 9u);
}

BOOST_AUTO_TEST_CASE(factory_creates_memory_store) {
  store_settings settings;
  settings.backend = "memory";
  auto store = make_store_backend(settings);
  BOOST_REQUIRE(store != nullptr);
  BOOST_TEST(store->name() == "memory");
}

BOOST_AUTO_TEST_CASE(factory_rejects_unknown_backend) {
  store_settings settings;
  settings.backend = "redis-cluster";
  try {
    make_store_backend(settings);
    BOOST_FAIL("expected std::invalid_argument");
  } catch (const std::invalid_argument& error) {
    std::string message = error.what();
    BOOST_TEST(message.find("'redis-cluster'") != std::string::npos);
    BOOST_TEST(message.find("'lmdb'") != std::string::npos);
    BOOST_TEST(message.find("'memory'") != std::string::npos);
  }
}
