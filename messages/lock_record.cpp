#include "messages/lock_record.hpp"

namespace holdfast {

std::string to_string(const resource_key& key) {
  std::string result;
  result.reserve(key.tenant.size() + key.project.size()
                 + key.workspace.size() + 2);
  result += key.tenant;
  result += '/';
  result += key.project;
  result += '/';
  result += key.workspace;
  return result;
}

bool operator==(const lock_record& x, const lock_record& y) {
  return x.lock_id == y.lock_id && x.key == y.key && x.owner == y.owner
         && x.user == y.user && x.level == y.level && x.token == y.token
         && x.acquired_at_ms == y.acquired_at_ms
         && x.expires_at_ms == y.expires_at_ms && x.ttl_ms == y.ttl_ms
         && x.metadata == y.metadata;
}

lock_record without_lock_id(lock_record record) {
  record.lock_id.clear();
  return record;
}

} // namespace holdfast

size_t std::hash<holdfast::resource_key>::operator()(
  const holdfast::resource_key& key) const noexcept {
  std::hash<std::string> hash_string;
  size_t seed = hash_string(key.tenant);
  seed ^= hash_string(key.project) + 0x9e3779b97f4a7c15ULL + (seed << 6)
          + (seed >> 2);
  seed ^= hash_string(key.workspace) + 0x9e3779b97f4a7c15ULL + (seed << 6)
          + (seed >> 2);
  return seed;
}
