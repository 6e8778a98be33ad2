#pragma once

#include <memory>
#include <string>
#include <vector>

#include <spdlog/logger.h>

namespace holdfast {

struct log_settings;

/// Names of the component loggers: "app", "engine", "store", "nats" and
/// "managed-nats". `log.levels` may set a level for each of them.
const std::vector<std::string>& logger_names();

/// Returns whether `level` names a log level: trace, debug, info, warn,
/// error, critical or off.
bool is_valid_log_level(const std::string& level);

/// Creates one logger per component, all writing to standard error, and
/// registers them with spdlog, where `holdfast::logger(name)` finds them.
/// The "app" logger becomes the default logger. Loggers created earlier
/// under these names keep their sinks and get the pattern and level.
void setup_logging(const log_settings& settings);

} // namespace holdfast
