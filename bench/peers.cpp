#include "bench/peers.hpp"

#include <array>
#include <memory>
#include <stdexcept>
#include <string_view>
#include <thread>

#include <hiredis/hiredis.h>

#include "bench/echo.hpp"
#include "bridges/nats_client.hpp"
#include "messages/wire_codec.hpp"

namespace holdfast::bench {

namespace {

using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

/// Lease of the benchmark's locks; every pair releases its lock long
/// before it runs out.
constexpr int64_t lease_ms = 30'000;

constexpr milliseconds retry_pause{50};

acquire_request make_acquire(size_t index) {
  acquire_request request;
  request.key = {"", "bench", "w" + std::to_string(index)};
  request.owner = "bench-" + std::to_string(index);
  request.user = "bench";
  request.ttl_ms = lease_ms;
  return request;
}

std::unique_ptr<nats_client> connect_holdfast(const std::string& nats_url,
                                              const std::string& name,
                                              milliseconds timeout) {
  client_options options;
  options.url = nats_url;
  options.name = name;
  options.timeout = timeout;
  return std::make_unique<nats_client>(options);
}

[[noreturn]] void fail_reply(const std::string& what, const lock_reply& reply) {
  throw std::runtime_error(what + " failed: "
                           + std::string{to_string_view(reply.error.code)}
                           + ": " + reply.error.message);
}

struct redis_context_deleter {
  void operator()(redisContext* context) const {
    redisFree(context);
  }
};

using redis_context_ptr = std::unique_ptr<redisContext, redis_context_deleter>;

struct redis_reply_deleter {
  void operator()(redisReply* reply) const {
    freeReplyObject(reply);
  }
};

using redis_reply_ptr = std::unique_ptr<redisReply, redis_reply_deleter>;

redis_context_ptr connect_redis(int port) {
  redis_context_ptr context{redisConnect("127.0.0.1", port)};
  if (!context)
    throw std::runtime_error("connecting to Redis at 127.0.0.1:"
                             + std::to_string(port) + " failed: out of memory");
  if (context->err != 0)
    throw std::runtime_error("connecting to Redis at 127.0.0.1:"
                             + std::to_string(port)
                             + " failed: " + context->errstr);
  return context;
}

std::string reply_type_name(int type) {
  switch (type) {
  case REDIS_REPLY_STRING:
    return "string";
  case REDIS_REPLY_ARRAY:
    return "array";
  case REDIS_REPLY_INTEGER:
    return "integer";
  case REDIS_REPLY_NIL:
    return "nil";
  case REDIS_REPLY_STATUS:
    return "status";
  case REDIS_REPLY_ERROR:
    return "error";
  default:
    return "type " + std::to_string(type);
  }
}

/// Runs the command `words`; throws unless Redis replies with
/// `expected_type`.
template <size_t N>
redis_reply_ptr redis_command(redisContext* context, int expected_type,
                              const std::array<std::string_view, N>& words) {
  std::array<const char*, N> argv;
  std::array<size_t, N> argv_lengths;
  for (size_t i = 0; i < N; ++i) {
    argv[i] = words[i].data();
    argv_lengths[i] = words[i].size();
  }
  redis_reply_ptr reply{static_cast<redisReply*>(redisCommandArgv(
      context, static_cast<int>(N), argv.data(), argv_lengths.data()))};
  std::string command;
  if (!reply || reply->type != expected_type) {
    for (auto word : words) {
      command += command.empty() ? "" : " ";
      command += word;
    }
  }
  if (!reply)
    throw std::runtime_error("Redis command '" + command
                             + "' failed: " + context->errstr);
  if (reply->type != expected_type)
    throw std::runtime_error("Redis command '" + command + "' returned a "
                             + reply_type_name(reply->type) + " reply"
                             + (reply->type == REDIS_REPLY_ERROR
                                    ? " (" + std::string{reply->str} + ")"
                                    : std::string{})
                             + " instead of " + reply_type_name(expected_type));
  return reply;
}

/// Calls `attempt` until it returns true or `timeout` has passed.
template <class Attempt>
void retry_until(milliseconds timeout, const std::string& what,
                 Attempt attempt) {
  auto deadline = clock_type::now() + timeout;
  std::string last_error = "no attempt finished";
  for (;;) {
    try {
      if (attempt())
        return;
    } catch (const std::exception& error) {
      last_error = error.what();
    }
    if (clock_type::now() >= deadline)
      throw std::runtime_error(what + " gave no reply within "
                               + std::to_string(timeout.count())
                               + " ms; last error: " + last_error
                               + "; check that it runs and its log");
    std::this_thread::sleep_for(retry_pause);
  }
}

} // namespace

std::unique_ptr<nats_client> connect_client(const std::string& nats_url,
                                            const std::string& name,
                                            const std::string& tenant) {
  client_options options;
  options.url = nats_url;
  options.name = name;
  options.tenant = tenant;
  options.timeout = request_timeout;
  return std::make_unique<nats_client>(options);
}

std::string describe_error(const lock_reply& reply) {
  return std::string{to_string_view(reply.error.code)} + ": "
         + reply.error.message;
}

client_factory holdfast_pairs(const std::string& nats_url) {
  return [nats_url](size_t index) -> pair_operation {
    auto client = std::shared_ptr<nats_client>{connect_holdfast(
        nats_url, "holdfast-bench-" + std::to_string(index), request_timeout)};
    auto request = make_acquire(index);
    return [client, request] {
      auto grant = client->acquire(request);
      if (!grant.ok())
        fail_reply("acquire of bench/" + request.key.workspace, grant);
      release_request release{"", grant.lock.lock_id, grant.lock.token};
      auto released = client->release(release);
      if (!released.ok())
        fail_reply("release of bench/" + request.key.workspace, released);
    };
  };
}

client_factory echo_pairs(const std::string& nats_url,
                          const std::string& subject,
                          const std::string& payload) {
  return [nats_url, subject, payload](size_t index) -> pair_operation {
    auto connection = std::make_shared<nats_connection>(
        nats_url, "holdfast-bench-echo-client-" + std::to_string(index));
    return [connection, subject, payload] {
      echo_round_trip(connection->get(), subject, payload, request_timeout);
      echo_round_trip(connection->get(), subject, payload, request_timeout);
    };
  };
}

client_factory redis_pairs(int port) {
  return [port](size_t index) -> pair_operation {
    auto context = std::shared_ptr<redisContext>{connect_redis(port)};
    auto key = "bench:w" + std::to_string(index);
    auto value = "bench-" + std::to_string(index);
    return [context, key, value] {
      // A nil reply to SET NX would mean that the key still exists.
      redis_command<6>(context.get(), REDIS_REPLY_STATUS,
                       {"SET", key, value, "NX", "PX", "30000"});
      auto removed
          = redis_command<2>(context.get(), REDIS_REPLY_INTEGER, {"DEL", key});
      if (removed->integer != 1)
        throw std::runtime_error("Redis DEL " + key + " removed "
                                 + std::to_string(removed->integer)
                                 + " keys instead of 1");
    };
  };
}

std::string sample_acquire_body() {
  return encode_request(make_acquire(0), wire_encoding::msgpack);
}

void wait_for_holdfast(const std::string& nats_url, milliseconds timeout) {
  retry_until(timeout, "holdfast at " + nats_url, [&] {
    auto client
        = connect_holdfast(nats_url, "holdfast-bench-probe", milliseconds{500});
    auto reply = client->get(get_request{{"", "bench", "probe"}});
    return reply.error.code != lock_errc::unavailable;
  });
}

void wait_for_echo(const std::string& nats_url, const std::string& subject,
                   milliseconds timeout) {
  retry_until(timeout, "the echo responder on " + subject, [&] {
    nats_connection connection{nats_url, "holdfast-bench-probe"};
    echo_round_trip(connection.get(), subject, "probe", milliseconds{500});
    return true;
  });
}

void wait_for_redis(int port, milliseconds timeout) {
  retry_until(timeout, "Redis at 127.0.0.1:" + std::to_string(port), [&] {
    auto context = connect_redis(port);
    redis_command<1>(context.get(), REDIS_REPLY_STATUS, {"PING"});
    return true;
  });
}

} // namespace holdfast::bench
