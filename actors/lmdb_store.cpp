#include "actors/lmdb_store.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <stdexcept>
#include <type_traits>
#include <unordered_map>
#include <utility>

#include <fcntl.h>
#include <lmdb.h>
#include <sys/file.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "actors/lmdb_format.hpp"
#include "actors/logger.hpp"

namespace holdfast {

static_assert(std::is_same_v<MDB_dbi, unsigned int>,
              "lmdb_store.hpp stores database handles as unsigned int");

namespace {

constexpr const char* lock_file_name = "store.lock";
constexpr const char* schema_key = "schema_version";

MDB_val to_val(std::string_view bytes) {
  return MDB_val{bytes.size(), const_cast<char*>(bytes.data())};
}

std::string_view to_view(const MDB_val& val) {
  return {static_cast<const char*>(val.mv_data), val.mv_size};
}

// Escapes bytes that are not printable ASCII, because a corrupt key may
// contain anything.
std::string printable(std::string_view bytes) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string result;
  for (unsigned char c : bytes) {
    if (std::isprint(c) && c != '\\') {
      result += static_cast<char>(c);
    } else {
      result += "\\x";
      result += hex[c >> 4];
      result += hex[c & 0xf];
    }
  }
  return result;
}

std::string describe(int code) {
  return mdb_strerror(code);
}

} // namespace

// -- opening ------------------------------------------------------------------

lmdb_store::lmdb_store(const store_settings& settings)
    : path_(settings.path), log_(logger("store")) {
  try {
    std::error_code error;
    std::filesystem::create_directories(path_, error);
    if (error)
      throw std::runtime_error("failed to create the store directory '" + path_
                               + "': " + error.message());
    open_lock_file();
    open_environment(settings.map_size_mb, settings.sync);
    writer_ = std::thread{[this] { run_writer(); }};
    writer_id_ = writer_.get_id();
  } catch (...) {
    release_resources();
    throw;
  }
  log_->info("opened LMDB store at '{}' (map size {} MiB, sync {})", path_,
             settings.map_size_mb, settings.sync ? "on" : "off");
}

void lmdb_store::open_lock_file() {
  auto file = (std::filesystem::path{path_} / lock_file_name).string();
  lock_file_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_file_ < 0)
    throw std::runtime_error("failed to open the store lock file '" + file
                             + "': " + describe(errno));
  // flock conflicts between two open() calls even in one process, which
  // LMDB's own locks do not detect.
  if (::flock(lock_file_, LOCK_EX | LOCK_NB) != 0) {
    auto code = errno;
    if (code == EWOULDBLOCK)
      throw std::runtime_error("the store at '" + path_
                               + "' is already open in another process or "
                                 "store instance ("
                               + describe(code)
                               + "): stop it or choose another path");
    throw std::runtime_error("failed to lock '" + file
                             + "': " + describe(code));
  }
}

void lmdb_store::fail_open(std::string_view step, int code) {
  throw std::runtime_error("failed to open the LMDB store at '" + path_
                           + "': " + std::string{step} + ": " + describe(code));
}

void lmdb_store::open_environment(size_t map_size_mb, bool sync) {
  constexpr size_t max_map_size_mb = SIZE_MAX >> 20;
  if (map_size_mb == 0 || map_size_mb > max_map_size_mb)
    throw std::runtime_error(
        "invalid map size of " + std::to_string(map_size_mb)
        + " MiB for the store at '" + path_ + "': expected 1 to "
        + std::to_string(max_map_size_mb));
  if (auto rc = mdb_env_create(&env_); rc != 0)
    fail_open("mdb_env_create", rc);
  if (auto rc = mdb_env_set_maxdbs(env_, 4); rc != 0)
    fail_open("mdb_env_set_maxdbs", rc);
  if (auto rc = mdb_env_set_mapsize(env_, map_size_mb << 20); rc != 0)
    fail_open("mdb_env_set_mapsize", rc);
  // Without MDB_NOSYNC, mdb_txn_commit returns only after the data is
  // flushed to disk (fdatasync).
  unsigned int flags = sync ? 0 : MDB_NOSYNC;
  if (auto rc = mdb_env_open(env_, path_.c_str(), flags, 0644); rc != 0)
    fail_open("mdb_env_open", rc);
  // Reader slots left by a crashed process keep old pages from being reused
  // until they are cleared.
  int stale_readers = 0;
  if (mdb_reader_check(env_, &stale_readers) == 0 && stale_readers > 0)
    log_->warn("cleared {} stale reader slots in '{}'", stale_readers, path_);

  MDB_txn* txn = nullptr;
  if (auto rc = mdb_txn_begin(env_, nullptr, 0, &txn); rc != 0)
    fail_open("mdb_txn_begin", rc);
  try {
    if (auto rc = mdb_dbi_open(txn, "locks", MDB_CREATE, &locks_db_); rc != 0)
      fail_open("opening database 'locks'", rc);
    if (auto rc = mdb_dbi_open(txn, "tokens", MDB_CREATE, &tokens_db_); rc != 0)
      fail_open("opening database 'tokens'", rc);
    if (auto rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &meta_db_); rc != 0)
      fail_open("opening database 'meta'", rc);
    if (auto rc = mdb_dbi_open(txn, "owners", MDB_CREATE, &owners_db_);
        rc != 0)
      fail_open("opening database 'owners'", rc);
    check_schema(txn);
  } catch (...) {
    mdb_txn_abort(txn);
    throw;
  }
  if (auto rc = mdb_txn_commit(txn); rc != 0)
    fail_open("mdb_txn_commit", rc);
}

