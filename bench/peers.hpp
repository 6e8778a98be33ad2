#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "bench/load.hpp"
#include "bridges/nats_client.hpp"

namespace holdfast::bench {

/// Time a single request may take before the benchmark gives up.
constexpr std::chrono::milliseconds request_timeout{5'000};

/// Connects a holdfast client to `nats_url` for `tenant`, with
/// `request_timeout` on top of each request's wait. `name` shows up in
/// nats-server monitoring. Throws `std::runtime_error` on failure.
std::unique_ptr<nats_client>
connect_client(const std::string& nats_url, const std::string& name,
               const std::string& tenant = "default");

/// Returns "<code>: <message>" of a failed reply, for error messages.
std::string describe_error(const lock_reply& reply);

/// Pairs of try-acquire and release on the holdfast service at `nats_url`.
/// Worker `index` locks `bench/w<index>` as owner `bench-<index>`, so
/// workers never contend.
client_factory holdfast_pairs(const std::string& nats_url);

/// Pairs of two requests to the echo responder on `subject`, each carrying
/// `payload`.
client_factory echo_pairs(const std::string& nats_url,
                          const std::string& subject,
                          const std::string& payload);

/// Pairs of `SET key value NX PX 30000` and `DEL key` on Redis at
/// 127.0.0.1:`port`, with one key per worker.
client_factory redis_pairs(int port);

/// Body of the acquire request that worker 0 sends, used as the echo
/// payload so that both carry requests of the same size.
std::string sample_acquire_body();

/// Waits until holdfast replies to a get request. Throws `std::runtime_error`
/// after `timeout`.
void wait_for_holdfast(const std::string& nats_url,
                       std::chrono::milliseconds timeout);

/// Waits until the echo responder replies on `subject`; throws after
/// `timeout`.
void wait_for_echo(const std::string& nats_url, const std::string& subject,
                   std::chrono::milliseconds timeout);

/// Waits until Redis on 127.0.0.1:`port` replies to PING; throws after
/// `timeout`.
void wait_for_redis(int port, std::chrono::milliseconds timeout);

} // namespace holdfast::bench
