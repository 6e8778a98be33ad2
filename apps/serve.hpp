#pragma once

#include <optional>
#include <string>

#include "apps/config.hpp"

namespace holdfast {

/// Command-line input of `holdfast serve`.
struct serve_options {
  /// Configuration file; without it `config/holdfast.yaml` is read if it
  /// exists.
  std::optional<std::string> config_path;
  config_overrides overrides;
};

/// Runs the service until SIGINT or SIGTERM and returns the exit status:
/// 0 after a clean stop, 1 when the start failed, 2 for an invalid
/// configuration.
///
/// Start order: managed nats-server (when `nats.url` is empty), store,
/// engine, NATS bridge. Stop order: the bridge stops taking requests, the
/// engine actors exit, the store closes, the managed nats-server stops.
int run_serve(const serve_options& options);

} // namespace holdfast
