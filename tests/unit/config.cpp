#include <boost/test/unit_test.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <string>

#include "apps/config.hpp"
#include "tests/support/temp_dir.hpp"

using namespace holdfast;
using namespace std::chrono_literals;

namespace holdfast {

// Lets BOOST_TEST print policies in failure messages.
std::ostream& boost_test_print_type(std::ostream& out, victim_policy policy) {
  return out << to_string_view(policy);
}

} // namespace holdfast

namespace {

constexpr const char* origin = "test.yaml";

app_config parse(const std::string& yaml) {
  return parse_config(yaml, origin);
}

/// Returns the message of the `config_error` that parsing `yaml` throws, or
/// an empty string when it throws none.
std::string parse_error(const std::string& yaml) {
  try {
    parse(yaml);
  } catch (const config_error& e) {
    return e.what();
  }
  return {};
}

/// Returns the message of the `config_error` that `validate` throws, or an
/// empty string when it throws none.
std::string validation_error(const app_config& config) {
  try {
    validate(config);
  } catch (const config_error& e) {
    return e.what();
  }
  return {};
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out{path};
  out << text;
}

/// Returns the path of the configuration file that ships in the repository.
std::filesystem::path shipped_config() {
  return std::filesystem::path{__FILE__}
             .parent_path()
             .parent_path()
             .parent_path()
         / "config" / "holdfast.yaml";
}

void check_defaults(const app_config& config) {
  BOOST_TEST(config.nats.url == "");
  BOOST_TEST(config.nats.managed.port == 4222);
  BOOST_TEST(config.nats.managed.binary == "nats-server");
  BOOST_TEST(config.nats.managed.data_dir == "");
  BOOST_TEST(config.storage.backend == "lmdb");
  BOOST_TEST(config.storage.path == "var/data");
  BOOST_TEST(config.storage.map_size_mb == 1024u);
  BOOST_TEST(config.storage.sync);
  BOOST_TEST(config.locks.default_ttl.count() == 300'000);
  BOOST_TEST(config.locks.max_ttl.count() == 86'400'000);
  BOOST_TEST(config.locks.max_wait.count() == 3'600'000);
  BOOST_TEST(config.locks.idle_retire_after.count() == 30'000);
  BOOST_TEST(config.log.level == "info");
  BOOST_TEST(config.log.levels.empty());
  BOOST_TEST(config.deadlock.enabled);
  BOOST_TEST(config.deadlock.timeout.count() == 1'000);
  BOOST_TEST(config.deadlock.policy == victim_policy::youngest);
  BOOST_TEST(config.deadlock.policy_plugin == "");
  BOOST_TEST(config.deadlock.fallback == victim_policy::youngest);
  BOOST_TEST(!config.deadlock.release_victim_locks);
  BOOST_TEST(!config.deadlock.prevention);
  BOOST_TEST(config.deadlock.hook_timeout.count() == 1'000);
  BOOST_TEST(config.deadlock.max_extension.count() == 30'000);
  BOOST_TEST(config.deadlock.hooks.empty());
  BOOST_TEST(config.plugins.empty());
}

/// Returns a valid plugin entry named `name`.
plugin_config plugin_entry(const std::string& name) {
  return plugin_config{name,
                       "build/plugins/libholdfast_nats_notify.so",
                       "nats_notify",
                       {{"subject", "notes"}}};
}

} // namespace

BOOST_AUTO_TEST_SUITE(config_defaults)

BOOST_AUTO_TEST_CASE(defaults_without_file) {
  check_defaults(app_config{});
}

BOOST_AUTO_TEST_CASE(defaults_from_empty_text) {
  check_defaults(parse(""));
  check_defaults(parse("# nothing but a comment\n"));
  check_defaults(parse("{}"));
}

BOOST_AUTO_TEST_CASE(defaults_from_empty_sections) {
  check_defaults(parse("nats:\nstorage:\nlocks:\nlog:\ndeadlock:\nplugins:\n"));
  check_defaults(parse("nats: {}\nstorage: {}\nlocks: {}\nlog: {}\n"
                       "deadlock: {}\nplugins: []\n"));
}

BOOST_AUTO_TEST_CASE(defaults_pass_validation) {
  BOOST_TEST(validation_error(app_config{}) == "");
}

BOOST_AUTO_TEST_CASE(shipped_file_matches_defaults) {
  auto path = shipped_config();
  BOOST_TEST_REQUIRE(std::filesystem::exists(path));
  auto config = load_config_file(path.string());
  check_defaults(config);
}

BOOST_AUTO_TEST_CASE(null_value_keeps_default) {
  auto config = parse("nats:\n  url:\nlocks:\n  max_ttl: ~\n");
  BOOST_TEST(config.nats.url == "");
  BOOST_TEST(config.locks.max_ttl.count() == 86'400'000);
}

BOOST_AUTO_TEST_CASE(managed_data_dir_defaults_below_storage) {
  app_config config;
  config.storage.path = "/srv/holdfast";
  BOOST_TEST(config.managed_nats_data_dir() == "/srv/holdfast/managed-nats");
  config.nats.managed.data_dir = "/var/lib/nats";
  BOOST_TEST(config.managed_nats_data_dir() == "/var/lib/nats");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(config_keys)

BOOST_AUTO_TEST_CASE(nats_keys) {
  auto config = parse("nats:\n"
                      "  url: nats://user:pw@10.0.0.5:4222\n"
                      "  managed:\n"
                      "    port: 14222\n"
                      "    binary: /opt/nats/nats-server\n"
                      "    data_dir: /var/lib/holdfast-nats\n");
  BOOST_TEST(config.nats.url == "nats://user:pw@10.0.0.5:4222");
  BOOST_TEST(config.nats.managed.port == 14222);
  BOOST_TEST(config.nats.managed.binary == "/opt/nats/nats-server");
  BOOST_TEST(config.nats.managed.data_dir == "/var/lib/holdfast-nats");
}

BOOST_AUTO_TEST_CASE(storage_keys) {
  auto config = parse("storage:\n"
                      "  backend: memory\n"
                      "  path: /srv/holdfast\n"
                      "  map_size_mb: 4096\n"
                      "  sync: false\n");
  BOOST_TEST(config.storage.backend == "memory");
  BOOST_TEST(config.storage.path == "/srv/holdfast");
  BOOST_TEST(config.storage.map_size_mb == 4096u);
  BOOST_TEST(!config.storage.sync);
}

BOOST_AUTO_TEST_CASE(locks_keys) {
  auto config = parse("locks:\n"
                      "  default_ttl: 90s\n"
                      "  max_ttl: 2h\n"
                      "  max_wait: 1h30m\n"
                      "  idle_retire_after: 1500ms\n");
  BOOST_TEST(config.locks.default_ttl.count() == 90'000);
  BOOST_TEST(config.locks.max_ttl.count() == 7'200'000);
  BOOST_TEST(config.locks.max_wait.count() == 5'400'000);
  BOOST_TEST(config.locks.idle_retire_after.count() == 1'500);
}

BOOST_AUTO_TEST_CASE(log_keys) {
  auto config = parse("log:\n"
                      "  level: warn\n"
                      "  levels:\n"
                      "    nats: debug\n"
                      "    managed-nats: error\n");
  BOOST_TEST(config.log.level == "warn");
  BOOST_TEST(config.log.levels.size() == 2u);
  BOOST_TEST(config.log.levels["nats"] == "debug");
  BOOST_TEST(config.log.levels["managed-nats"] == "error");
}

BOOST_AUTO_TEST_CASE(sync_accepts_yaml_booleans) {
  BOOST_TEST(!parse("storage:\n  sync: off\n").storage.sync);
  BOOST_TEST(!parse("storage:\n  sync: no\n").storage.sync);
  BOOST_TEST(parse("storage:\n  sync: yes\n").storage.sync);
}

BOOST_AUTO_TEST_CASE(port_range_boundaries) {
  BOOST_TEST(parse("nats:\n  managed:\n    port: 1\n").nats.managed.port == 1);
  BOOST_TEST(parse("nats:\n  managed:\n    port: 65535\n").nats.managed.port
             == 65535);
}

BOOST_AUTO_TEST_CASE(map_size_range_boundaries) {
  BOOST_TEST(parse("storage:\n  map_size_mb: 1\n").storage.map_size_mb == 1u);
  BOOST_TEST(parse("storage:\n  map_size_mb: 1048576\n").storage.map_size_mb
             == 1'048'576u);
}

BOOST_AUTO_TEST_CASE(engine_config_takes_lock_settings) {
  auto config = parse("locks:\n"
                      "  default_ttl: 90s\n"
                      "  max_ttl: 2h\n"
                      "  max_wait: 10m\n"
                      "  idle_retire_after: 5s\n");
  auto engine = make_engine_config(config);
  BOOST_TEST(engine.limits.default_ttl_ms == 90'000);
  BOOST_TEST(engine.limits.max_ttl_ms == 7'200'000);
  BOOST_TEST(engine.limits.max_wait_ms == 600'000);
  BOOST_TEST(engine.idle_retire_after.count() == 5'000);
  BOOST_TEST(static_cast<bool>(engine.now_ms));
}

BOOST_AUTO_TEST_CASE(deadlock_keys) {
  auto config = parse("deadlock:\n"
                      "  enabled: false\n"
                      "  timeout: 250ms\n"
                      "  policy: lowest_priority\n"
                      "  fallback_policy: fewest_locks\n"
                      "  release_victim_locks: true\n"
                      "  prevention: yes\n"
                      "  hook_timeout: 2s\n"
                      "  max_extension: 1m\n");
  const auto& deadlock = config.deadlock;
  BOOST_TEST(!deadlock.enabled);
  BOOST_TEST(deadlock.timeout.count() == 250);
  BOOST_TEST(deadlock.policy == victim_policy::lowest_priority);
  BOOST_TEST(deadlock.policy_plugin == "");
  BOOST_TEST(deadlock.fallback == victim_policy::fewest_locks);
  BOOST_TEST(deadlock.release_victim_locks);
  BOOST_TEST(deadlock.prevention);
  BOOST_TEST(deadlock.hook_timeout.count() == 2'000);
  BOOST_TEST(deadlock.max_extension.count() == 60'000);
}

BOOST_AUTO_TEST_CASE(deadlock_plugin_policy) {
  auto config = parse("deadlock:\n  policy: plugin:chooser\n");
  BOOST_TEST(config.deadlock.policy == victim_policy::plugin);
  BOOST_TEST(config.deadlock.policy_plugin == "chooser");
}

BOOST_AUTO_TEST_CASE(plugins_keys) {
  auto config
      = parse("plugins:\n"
              "  - name: prod-approval\n"
              "    library: build/plugins/libholdfast_nats_approval.so\n"
              "    factory: nats_approval\n"
              "    settings:\n"
              "      subject: holdfast.approvals\n"
              "      workspaces: [prod, infra/staging]\n"
              "      timeout: 30s\n"
              "      url:\n"
              "  - name: bare\n"
              "    library: libbare.so\n"
              "    factory: bare\n");
  BOOST_TEST_REQUIRE(config.plugins.size() == 2u);
  const auto& first = config.plugins[0];
  BOOST_TEST(first.name == "prod-approval");
  BOOST_TEST(first.library == "build/plugins/libholdfast_nats_approval.so");
  BOOST_TEST(first.factory == "nats_approval");
  BOOST_TEST(first.settings.size() == 4u);
  BOOST_TEST(first.settings.at("subject") == "holdfast.approvals");
  BOOST_TEST(first.settings.at("workspaces") == "prod,infra/staging");
  BOOST_TEST(first.settings.at("timeout") == "30s");
  BOOST_TEST(first.settings.at("url") == "");
  const auto& second = config.plugins[1];
  BOOST_TEST(second.name == "bare");
  BOOST_TEST(second.settings.empty());
}

BOOST_AUTO_TEST_CASE(engine_config_takes_deadlock_settings) {
  auto config = parse("deadlock:\n"
                      "  timeout: 3s\n"
                      "  policy: plugin:chooser\n"
                      "  fallback_policy: lowest_priority\n"
                      "  release_victim_locks: true\n"
                      "  prevention: true\n"
                      "  hook_timeout: 500ms\n"
                      "  max_extension: 10s\n");
  auto engine = make_engine_config(config);
  BOOST_TEST(engine.deadlock.enabled);
  BOOST_TEST(engine.deadlock.timeout.count() == 3'000);
  BOOST_TEST(engine.deadlock.policy == victim_policy::plugin);
  BOOST_TEST(engine.deadlock.policy_plugin == "chooser");
  BOOST_TEST(engine.deadlock.fallback == victim_policy::lowest_priority);
  BOOST_TEST(engine.deadlock.release_victim_locks);
  BOOST_TEST(engine.deadlock.prevention);
  BOOST_TEST(engine.deadlock.hook_timeout.count() == 500);
  BOOST_TEST(engine.deadlock.max_extension.count() == 10'000);
  BOOST_TEST(engine.deadlock.hooks.empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(config_errors)

BOOST_AUTO_TEST_CASE(unknown_key_names_key_and_line) {
  auto message = parse_error("nats:\n"
                             "  url: nats://127.0.0.1:4222\n"
                             "  urll: nats://127.0.0.1:4223\n");
  BOOST_TEST(contains(message, "test.yaml:3"));
  BOOST_TEST(contains(message, "nats.urll"));
  BOOST_TEST(contains(message, "unknown key"));
  BOOST_TEST(contains(message, "url, managed"));
}

BOOST_AUTO_TEST_CASE(unknown_top_level_key) {
  auto message = parse_error("storage:\n  backend: lmdb\ncolour: red\n");
  BOOST_TEST(contains(message, "test.yaml:3"));
  BOOST_TEST(contains(message, "colour"));
  BOOST_TEST(contains(message, "unknown key"));
}

BOOST_AUTO_TEST_CASE(unknown_nested_key) {
  auto message = parse_error("nats:\n  managed:\n    host: 0.0.0.0\n");
  BOOST_TEST(contains(message, "test.yaml:3"));
  BOOST_TEST(contains(message, "nats.managed.host"));
}

BOOST_AUTO_TEST_CASE(unknown_logger_name) {
  auto message = parse_error("log:\n  levels:\n    natz: debug\n");
  BOOST_TEST(contains(message, "test.yaml:3"));
  BOOST_TEST(contains(message, "log.levels.natz"));
}

BOOST_AUTO_TEST_CASE(malformed_yaml_names_line) {
  auto message = parse_error("nats:\n  url: [unclosed\n");
  BOOST_TEST(contains(message, "test.yaml:"));
  BOOST_TEST(contains(message, "malformed YAML"));
}

BOOST_AUTO_TEST_CASE(section_must_be_a_mapping) {
  auto message = parse_error("nats: nats://127.0.0.1:4222\n");
  BOOST_TEST(contains(message, "nats"));
  BOOST_TEST(contains(message, "expected a mapping"));
  message = parse_error("- nats\n- storage\n");
  BOOST_TEST(contains(message, "(top level)"));
}

BOOST_AUTO_TEST_CASE(value_must_be_scalar) {
  auto message = parse_error("nats:\n  url: [a, b]\n");
  BOOST_TEST(contains(message, "test.yaml:2"));
  BOOST_TEST(contains(message, "nats.url"));
  BOOST_TEST(contains(message, "expected a single value"));
}

BOOST_AUTO_TEST_CASE(bad_integer_names_key_and_value) {
  auto message = parse_error("storage:\n  map_size_mb: lots\n");
  BOOST_TEST(contains(message, "test.yaml:2"));
  BOOST_TEST(contains(message, "storage.map_size_mb"));
  BOOST_TEST(contains(message, "\"lots\""));
  BOOST_TEST(contains(message, "whole number"));
  message = parse_error("storage:\n  map_size_mb: 1.5\n");
  BOOST_TEST(contains(message, "storage.map_size_mb"));
}

BOOST_AUTO_TEST_CASE(integer_out_of_range) {
  auto message = parse_error("nats:\n  managed:\n    port: 65536\n");
  BOOST_TEST(contains(message, "nats.managed.port"));
  BOOST_TEST(contains(message, "65536"));
  BOOST_TEST(contains(message, "out of range"));
  message = parse_error("nats:\n  managed:\n    port: 0\n");
  BOOST_TEST(contains(message, "nats.managed.port"));
  message = parse_error("nats:\n  managed:\n    port: -1\n");
  BOOST_TEST(contains(message, "nats.managed.port"));
  message = parse_error("storage:\n  map_size_mb: 0\n");
  BOOST_TEST(contains(message, "storage.map_size_mb"));
  message = parse_error("storage:\n  map_size_mb: 1048577\n");
  BOOST_TEST(contains(message, "storage.map_size_mb"));
}

BOOST_AUTO_TEST_CASE(bad_boolean_names_key_and_value) {
  auto message = parse_error("storage:\n  sync: maybe\n");
  BOOST_TEST(contains(message, "test.yaml:2"));
  BOOST_TEST(contains(message, "storage.sync"));
  BOOST_TEST(contains(message, "\"maybe\""));
}

BOOST_AUTO_TEST_CASE(bad_duration_names_key_and_value) {
  for (const char* key :
       {"default_ttl", "max_ttl", "max_wait", "idle_retire_after"}) {
    BOOST_TEST_CONTEXT("key " << key) {
      auto message
          = parse_error(std::string{"locks:\n  "} + key + ": 5 minutes\n");
      BOOST_TEST(contains(message, "test.yaml:2"));
      BOOST_TEST(contains(message, std::string{"locks."} + key));
      BOOST_TEST(contains(message, "\"5 minutes\""));
      BOOST_TEST(contains(message, "invalid duration"));
    }
  }
}

BOOST_AUTO_TEST_CASE(duration_without_unit_is_rejected) {
  auto message = parse_error("locks:\n  max_wait: 3600\n");
  BOOST_TEST(contains(message, "locks.max_wait"));
  BOOST_TEST(contains(message, "\"3600\""));
}

BOOST_AUTO_TEST_CASE(missing_file_names_path) {
  test::temp_dir dir{"holdfast-config"};
  auto path = dir.file("missing.yaml").string();
  std::string message;
  try {
    load_config_file(path);
  } catch (const config_error& e) {
    message = e.what();
  }
  BOOST_TEST(contains(message, path));
  BOOST_TEST(contains(message, "No such file"));
}

BOOST_AUTO_TEST_CASE(file_errors_name_file_and_line) {
  test::temp_dir dir{"holdfast-config"};
  auto path = dir.file("holdfast.yaml");
  write_file(path, "log:\n  level: info\n  colour: red\n");
  std::string message;
  try {
    load_config_file(path.string());
  } catch (const config_error& e) {
    message = e.what();
  }
  BOOST_TEST(contains(message, path.string() + ":3"));
  BOOST_TEST(contains(message, "log.colour"));
}

BOOST_AUTO_TEST_CASE(unknown_deadlock_key) {
  auto message = parse_error("deadlock:\n  timout: 1s\n");
  BOOST_TEST(contains(message, "test.yaml:2"));
  BOOST_TEST(contains(message, "deadlock.timout"));
  BOOST_TEST(contains(message, "unknown key"));
}

BOOST_AUTO_TEST_CASE(bad_deadlock_values) {
  auto message = parse_error("deadlock:\n  timeout: soon\n");
  BOOST_TEST(contains(message, "test.yaml:2"));
  BOOST_TEST(contains(message, "deadlock.timeout"));
  BOOST_TEST(contains(message, "\"soon\""));
  message = parse_error("deadlock:\n  hook_timeout: 1\n");
  BOOST_TEST(contains(message, "deadlock.hook_timeout"));
  message = parse_error("deadlock:\n  max_extension: long\n");
  BOOST_TEST(contains(message, "deadlock.max_extension"));
  message = parse_error("deadlock:\n  prevention: sometimes\n");
  BOOST_TEST(contains(message, "deadlock.prevention"));
}

BOOST_AUTO_TEST_CASE(unknown_policy) {
  auto message = parse_error("deadlock:\n  policy: oldest\n");
  BOOST_TEST(contains(message, "test.yaml:2"));
  BOOST_TEST(contains(message, "deadlock.policy"));
  BOOST_TEST(contains(message, "\"oldest\""));
  BOOST_TEST(contains(message, "plugin:<instance name>"));
  message = parse_error("deadlock:\n  policy: \"plugin:\"\n");
  BOOST_TEST(contains(message, "deadlock.policy"));
}

BOOST_AUTO_TEST_CASE(fallback_policy_must_be_builtin) {
  auto message = parse_error("deadlock:\n  fallback_policy: plugin:chooser\n");
  BOOST_TEST(contains(message, "test.yaml:2"));
  BOOST_TEST(contains(message, "deadlock.fallback_policy"));
  BOOST_TEST(contains(message, "\"plugin:chooser\""));
  BOOST_TEST(contains(message, "built-in policy"));
}

BOOST_AUTO_TEST_CASE(plugins_must_be_a_list) {
  auto message = parse_error("plugins:\n  name: a\n");
  BOOST_TEST(contains(message, "test.yaml:2"));
  BOOST_TEST(contains(message, "plugins"));
  BOOST_TEST(contains(message, "expected a list"));
}

BOOST_AUTO_TEST_CASE(unknown_plugin_key) {
  auto message = parse_error("plugins:\n"
                             "  - name: a\n"
                             "    library: liba.so\n"
                             "    factory: a\n"
                             "  - name: b\n"
                             "    libary: libb.so\n");
  BOOST_TEST(contains(message, "test.yaml:6"));
  BOOST_TEST(contains(message, "plugins[1].libary"));
  BOOST_TEST(contains(message, "name, library, factory, settings"));
}

BOOST_AUTO_TEST_CASE(plugin_entry_must_be_a_mapping) {
  auto message = parse_error("plugins:\n  - liba.so\n");
  BOOST_TEST(contains(message, "plugins[0]"));
  BOOST_TEST(contains(message, "expected a mapping"));
}

BOOST_AUTO_TEST_CASE(plugin_settings_are_values_or_lists) {
  auto message = parse_error("plugins:\n"
                             "  - name: a\n"
                             "    settings:\n"
                             "      nested:\n"
                             "        key: value\n");
  BOOST_TEST(contains(message, "test.yaml:5"));
  BOOST_TEST(contains(message, "plugins[0].settings.nested"));
  BOOST_TEST(contains(message, "expected a single value or a list"));
  message = parse_error("plugins:\n"
                        "  - name: a\n"
                        "    settings:\n"
                        "      list: [a, [b]]\n");
  BOOST_TEST(contains(message, "plugins[0].settings.list"));
  message = parse_error("plugins:\n  - name: a\n    settings: [a]\n");
  BOOST_TEST(contains(message, "plugins[0].settings"));
  BOOST_TEST(contains(message, "expected a mapping"));
  message = parse_error("plugins:\n  - name: [a]\n");
  BOOST_TEST(contains(message, "plugins[0].name"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(config_validation)

BOOST_AUTO_TEST_CASE(url_needs_scheme) {
  app_config config;
  config.nats.url = "127.0.0.1:4222";
  auto message = validation_error(config);
  BOOST_TEST(contains(message, "nats.url"));
  BOOST_TEST(contains(message, "127.0.0.1:4222"));
  config.nats.url = "nats://127.0.0.1:4222";
  BOOST_TEST(validation_error(config) == "");
}

BOOST_AUTO_TEST_CASE(url_without_spaces) {
  app_config config;
  config.nats.url = "nats://127.0.0.1:4222 nats://10.0.0.5:4222";
  BOOST_TEST(contains(validation_error(config), "nats.url"));
}

BOOST_AUTO_TEST_CASE(port_zero_is_rejected) {
  app_config config;
  config.nats.managed.port = 0;
  BOOST_TEST(contains(validation_error(config), "nats.managed.port"));
}

BOOST_AUTO_TEST_CASE(managed_binary_required_without_url) {
  app_config config;
  config.nats.managed.binary = "";
  BOOST_TEST(contains(validation_error(config), "nats.managed.binary"));
  config.nats.url = "nats://10.0.0.5:4222";
  BOOST_TEST(validation_error(config) == "");
}

BOOST_AUTO_TEST_CASE(unknown_backend) {
  app_config config;
  config.storage.backend = "disk";
  auto message = validation_error(config);
  BOOST_TEST(contains(message, "storage.backend"));
  BOOST_TEST(contains(message, "\"disk\""));
  BOOST_TEST(contains(message, "lmdb, memory"));
}

BOOST_AUTO_TEST_CASE(storage_path_required) {
  app_config config;
  config.storage.path = "";
  BOOST_TEST(contains(validation_error(config), "storage.path"));
}

BOOST_AUTO_TEST_CASE(map_size_range) {
  app_config config;
  config.storage.map_size_mb = 0;
  BOOST_TEST(contains(validation_error(config), "storage.map_size_mb"));
  config.storage.map_size_mb = 1'048'577;
  BOOST_TEST(contains(validation_error(config), "storage.map_size_mb"));
  config.storage.map_size_mb = 1'048'576;
  BOOST_TEST(validation_error(config) == "");
}

BOOST_AUTO_TEST_CASE(ttl_at_least_one_second) {
  app_config config;
  config.locks.max_ttl = 999ms;
  config.locks.default_ttl = 999ms;
  BOOST_TEST(contains(validation_error(config), "locks.max_ttl"));
  config.locks.max_ttl = 1s;
  BOOST_TEST(contains(validation_error(config), "locks.default_ttl"));
  config.locks.default_ttl = 1s;
  BOOST_TEST(validation_error(config) == "");
}

BOOST_AUTO_TEST_CASE(default_ttl_within_max_ttl) {
  app_config config;
  config.locks.max_ttl = 1min;
  config.locks.default_ttl = 2min;
  auto message = validation_error(config);
  BOOST_TEST(contains(message, "locks.default_ttl"));
  BOOST_TEST(contains(message, "2m"));
  BOOST_TEST(contains(message, "locks.max_ttl"));
  config.locks.default_ttl = 1min;
  BOOST_TEST(validation_error(config) == "");
}

BOOST_AUTO_TEST_CASE(idle_retire_after_positive) {
  app_config config;
  config.locks.idle_retire_after = 0ms;
  BOOST_TEST(contains(validation_error(config), "locks.idle_retire_after"));
  config.locks.idle_retire_after = 1ms;
  BOOST_TEST(validation_error(config) == "");
}

BOOST_AUTO_TEST_CASE(log_levels_are_checked) {
  app_config config;
  config.log.level = "bogus";
  auto message = validation_error(config);
  BOOST_TEST(contains(message, "log.level"));
  BOOST_TEST(contains(message, "\"bogus\""));
  config.log.level = "debug";
  config.log.levels["nats"] = "loud";
  BOOST_TEST(contains(validation_error(config), "log.levels.nats"));
  config.log.levels["nats"] = "off";
  BOOST_TEST(validation_error(config) == "");
}

BOOST_AUTO_TEST_CASE(parse_accepts_what_validate_rejects) {
  // Reading checks keys and types only; ranges are the job of validate.
  auto config = parse("storage:\n  backend: disk\n");
  BOOST_TEST(config.storage.backend == "disk");
  BOOST_TEST(contains(validation_error(config), "storage.backend"));
}

BOOST_AUTO_TEST_CASE(deadlock_durations_positive) {
  app_config config;
  config.deadlock.timeout = 0ms;
  auto message = validation_error(config);
  BOOST_TEST(contains(message, "deadlock.timeout"));
  BOOST_TEST(contains(message, "positive"));
  config.deadlock.timeout = 1ms;
  config.deadlock.hook_timeout = 0ms;
  BOOST_TEST(contains(validation_error(config), "deadlock.hook_timeout"));
  config.deadlock.hook_timeout = 1ms;
  config.deadlock.max_extension = 0ms;
  BOOST_TEST(validation_error(config) == "");
}

BOOST_AUTO_TEST_CASE(fallback_policy_plugin_rejected) {
  app_config config;
  config.deadlock.fallback = victim_policy::plugin;
  BOOST_TEST(contains(validation_error(config), "deadlock.fallback_policy"));
}

BOOST_AUTO_TEST_CASE(policy_plugin_must_be_configured) {
  auto config = parse("deadlock:\n  policy: plugin:chooser\n");
  auto message = validation_error(config);
  BOOST_TEST(contains(message, "deadlock.policy"));
  BOOST_TEST(contains(message, "\"plugin:chooser\""));
  BOOST_TEST(contains(message, "the plugins list is empty"));
  config.plugins = {plugin_entry("notes"), plugin_entry("audit")};
  message = validation_error(config);
  BOOST_TEST(contains(message, "\"plugin:chooser\""));
  BOOST_TEST(contains(message, "the configured instances are notes, audit"));
  config.plugins.push_back(plugin_entry("chooser"));
  BOOST_TEST(validation_error(config) == "");
}

BOOST_AUTO_TEST_CASE(plugin_names_unique) {
  app_config config;
  config.plugins
      = {plugin_entry("notes"), plugin_entry("audit"), plugin_entry("notes")};
  auto message = validation_error(config);
  BOOST_TEST(contains(message, "plugins[2].name"));
  BOOST_TEST(contains(message, "\"notes\""));
  BOOST_TEST(contains(message, "plugins[0] has the same name"));
}

BOOST_AUTO_TEST_CASE(plugin_fields_required) {
  app_config config;
  config.plugins = {plugin_entry("")};
  BOOST_TEST(contains(validation_error(config), "plugins[0].name"));
  config.plugins = {plugin_entry("notes")};
  config.plugins[0].library = "";
  BOOST_TEST(contains(validation_error(config), "plugins[0].library"));
  config.plugins[0].library = "libnotes.so";
  config.plugins[0].factory = "";
  BOOST_TEST(contains(validation_error(config), "plugins[0].factory"));
  config.plugins[0].factory = "nats_notify";
  BOOST_TEST(validation_error(config) == "");
}

BOOST_AUTO_TEST_CASE(parsed_plugin_without_library_fails_validation) {
  auto config = parse("plugins:\n  - name: a\n    factory: a\n");
  BOOST_TEST(contains(validation_error(config), "plugins[0].library"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(command_line_overrides)

BOOST_AUTO_TEST_CASE(each_override_replaces_its_key) {
  app_config config;
  config_overrides overrides;
  overrides.nats_url = "nats://10.0.0.5:4222";
  overrides.nats_port = 14222;
  overrides.data_dir = "/srv/holdfast";
  overrides.storage_backend = "memory";
  apply_overrides(config, overrides);
  BOOST_TEST(config.nats.url == "nats://10.0.0.5:4222");
  BOOST_TEST(config.nats.managed.port == 14222);
  BOOST_TEST(config.storage.path == "/srv/holdfast");
  BOOST_TEST(config.storage.backend == "memory");
  BOOST_TEST(config.log.level == "info");
}

BOOST_AUTO_TEST_CASE(no_overrides_change_nothing) {
  auto config = parse("storage:\n  backend: memory\n");
  apply_overrides(config, config_overrides{});
  BOOST_TEST(config.storage.backend == "memory");
  BOOST_TEST(config.storage.path == "var/data");
}

BOOST_AUTO_TEST_CASE(log_level_override_drops_levels) {
  auto config = parse("log:\n  level: warn\n  levels:\n    nats: debug\n");
  config_overrides overrides;
  overrides.log_level = "error";
  apply_overrides(config, overrides);
  BOOST_TEST(config.log.level == "error");
  BOOST_TEST(config.log.levels.empty());
}

BOOST_AUTO_TEST_CASE(load_applies_overrides_before_validation) {
  test::temp_dir dir{"holdfast-config"};
  auto path = dir.file("holdfast.yaml");
  write_file(path, "storage:\n  backend: disk\n  path: /srv/a\n");

  config_overrides overrides;
  overrides.storage_backend = "memory";
  auto config = load_config(path.string(), overrides);
  BOOST_TEST(config.storage.backend == "memory");
  BOOST_TEST(config.storage.path == "/srv/a");
}

BOOST_AUTO_TEST_CASE(load_validates_overrides) {
  test::temp_dir dir{"holdfast-config"};
  auto path = dir.file("holdfast.yaml");
  write_file(path, "");

  config_overrides overrides;
  overrides.log_level = "loud";
  std::string message;
  try {
    load_config(path.string(), overrides);
  } catch (const config_error& e) {
    message = e.what();
  }
  BOOST_TEST(contains(message, "log.level"));
  BOOST_TEST(contains(message, "\"loud\""));
}

BOOST_AUTO_TEST_CASE(load_reads_given_file) {
  test::temp_dir dir{"holdfast-config"};
  auto path = dir.file("custom.yaml");
  write_file(path, "locks:\n  max_wait: 10m\n");
  auto config = load_config(path.string(), config_overrides{});
  BOOST_TEST(config.locks.max_wait.count() == 600'000);
}

BOOST_AUTO_TEST_SUITE_END()
