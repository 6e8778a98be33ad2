#include "messages/deadlock.hpp"

namespace holdfast {

std::string describe_cycle(const std::vector<cycle_member>& cycle) {
  std::string result;
  for (size_t i = 0; i < cycle.size(); ++i) {
    const auto& member = cycle[i];
    const auto& next = cycle[(i + 1) % cycle.size()];
    if (!result.empty())
      result += "; ";
    result += "'" + member.owner + "' waits for " + member.key.project + "/"
              + member.key.workspace + " held by '" + next.owner + "'";
  }
  return result;
}

} // namespace holdfast
