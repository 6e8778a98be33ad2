#include "bench/report.hpp"

#include <cstdio>
#include <fstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace holdfast::bench {

namespace {

/// Goals of holdfast against the echo responder on the same NATS server:
/// a pair costs at most 2.5 bare pairs with one client, and 16 clients
/// reach at least half the bare round-trip rate.
constexpr double single_client_goal = 0.4;
constexpr double many_clients_goal = 0.5;

std::string clients_text(size_t clients) {
  return std::to_string(clients) + (clients == 1 ? " client" : " clients");
}

std::string format(const char* pattern, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, pattern, value);
  return buffer;
}

void add_ratio(run_report& report, std::string name,
               const std::optional<load_result>& numerator,
               const std::optional<load_result>& denominator,
               std::optional<double> goal) {
  if (!numerator || !denominator || denominator->pairs_per_second() <= 0)
    return;
  report.ratios.push_back(
      {std::move(name),
       numerator->pairs_per_second() / denominator->pairs_per_second(), goal});
}

} // namespace

std::optional<load_result> find_rate(const run_report& report,
                                     const std::string& peer, size_t clients) {
  for (const auto& row : report.rates)
    if (row.peer == peer && row.result.clients == clients)
      return row.result;
  return std::nullopt;
}

void compute_ratios(run_report& report, size_t many_clients) {
  std::vector<size_t> counts{1};
  if (many_clients != 1)
    counts.push_back(many_clients);
  // Every pair is two round trips, so a quotient of pair rates equals the
  // quotient of round-trip rates.
  add_ratio(report, "holdfast pairs / echo pairs, 1 client",
            find_rate(report, "holdfast", 1), find_rate(report, "echo", 1),
            single_client_goal);
  if (many_clients != 1)
    add_ratio(report,
              "holdfast round trips / echo round trips, "
                  + clients_text(many_clients),
              find_rate(report, "holdfast", many_clients),
              find_rate(report, "echo", many_clients), many_clients_goal);
  // Without fsync: how much of the gap the disk explains.
  for (size_t clients : counts)
    add_ratio(report,
              "holdfast-nosync pairs / echo pairs, " + clients_text(clients),
              find_rate(report, "holdfast-nosync", clients),
              find_rate(report, "echo", clients), std::nullopt);
  for (const char* redis : {"redis", "redis-fsync"})
    for (size_t clients : counts)
      add_ratio(report,
                std::string{"holdfast pairs / "} + redis + " pairs, "
                    + clients_text(clients),
                find_rate(report, "holdfast", clients),
                find_rate(report, redis, clients), std::nullopt);
}

void print_report(std::ostream& out, const run_report& report) {
  for (const auto& row : report.fdatasync) {
    const auto& f = row.latency;
    out << "\ndisk " << row.name << ": fdatasync after a 4 KiB write, "
        << f.samples << " rounds: p50 " << format("%.0f", f.p50_us)
        << " us, p99 " << format("%.0f", f.p99_us) << " us\n";
  }
  out << "\nthroughput (" << format("%.1f", report.duration_s)
      << " s per row after " << format("%.1f", report.warmup_s)
      << " s warm-up; a pair is two round trips)\n";
  char line[160];
  std::snprintf(line, sizeof line, "%-16s %7s %10s %14s %10s %10s %10s\n",
                "peer", "clients", "pairs/s", "round trips/s", "p50 us",
                "p99 us", "max us");
  out << line;
  for (const auto& row : report.rates) {
    const auto& r = row.result;
    std::snprintf(line, sizeof line,
                  "%-16s %7zu %10.0f %14.0f %10.0f %10.0f %10.0f\n",
                  row.peer.c_str(), r.clients, r.pairs_per_second(),
                  r.round_trips_per_second(), r.pair_latency.p50_us,
                  r.pair_latency.p99_us, r.pair_latency.max_us);
    out << line;
  }

  if (!report.handoffs.empty())
    out << "\nhand-off (release sent until the waiter has its grant)\n";
  for (const auto& row : report.handoffs) {
    const auto& h = row.latency;
    std::snprintf(line, sizeof line,
                  "%-16s %5zu rounds: p50 %6.0f us, p99 %6.0f us, max %6.0f "
                  "us\n",
                  row.name.c_str(), h.samples, h.p50_us, h.p99_us, h.max_us);
    out << line;
  }

  out << "\nratios\n";
  for (const auto& ratio : report.ratios) {
    std::snprintf(line, sizeof line, "%-52s %6.2f", ratio.name.c_str(),
                  ratio.value);
    out << line;
    if (ratio.goal)
      out << "  goal >= " << format("%.1f", *ratio.goal) << ": "
          << (ratio.met() ? "met" : "missed");
    out << '\n';
  }
}

void append_json_lines(const std::string& path, const run_report& report) {
  std::ofstream out{path, std::ios::app};
  if (!out)
    throw std::runtime_error("opening " + path
                             + " for appending failed; check the directory");
  auto base = [&](const char* kind) {
    return nlohmann::json{{"kind", kind},
                          {"started_at", report.started_at},
                          {"duration_s", report.duration_s},
                          {"warmup_s", report.warmup_s}};
  };
  for (const auto& row : report.fdatasync) {
    auto record = base("fdatasync");
    record["when"] = row.name;
    record["rounds"] = row.latency.samples;
    record["p50_us"] = row.latency.p50_us;
    record["p99_us"] = row.latency.p99_us;
    record["max_us"] = row.latency.max_us;
    out << record.dump() << '\n';
  }
  for (const auto& row : report.rates) {
    const auto& r = row.result;
    auto record = base("rate");
    record["peer"] = row.peer;
    record["clients"] = r.clients;
    record["pairs"] = r.pairs;
    record["seconds"] = r.seconds;
    record["pairs_per_s"] = r.pairs_per_second();
    record["round_trips_per_s"] = r.round_trips_per_second();
    record["pair_p50_us"] = r.pair_latency.p50_us;
    record["pair_p99_us"] = r.pair_latency.p99_us;
    record["pair_max_us"] = r.pair_latency.max_us;
    out << record.dump() << '\n';
  }
  for (const auto& row : report.handoffs) {
    auto record = base("handoff");
    record["peer"] = row.name;
    record["rounds"] = row.latency.samples;
    record["p50_us"] = row.latency.p50_us;
    record["p99_us"] = row.latency.p99_us;
    record["max_us"] = row.latency.max_us;
    out << record.dump() << '\n';
  }
  for (const auto& ratio : report.ratios) {
    auto record = base("ratio");
    record["name"] = ratio.name;
    record["value"] = ratio.value;
    if (ratio.goal) {
      record["goal"] = *ratio.goal;
      record["met"] = ratio.met();
    }
    out << record.dump() << '\n';
  }
  if (!out)
    throw std::runtime_error("writing " + path + " failed");
}

} // namespace holdfast::bench
