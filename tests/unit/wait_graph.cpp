#include "actors/wait_graph.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

using namespace holdfast;

namespace {

constexpr int64_t start_ms = 1'000'000;

struct graph_fixture {
  wait_graph graph;
  uint64_t next_waiter = 1;

  /// The resource that `owner` holds in these tests.
  static resource_key key_of(const std::string& owner,
                             const std::string& tenant = "default") {
    return resource_key{tenant, "infra", "res-" + owner};
  }

  /// Makes `owner` hold its resource and wait for the resource of `next`,
  /// which `next` holds. Returns the waiter id.
  uint64_t link(const std::string& owner, const std::string& next,
                int64_t enqueued_at_ms = start_ms,
                const std::string& tenant = "default") {
    graph.set_holder(key_of(owner, tenant), owner);
    graph.set_holder(key_of(next, tenant), next);
    auto id = next_waiter++;
    graph.add_wait(key_of(next, tenant), id, owner, priority::medium,
                   enqueued_at_ms);
    return id;
  }

  /// Links `owners` in a ring: each waits for the next, the last for the
  /// first. Returns the waiter ids in the same order.
  std::vector<uint64_t> ring(const std::vector<std::string>& owners,
                             int64_t enqueued_at_ms = start_ms) {
    std::vector<uint64_t> ids;
    for (size_t i = 0; i < owners.size(); ++i)
      ids.push_back(
          link(owners[i], owners[(i + 1) % owners.size()], enqueued_at_ms));
    return ids;
  }

  static std::vector<std::string> names(const std::string& prefix,
                                        size_t count) {
    std::vector<std::string> result;
    for (size_t i = 0; i < count; ++i)
      result.push_back(prefix + std::to_string(i));
    return result;
  }
};

std::vector<std::string> sorted_owners(const wait_graph::found_cycle& cycle) {
  std::vector<std::string> result;
  for (const auto& member : cycle.members)
    result.push_back(member.owner);
  std::sort(result.begin(), result.end());
  return result;
}

/// Checks that `cycle` contains exactly `expected` in wait order: every
/// member waits for the resource of the next one, as `link` sets them up.
void check_cycle(const wait_graph::found_cycle& cycle,
                 std::vector<std::string> expected) {
  std::sort(expected.begin(), expected.end());
  BOOST_TEST(sorted_owners(cycle) == expected);
  BOOST_TEST(cycle.waiter_ids.size() == cycle.members.size());
  const auto& members = cycle.members;
  for (size_t i = 0; i < members.size(); ++i) {
    const auto& next = members[(i + 1) % members.size()];
    BOOST_TEST(to_string(members[i].key)
                   == to_string(graph_fixture::key_of(next.owner)),
               members[i].owner << " waits for " << to_string(members[i].key)
                                << ", not for the resource of " << next.owner);
  }
}

/// A slow and obvious model of the graph for the randomized test: plain
/// maps, and reachability by transitive closure.
struct reference_model {
  struct wait {
    std::string owner;
    int64_t enqueued_at_ms = 0;
    bool excluded = false;
  };

  using owner_id = std::pair<std::string, std::string>;

  std::map<resource_key, std::string> holders;
  std::map<std::pair<resource_key, uint64_t>, wait> waits;

  std::set<owner_id> owners() const {
    std::set<owner_id> result;
    for (const auto& [key, holder] : holders)
      result.emplace(key.tenant, holder);
    for (const auto& [id, entry] : waits)
      result.emplace(id.first.tenant, entry.owner);
    return result;
  }

  std::string holder_of(const resource_key& key) const {
    auto holder = holders.find(key);
    return holder == holders.end() ? std::string{} : holder->second;
  }

  uint32_t locks_held(const std::string& tenant,
                      const std::string& owner) const {
    uint32_t result = 0;
    for (const auto& [key, holder] : holders)
      result += key.tenant == tenant && holder == owner ? 1 : 0;
    return result;
  }

