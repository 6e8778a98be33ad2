#include "actors/store_backend.hpp"

#include <stdexcept>

#include "actors/lmdb_store.hpp"
#include "actors/memory_store.hpp"
#include "actors/store_factory.hpp"

namespace holdfast {

store_backend::~store_backend() = default;

std::string find_invalid_mutation(const store_batch& batch) {
  for (size_t index = 0; index < batch.size(); ++index) {
    const auto& mutation = batch[index];
    // A lock is stored under its id, so a put without one has no key.
    if (mutation.action == store_mutation::kind::put_lock
        && mutation.record.lock_id.empty())
      return "mutation " + std::to_string(index) + " of the batch puts a lock "
             + "on " + to_string(mutation.record.key) + " without a lock_id";
    bool owner_change = mutation.action == store_mutation::kind::close_owner
                        || mutation.action
                             == store_mutation::kind::reopen_owner;
    if (owner_change && mutation.record.owner.empty())
      return "mutation " + std::to_string(index)
             + " of the batch changes an owner without naming it";
  }
  return {};
}

store_backend_ptr make_store_backend(const store_settings& settings) {
  if (settings.backend == "lmdb")
    return std::make_unique<lmdb_store>(settings);
  if (settings.backend == "memory")
    return std::make_unique<memory_store>();
  throw std::invalid_argument("unknown store backend '" + settings.backend
                              + "': expected 'lmdb' or 'memory'");
}

} // namespace holdfast
