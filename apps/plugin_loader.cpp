#include "apps/plugin_loader.hpp"

#include <dlfcn.h>

#include <cstdint>
#include <map>
#include <memory>
#include <utility>

#include <spdlog/logger.h>
#include <spdlog/spdlog.h>

#include "actors/logger.hpp"

namespace holdfast {

namespace {

using api_version_function = uint32_t (*)();
using register_function = void (*)(plugin::registry*);

constexpr const char* api_version_symbol = "holdfast_plugin_api_version";
constexpr const char* register_symbol = "holdfast_plugin_register";

spdlog::level::level_enum to_spdlog_level(plugin::log_level level) {
  switch (level) {
  case plugin::log_level::debug:
    return spdlog::level::debug;
  case plugin::log_level::info:
    return spdlog::level::info;
  case plugin::log_level::warn:
    return spdlog::level::warn;
  case plugin::log_level::error:
    return spdlog::level::err;
  }
  return spdlog::level::err;
}

/// Returns the logger "plugin.<instance>".
std::shared_ptr<spdlog::logger> plugin_logger(const std::string& instance) {
  auto name = "plugin." + instance;
  if (auto existing = spdlog::get(name))
    return existing;
  auto app = spdlog::get("app");
  if (!app)
    return logger(name);
  // A clone of the application logger shares the sink, pattern and level
  // that `setup_logging` gave it.
  auto result = app->clone(name);
  try {
    spdlog::register_logger(result);
  } catch (const spdlog::spdlog_ex&) {
    // Another thread registered the same name in the meantime.
    return spdlog::get(name);
  }
  return result;
}

/// Host services of one plugin instance.
class plugin_host : public plugin::host {
public:
  plugin_host(std::string nats_url, std::shared_ptr<spdlog::logger> log)
      : nats_url_(std::move(nats_url)), log_(std::move(log)) {
  }

  std::string nats_url() const override {
    return nats_url_;
  }

  void log(plugin::log_level level, std::string_view message) override {
    log_->log(to_spdlog_level(level), "{}", message);
  }

private:
  std::string nats_url_;
  std::shared_ptr<spdlog::logger> log_;
};

/// Collects what one call of `holdfast_plugin_register` adds.
class factory_registry : public plugin::registry {
public:
  void add(const std::string& name, plugin::hook_factory factory) override {
    if (!factories_.emplace(name, std::move(factory)).second)
      duplicates_.push_back(name);
  }

  const std::map<std::string, plugin::hook_factory>& factories() const {
    return factories_;
  }

  /// Names added more than once.
  const std::vector<std::string>& duplicates() const {
    return duplicates_;
  }

  /// Returns the registered names, separated by commas, or "none".
  std::string names() const {
    if (factories_.empty())
      return "none";
    std::string result;
    for (const auto& entry : factories_) {
      if (!result.empty())
        result += ", ";
      result += entry.first;
    }
    return result;
  }

private:
  std::map<std::string, plugin::hook_factory> factories_;
  std::vector<std::string> duplicates_;
};

/// Returns the argument for dlopen: without a slash, dlopen would search
/// the library path instead of the current directory.
std::string dlopen_path(const std::string& library) {
  if (library.find('/') == std::string::npos)
    return "./" + library;
  return library;
}

/// Returns the text of the last dl* error without the file name that
/// dlopen puts in front of it, since our message names the file already.
std::string last_dl_error(const std::string& path) {
  const char* text = dlerror();
  if (text == nullptr)
    return "unknown dynamic loader error";
  std::string result = text;
  auto prefix = path + ": ";
  if (result.compare(0, prefix.size(), prefix) == 0)
    result.erase(0, prefix.size());
  return result;
}

/// Loads one library and creates the instance `entry` describes.
hook_instance_ptr load_plugin(const plugin_config& entry,
                              const std::string& nats_url) {
  auto fail = [&entry](const std::string& reason) {
    throw plugin_load_error("cannot load plugin '" + entry.name + "' from "
                            + entry.library + ": " + reason);
  };

  // The library is never closed, not even after a failure below: the
  // plugin actors destroy the hooks, whose code and virtual tables live in
  // the library, during shutdown, long after this function returned.
  auto path = dlopen_path(entry.library);
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr)
    fail(last_dl_error(path));

  // Nothing of the library but the version function may run before the
  // version matches: the other signatures may differ in another version.
  dlerror();
  auto* version_symbol = dlsym(handle, api_version_symbol);
  if (version_symbol == nullptr)
    fail(std::string{"it does not export "} + api_version_symbol);
  auto api_version = reinterpret_cast<api_version_function>(version_symbol);
  auto version = api_version();
  if (version != plugin::api_version)
    fail("built for plugin API " + std::to_string(version)
         + ", this service supports " + std::to_string(plugin::api_version));
  auto* register_entry = dlsym(handle, register_symbol);
  if (register_entry == nullptr)
    fail(std::string{"it does not export "} + register_symbol);

  factory_registry registry;
  try {
    reinterpret_cast<register_function>(register_entry)(&registry);
  } catch (const std::exception& e) {
    fail(std::string{"registering its factories failed: "} + e.what());
  } catch (...) {
    fail("registering its factories failed with an exception that is not "
         "a std::exception");
  }
  if (!registry.duplicates().empty())
    fail("it registers the factory '" + registry.duplicates().front()
         + "' more than once");
  auto found = registry.factories().find(entry.factory);
  if (found == registry.factories().end())
    fail("no factory '" + entry.factory
         + "' (the library registers: " + registry.names() + ")");

  auto instance = std::make_shared<hook_instance>();
  instance->name = entry.name;
  instance->host
      = std::make_shared<plugin_host>(nats_url, plugin_logger(entry.name));
  try {
    instance->hook = found->second(entry.settings, *instance->host);
  } catch (const std::exception& e) {
    fail("factory '" + entry.factory + "' failed: " + e.what());
  } catch (...) {
    fail("factory '" + entry.factory
         + "' failed with an exception that is not a std::exception");
  }
  if (!instance->hook)
    fail("factory '" + entry.factory + "' returned no instance");
  return instance;
}

} // namespace

std::vector<hook_instance_ptr>
load_plugins(const std::vector<plugin_config>& plugins,
             const std::string& nats_url) {
  auto log = logger("app");
  std::vector<hook_instance_ptr> result;
  result.reserve(plugins.size());
  for (const auto& entry : plugins) {
    result.push_back(load_plugin(entry, nats_url));
    log->info("loaded plugin '{}': factory {} from {}", entry.name,
              entry.factory, entry.library);
  }
  return result;
}

} // namespace holdfast
