// A plugin built for another version of the plugin API. The service must
// reject it after calling holdfast_plugin_api_version and nothing else.

#include <cstdlib>

#include <holdfast/plugin.hpp>

extern "C" uint32_t holdfast_plugin_api_version() {
  return 999;
}

extern "C" void holdfast_plugin_register(holdfast::plugin::registry*) {
  // Registering with a mismatched version would crash a real service.
  std::abort();
}
