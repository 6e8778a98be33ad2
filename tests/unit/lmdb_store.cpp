#include "actors/lmdb_store.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <lmdb.h>

#include <boost/test/unit_test.hpp>

#include "actors/lmdb_format.hpp"
#include "actors/store_factory.hpp"

using namespace holdfast;
namespace fs = std::filesystem;

namespace {

constexpr auto max_wait = std::chrono::seconds{60};

// A fresh directory under /tmp, removed with its contents.
struct temp_dir {
  fs::path path;

  temp_dir() {
    std::string pattern = "/tmp/holdfast-store-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr)
      throw std::runtime_error("failed to create a directory from " + pattern
                               + ": " + std::strerror(errno));
    path = pattern;
  }

  ~temp_dir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

struct store_fixture {
  temp_dir dir;

  store_settings settings() const {
    store_settings result;
    result.path = (dir.path / "data").string();
    result.map_size_mb = 64;
    return result;
  }
};

resource_key make_key(std::string tenant, std::string workspace) {
  return resource_key{std::move(tenant), "build", std::move(workspace)};
}

lock_record make_record(std::string id, resource_key key, uint64_t token) {
  lock_record record;
  record.lock_id = std::move(id);
  record.key = std::move(key);
  record.owner = "ci-runner-7";
  record.user = "alice";
  record.level = priority::high;
  record.token = token;
  record.acquired_at_ms = 1'700'000'000'000;
  record.expires_at_ms = 1'700'000'060'000;
  record.ttl_ms = 60'000;
  record.metadata = {{"job", "nightly"}, {"host", "build-3"}};
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
  bool ok = false;
  std::string reason;
};

outcome commit_and_wait(store_backend& store, store_batch batch) {
  auto promise = std::make_shared<std::promise<outcome>>();
  auto future = promise->get_future();
  store.commit(std::move(batch), [promise](bool ok, const std::string& reason) {
    promise->set_value(outcome{ok, reason});
  });
  if (future.wait_for(max_wait) != std::future_status::ready)
    throw std::runtime_error("commit callback did not run within 60 s");
  return future.get();
}

std::vector<lock_record> sorted_locks(recovered_state state) {
  auto locks = std::move(state.locks);
  std::sort(locks.begin(), locks.end(),
            [](const auto& x, const auto& y) { return x.lock_id < y.lock_id; });
  return locks;
}

void check_mdb(int rc, const char* step) {
  if (rc != 0)
    throw std::runtime_error(std::string{step} + ": " + mdb_strerror(rc));
}

MDB_val to_val(std::string_view bytes) {
  return MDB_val{bytes.size(), const_cast<char*>(bytes.data())};
}

// The environment opened directly through LMDB, bypassing lmdb_store, to
// check or damage what the store wrote.
class raw_env {
public:
  raw_env(const std::string& path, unsigned int flags) {
    check_mdb(mdb_env_create(&env_), "mdb_env_create");
    mdb_env_set_maxdbs(env_, 3);
    auto rc = mdb_env_open(env_, path.c_str(), flags, 0644);
    if (rc != 0) {
      mdb_env_close(env_);
      check_mdb(rc, "mdb_env_open");
    }
  }

  raw_env(const raw_env&) = delete;
  raw_env& operator=(const raw_env&) = delete;

  ~raw_env() {
    mdb_env_close(env_);
  }

  std::optional<std::string> get(const char* db, std::string_view key) {
    MDB_txn* txn = nullptr;
    check_mdb(mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn), "begin");
    MDB_dbi dbi = 0;
    std::optional<std::string> result;
    auto rc = mdb_dbi_open(txn, db, 0, &dbi);
    auto key_val = to_val(key);
    MDB_val value;
    if (rc == 0 && mdb_get(txn, dbi, &key_val, &value) == 0)
      result.emplace(static_cast<const char*>(value.mv_data), value.mv_size);
    mdb_txn_abort(txn);
    return result;
  }

