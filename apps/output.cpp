#include "apps/output.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "apps/durations.hpp"

namespace holdfast {

namespace {

std::string describe_metadata(const metadata_map& metadata) {
  std::string result;
  for (const auto& [key, value] : metadata) {
    if (!result.empty())
      result += ',';
    result += key + '=' + value;
  }
  return result;
}

std::string resource_name(const resource_key& key) {
  return key.project + '/' + key.workspace;
}

/// Renders rows as columns two spaces apart, the first row being the
/// header, with one newline after each row.
std::string format_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths(rows.front().size(), 0);
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i)
      widths[i] = std::max(widths[i], row[i].size());
  std::string result;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size())
        line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ')
      line.pop_back();
    result += line + '\n';
  }
  return result;
}

std::string count_of(uint64_t count, const std::string& noun) {
  return std::to_string(count) + ' ' + noun + (count == 1 ? "" : "s");
}

/// Returns the deadlock part of a deadlock event on one line, such as
/// ` deadlock=7 victim=pr-2 ... cycle="a waits for ...; b waits for ..."`.
std::string describe_event_deadlock(const lock_event& event) {
  const auto& deadlock = event.deadlock;
  std::string result = " deadlock=" + std::to_string(deadlock.id);
  if (!deadlock.victim.empty())
    result += " victim=" + deadlock.victim;
  if (!deadlock.policy.empty())
    result += " policy=" + deadlock.policy;
  if (!deadlock.outcome.empty())
    result += " outcome=" + deadlock.outcome;
  if (deadlock.released_locks)
    result += " released_locks=true";
  if (!deadlock.reason.empty() && deadlock.reason != event.reason)
    result += " deadlock_reason=\"" + deadlock.reason + '"';
  std::string cycle;
  const auto& members = deadlock.cycle;
  for (size_t i = 0; i < members.size(); ++i) {
    if (!cycle.empty())
      cycle += "; ";
    cycle += describe_cycle_member(members[i],
                                   members[(i + 1) % members.size()].owner);
  }
  if (!cycle.empty())
    result += " cycle=\"" + cycle + '"';
  return result;
}

bool is_deadlock_event(event_type type) {
  return type == event_type::deadlock_detected
         || type == event_type::deadlock_resolved
         || type == event_type::deadlock_vetoed;
}

/// Returns what a client should do after a deadlock error, or an empty
/// string for other codes.
std::string deadlock_hint(lock_errc code) {
  if (code == lock_errc::deadlock_victim)
    return "this request was chosen to break the cycle: release the locks "
           "its owner still holds and retry later";
  if (code == lock_errc::would_deadlock)
    return "the request was rejected instead of waiting, because its wait "
           "would close this cycle: retry later, or release the locks of "
           "its owner first";
  return {};
}

/// Renders milliseconds of waiting, such as "1500ms" or "3s".
std::string format_wait(double wait_ms) {
  auto rounded = std::llround(wait_ms);
  return format_duration(std::chrono::milliseconds{rounded > 0 ? rounded : 0});
}

} // namespace

std::string format_time(int64_t unix_ms) {
  auto seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm parts{};
  ::gmtime_r(&seconds, &parts);
  char buffer[32];
  auto size
      = std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%SZ", &parts);
  return std::string(buffer, size);
}

std::string format_remaining(int64_t unix_ms, int64_t now_ms) {
  if (unix_ms <= now_ms)
    return "expired";
  // Whole seconds are precise enough for a lease and read better.
  auto left = (unix_ms - now_ms + 999) / 1000 * 1000;
  return format_duration(std::chrono::milliseconds{left});
}

std::string describe_lock(const lock_record& record, int64_t now_ms,
                          bool show_lock_id) {
  std::string result = resource_name(record.key) + " held by " + record.owner;
  if (!record.user.empty())
    result += " (user " + record.user + ")";
  result += ", token " + std::to_string(record.token);
  if (record.expires_at_ms > 0)
    result += ", lease expires " + format_time(record.expires_at_ms) + " (in "
              + format_remaining(record.expires_at_ms, now_ms) + ")";
  if (show_lock_id && !record.lock_id.empty())
    result += ", lock id " + record.lock_id;
  auto metadata = describe_metadata(record.metadata);
  if (!metadata.empty())
    result += ", metadata " + metadata;
  return result;
}

std::string format_lock_table(const std::vector<lock_record>& locks,
                              int64_t now_ms) {
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"PROJECT", "WORKSPACE", "OWNER", "USER", "PRIORITY", "TOKEN",
                  "EXPIRES IN", "METADATA"});
  for (const auto& lock : locks)
    rows.push_back({lock.key.project, lock.key.workspace, lock.owner, lock.user,
                    std::string{to_string_view(lock.level)},
                    std::to_string(lock.token),
                    format_remaining(lock.expires_at_ms, now_ms),
                    describe_metadata(lock.metadata)});
  return format_table(rows);
}

std::string format_active_lock_table(const std::vector<lock_record>& locks,
                                     int64_t now_ms) {
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"PROJECT", "WORKSPACE", "HOLDER", "USER", "PRIORITY", "TOKEN",
                  "ACQUIRED AT", "EXPIRES IN"});
  for (const auto& lock : locks)
    rows.push_back({lock.key.project, lock.key.workspace, lock.owner, lock.user,
                    std::string{to_string_view(lock.level)},
                    std::to_string(lock.token),
                    format_time(lock.acquired_at_ms),
                    format_remaining(lock.expires_at_ms, now_ms)});
  return format_table(rows);
}

