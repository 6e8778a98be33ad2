#pragma once

#include <memory>

#include <caf/allowed_unsafe_message_type.hpp>

#include "messages/replies.hpp"

namespace holdfast {

/// Destination of the reply to one request. The NATS bridge implements it
/// by publishing to the request's reply subject, tests by recording.
///
/// `deliver` may run on any thread, including the storage writer thread
/// after a commit, so implementations must be thread-safe and must not
/// block. Each sink receives exactly one reply.
class reply_sink {
public:
  virtual ~reply_sink();

  virtual void deliver(lock_reply reply) = 0;
};

using reply_sink_ptr = std::shared_ptr<reply_sink>;

} // namespace holdfast

// Reply sinks only travel between actors of one process.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(holdfast::reply_sink_ptr)