  void put(const char* db, std::string_view key, std::string_view value) {
    MDB_txn* txn = nullptr;
    check_mdb(mdb_txn_begin(env_, nullptr, 0, &txn), "begin");
    MDB_dbi dbi = 0;
    auto key_val = to_val(key);
    auto value_val = to_val(value);
    auto rc = mdb_dbi_open(txn, db, 0, &dbi);
    if (rc == 0)
      rc = mdb_put(txn, dbi, &key_val, &value_val, 0);
    if (rc != 0) {
      mdb_txn_abort(txn);
      check_mdb(rc, "put");
    }
    check_mdb(mdb_txn_commit(txn), "commit");
  }

private:
  MDB_env* env_ = nullptr;
};

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

} // namespace

BOOST_FIXTURE_TEST_CASE(round_trip_after_reopen, store_fixture) {
  auto a = make_record("lock-a", make_key("acme", "w1"), 3);
  auto b = make_record("lock-b", make_key("acme", "w2"), 8);
  auto c = make_record("lock-c", make_key("globex", "w1"), 1);
  c.level = priority::very_low;
  c.metadata.clear();
  {
    lmdb_store store{settings()};
    BOOST_TEST(commit_and_wait(store, {put(a, 3), put(b, 8)}).ok);
    BOOST_TEST(commit_and_wait(store, {put(c, 2)}).ok);
    store.close();
  }
  lmdb_store store{settings()};
  auto state = store.load();
  auto locks = sorted_locks(state);
  BOOST_REQUIRE_EQUAL(locks.size(), 3u);
  BOOST_TEST((locks[0] == a));
  BOOST_TEST((locks[1] == b));
  BOOST_TEST((locks[2] == c));
  BOOST_TEST(state.token_counters.size() == 3u);
  BOOST_TEST(state.token_counters[make_key("acme", "w1")] == 3u);
  BOOST_TEST(state.token_counters[make_key("acme", "w2")] == 8u);
  BOOST_TEST(state.token_counters[make_key("globex", "w1")] == 2u);
}

BOOST_FIXTURE_TEST_CASE(counters_never_decrease, store_fixture) {
  auto key = make_key("acme", "w1");
  {
    lmdb_store store{settings()};
    BOOST_TEST(commit_and_wait(store, {put(make_record("a", key, 10), 10)}).ok);
    BOOST_TEST(commit_and_wait(store, {put(make_record("b", key, 4), 4)}).ok);
    BOOST_TEST(commit_and_wait(store, {erase("a"), erase("missing")}).ok);
    BOOST_TEST(commit_and_wait(store, {erase("b")}).ok);
  }
  lmdb_store store{settings()};
  auto state = store.load();
  BOOST_TEST(state.locks.empty());
  BOOST_TEST(state.token_counters[key] == 10u);
}

BOOST_FIXTURE_TEST_CASE(callbacks_run_in_order, store_fixture) {
  constexpr size_t count = 200;
  lmdb_store store{settings()};
  // Callbacks run on the writer thread one after another, so `order` needs
  // no lock; the promise publishes it to the test thread.
  std::vector<size_t> order;
  std::promise<void> last_done;
  for (size_t i = 0; i < count; ++i) {
    auto record
        = make_record("lock-" + std::to_string(i),
                      make_key("acme", "w" + std::to_string(i % 7)), i + 1);
    store.commit({put(record, i + 1)},
                 [&order, &last_done, i](bool, const std::string&) {
                   order.push_back(i);
                   if (i + 1 == count)
                     last_done.set_value();
                 });
  }
  auto future = last_done.get_future();
  BOOST_REQUIRE(future.wait_for(max_wait) == std::future_status::ready);
  BOOST_REQUIRE_EQUAL(order.size(), count);
  for (size_t i = 0; i < count; ++i)
    BOOST_TEST(order[i] == i);
}

