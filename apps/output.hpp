#pragma once

#include <cstdint>
#include <string>
#include <vector>

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

/// One line per event: time, type, resource, owner, token and reason.
std::string describe_event(const lock_event& event);

/// Short form of a failed request: "<code>: <message> (field: F)".
std::string format_error(const lock_error& error);

/// The stderr line of a failed request:
/// "error: <code>: <message> (field: F)", plus the holder on conflict and
/// one line per conflicting holder of a bulk acquisition.
std::string describe_error(const lock_error& error);

} // namespace holdfast
