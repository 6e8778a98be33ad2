#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "actors/store_backend.hpp"
#include "actors/store_factory.hpp"

struct MDB_env;
struct MDB_txn;

namespace spdlog {
class logger;
} // namespace spdlog

namespace holdfast {

/// Durable store in an LMDB environment, with group commit.
///
/// The environment holds three named databases: `locks` (lock_id to an
/// encoded lock_record), `tokens` (encoded resource key to its token counter)
/// and `meta` (the schema version). `commit` only queues a batch. One writer
/// thread writes every queued batch in a single transaction, so concurrent
/// committers share one disk sync, and then runs the callbacks in submission
/// order. An exclusive lock on `store.lock` in the directory keeps a second
/// store, in this process or another, from opening the same environment.
class lmdb_store final : public store_backend {
public:
  /// Maximum number of mutations that the writer thread combines into one
  /// transaction, so that a large backlog stays far below LMDB's limit on
  /// dirty pages (MDB_TXN_FULL). A larger single batch still gets its own.
  static constexpr size_t max_group_mutations = 8192;

  /// Opens or creates the environment in `settings.path` and starts the
  /// writer thread. Throws std::runtime_error naming the path and the cause
  /// when the directory, the lock file or the environment fails to open.
  explicit lmdb_store(const store_settings& settings);

  lmdb_store(const lmdb_store&) = delete;
  lmdb_store& operator=(const lmdb_store&) = delete;

  /// Calls `close`. Must not run on the writer thread (in a commit callback).
  ~lmdb_store() override;

  /// Reads every lock and token counter. Undecodable entries are logged and
  /// skipped. Each counter is raised to at least the highest token of the
  /// recovered locks of its resource. Throws std::runtime_error after
  /// `close` or when LMDB fails to read.
  recovered_state load() override;

  void commit(store_batch batch, commit_callback done) override;

  /// Completes every queued batch, stops the writer thread and closes the
  /// environment. Called from a commit callback, it only stops accepting
  /// batches, because the writer thread cannot wait for itself.
  void close() override;

  std::string name() const override;

  /// Number of batches committed successfully.
  uint64_t batches() const noexcept;

  /// Number of batches that failed and were not applied.
  uint64_t failed_batches() const noexcept;

  /// Number of write transactions committed by the writer thread. Far below
  /// `batches()` when group commit combines concurrent batches.
  uint64_t transactions() const noexcept;

private:
  struct pending_batch {
    uint64_t sequence = 0;
    store_batch batch;
    commit_callback done;
    bool ok = false;
    std::string reason;
  };

  using pending_iterator = std::vector<pending_batch>::iterator;

  void open_lock_file();
  void open_environment(size_t map_size_mb, bool sync);
  void check_schema(MDB_txn* txn);
  void release_resources() noexcept;
  [[noreturn]] void fail_open(std::string_view step, int code);

  void run_writer();
  // Moves the oldest queued batches into `group`, up to
  // max_group_mutations. Requires queue_mutex_.
  void take_group(std::vector<pending_batch>& group);
  void write_group(std::vector<pending_batch>& group);
  std::string write_batches(pending_iterator first, pending_iterator last);
  std::string apply(MDB_txn* txn, const store_mutation& mutation);
  void finish(pending_batch& pending);

  std::string path_;
  std::shared_ptr<spdlog::logger> log_;
  int lock_file_ = -1;
  MDB_env* env_ = nullptr;
  // LMDB database handles (MDB_dbi, an unsigned int).
  unsigned int locks_db_ = 0;
  unsigned int tokens_db_ = 0;
  unsigned int meta_db_ = 0;
  /// Closed owners: key tenant + '\0' + owner, empty value.
  unsigned int owners_db_ = 0;

  // Queue shared by `commit` and the writer thread.
  std::mutex queue_mutex_;
  std::condition_variable queue_ready_;
  std::vector<pending_batch> queue_;
  uint64_t next_sequence_ = 0;
  bool closing_ = false;

  // Serializes `close` and `load`, which both use `env_`.
  std::mutex env_mutex_;
  std::thread writer_;
  // Set once in the constructor, so `close` can read it without a lock.
  std::thread::id writer_id_;

  std::atomic<uint64_t> batches_{0};
  std::atomic<uint64_t> failed_batches_{0};
  std::atomic<uint64_t> transactions_{0};
};

} // namespace holdfast
