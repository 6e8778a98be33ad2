// holdfast_bench: measures holdfast against a bare NATS echo responder and
// Redis, and its bulk acquisition and deep queues on their own. `bench/run`
// starts the peers and calls `holdfast_bench run`. `holdfast_bench
// deadlock` measures deadlock detection in process and needs no peers.

#include <algorithm>
#include <chrono>
#include <ctime>
#include <exception>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "bench/bulk.hpp"
#include "bench/deadlock_graph.hpp"
#include "bench/deep_queue.hpp"
#include "bench/disk_probe.hpp"
#include "bench/echo.hpp"
#include "bench/handoff.hpp"
#include "bench/load.hpp"
#include "bench/peers.hpp"
#include "bench/report.hpp"

namespace {

using namespace holdfast::bench;

/// Options of `holdfast_bench run`.
struct run_options {
  std::string nats_url;
  std::string nosync_nats_url;
  std::string fsync_probe_dir;
  std::string echo_subject = "bench.echo";
  int redis_port = 0;
  int redis_fsync_port = 0;
  double duration_s = 5;
  double warmup_s = 1;
  /// Client counts of the throughput rows; ratios compare the rows of 1
  /// and of the largest count.
  std::vector<size_t> client_counts{1, 16};
  size_t handoffs = 500;
  bulk_settings bulk;
  double bulk_budget_s = 2;
  deep_queue_settings queue;
  double queue_timeout_s = 30;
  double ready_timeout_s = 20;
  std::string json_path;
  /// Peers to measure; empty measures every configured one.
  std::vector<std::string> only;
  /// Scenarios to run, out of `all_scenarios`.
  std::vector<std::string> scenarios;
};

const std::vector<std::string> all_scenarios{"rates", "handoff", "bulk",
                                             "queue"};

std::chrono::milliseconds to_ms(double seconds) {
  return std::chrono::milliseconds{static_cast<int64_t>(seconds * 1'000)};
}

std::string utc_now() {
  auto now = std::time(nullptr);
  std::tm parts{};
  gmtime_r(&now, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

bool selected(const run_options& options, const std::string& peer) {
  return options.only.empty()
         || std::find(options.only.begin(), options.only.end(), peer)
                != options.only.end();
}

bool runs(const run_options& options, const std::string& scenario) {
  return std::find(options.scenarios.begin(), options.scenarios.end(), scenario)
         != options.scenarios.end();
}

/// NATS URLs of the holdfast instances to measure, by peer name.
std::vector<std::pair<std::string, std::string>>
holdfast_instances(const run_options& options) {
  std::vector<std::pair<std::string, std::string>> result;
  if (selected(options, "holdfast"))
    result.emplace_back("holdfast", options.nats_url);
  if (!options.nosync_nats_url.empty() && selected(options, "holdfast-nosync"))
    result.emplace_back("holdfast-nosync", options.nosync_nats_url);
  return result;
}

void measure_rates(const run_options& options, run_report& report) {
  struct peer {
    const char* name;
    client_factory factory;
  };
  std::vector<peer> peers{
      {"echo", echo_pairs(options.nats_url, options.echo_subject,
                          sample_acquire_body())},
      {"holdfast", holdfast_pairs(options.nats_url)},
  };
  if (!options.nosync_nats_url.empty())
    peers.push_back(
        {"holdfast-nosync", holdfast_pairs(options.nosync_nats_url)});
  if (options.redis_port != 0)
    peers.push_back({"redis", redis_pairs(options.redis_port)});
  if (options.redis_fsync_port != 0)
    peers.push_back({"redis-fsync", redis_pairs(options.redis_fsync_port)});
  if (!options.only.empty())
    peers.erase(std::remove_if(
                    peers.begin(), peers.end(),
                    [&](const peer& p) { return !selected(options, p.name); }),
                peers.end());

  load_settings settings;
  settings.warmup = to_ms(options.warmup_s);
  settings.duration = to_ms(options.duration_s);
  for (size_t clients : options.client_counts) {
    settings.clients = clients;
    for (const auto& p : peers) {
      std::cerr << "measuring " << p.name << " with " << clients
                << (clients == 1 ? " client" : " clients") << '\n';
      report.rates.push_back({p.name, run_load(p.factory, settings)});
    }
  }
}

/// Probes fdatasync before and after the other rows, because the disk is
/// shared with other programs and its latency drifts during a run.
void measure_disk(const run_options& options, const char* when,
                  run_report& report) {
  if (options.fsync_probe_dir.empty())
    return;
  std::cerr << "measuring fdatasync in " << options.fsync_probe_dir << '\n';
  report.fdatasync.push_back(
      {when, probe_fdatasync(options.fsync_probe_dir, 200)});
}

int run_benchmark(const run_options& options) {
  auto ready_timeout = to_ms(options.ready_timeout_s);
  for (const auto& instance : holdfast_instances(options))
    wait_for_holdfast(instance.second, ready_timeout);
  // Only the throughput rows use the echo responder and Redis.
  if (runs(options, "rates")) {
    if (selected(options, "echo"))
      wait_for_echo(options.nats_url, options.echo_subject, ready_timeout);
    if (options.redis_port != 0 && selected(options, "redis"))
      wait_for_redis(options.redis_port, ready_timeout);
    if (options.redis_fsync_port != 0 && selected(options, "redis-fsync"))
      wait_for_redis(options.redis_fsync_port, ready_timeout);
  }

  run_report report;
  report.started_at = utc_now();
  report.duration_s = options.duration_s;
  report.warmup_s = options.warmup_s;
  measure_disk(options, "before", report);
  if (runs(options, "rates"))
    measure_rates(options, report);
  if (runs(options, "handoff") && options.handoffs > 0) {
    handoff_settings settings;
    settings.rounds = options.handoffs;
    for (const auto& [peer, url] : holdfast_instances(options)) {
      std::cerr << "measuring " << options.handoffs << " hand-offs on " << peer
                << '\n';
      report.handoffs.push_back({peer, measure_handoff(url, settings)});
    }
  }
  if (runs(options, "bulk") && options.bulk.max_rounds > 0) {
    auto settings = options.bulk;
    settings.budget = to_ms(options.bulk_budget_s);
    for (const auto& [peer, url] : holdfast_instances(options)) {
      std::cerr << "measuring bulk acquisition on " << peer << '\n';
      for (auto& row : measure_bulk(url, settings))
        report.bulk.push_back({peer, std::move(row)});
    }
  }
  if (runs(options, "queue") && options.queue.waiters > 0) {
    auto settings = options.queue;
    settings.drain_timeout = to_ms(options.queue_timeout_s);
    for (const auto& [peer, url] : holdfast_instances(options)) {
      std::cerr << "measuring a queue of " << settings.waiters << " waiters on "
                << peer << '\n';
      report.queues.push_back({peer, measure_deep_queue(url, settings)});
    }
  }
  measure_disk(options, "after", report);
  compute_ratios(report, *std::max_element(options.client_counts.begin(),
                                           options.client_counts.end()));

  print_report(std::cout, report);
  if (!options.json_path.empty())
    append_json_lines(options.json_path, report);
  return 0;
}

int run_deadlock_benchmark(const deadlock_graph_settings& settings,
                           const std::string& json_path) {
  auto started_at = utc_now();
  auto rows = measure_deadlock_graphs(settings);
  print_deadlock_graphs(std::cout, rows);
  if (!json_path.empty())
    append_deadlock_graph_json(json_path, started_at, rows);
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"Benchmark of holdfast against a NATS echo responder and "
               "Redis, and of its bulk acquisition and deep queues; "
               "bench/run starts the peers"};
  app.require_subcommand(1);

  std::string echo_url;
  std::string echo_subject = "bench.echo";
  auto echo = app.add_subcommand(
      "echo", "Answer every request on a subject with its own body until "
              "SIGINT or SIGTERM");
  echo->add_option("--nats", echo_url, "NATS server URL")->required();
  echo->add_option("--subject", echo_subject, "Subject to answer")
      ->capture_default_str();

  run_options options;
  auto run = app.add_subcommand(
      "run", "Measure holdfast, the echo responder and Redis, all already "
             "running");
  run->add_option("--nats", options.nats_url,
                  "NATS server URL of holdfast and the echo responder")
      ->required();
  run->add_option("--nosync-nats", options.nosync_nats_url,
                  "NATS server URL of a second holdfast with storage.sync "
                  "off, measured as holdfast-nosync; empty skips it");
  run->add_option("--fsync-probe-dir", options.fsync_probe_dir,
                  "Directory on the disk of the LMDB data, to measure "
                  "fdatasync there; empty skips it");
  run->add_option("--echo-subject", options.echo_subject,
                  "Subject of the echo responder")
      ->capture_default_str();
  run->add_option("--redis-port", options.redis_port,
                  "Port of Redis on 127.0.0.1, without persistence; 0 "
                  "skips it")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  run->add_option("--redis-fsync-port", options.redis_fsync_port,
                  "Port of a second Redis on 127.0.0.1 with appendfsync "
                  "always; 0 skips it")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  run->add_option("--duration", options.duration_s, "Measured seconds per row")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  run->add_option("--warmup", options.warmup_s,
                  "Unmeasured seconds before each row")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  run->add_option("--clients", options.client_counts,
                  "Client counts of the throughput rows, comma-separated; "
                  "each client has its own connection and resource")
      ->delimiter(',')
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  run->add_option("--handoffs", options.handoffs,
                  "Measured hand-offs; 0 skips them")
      ->capture_default_str();
  options.scenarios = all_scenarios;
  run->add_option("--scenarios", options.scenarios,
                  "Scenarios to run, comma-separated: rates (throughput "
                  "rows), handoff, bulk (bulk against single acquires) and "
                  "queue (drain of a deep queue); bulk, handoff and queue "
                  "run on holdfast and holdfast-nosync only")
      ->delimiter(',')
      ->check(CLI::IsMember(all_scenarios))
      ->capture_default_str();
  run->add_option("--bulk-sizes", options.bulk.sizes,
                  "Locks per bulk acquisition, comma-separated")
      ->delimiter(',')
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  run->add_option("--bulk-rounds", options.bulk.max_rounds,
                  "Maximum measured rounds per bulk size; 0 skips the bulk "
                  "scenario")
      ->capture_default_str();
  run->add_option("--bulk-budget", options.bulk_budget_s,
                  "Seconds per bulk size after which no new round starts, "
                  "once 3 rounds ran")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  run->add_option("--queue-waiters", options.queue.waiters,
                  "Waiters of the deep queue; 0 skips the queue scenario. "
                  "The service must allow this many waiting requests per "
                  "resource (queue.max_depth_per_resource)")
      ->capture_default_str();
  run->add_option("--queue-timeout", options.queue_timeout_s,
                  "Seconds the deep queue may take to drain; waiters left "
                  "then are cancelled and not counted")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  run->add_option("--ready-timeout", options.ready_timeout_s,
                  "Seconds to wait for each peer to answer")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  run->add_option("--only", options.only,
                  "Peers to measure, out of echo, holdfast, "
                  "holdfast-nosync, redis and redis-fsync; default all "
                  "configured")
      ->delimiter(',');
  run->add_option("--json", options.json_path,
                  "File to append JSON lines with the results to");

  deadlock_graph_settings graph_settings;
  std::string graph_json_path;
  auto deadlock = app.add_subcommand(
      "deadlock", "Measure deadlock detection on wait-for graphs of several "
                  "shapes and sizes in this process; needs no peers");
  deadlock
      ->add_option("--sizes", graph_settings.sizes,
                   "Owners per graph, comma-separated")
      ->delimiter(',')
      ->check(CLI::Range(size_t{2}, size_t{10'000'000}))
      ->capture_default_str();
  deadlock
      ->add_option("--repetitions", graph_settings.repetitions,
                   "Timed calls per graph and measurement; the median is "
                   "reported")
      ->check(CLI::Range(size_t{1}, size_t{1'000}))
      ->capture_default_str();
  deadlock->add_option("--json", graph_json_path,
                       "File to append JSON lines with the results to");

  CLI11_PARSE(app, argc, argv);

  try {
    if (echo->parsed())
      return run_echo_responder(echo_url, echo_subject);
    if (deadlock->parsed())
      return run_deadlock_benchmark(graph_settings, graph_json_path);
    return run_benchmark(options);
  } catch (const std::exception& error) {
    std::cerr << "holdfast_bench: " << error.what() << '\n';
    return 1;
  }
}
