#pragma once

#include <caf/atom.hpp>

namespace holdfast {

// Atom names are limited to 10 characters by CAF 0.17.

/// Lock actor to scheduler: nothing held, nobody waits.
using idle_atom = caf::atom_constant<caf::atom("idle")>;

/// Subscribes an actor to events, or removes a subscription.
using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>;
using unsubscribe_atom = caf::atom_constant<caf::atom("unsubscrb")>;

/// Timers of a lock actor.
using wait_timeout_atom = caf::atom_constant<caf::atom("waittmo")>;
using lease_check_atom = caf::atom_constant<caf::atom("leasechk")>;
using idle_check_atom = caf::atom_constant<caf::atom("idlechk")>;

/// Storage writer to lock actor: a batch failed to commit.
using store_failed_atom = caf::atom_constant<caf::atom("storefail")>;

} // namespace holdfast
