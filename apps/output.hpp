#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "messages/deadlock.hpp"
#include "messages/events.hpp"
#include "messages/lock_record.hpp"
#include "messages/queueing.hpp"
#include "messages/replies.hpp"

namespace holdfast {

/// Renders a wall-clock time in UTC, such as "2024-05-01T12:00:00Z".
std::string format_time(int64_t unix_ms);

/// Renders the time left until `unix_ms`, such as "4m59s" or "expired".
std::string format_remaining(int64_t unix_ms, int64_t now_ms);

/// One line about a held lock: resource, owner, token and lease. The lock id
/// authorizes release and renew, so it is shown only to its requester.
std::string describe_lock(const lock_record& record, int64_t now_ms,
                          bool show_lock_id);

/// Table of locks with a header line, one lock per line.
std::string format_lock_table(const std::vector<lock_record>& locks,
                              int64_t now_ms);

/// Table of active locks for `holdfast stats`: resource, holder, user,
/// priority, token, acquisition time and time left, one lock per line.
std::string format_active_lock_table(const std::vector<lock_record>& locks,
                                     int64_t now_ms);

/// Queue depth by priority, grant rate and waits, one fact per line,
/// without a trailing newline.
std::string format_queue_stats(const queue_stats& stats);

/// One line about a ticket, such as "ticket T pending at position 2 for
/// network/prod (owner pr-42)". A granted ticket shows its lock with the
/// lock id, because only its requester has the ticket id.
std::string describe_ticket(const ticket_info& ticket, int64_t now_ms);

/// One line about a member of a wait-for cycle, such as "pr-1 waits for
/// network/prod held by pr-2 (high, waited 1250ms, holds 1 lock)", where
/// `holder` is the owner of the next member.
std::string describe_cycle_member(const cycle_member& member,
                                  const std::string& holder);

/// One line per member of `cycle`, each starting with `indent` and ending
/// with a newline.
std::string format_cycle(const std::vector<cycle_member>& cycle,
                         const std::string& indent);

/// A deadlock over several lines: id, victim, policy and outcome, the
/// reason if any, then one indented line per cycle member. No trailing
/// newline.
std::string describe_deadlock(const deadlock_info& deadlock);

/// Counters of the deadlock detector, one fact per line, without a
/// trailing newline.
std::string format_deadlock_stats(const deadlock_stats& stats);

/// One line per event: time, type, resource, owner, token and reason, and
/// for deadlock events the deadlock id, victim, policy, outcome and cycle.
std::string describe_event(const lock_event& event);

/// Short form of a failed request: "<code>: <message> (field: F)".
std::string format_error(const lock_error& error);

/// The stderr line of a failed request:
/// "error: <code>: <message> (field: F)", plus the holder on conflict, one
/// line per conflicting holder of a bulk acquisition, and for
/// `deadlock_victim` and `would_deadlock` one line per cycle member and
/// what to do next.
std::string describe_error(const lock_error& error);

} // namespace holdfast
