#include "bench/deadlock_graph.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <random>
#include <stdexcept>
#include <utility>

#include <nlohmann/json.hpp>

#include "actors/wait_graph.hpp"

namespace holdfast::bench {

namespace {

using clock_type = std::chrono::steady_clock;

/// Owners per chain or tree. The shapes with cycles, except the ring, have
/// one cycle per this many owners.
constexpr size_t component_size = 100;

constexpr int64_t no_wait = -1;

const std::vector<std::string> shapes{"chains", "chain-cycles", "forest",
                                      "forest-cycles", "ring"};

double elapsed_ms(clock_type::time_point start) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - start)
      .count();
}

double median(std::vector<double> samples) {
  std::sort(samples.begin(), samples.end());
  auto middle = samples.size() / 2;
  return samples.size() % 2 == 1 ? samples[middle]
                                 : (samples[middle - 1] + samples[middle]) / 2;
}

/// Returns, per owner, the owner whose resource it waits for, or
/// `no_wait`. Every owner waits for at most one resource.
/// - chains: chains of `component_size` owners, each waiting for the next;
/// - chain-cycles: the same chains, each closed into a cycle;
/// - forest: random trees of `component_size` owners, each owner waiting
///   for its parent, so that popular holders have many waiters;
/// - forest-cycles: the same trees, with each root waiting for a random
///   owner of its tree, which closes one cycle of random length;
/// - ring: one cycle of all owners.
std::vector<int64_t> make_waits(const std::string& shape, size_t owners,
                                std::mt19937_64& random) {
  std::vector<int64_t> next(owners, no_wait);
  if (shape == "ring") {
    for (size_t i = 0; i < owners; ++i)
      next[i] = static_cast<int64_t>((i + 1) % owners);
    return next;
  }
  bool closed = shape == "chain-cycles" || shape == "forest-cycles";
  bool trees = shape == "forest" || shape == "forest-cycles";
  for (size_t base = 0; base < owners; base += component_size) {
    auto size = std::min(component_size, owners - base);
    auto last = base + size - 1;
    for (size_t i = base; i < last; ++i) {
      if (!trees) {
        next[i] = static_cast<int64_t>(i + 1);
        continue;
      }
      // Parents have higher numbers, so the last owner is the root.
      std::uniform_int_distribution<size_t> parent{i + 1, last};
      next[i] = static_cast<int64_t>(parent(random));
    }
    if (!closed || size < 2)
      continue;
    if (trees) {
      std::uniform_int_distribution<size_t> target{base, last - 1};
      next[last] = static_cast<int64_t>(target(random));
    } else {
      next[last] = static_cast<int64_t>(base);
    }
  }
  return next;
}

size_t expected_cycles(const std::string& shape, size_t owners) {
  if (shape == "ring")
    return owners >= 2 ? 1 : 0;
  if (shape == "chain-cycles" || shape == "forest-cycles")
    return owners / component_size + (owners % component_size >= 2 ? 1 : 0);
  return 0;
}

/// The reference search: breadth-first over the same edges in compressed
/// rows, started from every owner not reached yet. Returns the owners
/// visited, which is all of them.
size_t breadth_first_all(const std::vector<uint32_t>& offsets,
                         const std::vector<uint32_t>& targets) {
  auto owners = offsets.size() - 1;
  std::vector<uint8_t> visited(owners, 0);
  std::vector<uint32_t> queue;
  queue.reserve(owners);
  for (size_t start = 0; start < owners; ++start) {
    if (visited[start])
      continue;
    visited[start] = 1;
    queue.push_back(static_cast<uint32_t>(start));
    for (size_t head = queue.size() - 1; head < queue.size(); ++head) {
      auto node = queue[head];
      for (auto e = offsets[node]; e < offsets[node + 1]; ++e) {
        auto target = targets[e];
        if (visited[target])
          continue;
        visited[target] = 1;
        queue.push_back(target);
      }
    }
  }
  return queue.size();
}

