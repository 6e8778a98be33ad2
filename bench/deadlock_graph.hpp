#pragma once

#include <cstddef>
#include <ostream>
#include <string>
#include <vector>

namespace holdfast::bench {

struct deadlock_graph_settings {
  /// Owners per graph; each size is measured with every shape.
  std::vector<size_t> sizes{1'000, 10'000, 100'000};
  /// Timed calls per graph and measurement; the report takes the median.
  size_t repetitions = 9;
};

/// Deadlock detection on one wait-for graph.
struct deadlock_graph_row {
  /// "chains", "chain-cycles", "forest", "forest-cycles" or "ring".
  std::string shape;
  size_t owners = 0;
  size_t waits = 0;
  /// Cycles that `find_cycles` returned.
  size_t cycles = 0;
  size_t repetitions = 0;
  /// Time to add every holder and wait to an empty graph, once.
  double build_ms = 0;
  /// Medians of `find_cycles` with a minimum age of 0, and of a
  /// breadth-first search that visits every owner over the same edges.
  double detect_ms = 0;
  double bfs_ms = 0;
  /// Median of one `cycle_closed_by` request and the length of the cycle
  /// that it returned.
  double closed_by_us = 0;
  size_t closed_by_members = 0;

  double ratio() const {
    return bfs_ms > 0 ? detect_ms / bfs_ms : 0;
  }
};

/// Builds graphs of every shape and size in `settings` and times deadlock
/// detection on them. Throws `std::runtime_error` when a search returns
/// another number of cycles or another cycle length than the shape has.
std::vector<deadlock_graph_row>
measure_deadlock_graphs(const deadlock_graph_settings& settings);

/// Prints the rows as a text table.
void print_deadlock_graphs(std::ostream& out,
                           const std::vector<deadlock_graph_row>& rows);

/// Appends one JSON object per row to `path`, with kind "deadlock_graph".
/// Throws `std::runtime_error` when `path` cannot be written.
void append_deadlock_graph_json(const std::string& path,
                                const std::string& started_at,
                                const std::vector<deadlock_graph_row>& rows);

} // namespace holdfast::bench
