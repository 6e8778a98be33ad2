#include <boost/test/unit_test.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "apps/plugin_loader.hpp"
#include "tests/support/temp_dir.hpp"

using namespace holdfast;
using namespace std::chrono_literals;

namespace {

constexpr const char* nats_url = "nats://127.0.0.1:4222";

std::string test_plugin(const std::string& name) {
  return std::string{HOLDFAST_TEST_PLUGIN_DIR} + "/libholdfast_test_" + name
         + ".so";
}

std::string shipped_plugin(const std::string& name) {
  return std::string{HOLDFAST_PLUGIN_DIR} + "/libholdfast_" + name + ".so";
}

plugin_config entry(const std::string& name, const std::string& library,
                    const std::string& factory,
                    plugin::settings settings = {}) {
  return plugin_config{name, library, factory, std::move(settings)};
}

/// Returns the message of the `plugin_load_error` that loading `config`
/// throws, or an empty string when it throws none.
std::string load_error(const plugin_config& config) {
  try {
    load_plugins({config}, nats_url);
  } catch (const plugin_load_error& e) {
    return e.what();
  }
  return {};
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::vector<std::string> read_lines(const std::filesystem::path& path) {
  std::ifstream in{path};
  std::vector<std::string> result;
  for (std::string line; std::getline(in, line);)
    result.push_back(line);
  return result;
}

/// Stores what a hook answered.
class recorded_verdict : public plugin::verdict {
public:
  void approve() override {
    answer = "approve";
  }

  void veto(std::string text) override {
    answer = "veto";
    reason = std::move(text);
  }

  void extend(std::chrono::milliseconds more) override {
    extended += more;
  }

  std::string answer;
  std::string reason;
  std::chrono::milliseconds extended{0};
};

plugin::deadlock sample_deadlock() {
  plugin::deadlock result;
  result.id = 7;
  result.tenant = "acme";
  result.cycle = {{"pr-1", "web", "prod", plugin::priority::medium, 1500, 1},
                  {"pr-2", "api", "prod", plugin::priority::high, 1200, 2}};
  result.victim = "pr-1";
  result.policy = "youngest";
  return result;
}

} // namespace

BOOST_AUTO_TEST_SUITE(plugin_loader_errors)

BOOST_AUTO_TEST_CASE(missing_file) {
  test::temp_dir dir{"holdfast-plugins"};
  auto path = dir.file("libmissing.so").string();
  auto message = load_error(entry("gone", path, "record"));
  BOOST_TEST(
      contains(message, "cannot load plugin 'gone' from " + path + ": "));
  BOOST_TEST(contains(message, "No such file"));
}

BOOST_AUTO_TEST_CASE(text_file_is_no_library) {
  test::temp_dir dir{"holdfast-plugins"};
  auto path = dir.file("libtext.so");
  // Longer than an ELF header, so that the loader reads the whole header.
  std::ofstream{path} << std::string(200, '#') << '\n';
  auto message = load_error(entry("text", path.string(), "record"));
  BOOST_TEST(contains(message, "cannot load plugin 'text' from " + path.string()
                                   + ": "));
  BOOST_TEST(contains(message, "invalid ELF header"));
}

BOOST_AUTO_TEST_CASE(wrong_api_version) {
  auto path = test_plugin("wrong_version");
  auto message = load_error(entry("old", path, "record"));
  BOOST_TEST(message
             == "cannot load plugin 'old' from " + path
                    + ": built for plugin API 999, this service supports "
                    + std::to_string(plugin::api_version));
}

BOOST_AUTO_TEST_CASE(library_without_symbols) {
  auto path = test_plugin("no_symbols");
  auto message = load_error(entry("bare", path, "record"));
  BOOST_TEST(message
             == "cannot load plugin 'bare' from " + path
                    + ": it does not export holdfast_plugin_api_version");
}

BOOST_AUTO_TEST_CASE(unknown_factory_lists_registered) {
  auto path = test_plugin("hooks");
  auto message = load_error(entry("typo", path, "recrod"));
  BOOST_TEST(message
             == "cannot load plugin 'typo' from " + path
                    + ": no factory 'recrod' (the library registers: hang, "
                      "needs_setting, pick, record, throw)");
}

BOOST_AUTO_TEST_CASE(factory_exception_is_reported) {
  auto path = test_plugin("hooks");
  auto message = load_error(entry("strict", path, "needs_setting"));
  BOOST_TEST(message
             == "cannot load plugin 'strict' from " + path
                    + ": factory 'needs_setting' failed: setting 'required' is "
                      "missing");
  BOOST_TEST(
      load_error(entry("strict", path, "needs_setting", {{"required", "x"}}))
      == "");
}

BOOST_AUTO_TEST_CASE(first_failure_stops_loading) {
  auto path = test_plugin("hooks");
  std::vector<plugin_config> plugins{
      entry("good", path, "pick", {{"victim", "pr-1"}}),
      entry("bad", path, "needs_setting"), entry("never", path, "nonexistent")};
  std::string message;
  try {
    load_plugins(plugins, nats_url);
  } catch (const plugin_load_error& e) {
    message = e.what();
  }
  BOOST_TEST(contains(message, "cannot load plugin 'bad'"));
}

BOOST_AUTO_TEST_CASE(shipped_approval_checks_settings) {
  auto path = shipped_plugin("nats_approval");
  auto message = load_error(
      entry("approval", path, "nats_approval", {{"workspaces", "prod"}}));
  BOOST_TEST(contains(message, "factory 'nats_approval' failed: setting "
                               "'subject' is missing"));
  message = load_error(
      entry("approval", path, "nats_approval", {{"subject", "approvals"}}));
  BOOST_TEST(contains(message, "setting 'workspaces' is missing"));
  message = load_error(
      entry("approval", path, "nats_approval",
            {{"subject", "approvals"}, {"workspaces", "prod,a/b/c"}}));
  BOOST_TEST(contains(message, "setting 'workspaces' has the invalid item "
                               "\"a/b/c\""));
  message = load_error(entry(
      "approval", path, "nats_approval",
      {{"subject", "approvals"}, {"workspaces", "prod"}, {"timeout", "30"}}));
  BOOST_TEST(contains(message, "setting 'timeout' has the invalid value "
                               "\"30\""));
  message = load_error(entry(
      "approval", path, "nats_approval",
      {{"subject", "approvals"}, {"workspaces", "prod"}, {"timout", "30s"}}));
  BOOST_TEST(contains(message, "setting 'timout' is unknown"));
}

BOOST_AUTO_TEST_CASE(shipped_notify_checks_settings) {
  auto path = shipped_plugin("nats_notify");
  auto message = load_error(entry("notify", path, "nats_notify"));
  BOOST_TEST(contains(message, "factory 'nats_notify' failed: setting "
                               "'subject' is missing"));
  message = load_error(entry("notify", path, "nats_notify",
                             {{"subject", "deadlocks"}, {"url", ""}}));
  BOOST_TEST(contains(message, "setting 'url' is empty"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(plugin_loader_success)

BOOST_AUTO_TEST_CASE(record_hook_writes_calls) {
  test::temp_dir dir{"holdfast-plugins"};
  auto file = dir.file("calls.txt");
  auto instances = load_plugins(
      {entry("rec", test_plugin("hooks"), "record", {{"file", file.string()}})},
      nats_url);
  BOOST_TEST_REQUIRE(instances.size() == 1u);
  auto& instance = *instances.front();
  BOOST_TEST(instance.name == "rec");
  BOOST_TEST_REQUIRE(static_cast<bool>(instance.hook));
  BOOST_TEST_REQUIRE(static_cast<bool>(instance.host));

  auto found = sample_deadlock();
  instance.hook->before_detection(plugin::detection_round{1, 2, 2, false});
  instance.hook->on_detection(found);
  BOOST_TEST(instance.hook->choose_victim(found) == "");
  auto answer = std::make_shared<recorded_verdict>();
  instance.hook->before_resolution(found, answer);
  instance.hook->after_resolution(found, {"victim_failed", false, ""});

  BOOST_TEST(answer->answer == "approve");
  auto lines = read_lines(file);
  std::vector<std::string> expected{"before_detection", "on_detection 7",
                                    "choose_victim 7", "before_resolution 7",
                                    "after_resolution 7 victim_failed"};
  BOOST_TEST(lines == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(record_hook_vetoes_when_told) {
  test::temp_dir dir{"holdfast-plugins"};
  auto instances = load_plugins(
      {entry("rec", test_plugin("hooks"), "record",
             {{"file", dir.file("calls.txt").string()}, {"answer", "veto"}})},
      nats_url);
  auto answer = std::make_shared<recorded_verdict>();
  instances.front()->hook->before_resolution(sample_deadlock(), answer);
  BOOST_TEST(answer->answer == "veto");
  BOOST_TEST(answer->reason == "vetoed by the record test hook");
}

BOOST_AUTO_TEST_CASE(each_instance_gets_own_host) {
  auto path = test_plugin("hooks");
  auto instances
      = load_plugins({entry("first", path, "pick", {{"victim", "a"}}),
                      entry("second", path, "pick", {{"victim", "b"}})},
                     nats_url);
  BOOST_TEST_REQUIRE(instances.size() == 2u);
  BOOST_TEST(instances[0]->name == "first");
  BOOST_TEST(instances[1]->name == "second");
  BOOST_TEST(instances[0]->host.get() != instances[1]->host.get());
  BOOST_TEST(instances[0]->host->nats_url() == nats_url);
  BOOST_TEST(instances[0]->hook->choose_victim(sample_deadlock()) == "a");
  BOOST_TEST(instances[1]->hook->choose_victim(sample_deadlock()) == "b");
}

BOOST_AUTO_TEST_CASE(host_log_uses_plugin_logger) {
  auto instances = load_plugins(
      {entry("chatty", test_plugin("hooks"), "pick", {{"victim", "a"}})},
      nats_url);
  instances.front()->host->log(plugin::log_level::info, "hello from a test");
  BOOST_TEST(static_cast<bool>(spdlog::get("plugin.chatty")));
}

BOOST_AUTO_TEST_CASE(relative_path_starts_at_current_directory) {
  auto previous = std::filesystem::current_path();
  std::filesystem::current_path(HOLDFAST_TEST_PLUGIN_DIR);
  std::string message;
  try {
    load_plugins({entry("local", "libholdfast_test_hooks.so", "pick",
                        {{"victim", "a"}})},
                 nats_url);
  } catch (const plugin_load_error& e) {
    message = e.what();
  }
  std::filesystem::current_path(previous);
  BOOST_TEST(message == "");
}

BOOST_AUTO_TEST_CASE(shipped_notify_loads_without_server) {
  // Port 1 is closed: the plugin retries in the background, as the service
  // does, so the load succeeds and the destructor stops the retries.
  auto instances = load_plugins(
      {entry("notify", shipped_plugin("nats_notify"), "nats_notify",
             {{"subject", "holdfast.{tenant}.deadlocks"},
              {"url", "nats://127.0.0.1:1"}})},
      nats_url);
  BOOST_TEST(instances.size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
