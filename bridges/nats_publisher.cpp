#include "bridges/nats_publisher.hpp"

#include <thread>

#include "bridges/nats_support.hpp"

namespace holdfast {

nats_publisher::nats_publisher(natsConnection* connection,
                               std::shared_ptr<spdlog::logger> log)
    : connection_(connection), log_(std::move(log)) {
  // nop
}

natsStatus nats_publisher::publish(const char* subject, std::string_view data,
                                   wire_encoding encoding) {
  // Count the publish before checking `open_`. Both atomics are sequentially
  // consistent, so either `retire` finds this publish counted in `active_`
  // or this publish finds `open_` false. Thus `retire` never returns while
  // a publish still uses the connection.
  active_.fetch_add(1);
  auto status = NATS_CONNECTION_CLOSED;
  if (open_.load())
    status = holdfast::publish(connection_, subject, data, encoding);
  active_.fetch_sub(1);
  return status;
}

void nats_publisher::retire() {
  open_.store(false);
  // A publish only takes the connection lock and writes to the socket or
  // the reconnect buffer, so this wait is short.
  while (active_.load() != 0)
    std::this_thread::yield();
}

} // namespace holdfast
