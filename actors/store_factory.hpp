#pragma once

#include <cstddef>
#include <string>

#include "actors/store_backend.hpp"

namespace holdfast {

/// Configuration of the storage backend.
struct store_settings {
  /// Backend name: "lmdb" (durable) or "memory" (tests only, nothing
  /// survives a restart).
  std::string backend = "lmdb";
  /// Directory of the LMDB environment, created with its parents if missing.
  std::string path = "var/data";
  /// Maximum size of the LMDB memory map in MiB. A commit that needs more
  /// space fails with MDB_MAP_FULL.
  size_t map_size_mb = 1024;
  /// Whether a commit waits until its data is flushed to disk before its
  /// callback runs. Without it, a machine crash may lose the latest commits.
  bool sync = true;
};

/// Returns why `batch` cannot be stored, or an empty string when every
/// mutation is valid. Backends reject the whole batch in that case.
std::string find_invalid_mutation(const store_batch& batch);

/// Creates and opens the backend named by `settings.backend`. Throws
/// std::invalid_argument for an unknown name and std::runtime_error when the
/// backend fails to open.
store_backend_ptr make_store_backend(const store_settings& settings);

} // namespace holdfast