void lmdb_store::check_schema(MDB_txn* txn) {
  auto key = to_val(schema_key);
  MDB_val value;
  auto rc = mdb_get(txn, meta_db_, &key, &value);
  if (rc == MDB_NOTFOUND) {
    auto bytes = encode_schema_value(lmdb_schema_version);
    auto new_value = to_val(bytes);
    if (rc = mdb_put(txn, meta_db_, &key, &new_value, 0); rc != 0)
      fail_open("writing the schema version", rc);
    return;
  }
  if (rc != 0)
    fail_open("reading the schema version", rc);
  uint64_t version = 0;
  try {
    version = decode_schema_value(to_view(value));
  } catch (const lmdb_format_error& error) {
    throw std::runtime_error("failed to open the LMDB store at '" + path_
                             + "': undecodable schema version: "
                             + error.what());
  }
  if (version != lmdb_schema_version)
    throw std::runtime_error(
        "failed to open the LMDB store at '" + path_
        + "': it has schema version " + std::to_string(version)
        + " but this build reads only version "
        + std::to_string(lmdb_schema_version)
        + ": run the holdfast release that wrote it or choose another path");
}

void lmdb_store::release_resources() noexcept {
  if (env_ != nullptr) {
    mdb_env_close(env_);
    env_ = nullptr;
  }
  if (lock_file_ >= 0) {
    // Closing the descriptor releases the flock.
    ::close(lock_file_);
    lock_file_ = -1;
  }
}

// -- closing ------------------------------------------------------------------

lmdb_store::~lmdb_store() {
  close();
}

void lmdb_store::close() {
  {
    std::lock_guard<std::mutex> guard{queue_mutex_};
    closing_ = true;
  }
  queue_ready_.notify_one();
  if (std::this_thread::get_id() == writer_id_)
    return;
  std::lock_guard<std::mutex> guard{env_mutex_};
  if (writer_.joinable())
    writer_.join();
  if (env_ == nullptr)
    return;
  release_resources();
  log_->info("closed LMDB store at '{}' ({} batches committed in {} "
             "transactions, {} failed)",
             path_, batches(), transactions(), failed_batches());
}

std::string lmdb_store::name() const {
  return "lmdb";
}

uint64_t lmdb_store::batches() const noexcept {
  return batches_.load();
}

uint64_t lmdb_store::failed_batches() const noexcept {
  return failed_batches_.load();
}

uint64_t lmdb_store::transactions() const noexcept {
  return transactions_.load();
}

// -- loading ------------------------------------------------------------------

