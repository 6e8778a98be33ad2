#pragma once

#include <caf/actor_system_config.hpp>

namespace holdfast {

/// Registers every message type and the lock error category with CAF. Call
/// once on each configuration before the actor system starts.
void register_messages(caf::actor_system_config& config);

} // namespace holdfast