BOOST_FIXTURE_TEST_CASE(callback_runs_after_commit, store_fixture) {
  auto path = settings().path;
  auto record = make_record("lock-a", make_key("acme", "w1"), 5);
  lmdb_store store{settings()};
  struct observation {
    std::optional<std::string> value;
    std::string error;
  };
  std::promise<observation> seen;
  // A second environment, opened inside the callback, must already find
  // the committed record. MDB_NOLOCK keeps it off the lock file that the
  // store's environment uses.
  // NOTE: this proves the commit happened before the callback, not that the
  // disk cache was flushed. That rests on LMDB's fdatasync per commit.
  store.commit({put(record, 5)}, [&seen, path](bool, const std::string&) {
    observation result;
    try {
      raw_env env{path, MDB_RDONLY | MDB_NOLOCK};
      result.value = env.get("locks", "lock-a");
    } catch (const std::exception& error) {
      result.error = error.what();
    }
    seen.set_value(std::move(result));
  });
  auto future = seen.get_future();
  BOOST_REQUIRE(future.wait_for(max_wait) == std::future_status::ready);
  auto result = future.get();
  BOOST_TEST(result.error == "");
  BOOST_REQUIRE(result.value.has_value());
  BOOST_TEST((decode_lock_value(*result.value) == record));
}

BOOST_FIXTURE_TEST_CASE(concurrent_committers_share_transactions,
                        store_fixture) {
  constexpr size_t threads = 8;
  constexpr size_t per_thread = 500;
  constexpr size_t total = threads * per_thread;
  auto store = std::make_unique<lmdb_store>(settings());

  std::mutex mutex;
  std::condition_variable all_done;
  size_t completed = 0;
  size_t failures = 0;
  bool out_of_order = false;
  std::vector<size_t> next_expected(threads, 0);
  std::vector<std::thread> committers;
  for (size_t t = 0; t < threads; ++t) {
    committers.emplace_back([&, t] {
      auto tenant = "tenant" + std::to_string(t);
      for (size_t i = 0; i < per_thread; ++i) {
        auto id = tenant + "-" + std::to_string(i);
        auto key = make_key(tenant, "w" + std::to_string(i % 5));
        auto done = [&, t, i](bool ok, const std::string&) {
          std::lock_guard<std::mutex> guard{mutex};
          if (!ok)
            ++failures;
          if (next_expected[t] != i)
            out_of_order = true;
          next_expected[t] = i + 1;
          if (++completed == total)
            all_done.notify_all();
        };
        store->commit({put(make_record(id, key, i + 1), i + 1)}, done);
      }
    });
  }
  for (auto& committer : committers)
    committer.join();
  {
    std::unique_lock<std::mutex> guard{mutex};
    BOOST_REQUIRE(
        all_done.wait_for(guard, max_wait, [&] { return completed == total; }));
  }
  BOOST_TEST(failures == 0u);
  BOOST_TEST(!out_of_order);
  BOOST_TEST(store->batches() == total);
  BOOST_TEST_MESSAGE(store->batches() << " batches in " << store->transactions()
                                      << " transactions");
  BOOST_TEST(store->transactions() * 4 <= store->batches());
  store->close();
  store.reset();

  lmdb_store reopened{settings()};
  auto state = reopened.load();
  BOOST_TEST(state.locks.size() == total);
  BOOST_TEST(state.token_counters.size() == threads * 5);
  for (size_t t = 0; t < threads; ++t) {
    for (size_t w = 0; w < 5; ++w) {
      // The last batch of the thread for workspace w has index 495 + w.
      auto key
          = make_key("tenant" + std::to_string(t), "w" + std::to_string(w));
      BOOST_TEST(state.token_counters[key] == per_thread - 5 + w + 1);
    }
  }
}

BOOST_FIXTURE_TEST_CASE(backlog_splits_into_capped_transactions,
                        store_fixture) {
  constexpr size_t backlog = lmdb_store::max_group_mutations + 808;
  lmdb_store store{settings()};
  // Written only by callbacks on the writer thread, and read after the
  // promise of the last one.
  size_t failures = 0;
  size_t out_of_order = 0;
  size_t next_expected = 0;
  std::promise<void> last_done;
  auto check = [&](size_t index) {
    return [&, index](bool ok, const std::string&) {
      if (!ok)
        ++failures;
      if (index != next_expected)
        ++out_of_order;
      next_expected = index + 1;
      if (index + 1 == backlog)
        last_done.set_value();
    };
  };
  // The backlog queues up while the writer thread runs the first callback,
  // so the writer finds all of it at once.
  store.commit({erase("start")}, [&](bool, const std::string&) {
    for (size_t i = 0; i < backlog; ++i)
      store.commit({erase("lock-" + std::to_string(i))}, check(i));
  });
  auto future = last_done.get_future();
  BOOST_REQUIRE(future.wait_for(max_wait) == std::future_status::ready);
  BOOST_TEST(failures == 0u);
  BOOST_TEST(out_of_order == 0u);
  BOOST_TEST(store.batches() == backlog + 1);
  // One transaction for the first batch, then a full one and the rest.
  BOOST_TEST(store.transactions() == 3u);
}