recovered_state lmdb_store::load() {
  std::lock_guard<std::mutex> guard{env_mutex_};
  if (env_ == nullptr)
    throw std::runtime_error("failed to load the LMDB store at '" + path_
                             + "': store is closed");
  auto fail = [this](std::string_view step, int code) {
    throw std::runtime_error("failed to load the LMDB store at '" + path_
                             + "': " + std::string{step} + ": "
                             + describe(code));
  };
  MDB_txn* txn = nullptr;
  if (auto rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn); rc != 0)
    fail("mdb_txn_begin", rc);
  // Aborting ends the read transaction on every path, including throws.
  std::unique_ptr<MDB_txn, void (*)(MDB_txn*)> txn_guard{txn, mdb_txn_abort};

  recovered_state state;
  size_t skipped = 0;
  MDB_cursor* cursor = nullptr;
  MDB_val key;
  MDB_val value;

  if (auto rc = mdb_cursor_open(txn, locks_db_, &cursor); rc != 0)
    fail("opening a cursor on 'locks'", rc);
  auto rc = mdb_cursor_get(cursor, &key, &value, MDB_FIRST);
  for (; rc == 0; rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT)) {
    try {
      auto record = decode_lock_value(to_view(value));
      if (record.lock_id != to_view(key))
        throw lmdb_format_error("the value belongs to lock '"
                                + printable(record.lock_id) + "'");
      state.locks.push_back(std::move(record));
    } catch (const lmdb_format_error& error) {
      ++skipped;
      log_->error("skipped undecodable lock '{}' ({} bytes) in '{}': {}",
                  printable(to_view(key)), value.mv_size, path_, error.what());
    }
  }
  mdb_cursor_close(cursor);
  if (rc != MDB_NOTFOUND)
    fail("reading 'locks'", rc);

  if (rc = mdb_cursor_open(txn, tokens_db_, &cursor); rc != 0)
    fail("opening a cursor on 'tokens'", rc);
  rc = mdb_cursor_get(cursor, &key, &value, MDB_FIRST);
  for (; rc == 0; rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT)) {
    try {
      auto resource = decode_token_key(to_view(key));
      state.token_counters[resource] = decode_counter_value(to_view(value));
    } catch (const lmdb_format_error& error) {
      ++skipped;
      log_->error("skipped undecodable token counter '{}' in '{}': {}",
                  printable(to_view(key)), path_, error.what());
    }
  }
  mdb_cursor_close(cursor);
  if (rc != MDB_NOTFOUND)
    fail("reading 'tokens'", rc);

  if (rc = mdb_cursor_open(txn, owners_db_, &cursor); rc != 0)
    fail("opening a cursor on 'owners'", rc);
  rc = mdb_cursor_get(cursor, &key, &value, MDB_FIRST);
  for (; rc == 0; rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT)) {
    try {
      auto owner = decode_token_key(to_view(key));
      state.closed_owners.emplace_back(owner.tenant, owner.project);
    } catch (const lmdb_format_error& error) {
      ++skipped;
      log_->error("skipped undecodable closed owner '{}' in '{}': {}",
                  printable(to_view(key)), path_, error.what());
    }
  }
  mdb_cursor_close(cursor);
  if (rc != MDB_NOTFOUND)
    fail("reading 'owners'", rc);

  // Every put writes the counter with the lock, so a counter below a token
  // means a skipped or damaged counter entry.
  for (const auto& record : state.locks) {
    auto& counter = state.token_counters[record.key];
    if (counter < record.token) {
      log_->warn("raised the token counter of {} from {} to {}, the token of "
                 "lock '{}'",
                 to_string(record.key), counter, record.token, record.lock_id);
      counter = record.token;
    }
  }
  log_->info("loaded {} locks and {} token counters from '{}' ({} "
             "undecodable entries skipped)",
             state.locks.size(), state.token_counters.size(), path_, skipped);
  return state;
}

// -- writing ------------------------------------------------------------------

void lmdb_store::commit(store_batch batch, commit_callback done) {
  {
    std::lock_guard<std::mutex> guard{queue_mutex_};
    if (!closing_) {
      pending_batch pending;
      pending.sequence = next_sequence_++;
      pending.batch = std::move(batch);
      pending.done = std::move(done);
      queue_.push_back(std::move(pending));
      done = nullptr;
    }
  }
  if (done) {
    log_->error("rejected a batch of {} mutations for '{}': store is closed",
                batch.size(), path_);
    // Rejected outside the lock so that the callback may call the store.
    done(false, "store is closed");
    return;
  }
  queue_ready_.notify_one();
}

void lmdb_store::run_writer() {
  std::vector<pending_batch> group;
  for (;;) {
    {
      std::unique_lock<std::mutex> guard{queue_mutex_};
      queue_ready_.wait(guard, [this] { return closing_ || !queue_.empty(); });
      if (queue_.empty())
        return; // Closing, and every batch is done.
      take_group(group);
    }
    // Batches that arrive from here on wait for the next transaction, which
    // is how concurrent committers share one sync.
    write_group(group);
    for (auto& pending : group)
      finish(pending);
    group.clear();
  }
}

void lmdb_store::take_group(std::vector<pending_batch>& group) {
  size_t mutations = 0;
  auto end = queue_.begin();
  // The first batch always goes in, however large it is.
  do {
    mutations += end->batch.size();
    ++end;
  } while (end != queue_.end()
           && mutations + end->batch.size() <= max_group_mutations);
  if (end == queue_.end()) {
    group.swap(queue_);
    return;
  }
  group.assign(std::make_move_iterator(queue_.begin()),
               std::make_move_iterator(end));
  queue_.erase(queue_.begin(), end);
}

void lmdb_store::write_group(std::vector<pending_batch>& group) {
  auto error = write_batches(group.begin(), group.end());
  if (error.empty()) {
    for (auto& pending : group)
      pending.ok = true;
    return;
  }
  if (group.size() == 1) {
    group.front().reason = std::move(error);
    return;
  }
  // Retrying one by one finds the failing batches and still commits the
  // others, at the cost of one sync per batch.
  log_->warn("combined transaction of {} batches failed in '{}', retrying "
             "them one at a time: {}",
             group.size(), path_, error);
  for (auto i = group.begin(); i != group.end(); ++i) {
    i->reason = write_batches(i, i + 1);
    i->ok = i->reason.empty();
  }
}

