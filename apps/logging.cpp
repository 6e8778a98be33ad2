#include "apps/logging.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "apps/config.hpp"

namespace holdfast {

const std::vector<std::string>& logger_names() {
  static const std::vector<std::string> names{
    "app", "engine", "store", "nats", "managed-nats", "deadlock", "plugin"};
  return names;
}

bool is_valid_log_level(const std::string& level) {
  static const char* const names[]
      = {"trace", "debug", "info", "warn", "error", "critical", "off"};
  for (auto name : names)
    if (level == name)
      return true;
  return false;
}

void setup_logging(const log_settings& settings) {
  // One sink shared by all loggers keeps lines from different threads whole.
  static auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  for (const auto& name : logger_names()) {
    auto logger = spdlog::get(name);
    if (!logger) {
      logger = std::make_shared<spdlog::logger>(name, sink);
      spdlog::register_logger(logger);
    }
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%-8l%$ [%n] %v");
    auto level = settings.level;
    if (auto it = settings.levels.find(name); it != settings.levels.end())
      level = it->second;
    logger->set_level(spdlog::level::from_str(level));
  }
  spdlog::set_default_logger(spdlog::get("app"));
}

} // namespace holdfast
