#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "messages/requests.hpp"

namespace holdfast {

/// Computes the effective priority of a waiting request. Waiters with a
/// higher value are served first; ties go to the earlier arrival. Values
/// are on the scale of `priority` (very_low = 0 ... critical = 4).
/// Implementations must be thread-safe: every lock actor calls the same
/// instance.
class priority_calculator {
public:
  virtual ~priority_calculator();

  virtual double effective_priority(const acquire_request& request,
                                    int64_t waited_ms) const = 0;
};

using priority_calculator_ptr = std::shared_ptr<const priority_calculator>;

/// Settings of the built-in calculator.
struct priority_settings {
  /// Waiting this long raises a request by one level, up to critical.
  /// Zero disables aging.
  int64_t aging_interval_ms = 60'000;
  /// Added to requests on a workspace, such as {"prod": 1}.
  std::map<std::string, double> workspace_weights;
  /// Requests of these users (or owners when no user is given) are served
  /// before every other request.
  std::set<std::string> emergency_users;
};

/// Built-in calculator: the requested level, plus the workspace weight,
/// plus one level per aging interval waited (aging stops at critical), and
/// above critical for emergency users.
class configured_priority_calculator final : public priority_calculator {
public:
  explicit configured_priority_calculator(priority_settings settings);

  double effective_priority(const acquire_request& request,
                            int64_t waited_ms) const override;

private:
  priority_settings settings_;
};

} // namespace holdfast
