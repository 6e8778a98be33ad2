#include "bench/bulk.hpp"

#include <stdexcept>
#include <utility>

#include "bench/peers.hpp"

namespace holdfast::bench {

namespace {

using clock_type = std::chrono::steady_clock;

/// Lease of the benchmark's locks; every round releases them long before.
constexpr int64_t lease_ms = 30'000;

const std::string bulk_owner = "bench-bulk";

int64_t elapsed_ns(clock_type::time_point from, clock_type::time_point to) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(to - from)
      .count();
}

std::vector<acquire_request> make_requests(size_t locks) {
  std::vector<acquire_request> result(locks);
  for (size_t i = 0; i < locks; ++i) {
    auto& request = result[i];
    request.key = {"", "bench", "bulk-" + std::to_string(i)};
    request.owner = bulk_owner;
    request.user = "bench";
    request.ttl_ms = lease_ms;
  }
  return result;
}

/// Samples of one lock set method, in nanoseconds.
struct samples {
  std::vector<int64_t> acquire_ns;
  std::vector<int64_t> pair_ns;

  void add(clock_type::time_point begin, clock_type::time_point held_at,
           clock_type::time_point end) {
    acquire_ns.push_back(elapsed_ns(begin, held_at));
    pair_ns.push_back(elapsed_ns(begin, end));
  }

  lock_set_latency summarize_all() {
    return {summarize(acquire_ns), summarize(pair_ns)};
  }
};

void run_bulk(nats_client& client, const std::vector<acquire_request>& locks,
              samples* out) {
  bulk_acquire_request acquire;
  acquire.locks = locks;
  auto begin = clock_type::now();
  auto grant = client.acquire_bulk(std::move(acquire));
  auto held_at = clock_type::now();
  if (!grant.ok())
    throw std::runtime_error("acquire_bulk of " + std::to_string(locks.size())
                             + " locks failed: " + describe_error(grant));
  if (grant.locks.size() != locks.size())
    throw std::runtime_error(
        "acquire_bulk of " + std::to_string(locks.size()) + " locks returned "
        + std::to_string(grant.locks.size()) + " lock records");

  bulk_release_request release;
  for (auto& record : grant.locks)
    release.lock_ids.push_back(std::move(record.lock_id));
  auto released = client.release_bulk(std::move(release));
  auto end = clock_type::now();
  if (!released.ok())
    throw std::runtime_error("release_bulk of " + std::to_string(locks.size())
                             + " locks failed: " + describe_error(released));
  for (const auto& outcome : released.outcomes)
    if (outcome.code != lock_errc::none)
      throw std::runtime_error("release_bulk did not release lock "
                               + outcome.lock_id + ": "
                               + std::string{to_string_view(outcome.code)});
  if (out != nullptr)
    out->add(begin, held_at, end);
}

void run_singles(nats_client& client, const std::vector<acquire_request>& locks,
                 samples* out) {
  std::vector<release_request> releases;
  releases.reserve(locks.size());
  auto begin = clock_type::now();
  for (const auto& request : locks) {
    auto grant = client.acquire(request);
    if (!grant.ok())
      throw std::runtime_error("acquire of bench/" + request.key.workspace
                               + " failed: " + describe_error(grant));
    releases.push_back({"", grant.lock.lock_id, grant.lock.token});
  }
  auto held_at = clock_type::now();
  for (auto& release : releases) {
    auto released = client.release(release);
    if (!released.ok())
      throw std::runtime_error("release of lock " + release.lock_id
                               + " failed: " + describe_error(released));
  }
  auto end = clock_type::now();
  if (out != nullptr)
    out->add(begin, held_at, end);
}

bulk_row measure_size(nats_client& client, size_t locks,
                      const bulk_settings& settings) {
  auto requests = make_requests(locks);
  for (size_t round = 0; round < settings.warmup_rounds; ++round) {
    run_bulk(client, requests, nullptr);
    run_singles(client, requests, nullptr);
  }

  samples bulk;
  samples singles;
  auto stop_at = clock_type::now() + settings.budget;
  size_t rounds = 0;
  while (rounds < settings.max_rounds
         && (rounds < settings.min_rounds || clock_type::now() < stop_at)) {
    // Alternating the order keeps a drift of the disk latency from
    // favoring one method.
    if (rounds % 2 == 0) {
      run_bulk(client, requests, &bulk);
      run_singles(client, requests, &singles);
    } else {
      run_singles(client, requests, &singles);
      run_bulk(client, requests, &bulk);
    }
    ++rounds;
  }

  bulk_row row;
  row.locks = locks;
  row.rounds = rounds;
  row.bulk = bulk.summarize_all();
  row.singles = singles.summarize_all();
  return row;
}

} // namespace

std::vector<bulk_row> measure_bulk(const std::string& nats_url,
                                   const bulk_settings& settings) {
  auto client = connect_client(nats_url, "holdfast-bench-bulk");
  std::vector<bulk_row> rows;
  for (auto locks : settings.sizes) {
    if (locks == 0)
      throw std::invalid_argument(
          "invalid bulk size 0: every size needs at least 1 lock");
    rows.push_back(measure_size(*client, locks, settings));
  }
  return rows;
}

} // namespace holdfast::bench