deadlock_graph_row measure_graph(const std::string& shape, size_t owners,
                                 size_t repetitions, std::mt19937_64& random) {
  auto next = make_waits(shape, owners, random);
  std::vector<std::string> names;
  std::vector<resource_key> keys;
  names.reserve(owners);
  keys.reserve(owners);
  for (size_t i = 0; i < owners; ++i) {
    names.push_back("owner-" + std::to_string(i));
    keys.push_back(
        resource_key{"bench", "deadlock", "res-" + std::to_string(i)});
  }

  deadlock_graph_row row;
  row.shape = shape;
  row.owners = owners;
  row.repetitions = repetitions;

  // Every owner holds its own resource and waits for that of `next`.
  auto start = clock_type::now();
  wait_graph graph;
  for (size_t i = 0; i < owners; ++i)
    graph.set_holder(keys[i], names[i]);
  for (size_t i = 0; i < owners; ++i)
    if (next[i] != no_wait)
      graph.add_wait(keys[next[i]], i + 1, names[i], priority::medium, 0);
  row.build_ms = elapsed_ms(start);
  row.waits = graph.waits();

  std::vector<uint32_t> offsets(owners + 1, 0);
  std::vector<uint32_t> targets;
  targets.reserve(owners);
  for (size_t i = 0; i < owners; ++i) {
    offsets[i] = static_cast<uint32_t>(targets.size());
    if (next[i] != no_wait)
      targets.push_back(static_cast<uint32_t>(next[i]));
  }
  offsets[owners] = static_cast<uint32_t>(targets.size());

  // The request: the last owner on the wait path from owner 0 requests
  // the resource of owner 0, which closes a cycle through that path.
  std::vector<uint8_t> on_path(owners, 0);
  size_t last = 0;
  size_t path_length = 1;
  on_path[0] = 1;
  while (next[last] != no_wait && !on_path[next[last]]) {
    last = static_cast<size_t>(next[last]);
    on_path[last] = 1;
    ++path_length;
  }

  // One unmeasured call of each, so that first-touch allocations of the
  // graph's scratch space stay out of the samples.
  graph.find_cycles(1, 0);
  graph.cycle_closed_by(keys[0], names[last], priority::medium, 1);
  breadth_first_all(offsets, targets);

  std::vector<double> detect;
  std::vector<double> bfs;
  std::vector<double> closed_by;
  for (size_t round = 0; round < repetitions; ++round) {
    start = clock_type::now();
    auto cycles = graph.find_cycles(1, 0);
    detect.push_back(elapsed_ms(start));
    row.cycles = cycles.size();

    start = clock_type::now();
    auto visited = breadth_first_all(offsets, targets);
    bfs.push_back(elapsed_ms(start));
    if (visited != owners)
      throw std::runtime_error("breadth-first search on " + shape + " of "
                               + std::to_string(owners) + " owners visited "
                               + std::to_string(visited));

    start = clock_type::now();
    auto cycle
        = graph.cycle_closed_by(keys[0], names[last], priority::medium, 1);
    closed_by.push_back(elapsed_ms(start) * 1'000);
    row.closed_by_members = cycle.members.size();
  }
  row.detect_ms = median(detect);
  row.bfs_ms = median(bfs);
  row.closed_by_us = median(closed_by);

  auto expected = expected_cycles(shape, owners);
  if (row.cycles != expected)
    throw std::runtime_error(
        "find_cycles on " + shape + " of " + std::to_string(owners)
        + " owners returned " + std::to_string(row.cycles)
        + " cycles instead of " + std::to_string(expected));
  if (path_length >= 2 && row.closed_by_members != path_length)
    throw std::runtime_error(
        "cycle_closed_by on " + shape + " of " + std::to_string(owners)
        + " owners returned a cycle of " + std::to_string(row.closed_by_members)
        + " owners instead of " + std::to_string(path_length));
  return row;
}

} // namespace

std::vector<deadlock_graph_row>
measure_deadlock_graphs(const deadlock_graph_settings& settings) {
  // A fixed seed gives every run the same graphs.
  std::mt19937_64 random{20261205};
  std::vector<deadlock_graph_row> rows;
  for (auto owners : settings.sizes)
    for (const auto& shape : shapes) {
      std::cerr << "measuring deadlock detection on " << shape << " of "
                << owners << " owners\n";
      rows.push_back(
          measure_graph(shape, owners, settings.repetitions, random));
    }
  return rows;
}

void print_deadlock_graphs(std::ostream& out,
                           const std::vector<deadlock_graph_row>& rows) {
  if (rows.empty())
    return;
  out << "\ndeadlock detection on wait-for graphs (detect: find_cycles "
         "over all waits; bfs: breadth-first search over the same edges; "
         "closed_by: one cycle_closed_by request; medians of "
      << rows.front().repetitions << " calls)\n";
  char line[200];
  std::snprintf(line, sizeof line,
                "%-14s %7s %7s %7s %9s %10s %8s %8s %12s %9s\n", "shape",
                "owners", "waits", "cycles", "build ms", "detect ms", "bfs ms",
                "ratio", "closed_by us", "its cycle");
  out << line;
  for (const auto& row : rows) {
    std::snprintf(line, sizeof line,
                  "%-14s %7zu %7zu %7zu %9.2f %10.3f %8.3f %8.1f %12.1f "
                  "%9zu\n",
                  row.shape.c_str(), row.owners, row.waits, row.cycles,
                  row.build_ms, row.detect_ms, row.bfs_ms, row.ratio(),
                  row.closed_by_us, row.closed_by_members);
    out << line;
  }
}

void append_deadlock_graph_json(const std::string& path,
                                const std::string& started_at,
                                const std::vector<deadlock_graph_row>& rows) {
  std::ofstream out{path, std::ios::app};
  if (!out)
    throw std::runtime_error("opening " + path
                             + " for appending failed; check the directory");
  for (const auto& row : rows) {
    nlohmann::json record{{"kind", "deadlock_graph"},
                          {"started_at", started_at},
                          {"shape", row.shape},
                          {"owners", row.owners},
                          {"waits", row.waits},
                          {"cycles", row.cycles},
                          {"repetitions", row.repetitions},
                          {"build_ms", row.build_ms},
                          {"detect_ms", row.detect_ms},
                          {"bfs_ms", row.bfs_ms},
                          {"detect_bfs_ratio", row.ratio()},
                          {"closed_by_us", row.closed_by_us},
                          {"closed_by_members", row.closed_by_members}};
    out << record.dump() << '\n';
  }
  if (!out)
    throw std::runtime_error("writing " + path + " failed");
}

} // namespace holdfast::bench
