#include "actors/priority_calculator.hpp"

#include <algorithm>

namespace holdfast {

namespace {

constexpr double critical_level = static_cast<double>(priority::critical);

/// Emergency requests rank above anything aging or weights can reach.
constexpr double emergency_level = 100.0;

} // namespace

priority_calculator::~priority_calculator() = default;

configured_priority_calculator::configured_priority_calculator(
  priority_settings settings)
  : settings_(std::move(settings)) {
  // Nothing else to do.
}

double configured_priority_calculator::effective_priority(
  const acquire_request& request, int64_t waited_ms) const {
  const auto& user = request.user.empty() ? request.owner : request.user;
  if (settings_.emergency_users.count(user) != 0)
    return emergency_level;

  auto level = static_cast<double>(request.level);
  if (settings_.aging_interval_ms > 0 && waited_ms > 0) {
    auto aged = level
                + static_cast<double>(waited_ms)
                    / static_cast<double>(settings_.aging_interval_ms);
    level = std::max(level, std::min(aged, critical_level));
  }

  auto weight = settings_.workspace_weights.find(request.key.workspace);
  if (weight != settings_.workspace_weights.end())
    level += weight->second;
  return level;
}

} // namespace holdfast