  /// Returns `reach[a][b]`: b is reachable from a over one or more edges
  /// of the waits that `use` accepts.
  template <class Filter>
  std::map<owner_id, std::set<owner_id>> reachability(Filter use) const {
    std::map<owner_id, std::set<owner_id>> reach;
    for (const auto& [id, entry] : waits) {
      auto holder = holders.find(id.first);
      if (holder == holders.end() || holder->second == entry.owner
          || !use(entry))
        continue;
      reach[{id.first.tenant, entry.owner}].emplace(id.first.tenant,
                                                    holder->second);
    }
    bool changed = true;
    while (changed) {
      changed = false;
      for (auto& [from, targets] : reach) {
        auto before = targets.size();
        std::set<owner_id> added;
        for (const auto& middle : targets) {
          auto next = reach.find(middle);
          if (next != reach.end())
            added.insert(next->second.begin(), next->second.end());
        }
        targets.insert(added.begin(), added.end());
        changed = changed || targets.size() != before;
      }
    }
    return reach;
  }
};

bool reaches(const std::map<reference_model::owner_id,
                            std::set<reference_model::owner_id>>& reach,
             const reference_model::owner_id& from,
             const reference_model::owner_id& to) {
  auto targets = reach.find(from);
  return targets != reach.end() && targets->second.count(to) > 0;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(wait_graph_cycles, graph_fixture)

BOOST_AUTO_TEST_CASE(two_owner_cycle) {
  auto ids = ring({"a", "b"});

  auto cycles = graph.find_cycles(start_ms + 250, 0);

  BOOST_TEST_REQUIRE(cycles.size() == 1u);
  check_cycle(cycles[0], {"a", "b"});
  for (size_t i = 0; i < cycles[0].members.size(); ++i) {
    const auto& member = cycles[0].members[i];
    auto expected_id = member.owner == "a" ? ids[0] : ids[1];
    BOOST_TEST(cycles[0].waiter_ids[i] == expected_id);
    BOOST_TEST(member.waited_ms == 250);
    BOOST_TEST(member.locks_held == 1u);
    BOOST_TEST(static_cast<int>(member.level)
               == static_cast<int>(priority::medium));
  }
}

BOOST_AUTO_TEST_CASE(three_owner_cycle) {
  ring({"a", "b", "c"});

  auto cycles = graph.find_cycles(start_ms, 0);

  BOOST_TEST_REQUIRE(cycles.size() == 1u);
  check_cycle(cycles[0], {"a", "b", "c"});
}

BOOST_AUTO_TEST_CASE(ten_owner_cycle) {
  auto owners = names("o", 10);
  ring(owners);

  auto cycles = graph.find_cycles(start_ms, 0);

  BOOST_TEST_REQUIRE(cycles.size() == 1u);
  check_cycle(cycles[0], owners);
}

BOOST_AUTO_TEST_CASE(member_level_and_age_per_wait) {
  graph.set_holder(key_of("a"), "a");
  graph.set_holder(key_of("b"), "b");
  graph.add_wait(key_of("b"), 7, "a", priority::high, start_ms - 100);
  graph.add_wait(key_of("a"), 8, "b", priority::low, start_ms - 300);

  auto cycles = graph.find_cycles(start_ms, 0);

  BOOST_TEST_REQUIRE(cycles.size() == 1u);
  for (size_t i = 0; i < cycles[0].members.size(); ++i) {
    const auto& member = cycles[0].members[i];
    bool is_a = member.owner == "a";
    BOOST_TEST(cycles[0].waiter_ids[i] == (is_a ? 7u : 8u));
    BOOST_TEST(member.waited_ms == (is_a ? 100 : 300));
    BOOST_TEST(static_cast<int>(member.level)
               == static_cast<int>(is_a ? priority::high : priority::low));
  }
}

BOOST_AUTO_TEST_CASE(two_disjoint_cycles_in_one_call) {
  ring({"a", "b"});
  ring({"x", "y", "z"});
  link("tail", "a");

  auto cycles = graph.find_cycles(start_ms, 0);

  BOOST_TEST_REQUIRE(cycles.size() == 2u);
  auto small = cycles[0].members.size() == 2 ? 0 : 1;
  check_cycle(cycles[small], {"a", "b"});
  check_cycle(cycles[1 - small], {"x", "y", "z"});
}

BOOST_AUTO_TEST_CASE(chain_of_1000_has_no_cycle) {
  auto owners = names("o", 1000);
  for (size_t i = 0; i + 1 < owners.size(); ++i)
    link(owners[i], owners[i + 1]);

  BOOST_TEST(graph.find_cycles(start_ms, 0).empty());
  BOOST_TEST(graph.owners() == 1000u);
  BOOST_TEST(graph.waits() == 999u);
}

BOOST_AUTO_TEST_CASE(shortest_cycle_through_component) {
  // a and b wait for each other, and b, c, d form a second, longer cycle
  // through b. Both are one component, so one call returns one cycle.
  ring({"a", "b"});
  link("b", "c");
  link("c", "d");
  link("d", "b");

  auto cycles = graph.find_cycles(start_ms, 0);

  BOOST_TEST_REQUIRE(cycles.size() == 1u);
  BOOST_TEST(cycles[0].members.size() <= 3u);
}

BOOST_AUTO_TEST_CASE(breaking_cycle_reveals_next_in_component) {
  ring({"a", "b"});
  ring({"b", "c"});

  auto first = graph.find_cycles(start_ms, 0);
  BOOST_TEST_REQUIRE(first.size() == 1u);
  BOOST_TEST_REQUIRE(first[0].members.size() == 2u);
  auto owners = sorted_owners(first[0]);
  graph.remove_wait(first[0].members[0].key, first[0].waiter_ids[0]);
  auto second = graph.find_cycles(start_ms, 0);

  BOOST_TEST_REQUIRE(second.size() == 1u);
  BOOST_TEST(sorted_owners(second[0]) != owners);
  check_cycle(second[0], sorted_owners(second[0]));
}

BOOST_AUTO_TEST_CASE(young_waits_ignored_until_old_enough) {
  link("a", "b", start_ms);
  link("b", "a", start_ms + 400);

  BOOST_TEST(graph.find_cycles(start_ms + 999, 1000).empty());
  BOOST_TEST(graph.find_cycles(start_ms + 1399, 1000).empty());
  auto cycles = graph.find_cycles(start_ms + 1400, 1000);

  BOOST_TEST_REQUIRE(cycles.size() == 1u);
  check_cycle(cycles[0], {"a", "b"});
}

BOOST_AUTO_TEST_CASE(excluded_wait_leaves_cycle_out) {
  auto ids = ring({"a", "b", "c"});

  graph.set_excluded(key_of("b"), ids[0], true);
  BOOST_TEST(graph.find_cycles(start_ms, 0).empty());
  graph.set_excluded(key_of("b"), ids[0], false);

  BOOST_TEST(graph.find_cycles(start_ms, 0).size() == 1u);
}

BOOST_AUTO_TEST_CASE(unknown_wait_updates_are_ignored) {
  ring({"a", "b"});

  graph.set_excluded(key_of("b"), 999, true);
  graph.set_excluded(key_of("nobody"), 1, true);
  graph.remove_wait(key_of("b"), 999);
  graph.remove_wait(key_of("nobody"), 1);

  BOOST_TEST(graph.find_cycles(start_ms, 0).size() == 1u);
  BOOST_TEST(graph.waits() == 2u);
  BOOST_TEST(graph.owners() == 2u);
}

BOOST_AUTO_TEST_CASE(self_wait_is_no_edge) {
  graph.set_holder(key_of("a"), "a");
  graph.add_wait(key_of("a"), 1, "a", priority::medium, start_ms);

  BOOST_TEST(graph.find_cycles(start_ms, 0).empty());
  BOOST_TEST(graph.cycle_closed_by(key_of("a"), "a", priority::medium, start_ms)
                 .members.empty());
}

BOOST_AUTO_TEST_CASE(wait_on_free_resource_is_no_edge) {
  link("a", "b");
  graph.add_wait(key_of("a"), 50, "b", priority::medium, start_ms);
  graph.set_holder(key_of("a"), "");

  BOOST_TEST(graph.find_cycles(start_ms, 0).empty());
  graph.set_holder(key_of("a"), "a");

  BOOST_TEST(graph.find_cycles(start_ms, 0).size() == 1u);
}

BOOST_AUTO_TEST_CASE(holder_change_removes_edge) {
  ring({"a", "b"});

  graph.set_holder(key_of("b"), "c");
  BOOST_TEST(graph.find_cycles(start_ms, 0).empty());
  BOOST_TEST(graph.locks_held("default", "b") == 0u);
  BOOST_TEST(graph.locks_held("default", "c") == 1u);
  graph.set_holder(key_of("b"), "b");

  BOOST_TEST(graph.find_cycles(start_ms, 0).size() == 1u);
}

BOOST_AUTO_TEST_CASE(replaced_wait_moves_to_new_owner) {
  link("a", "b");
  auto id = link("b", "a");
  graph.set_holder(key_of("c"), "c");

  graph.add_wait(key_of("a"), id, "c", priority::medium, start_ms);

  BOOST_TEST(graph.find_cycles(start_ms, 0).empty());
  BOOST_TEST(graph.waits() == 2u);
  graph.set_holder(key_of("c"), "");
  BOOST_TEST(graph.owners() == 3u);
}

BOOST_AUTO_TEST_CASE(tenants_never_share_owners) {
  // The same names in two tenants: a waits for b in one and b for a in
  // the other, which would be a cycle if owners were global.
  link("a", "b", start_ms, "t1");
  link("b", "a", start_ms, "t2");

  BOOST_TEST(graph.find_cycles(start_ms, 0).empty());
  BOOST_TEST(
      graph.cycle_closed_by(key_of("b", "t1"), "a", priority::medium, start_ms)
          .members.empty());
  BOOST_TEST(graph.owners() == 4u);
  BOOST_TEST(graph.locks_held("t1", "a") == 1u);
  BOOST_TEST(graph.locks_held("t2", "a") == 1u);
}

BOOST_AUTO_TEST_CASE(locks_held_counts_resources_of_owner) {
  for (const auto* name : {"x", "y", "z"})
    graph.set_holder(resource_key{"default", "infra", name}, "a");
  graph.set_holder(resource_key{"other", "infra", "x"}, "a");
  link("a", "b");
  link("b", "a");

  BOOST_TEST(graph.locks_held("default", "a") == 4u);
  BOOST_TEST(graph.locks_held("other", "a") == 1u);
  BOOST_TEST(graph.locks_held("default", "b") == 1u);
  BOOST_TEST(graph.locks_held("default", "nobody") == 0u);
  auto cycles = graph.find_cycles(start_ms, 0);
  BOOST_TEST_REQUIRE(cycles.size() == 1u);
  for (const auto& member : cycles[0].members)
    BOOST_TEST(member.locks_held == (member.owner == "a" ? 4u : 1u));
  graph.set_holder(resource_key{"default", "infra", "x"}, "");
  BOOST_TEST(graph.locks_held("default", "a") == 3u);
}

BOOST_AUTO_TEST_CASE(cycle_closed_by_finds_cycle) {
  auto a_id = link("a", "b");
  auto b_id = link("b", "c");

  auto cycle = graph.cycle_closed_by(key_of("a"), "c", priority::critical,
                                     start_ms + 40);

  BOOST_TEST_REQUIRE(cycle.members.size() == 3u);
  BOOST_TEST_REQUIRE(cycle.waiter_ids.size() == 3u);
  BOOST_TEST(cycle.members[0].owner == "c");
  BOOST_TEST(to_string(cycle.members[0].key) == to_string(key_of("a")));
  BOOST_TEST(cycle.members[0].waited_ms == 0);
  BOOST_TEST(cycle.members[0].locks_held == 1u);
  BOOST_TEST(static_cast<int>(cycle.members[0].level)
             == static_cast<int>(priority::critical));
  BOOST_TEST(cycle.waiter_ids[0] == 0u);
  BOOST_TEST(cycle.members[1].owner == "a");
  BOOST_TEST(to_string(cycle.members[1].key) == to_string(key_of("b")));
  BOOST_TEST(cycle.members[1].waited_ms == 40);
  BOOST_TEST(cycle.waiter_ids[1] == a_id);
  BOOST_TEST(cycle.members[2].owner == "b");
  BOOST_TEST(to_string(cycle.members[2].key) == to_string(key_of("c")));
  BOOST_TEST(cycle.waiter_ids[2] == b_id);
  // Asking changes nothing: the new wait is not added.
  BOOST_TEST(graph.find_cycles(start_ms, 0).empty());
  BOOST_TEST(graph.waits() == 2u);
}

BOOST_AUTO_TEST_CASE(cycle_closed_by_ignores_age_and_exclusion) {
  auto a_id = link("a", "b", start_ms + 10);
  graph.set_excluded(key_of("b"), a_id, true);

  auto cycle
      = graph.cycle_closed_by(key_of("a"), "b", priority::medium, start_ms);

  BOOST_TEST(cycle.members.size() == 2u);
}

BOOST_AUTO_TEST_CASE(cycle_closed_by_without_cycle) {
  link("a", "b");
  link("b", "c");
  graph.set_holder(key_of("d"), "d");

  // c waiting for d's resource, d holding nothing that anyone waits for.
  BOOST_TEST(graph.cycle_closed_by(key_of("d"), "c", priority::medium, start_ms)
                 .members.empty());
  // a waiting for c's resource extends the chain in the same direction.
  BOOST_TEST(graph.cycle_closed_by(key_of("c"), "a", priority::medium, start_ms)
                 .members.empty());
  // Free and unknown resources, and owners that hold nothing.
  BOOST_TEST(
      graph.cycle_closed_by(key_of("free"), "c", priority::medium, start_ms)
          .members.empty());
  BOOST_TEST(
      graph.cycle_closed_by(key_of("a"), "newcomer", priority::medium, start_ms)
          .members.empty());
  // Waiting for one's own resource.
  BOOST_TEST(graph.cycle_closed_by(key_of("c"), "c", priority::medium, start_ms)
                 .members.empty());
}

BOOST_AUTO_TEST_CASE(removing_everything_frees_entries) {
  auto owners = names("o", 50);
  auto ids = ring(owners);
  graph.set_holder(resource_key{"other", "infra", "x"}, "o1");
  BOOST_TEST(graph.owners() == 51u);
  BOOST_TEST(graph.waits() == 50u);

  for (size_t i = 0; i < owners.size(); ++i)
    graph.remove_wait(key_of(owners[(i + 1) % owners.size()]), ids[i]);
  BOOST_TEST(graph.waits() == 0u);
  BOOST_TEST(graph.owners() == 51u);
  for (const auto& owner : owners)
    graph.set_holder(key_of(owner), "");
  graph.set_holder(resource_key{"other", "infra", "x"}, "");

  BOOST_TEST(graph.owners() == 0u);
  BOOST_TEST(graph.waits() == 0u);
  BOOST_TEST(graph.locks_held("default", "o1") == 0u);
  // Freed ids are reused without mixing up the old owners.
  ring({"p", "q"});
  BOOST_TEST(graph.owners() == 2u);
  BOOST_TEST_REQUIRE(graph.find_cycles(start_ms, 0).size() == 1u);
  check_cycle(graph.find_cycles(start_ms, 0)[0], {"p", "q"});
}

BOOST_AUTO_TEST_CASE(waits_alone_keep_owner_until_removed) {
  graph.add_wait(key_of("free"), 1, "a", priority::medium, start_ms);
  BOOST_TEST(graph.owners() == 1u);
  BOOST_TEST(graph.waits() == 1u);

  graph.remove_wait(key_of("free"), 1);

  BOOST_TEST(graph.owners() == 0u);
  BOOST_TEST(graph.waits() == 0u);
}

BOOST_AUTO_TEST_CASE(random_operations_match_reference) {
  reference_model model;
  std::mt19937 random{12345};
  auto pick = [&](size_t count) {
    return std::uniform_int_distribution<size_t>{0, count - 1}(random);
  };
  const std::vector<std::string> tenants{"t1", "t2"};
  auto random_key = [&] {
    return resource_key{tenants[pick(2)], "infra",
                        "r" + std::to_string(pick(8))};
  };
  auto random_owner = [&] { return "o" + std::to_string(pick(8)); };
  constexpr int64_t now = start_ms + 1'000;
  // Steps that found a cycle and that closed one, so that the test fails
  // when the random operations stop producing cycles.
  int steps_with_cycles = 0;
  int steps_closing = 0;

  for (int step = 0; step < 3'000; ++step) {
    switch (pick(10)) {
    case 0:
    case 1:
    case 2: {
      auto key = random_key();
      auto owner = pick(4) == 0 ? std::string{} : random_owner();
      graph.set_holder(key, owner);
      if (owner.empty())
        model.holders.erase(key);
      else
        model.holders[key] = owner;
      break;
    }
    case 3:
    case 4:
    case 5: {
      auto key = random_key();
      auto id = static_cast<uint64_t>(pick(6) + 1);
      auto owner = random_owner();
      auto enqueued = start_ms + static_cast<int64_t>(pick(1'000));
      graph.add_wait(key, id, owner, priority::medium, enqueued);
      model.waits[{key, id}] = reference_model::wait{owner, enqueued};
      break;
    }
    case 6:
    case 7: {
      auto key = random_key();
      auto id = static_cast<uint64_t>(pick(6) + 1);
      graph.remove_wait(key, id);
      model.waits.erase({key, id});
      break;
    }
    default: {
      auto key = random_key();
      auto id = static_cast<uint64_t>(pick(6) + 1);
      bool excluded = pick(2) == 0;
      graph.set_excluded(key, id, excluded);
      auto entry = model.waits.find({key, id});
      if (entry != model.waits.end())
        entry->second.excluded = excluded;
    }
    }

    BOOST_TEST_REQUIRE(graph.waits() == model.waits.size(), "step " << step);
    BOOST_TEST_REQUIRE(graph.owners() == model.owners().size(),
                       "step " << step);
    for (const auto& [tenant, owner] : model.owners())
      BOOST_TEST_REQUIRE(graph.locks_held(tenant, owner)
                             == model.locks_held(tenant, owner),
                         "step " << step << ", " << tenant << "/" << owner);

    // Every returned cycle consists of real, old enough, included waits,
    // and there is one per group of owners that reach each other.
    int64_t min_age = static_cast<int64_t>(pick(3)) * 400;
    auto usable = [&](const reference_model::wait& entry) {
      return !entry.excluded && now - entry.enqueued_at_ms >= min_age;
    };
    auto reach = model.reachability(usable);
    std::set<std::set<reference_model::owner_id>> groups;
    for (const auto& [from, targets] : reach) {
      std::set<reference_model::owner_id> group;
      for (const auto& to : targets)
        if (to != from && reaches(reach, to, from))
          group.insert(to);
      if (!group.empty()) {
        group.insert(from);
        groups.insert(group);
      }
    }
    auto cycles = graph.find_cycles(now, min_age);
    BOOST_TEST_REQUIRE(cycles.size() == groups.size(), "step " << step);
    steps_with_cycles += cycles.empty() ? 0 : 1;
    for (const auto& cycle : cycles) {
      const auto& members = cycle.members;
      BOOST_TEST_REQUIRE(members.size() >= 2u, "step " << step);
      BOOST_TEST_REQUIRE(cycle.waiter_ids.size() == members.size());
      for (size_t i = 0; i < members.size(); ++i) {
        const auto& next = members[(i + 1) % members.size()];
        auto entry = model.waits.find({members[i].key, cycle.waiter_ids[i]});
        BOOST_TEST_REQUIRE((entry != model.waits.end()), "step " << step);
        BOOST_TEST_REQUIRE(entry->second.owner == members[i].owner);
        BOOST_TEST_REQUIRE(usable(entry->second), "step " << step);
        BOOST_TEST_REQUIRE(model.holder_of(members[i].key) == next.owner,
                           "step " << step);
        BOOST_TEST_REQUIRE(members[i].waited_ms
                           == now - entry->second.enqueued_at_ms);
      }
    }

    // A new wait closes a cycle exactly when the holder reaches the
    // requester over any waits.
    auto all_reach
        = model.reachability([](const reference_model::wait&) { return true; });
    auto key = random_key();
    auto owner = random_owner();
    auto holder = model.holders.find(key);
    bool expected = holder != model.holders.end() && holder->second != owner
                    && reaches(all_reach, {key.tenant, holder->second},
                               {key.tenant, owner});
    auto closing = graph.cycle_closed_by(key, owner, priority::medium, now);
    BOOST_TEST_REQUIRE(!closing.members.empty() == expected,
                       "step " << step << ", " << owner << " for "
                               << to_string(key));
    if (expected) {
      ++steps_closing;
      BOOST_TEST_REQUIRE(closing.members[0].owner == owner);
      BOOST_TEST_REQUIRE(closing.waiter_ids[0] == 0u);
      for (size_t i = 0; i < closing.members.size(); ++i) {
        const auto& next = closing.members[(i + 1) % closing.members.size()];
        BOOST_TEST_REQUIRE(model.holder_of(closing.members[i].key)
                               == next.owner,
                           "step " << step);
      }
    }
  }
  BOOST_TEST_MESSAGE("steps with cycles: " << steps_with_cycles
                                           << ", closing requests: "
                                           << steps_closing);
  BOOST_TEST(steps_with_cycles > 300);
  BOOST_TEST(steps_closing > 100);
}

BOOST_AUTO_TEST_CASE(moved_graph_keeps_its_waits) {
  ring({"a", "b", "c"});

  wait_graph moved{std::move(graph)};
  moved.remove_wait(key_of("a"), 3);
  moved.add_wait(key_of("a"), 3, "c", priority::medium, start_ms);

  auto cycles = moved.find_cycles(start_ms, 0);
  BOOST_TEST_REQUIRE(cycles.size() == 1u);
  check_cycle(cycles[0], {"a", "b", "c"});
  BOOST_TEST(moved.waits() == 3u);
}

BOOST_AUTO_TEST_CASE(chain_of_100000_does_not_crash) {
  auto owners = names("o", 100'000);
  for (size_t i = 0; i + 1 < owners.size(); ++i)
    link(owners[i], owners[i + 1]);

  BOOST_TEST(graph.find_cycles(start_ms, 0).empty());
  auto closing = graph.cycle_closed_by(key_of(owners.front()), owners.back(),
                                       priority::medium, start_ms);
  BOOST_TEST(closing.members.size() == 100'000u);
  link(owners.back(), owners.front());
  auto cycles = graph.find_cycles(start_ms, 0);

  BOOST_TEST_REQUIRE(cycles.size() == 1u);
  BOOST_TEST(cycles[0].members.size() == 100'000u);
}

BOOST_AUTO_TEST_SUITE_END()
