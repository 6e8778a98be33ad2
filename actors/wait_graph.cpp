#include "actors/wait_graph.hpp"

#include <algorithm>

namespace holdfast {

namespace {

constexpr uint32_t unvisited = UINT32_MAX;

/// Returns the key of `owner_ids_`. The length prefix keeps tenant "a",
/// owner "bc" apart from tenant "ab", owner "c".
std::string owner_key(const std::string& tenant, const std::string& owner) {
  auto result = std::to_string(tenant.size());
  result.reserve(result.size() + 1 + tenant.size() + owner.size());
  result += ':';
  result += tenant;
  result += owner;
  return result;
}

} // namespace

// -- updates ------------------------------------------------------------------

void wait_graph::set_holder(const resource_key& key, const std::string& owner) {
  auto resource = resources_.find(key);
  if (owner.empty()) {
    if (resource == resources_.end() || resource->second.holder == no_owner)
      return;
    auto previous = resource->second.holder;
    resource->second.holder = no_owner;
    --owners_[previous].locks_held;
    release_owner_ref(previous);
    erase_if_unused(resource);
    return;
  }
  auto id = intern(key.tenant, owner);
  if (resource == resources_.end())
    resource = resources_.emplace(key, resource_node{no_owner, {}}).first;
  auto previous = resource->second.holder;
  if (previous == id)
    return;
  resource->second.holder = id;
  ++owners_[id].locks_held;
  if (previous != no_owner) {
    --owners_[previous].locks_held;
    release_owner_ref(previous);
  }
}

void wait_graph::add_wait(const resource_key& key, uint64_t waiter_id,
                          const std::string& owner, priority level,
                          int64_t enqueued_at_ms) {
  auto id = intern(key.tenant, owner);
  auto resource = resources_.find(key);
  if (resource == resources_.end())
    resource = resources_.emplace(key, resource_node{no_owner, {}}).first;
  auto [wait, added] = resource->second.waits.try_emplace(waiter_id);
  auto previous = wait->second.owner;
  wait->second = wait_entry{id, level, enqueued_at_ms, false};
  if (added) {
    owners_[id].waits.push_back(wait_ref{&*resource, &*wait});
    ++wait_count_;
    return;
  }
  if (previous == id)
    return;
  // The replacing wait belongs to another owner: move the edge over.
  unlink_wait(previous, &*wait);
  owners_[id].waits.push_back(wait_ref{&*resource, &*wait});
  release_owner_ref(previous);
}

void wait_graph::remove_wait(const resource_key& key, uint64_t waiter_id) {
  auto resource = resources_.find(key);
  if (resource == resources_.end())
    return;
  auto& waits = resource->second.waits;
  auto wait = waits.find(waiter_id);
  if (wait == waits.end())
    return;
  auto owner = wait->second.owner;
  unlink_wait(owner, &*wait);
  waits.erase(wait);
  --wait_count_;
  release_owner_ref(owner);
  erase_if_unused(resource);
}

void wait_graph::set_excluded(const resource_key& key, uint64_t waiter_id,
                              bool excluded) {
  auto resource = resources_.find(key);
  if (resource == resources_.end())
    return;
  auto wait = resource->second.waits.find(waiter_id);
  if (wait != resource->second.waits.end())
    wait->second.excluded = excluded;
}

// -- searches -----------------------------------------------------------------

std::vector<wait_graph::found_cycle>
wait_graph::find_cycles(int64_t now_ms, int64_t min_age_ms) const {
  auto graph = build_adjacency(now_ms, min_age_ms);
  const auto& offsets = graph.offsets;
  const auto& edges = graph.edges;
  auto count = static_cast<uint32_t>(owners_.size());

  // Tarjan's algorithm with an explicit call stack, because a recursion
  // as deep as a chain of 100,000 owners overflows the thread's stack. A
  // node that has an index but no component yet is on the SCC stack.
  std::vector<uint32_t> index(count, unvisited);
  std::vector<uint32_t> low(count, 0);
  std::vector<uint32_t> component(count, unvisited);
  std::vector<uint32_t> scc_stack;
  struct frame {
    uint32_t node;
    uint32_t next_edge;
  };
  std::vector<frame> calls;
  // One node of each component with at least two owners.
  std::vector<uint32_t> roots;
  uint32_t next_index = 0;
  uint32_t next_component = 0;
  auto visit = [&](uint32_t node) {
    index[node] = low[node] = next_index++;
    scc_stack.push_back(node);
    calls.push_back(frame{node, offsets[node]});
  };
  for (uint32_t start = 0; start < count; ++start) {
    // An owner without edges out is a component of its own.
    if (index[start] != unvisited || offsets[start] == offsets[start + 1])
      continue;
    visit(start);
    while (!calls.empty()) {
      auto& top = calls.back();
      auto node = top.node;
      if (top.next_edge < offsets[node + 1]) {
        auto target = edges[top.next_edge++].target;
        if (index[target] == unvisited)
          visit(target);
        else if (component[target] == unvisited)
          low[node] = std::min(low[node], index[target]);
        continue;
      }
      calls.pop_back();
      if (!calls.empty()) {
        auto parent = calls.back().node;
        low[parent] = std::min(low[parent], low[node]);
      }
      if (low[node] != index[node])
        continue;
      auto id = next_component++;
      uint32_t size = 0;
      uint32_t member;
      do {
        member = scc_stack.back();
        scc_stack.pop_back();
        component[member] = id;
        ++size;
      } while (member != node);
      if (size >= 2)
        roots.push_back(node);
    }
  }

  // Per component, a breadth-first search from its root within the
  // component finds a shortest cycle through the root. The searches of
  // different components touch disjoint nodes, so the component id marks
  // the nodes seen.
  std::vector<found_cycle> result;
  result.reserve(roots.size());
  std::vector<uint32_t> seen(count, unvisited);
  // The edge that reached each node and its source. Walking back through
  // `parent` instead of through the edges' waits keeps the walk in one
  // array rather than a chain of dependent loads from hash nodes.
  std::vector<const wait_ref*> reached_by(count, nullptr);
  std::vector<uint32_t> parent(count, unvisited);
  std::vector<uint32_t> queue;
  for (auto root : roots) {
    auto id = component[root];
    const wait_ref* closing = nullptr;
    uint32_t closing_source = unvisited;
    queue.clear();
    queue.push_back(root);
    seen[root] = id;
    for (size_t head = 0; head < queue.size() && closing == nullptr; ++head) {
      auto node = queue[head];
      for (auto e = offsets[node]; e < offsets[node + 1]; ++e) {
        auto target = edges[e].target;
        if (component[target] != id)
          continue;
        if (target == root) {
          closing = edges[e].ref;
          closing_source = node;
          break;
        }
        if (seen[target] == id)
          continue;
        seen[target] = id;
        reached_by[target] = edges[e].ref;
        parent[target] = node;
        queue.push_back(target);
      }
    }
    // Every node of a component of two or more has an edge from inside it,
    // so the search always closes the cycle.
    std::vector<const wait_ref*> path{closing};
    for (auto node = closing_source; node != root; node = parent[node])
      path.push_back(reached_by[node]);
    std::reverse(path.begin(), path.end());
    found_cycle cycle;
    cycle.members.reserve(path.size());
    cycle.waiter_ids.reserve(path.size());
    for (const auto* ref : path) {
      cycle.members.push_back(make_member(*ref, now_ms));
      cycle.waiter_ids.push_back(ref->wait->first);
    }
    result.push_back(std::move(cycle));
  }
  return result;
}

wait_graph::found_cycle wait_graph::cycle_closed_by(const resource_key& key,
                                                    const std::string& owner,
                                                    priority level,
                                                    int64_t now_ms) const {
  found_cycle result;
  auto resource = resources_.find(key);
  if (resource == resources_.end() || resource->second.holder == no_owner)
    return result;
  // An owner that holds nothing has no edges into it, so nothing that it
  // waits for can lead back to it.
  auto target = find_owner(key.tenant, owner);
  auto start = resource->second.holder;
  if (target == no_owner || start == target)
    return result;

  if (visit_stamp_.size() < owners_.size()) {
    visit_stamp_.resize(owners_.size(), 0);
    reached_by_.resize(owners_.size(), nullptr);
    parent_.resize(owners_.size(), 0);
  }
  if (++stamp_ == 0) {
    std::fill(visit_stamp_.begin(), visit_stamp_.end(), 0);
    stamp_ = 1;
  }
  std::vector<uint32_t> queue{start};
  visit_stamp_[start] = stamp_;
  bool found = false;
  for (size_t head = 0; head < queue.size() && !found; ++head) {
    auto node = queue[head];
    for (const auto& ref : owners_[node].waits) {
      auto holder = ref.resource->second.holder;
      if (holder == no_owner || visit_stamp_[holder] == stamp_)
        continue;
      visit_stamp_[holder] = stamp_;
      reached_by_[holder] = &ref;
      parent_[holder] = node;
      if (holder == target) {
        found = true;
        break;
      }
      queue.push_back(holder);
    }
  }
  if (!found)
    return result;

  std::vector<const wait_ref*> path;
  for (auto node = target; node != start; node = parent_[node])
    path.push_back(reached_by_[node]);
  std::reverse(path.begin(), path.end());
  result.members.reserve(path.size() + 1);
  result.waiter_ids.reserve(path.size() + 1);
  result.members.push_back(
      cycle_member{owner, key, level, 0, owners_[target].locks_held});
  result.waiter_ids.push_back(0);
  for (const auto* ref : path) {
    result.members.push_back(make_member(*ref, now_ms));
    result.waiter_ids.push_back(ref->wait->first);
  }
  return result;
}

// -- queries ------------------------------------------------------------------

uint32_t wait_graph::locks_held(const std::string& tenant,
                                const std::string& owner) const {
  auto id = find_owner(tenant, owner);
  return id == no_owner ? 0 : owners_[id].locks_held;
}

size_t wait_graph::owners() const noexcept {
  return owner_ids_.size();
}

size_t wait_graph::waits() const noexcept {
  return wait_count_;
}

// -- private ------------------------------------------------------------------

uint32_t wait_graph::intern(const std::string& tenant,
                            const std::string& owner) {
  auto [entry, added] = owner_ids_.try_emplace(owner_key(tenant, owner), 0);
  if (!added)
    return entry->second;
  uint32_t id;
  if (!free_ids_.empty()) {
    id = free_ids_.back();
    free_ids_.pop_back();
  } else {
    id = static_cast<uint32_t>(owners_.size());
    owners_.emplace_back();
  }
  owners_[id].tenant = tenant;
  owners_[id].owner = owner;
  entry->second = id;
  return id;
}

uint32_t wait_graph::find_owner(const std::string& tenant,
                                const std::string& owner) const {
  auto entry = owner_ids_.find(owner_key(tenant, owner));
  return entry == owner_ids_.end() ? no_owner : entry->second;
}

void wait_graph::release_owner_ref(uint32_t id) {
  auto& node = owners_[id];
  if (node.locks_held > 0 || !node.waits.empty())
    return;
  owner_ids_.erase(owner_key(node.tenant, node.owner));
  // Assigning a fresh node frees the strings and the edge list.
  node = owner_node{};
  free_ids_.push_back(id);
}

void wait_graph::unlink_wait(uint32_t owner, const wait_map::value_type* wait) {
  auto& waits = owners_[owner].waits;
  auto ref = std::find_if(waits.begin(), waits.end(),
                          [wait](const wait_ref& x) { return x.wait == wait; });
  if (ref == waits.end())
    return;
  *ref = waits.back();
  waits.pop_back();
}

void wait_graph::erase_if_unused(resource_map::iterator resource) {
  if (resource->second.holder == no_owner && resource->second.waits.empty())
    resources_.erase(resource);
}

wait_graph::adjacency wait_graph::build_adjacency(int64_t now_ms,
                                                  int64_t min_age_ms) const {
  adjacency graph;
  graph.offsets.resize(owners_.size() + 1);
  graph.edges.reserve(wait_count_);
  for (size_t node = 0; node < owners_.size(); ++node) {
    graph.offsets[node] = static_cast<uint32_t>(graph.edges.size());
    for (const auto& ref : owners_[node].waits) {
      const auto& wait = ref.wait->second;
      if (wait.excluded || now_ms - wait.enqueued_at_ms < min_age_ms)
        continue;
      auto holder = ref.resource->second.holder;
      if (holder == no_owner || holder == node)
        continue;
      graph.edges.push_back(adjacency::edge{holder, &ref});
    }
  }
  graph.offsets[owners_.size()] = static_cast<uint32_t>(graph.edges.size());
  return graph;
}

cycle_member wait_graph::make_member(const wait_ref& ref,
                                     int64_t now_ms) const {
  const auto& wait = ref.wait->second;
  const auto& node = owners_[wait.owner];
  return cycle_member{node.owner, ref.resource->first, wait.level,
                      now_ms - wait.enqueued_at_ms, node.locks_held};
}

} // namespace holdfast
