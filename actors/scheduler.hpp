#pragma once

#include <cstdint>

#include <caf/typed_actor.hpp>

#include "messages/atoms.hpp"
#include "messages/deadlock.hpp"
#include "messages/engine.hpp"
#include "messages/queueing.hpp"
#include "messages/reply_sink.hpp"
#include "messages/requests.hpp"

namespace holdfast {

/// Entry point of every client request. It validates, routes to the lock
/// actor of the resource (spawning it on demand) and serves get and list
/// from the holder updates that lock actors send. Each request carries the
/// sink that receives its one reply; an asynchronous acquisition carries a
/// second sink that receives the ticket's final state.
using scheduler_actor = caf::typed_actor<
  caf::reacts_to<acquire_request, reply_sink_ptr>,
  caf::reacts_to<release_request, reply_sink_ptr>,
  caf::reacts_to<renew_request, reply_sink_ptr>,
  caf::reacts_to<get_request, reply_sink_ptr>,
  caf::reacts_to<list_request, reply_sink_ptr>,
  caf::reacts_to<release_owner_request, reply_sink_ptr>,
  caf::reacts_to<acquire_async_request, reply_sink_ptr, reply_sink_ptr>,
  caf::reacts_to<ticket_request, reply_sink_ptr>,
  caf::reacts_to<cancel_request, reply_sink_ptr>,
  caf::reacts_to<bulk_acquire_request, reply_sink_ptr>,
  caf::reacts_to<bulk_release_request, reply_sink_ptr>,
  caf::reacts_to<reopen_owner_request, reply_sink_ptr>,
  caf::reacts_to<stats_request, reply_sink_ptr>,
  caf::reacts_to<detect_request, reply_sink_ptr>,
  caf::reacts_to<holder_update>,
  caf::reacts_to<ticket_queued_atom, std::string, uint32_t>,
  caf::reacts_to<ticket_done_atom, std::string, lock_reply>,
  caf::reacts_to<bulk_step_atom, uint64_t, uint64_t, lock_reply>,
  caf::reacts_to<bulk_commit_atom, uint64_t, bool, std::string>,
  caf::reacts_to<idle_atom, resource_key, uint64_t, uint64_t>,
  caf::reacts_to<fail_waiter>,
  caf::reacts_to<release_locks_atom, std::string, std::string>>;

} // namespace holdfast