std::string lmdb_store::write_batches(pending_iterator first,
                                      pending_iterator last) {
  MDB_txn* txn = nullptr;
  if (auto rc = mdb_txn_begin(env_, nullptr, 0, &txn); rc != 0)
    return "failed to begin a write transaction: " + describe(rc);
  for (auto i = first; i != last; ++i) {
    auto error = find_invalid_mutation(i->batch);
    for (auto j = i->batch.begin(); error.empty() && j != i->batch.end(); ++j)
      error = apply(txn, *j);
    if (!error.empty()) {
      mdb_txn_abort(txn);
      return error;
    }
  }
  // mdb_txn_commit frees the transaction even when it fails.
  if (auto rc = mdb_txn_commit(txn); rc != 0)
    return "failed to commit the write transaction: " + describe(rc);
  ++transactions_;
  return {};
}

std::string lmdb_store::apply(MDB_txn* txn, const store_mutation& mutation) {
  const auto& record = mutation.record;

  // Owner keys reuse the resource key layout with the owner as project.
  bool closes = mutation.action == store_mutation::kind::close_owner;
  if (closes || mutation.action == store_mutation::kind::reopen_owner) {
    auto owner_bytes = encode_token_key({record.key.tenant, record.owner, {}});
    auto owner_key = to_val(owner_bytes);
    MDB_val empty{0, nullptr};
    auto rc = closes ? mdb_put(txn, owners_db_, &owner_key, &empty, 0)
                     : mdb_del(txn, owners_db_, &owner_key, nullptr);
    if (rc != 0 && rc != MDB_NOTFOUND)
      return "failed to update owner '" + record.owner + "' of tenant '"
             + record.key.tenant + "': " + describe(rc);
    return {};
  }

  auto id = to_val(record.lock_id);
  if (mutation.action == store_mutation::kind::erase_lock) {
    if (record.lock_id.empty())
      return {}; // Nothing is stored under an empty id.
    auto rc = mdb_del(txn, locks_db_, &id, nullptr);
    if (rc != 0 && rc != MDB_NOTFOUND)
      return "failed to erase lock '" + record.lock_id + "': " + describe(rc);
    return {};
  }

  auto encoded = encode_lock_value(record);
  auto value = to_val(encoded);
  if (auto rc = mdb_put(txn, locks_db_, &id, &value, 0); rc != 0)
    return "failed to put lock '" + record.lock_id + "' on "
           + to_string(record.key) + ": " + describe(rc);

  auto token_key_bytes = encode_token_key(record.key);
  auto token_key = to_val(token_key_bytes);
  MDB_val stored;
  auto rc = mdb_get(txn, tokens_db_, &token_key, &stored);
  if (rc == 0) {
    try {
      if (decode_counter_value(to_view(stored)) >= mutation.token_counter)
        return {}; // Counters never go down.
    } catch (const lmdb_format_error& error) {
      log_->warn("overwriting the undecodable token counter of {} in '{}' "
                 "with {}: {}",
                 to_string(record.key), path_, mutation.token_counter,
                 error.what());
    }
  } else if (rc != MDB_NOTFOUND) {
    return "failed to read the token counter of " + to_string(record.key) + ": "
           + describe(rc);
  }
  auto counter_bytes = encode_counter_value(mutation.token_counter);
  auto counter = to_val(counter_bytes);
  if (rc = mdb_put(txn, tokens_db_, &token_key, &counter, 0); rc != 0)
    return "failed to write the token counter of " + to_string(record.key)
           + ": " + describe(rc);
  return {};
}

void lmdb_store::finish(pending_batch& pending) {
  if (pending.ok) {
    ++batches_;
  } else {
    ++failed_batches_;
    auto first_lock = pending.batch.empty()
                          ? std::string{"none"}
                          : printable(pending.batch.front().record.lock_id);
    log_->error("commit of batch {} to '{}' failed: {} (mutations: {}, "
                "first lock '{}')",
                pending.sequence, path_, pending.reason, pending.batch.size(),
                first_lock);
  }
  if (!pending.done)
    return;
  // A throwing callback must not end the writer thread, or every later
  // commit would hang.
  try {
    pending.done(pending.ok, pending.reason);
  } catch (const std::exception& error) {
    log_->error("callback of batch {} in '{}' threw: {}", pending.sequence,
                path_, error.what());
  } catch (...) {
    log_->error("callback of batch {} in '{}' threw a non-standard exception",
                pending.sequence, path_);
  }
}

} // namespace holdfast
