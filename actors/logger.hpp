#pragma once

#include <memory>
#include <string>

#include <spdlog/logger.h>

namespace holdfast {

/// Returns the named logger of a component ("engine", "store", "nats", ...),
/// creating a colored stderr logger when the application has not
/// configured one under that name.
std::shared_ptr<spdlog::logger> logger(const std::string& name);

} // namespace holdfast