BOOST_FIXTURE_TEST_CASE(full_map_fails_only_its_batch, store_fixture) {
  auto small_settings = settings();
  small_settings.map_size_mb = 1;
  auto huge = make_record("lock-huge", make_key("acme", "huge"), 99);
  huge.metadata["blob"] = std::string(2u << 20, 'x');

  lmdb_store store{small_settings};
  std::vector<outcome> outcomes(4);
  std::promise<void> last_done;
  auto record_outcome = [&outcomes](size_t index) {
    return [&outcomes, index](bool ok, const std::string& reason) {
      outcomes[index] = outcome{ok, reason};
    };
  };
  // Batches committed from a callback queue up while the writer thread runs
  // callbacks, so batches 1 to 3 share one transaction, which fails.
  store.commit(
      {put(make_record("lock-0", make_key("acme", "w0"), 1), 1)},
      [&](bool ok, const std::string& reason) {
        outcomes[0] = outcome{ok, reason};
        store.commit({put(make_record("lock-1", make_key("acme", "w1"), 1), 1)},
                     record_outcome(1));
        store.commit({put(huge, 99)}, record_outcome(2));
        store.commit({put(make_record("lock-3", make_key("acme", "w3"), 1), 1)},
                     [&](bool ok3, const std::string& reason3) {
                       outcomes[3] = outcome{ok3, reason3};
                       last_done.set_value();
                     });
      });
  auto future = last_done.get_future();
  BOOST_REQUIRE(future.wait_for(max_wait) == std::future_status::ready);
  BOOST_TEST(outcomes[0].ok);
  BOOST_TEST(outcomes[1].ok);
  BOOST_TEST(!outcomes[2].ok);
  BOOST_TEST(contains(outcomes[2].reason, "MDB_MAP_FULL"));
  BOOST_TEST(contains(outcomes[2].reason, "lock-huge"));
  BOOST_TEST(outcomes[3].ok);
  BOOST_TEST(store.failed_batches() == 1u);
  BOOST_TEST(store.batches() == 3u);

  // The store keeps working after the failure.
  BOOST_TEST(commit_and_wait(store, {erase("lock-0")}).ok);
  store.close();

  lmdb_store reopened{small_settings};
  auto state = reopened.load();
  auto locks = sorted_locks(state);
  BOOST_REQUIRE_EQUAL(locks.size(), 2u);
  BOOST_TEST(locks[0].lock_id == "lock-1");
  BOOST_TEST(locks[1].lock_id == "lock-3");
  BOOST_TEST(state.token_counters.count(make_key("acme", "huge")) == 0u);
}

BOOST_FIXTURE_TEST_CASE(corrupt_values_are_skipped, store_fixture) {
  auto path = settings().path;
  {
    lmdb_store store{settings()};
    auto batch = store_batch{
        put(make_record("lock-a", make_key("acme", "w1"), 7), 7),
        put(make_record("lock-b", make_key("acme", "w2"), 3), 3),
        put(make_record("lock-c", make_key("acme", "w3"), 5), 5),
    };
    BOOST_TEST(commit_and_wait(store, std::move(batch)).ok);
  }
  {
    raw_env env{path, 0};
    env.put("locks", "lock-a", "\xc1 is never valid msgpack");
    // An array header that claims 2^32 - 1 elements in a 5-byte value.
    env.put("locks", "lock-c", std::string_view{"\xdd\xff\xff\xff\xff", 5});
    env.put("tokens", encode_token_key(make_key("acme", "w2")), "garbage");
  }
  lmdb_store store{settings()};
  auto state = store.load();
  BOOST_REQUIRE_EQUAL(state.locks.size(), 1u);
  BOOST_TEST(state.locks[0].lock_id == "lock-b");
  BOOST_TEST(state.token_counters[make_key("acme", "w1")] == 7u);
  BOOST_TEST(state.token_counters[make_key("acme", "w3")] == 5u);
  // The damaged counter is rebuilt from the token of lock-b.
  BOOST_TEST(state.token_counters[make_key("acme", "w2")] == 3u);
}

