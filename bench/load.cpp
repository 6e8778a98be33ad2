#include "bench/load.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>

namespace holdfast::bench {

namespace {

using clock_type = std::chrono::steady_clock;

double to_us(int64_t ns) {
  return static_cast<double>(ns) / 1'000.0;
}

/// Value at rank ceil(q * n) of the sorted samples.
int64_t percentile(const std::vector<int64_t>& sorted, double q) {
  auto rank = static_cast<size_t>(std::ceil(q * sorted.size()));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

/// Lets the workers start their warm-up together once all have connected,
/// and gives them the common start time.
class start_gate {
public:
  explicit start_gate(size_t workers) : waiting_(workers) {
    // nop
  }

  /// Blocks until every worker arrived or one failed. Returns the start
  /// time, or nothing after a failure.
  std::optional<clock_type::time_point> arrive() {
    std::unique_lock<std::mutex> guard{mutex_};
    if (--waiting_ == 0 && !failed_) {
      start_ = clock_type::now();
      opened_.notify_all();
    }
    opened_.wait(guard, [this] { return waiting_ == 0 || failed_; });
    if (failed_)
      return std::nullopt;
    return start_;
  }

  /// Releases the waiting workers after a failure of another one.
  void fail() {
    std::lock_guard<std::mutex> guard{mutex_};
    failed_ = true;
    opened_.notify_all();
  }

private:
  std::mutex mutex_;
  std::condition_variable opened_;
  size_t waiting_;
  bool failed_ = false;
  clock_type::time_point start_;
};

/// Pair latencies and the end of the last pair of one worker.
struct worker_result {
  std::vector<int64_t> latencies_ns;
  clock_type::time_point measure_from;
  clock_type::time_point last_end;
};

} // namespace

latency_summary summarize(std::vector<int64_t>& samples_ns) {
  latency_summary result;
  result.samples = samples_ns.size();
  if (samples_ns.empty())
    return result;
  std::sort(samples_ns.begin(), samples_ns.end());
  result.p50_us = to_us(percentile(samples_ns, 0.50));
  result.p99_us = to_us(percentile(samples_ns, 0.99));
  result.max_us = to_us(samples_ns.back());
  return result;
}

load_result run_load(const client_factory& make_client,
                     const load_settings& settings) {
  auto clients = std::max<size_t>(settings.clients, 1);
  start_gate gate{clients};
  std::atomic<bool> stop{false};
  std::mutex failure_mutex;
  std::exception_ptr failure;
  std::vector<worker_result> results(clients);

  auto record_failure = [&] {
    {
      std::lock_guard<std::mutex> guard{failure_mutex};
      if (!failure)
        failure = std::current_exception();
    }
    stop = true;
    gate.fail();
  };

  auto worker = [&](size_t index) {
    pair_operation run_pair;
    try {
      run_pair = make_client(index);
    } catch (...) {
      record_failure();
      return;
    }
    auto start = gate.arrive();
    if (!start)
      return;
    auto measure_from = *start + settings.warmup;
    auto measure_until = measure_from + settings.duration;
    auto& mine = results[index];
    mine.measure_from = measure_from;
    mine.last_end = measure_from;
    // Room for 20k pairs per second and client keeps reallocations out
    // of most measured pairs.
    mine.latencies_ns.reserve(static_cast<size_t>(
        20
        * std::chrono::duration_cast<std::chrono::milliseconds>(
              settings.duration)
              .count()));
    try {
      while (!stop) {
        auto begin = clock_type::now();
        if (begin >= measure_until)
          break;
        run_pair();
        auto end = clock_type::now();
        if (begin >= measure_from) {
          mine.latencies_ns.push_back(
              std::chrono::duration_cast<std::chrono::nanoseconds>(end - begin)
                  .count());
          mine.last_end = end;
        }
      }
    } catch (...) {
      record_failure();
    }
  };

  std::vector<std::thread> threads;
  threads.reserve(clients);
  for (size_t index = 0; index < clients; ++index)
    threads.emplace_back(worker, index);
  for (auto& thread : threads)
    thread.join();
  if (failure)
    std::rethrow_exception(failure);

  load_result result;
  result.clients = clients;
  std::vector<int64_t> all;
  // All workers share the start of the measurement.
  auto measure_from = results.front().measure_from;
  auto last_end = measure_from;
  for (auto& mine : results) {
    all.insert(all.end(), mine.latencies_ns.begin(), mine.latencies_ns.end());
    last_end = std::max(last_end, mine.last_end);
  }
  result.pairs = all.size();
  result.seconds
      = std::chrono::duration<double>(last_end - measure_from).count();
  result.pair_latency = summarize(all);
  return result;
}

} // namespace holdfast::bench
