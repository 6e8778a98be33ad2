#pragma once

#include <caf/atom.hpp>

namespace holdfast {

// Atom names are limited to 10 characters by CAF 0.17.

/// Lock actor to scheduler: no lock is held and no request waits.
using idle_atom = caf::atom_constant<caf::atom("idle")>;

/// Subscribes an actor to events, or removes a subscription.
using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>;
using unsubscribe_atom = caf::atom_constant<caf::atom("unsubscrb")>;

/// Timers of a lock actor.
using wait_timeout_atom = caf::atom_constant<caf::atom("waittmo")>;
using lease_check_atom = caf::atom_constant<caf::atom("leasechk")>;
using idle_check_atom = caf::atom_constant<caf::atom("idlechk")>;

/// Scheduler to lock actor: an asynchronous acquisition with a ticket.
using acquire_async_atom = caf::atom_constant<caf::atom("acqasync")>;

/// Scheduler to lock actor: drop the waiting request of a ticket.
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;

/// Scheduler to lock actor: steps of a bulk acquisition.
using reserve_atom = caf::atom_constant<caf::atom("reserve")>;
using activate_atom = caf::atom_constant<caf::atom("activate")>;
using unreserve_atom = caf::atom_constant<caf::atom("unreserve")>;

/// To the scheduler: a ticket was queued, or reached its final state.
using ticket_queued_atom = caf::atom_constant<caf::atom("ticketq")>;
using ticket_done_atom = caf::atom_constant<caf::atom("ticketdone")>;

/// To the scheduler: a bulk reservation replied, or the bulk's grants
/// were committed.
using bulk_step_atom = caf::atom_constant<caf::atom("bulkstep")>;
using bulk_commit_atom = caf::atom_constant<caf::atom("bulkcommit")>;

/// To the scheduler: the closed mark of an owner was committed.
using owner_saved_atom = caf::atom_constant<caf::atom("ownersaved")>;

/// Storage writer to lock actor: a batch failed to commit.
using store_failed_atom = caf::atom_constant<caf::atom("storefail")>;

/// Deadlock detection: the detector's timer and its re-run after a
/// resolution, the lock actor's answer to a victim's `fail_waiter`, the
/// scheduler releasing a victim's locks, and the deadline of hook calls.
using detect_tick_atom = caf::atom_constant<caf::atom("dltick")>;
using detect_again_atom = caf::atom_constant<caf::atom("dlagain")>;
using victim_done_atom = caf::atom_constant<caf::atom("dlvictim")>;
using release_locks_atom = caf::atom_constant<caf::atom("dlrelease")>;
using hook_deadline_atom = caf::atom_constant<caf::atom("dldeadline")>;

/// Detector to plugin actor: the hook points.
using before_detection_atom = caf::atom_constant<caf::atom("hkbefore")>;
using on_detection_atom = caf::atom_constant<caf::atom("hkdetect")>;
using choose_victim_atom = caf::atom_constant<caf::atom("hkchoose")>;
using before_resolution_atom = caf::atom_constant<caf::atom("hkapprove")>;
using after_resolution_atom = caf::atom_constant<caf::atom("hkafter")>;

} // namespace holdfast
