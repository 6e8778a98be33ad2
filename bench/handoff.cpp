#include "bench/handoff.hpp"

#include <atomic>
#include <memory>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "bench/peers.hpp"
#include "bridges/nats_client.hpp"

namespace holdfast::bench {

namespace {

using clock_type = std::chrono::steady_clock;

constexpr std::chrono::microseconds poll_pause{200};

const resource_key handoff_key{"", "bench", "handoff"};

std::unique_ptr<nats_client> connect(const std::string& nats_url,
                                     const std::string& name) {
  client_options options;
  options.url = nats_url;
  options.name = name;
  options.timeout = request_timeout;
  return std::make_unique<nats_client>(options);
}

acquire_request make_acquire(const std::string& owner, int64_t wait_ms) {
  acquire_request request;
  request.key = handoff_key;
  request.owner = owner;
  request.user = "bench";
  request.wait_ms = wait_ms;
  request.ttl_ms = 30'000;
  return request;
}

std::string describe(const lock_reply& reply) {
  return std::string{to_string_view(reply.error.code)} + ": "
         + reply.error.message;
}

/// One side of the hand-off: a connection and the request it queues with.
struct party {
  std::unique_ptr<nats_client> client;
  acquire_request waiting_request;
};

/// Waits until `observer` reports a queued request on the hand-off resource,
/// or `waiter_done` is set, or `timeout` passes. Returns whether a request
/// is queued.
bool await_queued(nats_client& observer, const std::atomic<bool>& waiter_done,
                  std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  get_request probe{handoff_key};
  while (!waiter_done && clock_type::now() < deadline) {
    auto reply = observer.get(probe);
    if (!reply.ok())
      throw std::runtime_error("get of bench/handoff failed: "
                               + describe(reply));
    if (reply.waiting > 0)
      return true;
    std::this_thread::sleep_for(poll_pause);
  }
  return false;
}

} // namespace

latency_summary measure_handoff(const std::string& nats_url,
                                const handoff_settings& settings) {
  auto observer = connect(nats_url, "holdfast-bench-handoff-observer");
  auto wait_ms = static_cast<int64_t>(settings.step_timeout.count());
  party parties[2] = {
      {connect(nats_url, "holdfast-bench-handoff-a"),
       make_acquire("handoff-a", wait_ms)},
      {connect(nats_url, "holdfast-bench-handoff-b"),
       make_acquire("handoff-b", wait_ms)},
  };

  auto grant = parties[0].client->acquire(make_acquire("handoff-a", 0));
  if (!grant.ok())
    throw std::runtime_error("acquire of bench/handoff by handoff-a failed: "
                             + describe(grant)
                             + "; the benchmark needs a fresh service");
  size_t holder = 0;
  std::vector<int64_t> samples_ns;
  samples_ns.reserve(settings.rounds);

  for (size_t round = 0; round < settings.warmup_rounds + settings.rounds;
       ++round) {
    auto& waiter = parties[1 - holder];
    lock_reply waiter_reply;
    clock_type::time_point granted_at;
    std::atomic<bool> waiter_done{false};
    std::thread waiter_thread{[&] {
      waiter_reply = waiter.client->acquire(waiter.waiting_request);
      granted_at = clock_type::now();
      waiter_done = true;
    }};

    bool queued = false;
    try {
      queued = await_queued(*observer, waiter_done, settings.step_timeout);
    } catch (...) {
      waiter_thread.join();
      throw;
    }
    auto released_at = clock_type::now();
    auto released = parties[holder].client->release(
        {"", grant.lock.lock_id, grant.lock.token});
    waiter_thread.join();

    if (!released.ok())
      throw std::runtime_error("release of bench/handoff by "
                               + parties[holder].waiting_request.owner
                               + " failed: " + describe(released));
    if (!waiter_reply.ok())
      throw std::runtime_error("waiting acquire of bench/handoff by "
                               + waiter.waiting_request.owner
                               + " failed: " + describe(waiter_reply));
    if (!queued)
      throw std::runtime_error(
          "the waiting request of " + waiter.waiting_request.owner
          + " did not show up in the queue of bench/handoff within "
          + std::to_string(settings.step_timeout.count()) + " ms");
    if (round >= settings.warmup_rounds)
      samples_ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(
                               granted_at - released_at)
                               .count());
    grant = std::move(waiter_reply);
    holder = 1 - holder;
  }

  parties[holder].client->release({"", grant.lock.lock_id, grant.lock.token});
  return summarize(samples_ns);
}

} // namespace holdfast::bench
