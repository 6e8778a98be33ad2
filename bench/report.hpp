#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "bench/bulk.hpp"
#include "bench/deep_queue.hpp"
#include "bench/load.hpp"

namespace holdfast::bench {

/// Throughput of one peer at one number of clients.
struct rate_row {
  /// "echo", "holdfast", "holdfast-nosync", "redis" or "redis-fsync".
  std::string peer;
  load_result result;
};

/// A latency measurement with its name: a holdfast instance for a
/// hand-off, or "before" and "after" for the disk probe.
struct latency_row {
  std::string name;
  latency_summary latency;
};

/// Bulk acquisition against single acquires of one holdfast instance.
struct bulk_report_row {
  std::string peer;
  bulk_row row;
};

/// Drain of a deep queue on one holdfast instance.
struct queue_report_row {
  std::string peer;
  deep_queue_result result;
};

/// Quotient of two measured rates, with the goal it must reach if any.
struct ratio_row {
  std::string name;
  double value = 0;
  std::optional<double> goal;

  bool met() const {
    return !goal || value >= *goal;
  }
};

/// Everything one `holdfast_bench run` measured.
struct run_report {
  /// UTC start time, ISO 8601.
  std::string started_at;
  double duration_s = 0;
  double warmup_s = 0;
  /// fdatasync latency in the LMDB data directory, before and after the
  /// other measurements.
  std::vector<latency_row> fdatasync;
  std::vector<rate_row> rates;
  std::vector<latency_row> handoffs;
  std::vector<bulk_report_row> bulk;
  std::vector<queue_report_row> queues;
  std::vector<ratio_row> ratios;
};

/// Returns the rate of `peer` at `clients`, or nothing if not measured.
std::optional<load_result> find_rate(const run_report& report,
                                     const std::string& peer, size_t clients);

/// Adds the ratios of holdfast against the echo floor and against Redis.
void compute_ratios(run_report& report, size_t many_clients);

/// Prints the report as text tables.
void print_report(std::ostream& out, const run_report& report);

/// Appends one JSON object per line to `path`: one per disk probe, rate,
/// hand-off row, bulk size, queue drain and ratio. Throws
/// `std::runtime_error` when `path` cannot be written.
void append_json_lines(const std::string& path, const run_report& report);

} // namespace holdfast::bench
