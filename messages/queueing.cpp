#include "messages/queueing.hpp"

#include <array>

namespace holdfast {

namespace {

constexpr std::array<std::string_view, 4> ticket_state_names{
  "pending", "granted", "failed", "cancelled"};

} // namespace

std::string_view to_string_view(ticket_state state) {
  auto index = static_cast<size_t>(state);
  if (index < ticket_state_names.size())
    return ticket_state_names[index];
  return "pending";
}

std::optional<ticket_state> parse_ticket_state(std::string_view name) {
  for (size_t i = 0; i < ticket_state_names.size(); ++i)
    if (ticket_state_names[i] == name)
      return static_cast<ticket_state>(i);
  return std::nullopt;
}

} // namespace holdfast