BOOST_FIXTURE_TEST_CASE(newer_schema_is_rejected, store_fixture) {
  auto path = settings().path;
  { lmdb_store store{settings()}; }
  {
    raw_env env{path, 0};
    env.put("meta", "schema_version", encode_schema_value(2));
  }
  try {
    lmdb_store store{settings()};
    BOOST_FAIL("expected std::runtime_error");
  } catch (const std::runtime_error& error) {
    BOOST_TEST(contains(error.what(), path));
    BOOST_TEST(contains(error.what(), "schema version 2"));
  }
}

BOOST_FIXTURE_TEST_CASE(second_open_is_rejected, store_fixture) {
  lmdb_store first{settings()};
  try {
    lmdb_store second{settings()};
    BOOST_FAIL("expected std::runtime_error");
  } catch (const std::runtime_error& error) {
    BOOST_TEST(contains(error.what(), settings().path));
    BOOST_TEST(contains(error.what(), "already open"));
  }
  BOOST_TEST(commit_and_wait(first, {erase("none")}).ok);
}

BOOST_FIXTURE_TEST_CASE(open_failure_names_path_and_cause, store_fixture) {
  auto path = settings().path;
  // LMDB cannot create its data file where a directory is in the way.
  fs::create_directories(fs::path{path} / "data.mdb");
  try {
    lmdb_store store{settings()};
    BOOST_FAIL("expected std::runtime_error");
  } catch (const std::runtime_error& error) {
    BOOST_TEST(contains(error.what(), path));
    BOOST_TEST(contains(error.what(), "Is a directory"));
  }
}

BOOST_FIXTURE_TEST_CASE(path_below_file_is_rejected, store_fixture) {
  auto file = dir.path / "plain-file";
  std::ofstream{file} << "not a directory";
  auto below_file = settings();
  below_file.path = (file / "data").string();
  try {
    lmdb_store store{below_file};
    BOOST_FAIL("expected std::runtime_error");
  } catch (const std::runtime_error& error) {
    BOOST_TEST(contains(error.what(), below_file.path));
  }
}

BOOST_FIXTURE_TEST_CASE(invalid_batch_fails_alone, store_fixture) {
  lmdb_store store{settings()};
  auto nameless = make_record("", make_key("acme", "w1"), 1);
  auto result = commit_and_wait(store, {put(nameless, 1)});
  BOOST_TEST(!result.ok);
  BOOST_TEST(contains(result.reason, "without a lock_id"));
  auto valid = make_record("lock-a", make_key("acme", "w1"), 1);
  BOOST_TEST(commit_and_wait(store, {put(valid, 1)}).ok);
  BOOST_TEST(store.load().locks.size() == 1u);
}

BOOST_FIXTURE_TEST_CASE(commit_after_close_fails, store_fixture) {
  lmdb_store store{settings()};
  store.close();
  store.close();
  auto result = commit_and_wait(store, {erase("lock-a")});
  BOOST_TEST(!result.ok);
  BOOST_TEST(result.reason == "store is closed");
  BOOST_CHECK_THROW(store.load(), std::runtime_error);
}

BOOST_FIXTURE_TEST_CASE(factory_creates_lmdb_store, store_fixture) {
  auto store = make_store_backend(settings());
  BOOST_REQUIRE(store != nullptr);
  BOOST_TEST(store->name() == "lmdb");
  BOOST_TEST(fs::exists(fs::path{settings().path} / "data.mdb"));
}