std::string format_queue_stats(const queue_stats& stats) {
  std::string depths;
  for (size_t i = 0; i < priority_levels; ++i) {
    if (!depths.empty())
      depths += ", ";
    depths += to_string_view(static_cast<priority>(i));
    depths += ' ';
    depths += std::to_string(
        i < stats.depth_by_priority.size() ? stats.depth_by_priority[i] : 0);
  }
  char rate[32];
  std::snprintf(rate, sizeof(rate), "%.2f", stats.grants_per_second);
  std::string result = "waiting: " + std::to_string(stats.total_depth) + " ("
                       + depths + ")\n";
  result += "active locks: " + std::to_string(stats.active_locks) + '\n';
  result += "grants: " + std::to_string(stats.total_grants) + " in total, "
            + rate + " per second over the last minute\n";
  result += "wait before grant: average " + format_wait(stats.average_wait_ms)
            + ", p99 " + format_wait(static_cast<double>(stats.p99_wait_ms));
  return result;
}

std::string describe_ticket(const ticket_info& ticket, int64_t now_ms) {
  auto request = resource_name(ticket.key) + " (owner " + ticket.owner + ")";
  std::string result = "ticket " + ticket.ticket_id + ' ';
  switch (ticket.state) {
  case ticket_state::pending:
    return result + "pending at position " + std::to_string(ticket.position)
           + " for " + request;
  case ticket_state::granted:
    return result + "granted: " + describe_lock(ticket.lock, now_ms, true);
  case ticket_state::failed:
    return result + "failed for " + request + ": "
           + std::string{to_string_view(ticket.error)} + ": "
           + ticket.error_message;
  case ticket_state::cancelled:
    return result + "cancelled for " + request;
  }
  return result + std::string{to_string_view(ticket.state)};
}

std::string describe_cycle_member(const cycle_member& member,
                                  const std::string& holder) {
  return member.owner + " waits for " + resource_name(member.key) + " held by "
         + holder + " (" + std::string{to_string_view(member.level)}
         + ", waited "
         + format_duration(std::chrono::milliseconds{member.waited_ms})
         + ", holds " + count_of(member.locks_held, "lock") + ")";
}

std::string format_cycle(const std::vector<cycle_member>& cycle,
                         const std::string& indent) {
  std::string result;
  for (size_t i = 0; i < cycle.size(); ++i)
    result += indent
              + describe_cycle_member(cycle[i],
                                      cycle[(i + 1) % cycle.size()].owner)
              + '\n';
  return result;
}

std::string describe_deadlock(const deadlock_info& deadlock) {
  std::string result = "deadlock " + std::to_string(deadlock.id) + ": "
                       + count_of(deadlock.cycle.size(), "owner");
  if (deadlock.victim.empty())
    result += ", no victim chosen yet";
  else
    result += ", victim " + deadlock.victim;
  if (!deadlock.policy.empty())
    result += " (policy " + deadlock.policy + ")";
  result
      += deadlock.outcome.empty() ? ", open" : ", outcome " + deadlock.outcome;
  if (deadlock.released_locks)
    result += ", locks of the victim released";
  if (!deadlock.reason.empty())
    result += "\n  reason: " + deadlock.reason;
  auto members = format_cycle(deadlock.cycle, "  ");
  if (!members.empty()) {
    members.pop_back();
    result += '\n' + members;
  }
  return result;
}

std::string format_deadlock_stats(const deadlock_stats& stats) {
  std::string result = "detection runs since the service started: "
                       + std::to_string(stats.runs) + '\n';
  result += "deadlocks: " + std::to_string(stats.detected) + " detected, "
            + std::to_string(stats.resolved) + " resolved, "
            + std::to_string(stats.vetoed) + " vetoed, "
            + std::to_string(stats.dissolved) + " dissolved\n";
  result += "requests rejected with would_deadlock: "
            + std::to_string(stats.prevented) + '\n';
  result += "hook calls: " + std::to_string(stats.hook_timeouts)
            + " timed out, " + std::to_string(stats.hook_errors) + " failed";
  return result;
}

std::string describe_event(const lock_event& event) {
  const auto& record = event.record;
  std::string result = format_time(event.timestamp_ms) + ' '
                       + std::string{to_string_view(event.type)} + ' '
                       + to_string(record.key);
  if (!record.owner.empty())
    result += " owner=" + record.owner;
  if (!record.user.empty())
    result += " user=" + record.user;
  if (record.token != 0)
    result += " token=" + std::to_string(record.token);
  if (!event.reason.empty())
    result += " reason=\"" + event.reason + '"';
  if (is_deadlock_event(event.type))
    result += describe_event_deadlock(event);
  return result;
}

std::string format_error(const lock_error& error) {
  std::string result = to_string(error.code) + ": " + error.message;
  if (!error.field.empty())
    result += " (field: " + error.field + ")";
  return result;
}

std::string describe_error(const lock_error& error) {
  auto result = "error: " + format_error(error);
  if (!error.holder.empty()) {
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    result += "\n  current holder: " + describe_lock(error.holder, now, false);
  }
  if (!error.holders.empty()) {
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    for (const auto& holder : error.holders)
      result += "\n  held: " + describe_lock(holder, now, false);
  }
  if (!error.cycle.empty()) {
    auto members = format_cycle(error.cycle, "    ");
    members.pop_back();
    result += "\n  cycle:\n" + members;
  }
  if (auto hint = deadlock_hint(error.code); !hint.empty())
    result += "\n  " + hint;
  return result;
}

} // namespace holdfast
