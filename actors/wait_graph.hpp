#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "messages/deadlock.hpp"
#include "messages/lock_record.hpp"
#include "messages/priority.hpp"

namespace holdfast {

/// The wait-for graph between owners, kept as holders and waits per
/// resource. A wait of owner A for a resource that owner B holds is an edge
/// from A to B. Owners are nodes per tenant, so cycles never cross tenants.
/// Plain C++ without actors or clocks: callers pass the time, and the
/// deadlock detector actor owns one instance.
class wait_graph {
public:
  /// A cycle and the waits that form it: `members[i]` waits through the
  /// wait `waiter_ids[i]` on `members[i].key`.
  struct found_cycle {
    std::vector<cycle_member> members;
    std::vector<uint64_t> waiter_ids;
  };

  wait_graph() = default;

  // The graph keeps pointers into its own maps: a copy would point into
  // the original, while a move keeps them valid.
  wait_graph(const wait_graph&) = delete;
  wait_graph& operator=(const wait_graph&) = delete;
  wait_graph(wait_graph&&) = default;
  wait_graph& operator=(wait_graph&&) = default;

  /// Sets the holder of `key`; an empty `owner` frees it.
  void set_holder(const resource_key& key, const std::string& owner);

  /// Adds the wait `waiter_id` of `owner` on `key`. A second wait with
  /// the same key and id replaces the first.
  void add_wait(const resource_key& key, uint64_t waiter_id,
                const std::string& owner, priority level,
                int64_t enqueued_at_ms);

  /// Removes a wait; unknown waits are ignored.
  void remove_wait(const resource_key& key, uint64_t waiter_id);

  /// Excluded waits are left out of `find_cycles`, for example while the
  /// cycle they belong to is being resolved.
  void set_excluded(const resource_key& key, uint64_t waiter_id, bool excluded);

  /// Finds one cycle in every strongly connected component of the graph
  /// made of the waits that began at least `min_age_ms` before `now_ms`
  /// and are not excluded. Breaking each returned cycle and searching
  /// again finds the next cycle of the same component, if any. Runs in
  /// time linear in owners plus waits.
  std::vector<found_cycle> find_cycles(int64_t now_ms,
                                       int64_t min_age_ms) const;

  /// Returns the cycle that a new wait of `owner` on `key` would close,
  /// over all waits regardless of age or exclusion, or an empty cycle.
  /// The first member is `owner` waiting for `key`.
  found_cycle cycle_closed_by(const resource_key& key, const std::string& owner,
                              priority level, int64_t now_ms) const;

  /// Number of resources that `owner` of `tenant` holds.
  uint32_t locks_held(const std::string& tenant,
                      const std::string& owner) const;

  /// Owners that hold or wait for something.
  size_t owners() const noexcept;

  size_t waits() const noexcept;

private:
  // Implementation in wait_graph.cpp. Owners are interned to dense ids per
  // (tenant, owner) so that a search works on integer adjacency lists.
  struct wait_entry {
    uint32_t owner = 0;
    priority level = priority::medium;
    int64_t enqueued_at_ms = 0;
    bool excluded = false;
  };

  struct resource_node {
    /// Interned holder, or `no_owner`.
    uint32_t holder;
    std::unordered_map<uint64_t, wait_entry> waits;
  };

  using resource_map = std::unordered_map<resource_key, resource_node>;
  using wait_map = std::unordered_map<uint64_t, wait_entry>;

  /// One wait of an owner. Elements of an unordered_map keep their address
  /// until erased, and a wait is unlinked here before it is erased.
  struct wait_ref {
    resource_map::value_type* resource;
    wait_map::value_type* wait;
  };

  struct owner_node {
    std::string tenant;
    std::string owner;
    uint32_t locks_held = 0;
    /// Outgoing edges: the waits of this owner.
    std::vector<wait_ref> waits;
  };

  /// Adjacency in compressed rows: the edges of owner `u` are
  /// `edges[offsets[u]]` up to `edges[offsets[u + 1]]`.
  struct adjacency {
    struct edge {
      uint32_t target;
      const wait_ref* ref;
    };
    std::vector<uint32_t> offsets;
    std::vector<edge> edges;
  };

  static constexpr uint32_t no_owner = UINT32_MAX;

  uint32_t intern(const std::string& tenant, const std::string& owner);
  uint32_t find_owner(const std::string& tenant,
                      const std::string& owner) const;
  void release_owner_ref(uint32_t id);
  void unlink_wait(uint32_t owner, const wait_map::value_type* wait);
  void erase_if_unused(resource_map::iterator resource);

  adjacency build_adjacency(int64_t now_ms, int64_t min_age_ms) const;
  cycle_member make_member(const wait_ref& ref, int64_t now_ms) const;

  resource_map resources_;
  std::vector<owner_node> owners_;
  /// Keys made by `owner_key(tenant, owner)`.
  std::unordered_map<std::string, uint32_t> owner_ids_;
  /// Slots of released owners, reused before `owners_` grows, so that
  /// `owners_` stays as long as the peak number of live owners.
  std::vector<uint32_t> free_ids_;
  size_t wait_count_ = 0;

  /// Scratch space of `cycle_closed_by`, kept between calls so that a
  /// search costs what it visits rather than the size of the graph. This
  /// makes concurrent const calls on one graph unsafe.
  mutable std::vector<uint32_t> visit_stamp_;
  mutable std::vector<const wait_ref*> reached_by_;
  mutable std::vector<uint32_t> parent_;
  mutable uint32_t stamp_ = 0;
};

} // namespace holdfast
