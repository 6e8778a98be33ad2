#include "bench/report.hpp"

#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <utility>

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

void print_rates(std::ostream& out, const run_report& report) {
  if (report.rates.empty())
    return;
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
}

void print_handoffs(std::ostream& out, const std::vector<latency_row>& rows) {
  if (rows.empty())
    return;
  out << "\nhand-off (release sent until the waiter has its grant)\n";
  char line[160];
  for (const auto& row : rows) {
    const auto& h = row.latency;
    std::snprintf(line, sizeof line,
                  "%-16s %5zu rounds: p50 %6.0f us, p99 %6.0f us, max %6.0f "
                  "us\n",
                  row.name.c_str(), h.samples, h.p50_us, h.p99_us, h.max_us);
    out << line;
  }
}

void print_ratios(std::ostream& out, const std::vector<ratio_row>& ratios) {
  if (ratios.empty())
    return;
  out << "\nratios\n";
  char line[160];
  for (const auto& ratio : ratios) {
    std::snprintf(line, sizeof line, "%-52s %6.2f", ratio.name.c_str(),
                  ratio.value);
    out << line;
    if (ratio.goal)
      out << "  goal >= " << format("%.1f", *ratio.goal) << ": "
          << (ratio.met() ? "met" : "missed");
    out << '\n';
  }
}

void print_bulk(std::ostream& out, const std::vector<bulk_report_row>& rows) {
  if (rows.empty())
    return;
  out << "\nbulk acquisition, try mode on distinct resources (bulk: "
         "acquire_bulk, then release_bulk; singles: one acquire after "
         "another, then one release after another; ratio: bulk p50 / "
         "singles p50)\n";
  char line[160];
  std::snprintf(line, sizeof line, "%-16s %5s %6s %-8s %12s %12s %10s %10s\n",
                "peer", "locks", "rounds", "method", "acquire p50",
                "acquire p99", "pair p50", "pair p99");
  out << line;
  for (const auto& entry : rows) {
    const auto& row = entry.row;
    for (auto [method, latency] :
         {std::pair{"bulk", &row.bulk}, std::pair{"singles", &row.singles}}) {
      std::snprintf(line, sizeof line,
                    "%-16s %5zu %6zu %-8s %9.0f us %9.0f us %7.0f us %7.0f "
                    "us\n",
                    entry.peer.c_str(), row.locks, row.rounds, method,
                    latency->acquire.p50_us, latency->acquire.p99_us,
                    latency->pair.p50_us, latency->pair.p99_us);
      out << line;
    }
    std::snprintf(line, sizeof line,
                  "%-16s %5zu %6zu %-8s %12.2f %12s %10.2f\n",
                  entry.peer.c_str(), row.locks, row.rounds, "ratio",
                  row.acquire_ratio(), "", row.pair_ratio());
    out << line;
  }
}

void print_queues(std::ostream& out,
                  const std::vector<queue_report_row>& rows) {
  if (rows.empty())
    return;
  out << "\ndeep queue (waiters queued with acquire_async on one resource; "
         "each grant released at once; wait: ticket reply until grant; "
         "hand-off: between two grants in a row)\n";
  char line[200];
  std::snprintf(line, sizeof line, "%-16s %11s %8s %8s %9s %9s %9s %11s %11s\n",
                "peer", "served", "queue s", "drain s", "grants/s", "wait p50",
                "wait p99", "hand-off p50", "hand-off p99");
  out << line;
  for (const auto& entry : rows) {
    const auto& r = entry.result;
    auto served = std::to_string(r.served) + "/" + std::to_string(r.waiters);
    std::snprintf(line, sizeof line,
                  "%-16s %11s %8.2f %8.2f %9.0f %6.0f ms %6.0f ms %9.0f us "
                  "%9.0f us\n",
                  entry.peer.c_str(), served.c_str(), r.enqueue_seconds,
                  r.drain_seconds, r.grants_per_second(), r.wait.p50_us / 1e3,
                  r.wait.p99_us / 1e3, r.handoff.p50_us, r.handoff.p99_us);
    out << line;
    std::snprintf(line, sizeof line,
                  "%-16s service stats: mean wait %.0f ms, p99 wait %lld "
                  "ms%s\n",
                  "", r.service_average_wait_ms,
                  static_cast<long long>(r.service_p99_wait_ms),
                  r.complete() ? "" : "; drain timed out, rest cancelled");
    out << line;
  }
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
  print_rates(out, report);
  print_handoffs(out, report.handoffs);
  print_bulk(out, report.bulk);
  print_queues(out, report.queues);
  print_ratios(out, report.ratios);
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
  for (const auto& entry : report.bulk) {
    const auto& row = entry.row;
    auto record = base("bulk");
    record["peer"] = entry.peer;
    record["locks"] = row.locks;
    record["rounds"] = row.rounds;
    for (auto [method, latency] :
         {std::pair{"bulk", &row.bulk}, std::pair{"singles", &row.singles}}) {
      auto prefix = std::string{method} + "_";
      record[prefix + "acquire_p50_us"] = latency->acquire.p50_us;
      record[prefix + "acquire_p99_us"] = latency->acquire.p99_us;
      record[prefix + "pair_p50_us"] = latency->pair.p50_us;
      record[prefix + "pair_p99_us"] = latency->pair.p99_us;
    }
    record["acquire_p50_ratio"] = row.acquire_ratio();
    record["pair_p50_ratio"] = row.pair_ratio();
    out << record.dump() << '\n';
  }
  for (const auto& entry : report.queues) {
    const auto& r = entry.result;
    auto record = base("queue");
    record["peer"] = entry.peer;
    record["waiters"] = r.waiters;
    record["served"] = r.served;
    record["enqueue_s"] = r.enqueue_seconds;
    record["drain_s"] = r.drain_seconds;
    record["grants_per_s"] = r.grants_per_second();
    record["wait_p50_us"] = r.wait.p50_us;
    record["wait_p99_us"] = r.wait.p99_us;
    record["wait_max_us"] = r.wait.max_us;
    record["handoff_p50_us"] = r.handoff.p50_us;
    record["handoff_p99_us"] = r.handoff.p99_us;
    record["handoff_max_us"] = r.handoff.max_us;
    record["service_average_wait_ms"] = r.service_average_wait_ms;
    record["service_p99_wait_ms"] = r.service_p99_wait_ms;
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
