// Deadlock plugins loaded by a real `holdfast serve`: the shipped approval
// and notification plugins talking to the test over a real NATS server, the
// scripted test hooks, and plugins that fail to load.

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nats/nats.h>
#include <nlohmann/json.hpp>

#include "tests/support/deadlock_fixture.hpp"

using namespace holdfast;
using namespace holdfast::test;
using namespace std::chrono_literals;

namespace {

/// Upper bound of every wait for an expected outcome.
constexpr auto bounded_wait = 10s;

/// Deadlock timeout of every service here, short to keep the suite fast.
constexpr auto short_timeout = 250ms;

const std::string plugin_dir = HOLDFAST_PLUGIN_DIR;
const std::string test_plugin_dir = HOLDFAST_TEST_PLUGIN_DIR;
const std::string test_hooks = test_plugin_dir + "/libholdfast_test_hooks.so";

/// Returns the `deadlock:` section with the short timeout and `extra`
/// lines, each indented by two spaces.
std::string deadlock_yaml(const std::string& extra = {}) {
  return "deadlock:\n  timeout: 250ms\n" + extra;
}

/// Returns one entry of the `plugins:` list. `settings` are YAML lines
/// indented by six spaces.
std::string plugin_entry(const std::string& name, const std::string& library,
                         const std::string& factory,
                         const std::string& settings = {}) {
  auto text = "  - name: " + name + "\n    library: \"" + library
              + "\"\n    factory: " + factory + "\n";
  if (!settings.empty())
    text += "    settings:\n" + settings;
  return text;
}

/// Messages on one subject, received with nats.c directly, as an approver
/// or a reader of notifications would.
class raw_subscriber {
public:
  struct message {
    std::string subject;
    std::string reply;
    std::string data;
  };

  raw_subscriber(const std::string& url, const std::string& subject) {
    natsOptions* options = nullptr;
    check(natsOptions_Create(&options), "creating connection options");
    natsOptions_SetURL(options, url.c_str());
    // Replies to approval requests go out at once instead of after ~1 ms.
    natsOptions_SetSendAsap(options, true);
    auto status = natsConnection_Connect(&connection_, options);
    natsOptions_Destroy(options);
    check(status, "connecting to " + url);
    check(natsConnection_Subscribe(&subscription_, connection_, subject.c_str(),
                                   on_message, this),
          "subscribing to " + subject);
    // The server has registered the subscription once the flush returns.
    check(natsConnection_FlushTimeout(connection_, 5'000),
          "flushing the subscription to " + subject);
  }

  ~raw_subscriber() {
    // Draining waits for the callback to finish with this object.
    if (subscription_ != nullptr) {
      if (natsSubscription_Drain(subscription_) == NATS_OK)
        natsSubscription_WaitForDrainCompletion(subscription_, 5'000);
      natsSubscription_Destroy(subscription_);
    }
    if (connection_ != nullptr)
      natsConnection_Destroy(connection_);
  }

  raw_subscriber(const raw_subscriber&) = delete;
  raw_subscriber& operator=(const raw_subscriber&) = delete;

  /// Removes and returns the oldest message, waiting up to `timeout`.
  std::optional<message> next(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> guard{mutex_};
    if (!arrived_.wait_for(guard, timeout, [&] { return !queue_.empty(); }))
      return std::nullopt;
    auto result = std::move(queue_.front());
    queue_.pop_front();
    return result;
  }

  /// Returns how many messages arrived in all.
  size_t received() {
    std::lock_guard<std::mutex> guard{mutex_};
    return received_;
  }

  void publish(const std::string& subject, const std::string& data) {
    check(natsConnection_Publish(connection_, subject.c_str(), data.data(),
                                 static_cast<int>(data.size())),
          "publishing to " + subject);
    check(natsConnection_FlushTimeout(connection_, 5'000),
          "flushing the publication to " + subject);
  }

private:
  static void check(natsStatus status, const std::string& what) {
    if (status != NATS_OK)
      throw std::runtime_error(what + " failed: " + natsStatus_GetText(status));
  }

  static void on_message(natsConnection*, natsSubscription*, natsMsg* msg,
                         void* closure) {
    auto& self = *static_cast<raw_subscriber*>(closure);
    message copy;
    copy.subject = natsMsg_GetSubject(msg);
    if (auto reply = natsMsg_GetReply(msg))
      copy.reply = reply;
    copy.data.assign(natsMsg_GetData(msg),
                     static_cast<size_t>(natsMsg_GetDataLength(msg)));
    natsMsg_Destroy(msg);
    {
      std::lock_guard<std::mutex> guard{self.mutex_};
      self.queue_.push_back(std::move(copy));
      ++self.received_;
    }
    self.arrived_.notify_all();
  }

  natsConnection* connection_ = nullptr;
  natsSubscription* subscription_ = nullptr;
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::deque<message> queue_;
  size_t received_ = 0;
};

/// Settings of an approval plugin on `subject` for the workspace prod.
std::string approval_yaml(const std::string& subject,
                          const std::string& approval_timeout,
                          const std::string& hook_timeout) {
  return deadlock_yaml("  hook_timeout: " + hook_timeout + "\n") + "plugins:\n"
         + plugin_entry("prod-approval",
                        plugin_dir + "/libholdfast_nats_approval.so",
                        "nats_approval",
                        "      subject: " + subject
                            + "\n      workspaces: [prod, other/staging]\n"
                              "      timeout: "
                            + approval_timeout + "\n");
}

/// Checks the JSON body of an approval request for the ring of o0 on prod
/// and o1 on build, in which o1 is the youngest.
uint64_t check_approval_request(const raw_subscriber::message& request) {
  BOOST_TEST_MESSAGE("approval request: " << request.data);
  BOOST_TEST(!request.reply.empty());
  auto body = nlohmann::json::parse(request.data, nullptr, false);
  BOOST_TEST_REQUIRE(body.is_object());
  BOOST_TEST(body.value("tenant", "") == "default");
  BOOST_TEST(body.value("victim", "") == "o1");
  BOOST_TEST(body.value("policy", "") == "youngest");
  BOOST_TEST_REQUIRE(body.contains("deadlock_id"));
  BOOST_TEST(body["deadlock_id"].is_number_unsigned());
  const auto& cycle = body["cycle"];
  BOOST_TEST_REQUIRE(cycle.is_array());
  BOOST_TEST_REQUIRE(cycle.size() == 2u);
  for (const auto& member : cycle) {
    auto owner = member.value("owner", "");
    BOOST_TEST_INFO("member " << owner);
    BOOST_TEST(member.value("project", "") == "ci");
    BOOST_TEST_INFO("member " << owner);
    BOOST_TEST(member.value("workspace", "")
               == (owner == "o0" ? "build" : "prod"));
    BOOST_TEST_INFO("member " << owner);
    BOOST_TEST(member.value("priority", "") == "medium");
    BOOST_TEST_INFO("member " << owner);
    BOOST_TEST(member.value("locks_held", 0) == 1);
    BOOST_TEST_INFO("member " << owner);
    BOOST_TEST(member.value("waited_ms", -1) >= 0);
  }
  return body.value("deadlock_id", uint64_t{0});
}

/// Starts `holdfast serve` with a configuration that loads one plugin,
/// expects it to exit, and returns its exit status and output.
std::pair<std::optional<int>, std::string>
serve_with_plugin(const std::string& nats_url, const std::string& library,
                  const std::string& factory,
                  const std::string& settings = {}) {
  temp_dir directory{"holdfast-plugin-load"};
  auto config_path = directory.file("holdfast.yaml").string();
  auto log_path = directory.file("holdfast.log").string();
  {
    std::ofstream config{config_path};
    config << "nats:\n  url: \"" << nats_url << "\"\n"
           << "storage:\n  backend: lmdb\n  path: \""
           << directory.file("data").string() << "\"\n"
           << "plugins:\n"
           << plugin_entry("broken", library, factory, settings);
  }
  process_options options;
  options.program = holdfast_binary();
  options.args = {"serve", "--config", config_path};
  options.log_path = log_path;
  process serve{options};
  auto status = serve.wait(20s);
  return {status, tail_of_file(log_path)};
}

} // namespace

BOOST_AUTO_TEST_SUITE(deadlock_plugins)

BOOST_AUTO_TEST_CASE(approval_granted_resolves) {
  deadlock_fixture fixture{approval_yaml("test.approvals", "5s", "1s")};
  raw_subscriber approver{fixture.nats.url(), "test.approvals"};
  auto waits = fixture.start_ring({"o0", "o1"}, {"prod", "build"});

  auto request = approver.next(bounded_wait);
  BOOST_REQUIRE_MESSAGE(request.has_value(), "no approval request arrived");
  auto id = check_approval_request(*request);
  // The victim waits for the approver's reply, which may take longer than
  // the hook timeout because the plugin requested more time.
  std::this_thread::sleep_for(1'500ms);
  BOOST_TEST(!waits[1]->finished());
  auto detected = fixture.events.await(event_type::deadlock_detected, 0ms);
  BOOST_REQUIRE(detected.has_value());
  BOOST_TEST(detected->deadlock.id == id);

  approver.publish(request->reply, R"({"approve": true})");
  auto victim = waits[1]->await(bounded_wait);
  BOOST_REQUIRE_MESSAGE(victim.has_value(), "the victim still waits");
  BOOST_TEST((victim->error.code == lock_errc::deadlock_victim));
  auto resolved
      = fixture.events.await(event_type::deadlock_resolved, bounded_wait);
  BOOST_REQUIRE(resolved.has_value());
  BOOST_TEST(resolved->deadlock.id == id);
  BOOST_TEST(resolved->deadlock.outcome == "victim_failed");
  BOOST_TEST(!waits[0]->finished());

  // The approver gets one request only.
  std::this_thread::sleep_for(4 * short_timeout);
  BOOST_TEST(approver.received() == 1u);
  auto counters = fixture.counters();
  BOOST_TEST(counters.resolved == 1u);
  BOOST_TEST(counters.hook_timeouts == 0u);
  BOOST_TEST(counters.hook_errors == 0u);
}

BOOST_AUTO_TEST_CASE(approval_denied_vetoes) {
  deadlock_fixture fixture{approval_yaml("test.approvals", "5s", "1s")};
  raw_subscriber approver{fixture.nats.url(), "test.approvals"};
  auto waits = fixture.start_ring({"o0", "o1"}, {"prod", "build"});

  auto request = approver.next(bounded_wait);
  BOOST_REQUIRE_MESSAGE(request.has_value(), "no approval request arrived");
  auto id = check_approval_request(*request);
  approver.publish(request->reply,
                   R"({"approve": false, "reason": "change freeze"})");

  auto vetoed = fixture.events.await(event_type::deadlock_vetoed, bounded_wait);
  BOOST_REQUIRE(vetoed.has_value());
  BOOST_TEST(vetoed->deadlock.id == id);
  BOOST_TEST(vetoed->deadlock.outcome == "vetoed");
  BOOST_TEST(vetoed->deadlock.victim == "o1");
  BOOST_TEST_MESSAGE("veto reason: " << vetoed->deadlock.reason);
  BOOST_TEST(vetoed->deadlock.reason.find("change freeze")
             != std::string::npos);

  // No request fails, and the approver gets no second request for the
  // same cycle.
  std::this_thread::sleep_for(6 * short_timeout);
  BOOST_TEST(!waits[0]->finished());
  BOOST_TEST(!waits[1]->finished());
  BOOST_TEST(approver.received() == 1u);
  BOOST_TEST(fixture.events.count(event_type::deadlock_resolved) == 0u);
  auto counters = fixture.counters();
  BOOST_TEST(counters.vetoed == 1u);
  BOOST_TEST(counters.resolved == 0u);

  // detect still lists the vetoed cycle, which keeps blocking its members.
  auto listed = fixture.client->detect();
  BOOST_REQUIRE(listed.ok());
  BOOST_REQUIRE(listed.deadlocks.size() == 1u);
  BOOST_TEST(listed.deadlocks.front().id == id);
  BOOST_TEST(listed.deadlocks.front().outcome == "vetoed");
  BOOST_TEST(approver.received() == 1u);
}

BOOST_AUTO_TEST_CASE(approval_without_reply_times_out) {
  deadlock_fixture fixture{approval_yaml("test.approvals", "1s", "300ms")};
  raw_subscriber approver{fixture.nats.url(), "test.approvals"};
  auto waits = fixture.start_ring({"o0", "o1"}, {"prod", "build"});

  auto request = approver.next(bounded_wait);
  BOOST_REQUIRE_MESSAGE(request.has_value(), "no approval request arrived");
  auto asked = std::chrono::steady_clock::now();
  check_approval_request(*request);

  // Without a reply, the resolution goes on once the time is up.
  auto victim = waits[1]->await(bounded_wait);
  BOOST_REQUIRE_MESSAGE(victim.has_value(), "the victim still waits");
  BOOST_TEST((victim->error.code == lock_errc::deadlock_victim));
  BOOST_TEST_MESSAGE("resolved " << ms_since(asked)
                                 << " ms after the approval request");
  auto resolved
      = fixture.events.await(event_type::deadlock_resolved, bounded_wait);
  BOOST_REQUIRE(resolved.has_value());
  BOOST_TEST(resolved->deadlock.outcome == "victim_failed");
  BOOST_TEST_MESSAGE("resolution reason: " << resolved->deadlock.reason);
  BOOST_TEST(resolved->deadlock.reason.find("timed out") != std::string::npos);
  BOOST_TEST(!waits[0]->finished());

  auto counters = fixture.counters();
  BOOST_TEST(counters.hook_timeouts == 1u);
  BOOST_TEST(counters.resolved == 1u);
  // A late reply changes nothing.
  approver.publish(request->reply, R"({"approve": false})");
  std::this_thread::sleep_for(2 * short_timeout);
  BOOST_TEST(fixture.events.count(event_type::deadlock_vetoed) == 0u);
}

BOOST_AUTO_TEST_CASE(approval_without_approver_goes_on) {
  // With a 30 s approval timeout, only an immediate approval resolves the
  // cycle within the bounded wait.
  deadlock_fixture fixture{approval_yaml("test.nobody", "30s", "300ms")};
  auto waits = fixture.start_ring({"o0", "o1"}, {"prod", "build"});

  auto victim = waits[1]->await(bounded_wait);
  BOOST_REQUIRE_MESSAGE(victim.has_value(), "the victim still waits");
  BOOST_TEST((victim->error.code == lock_errc::deadlock_victim));
  auto counters = fixture.counters();
  BOOST_TEST(counters.resolved == 1u);
  BOOST_TEST(counters.hook_timeouts == 0u);
}

BOOST_AUTO_TEST_CASE(unlisted_workspace_needs_no_approval) {
  deadlock_fixture fixture{approval_yaml("test.approvals", "5s", "1s")};
  raw_subscriber approver{fixture.nats.url(), "test.approvals"};
  // The pattern other/staging names another project than ci.
  auto waits = fixture.start_ring({"o0", "o1"}, {"build", "staging"});

  auto victim = waits[1]->await(bounded_wait);
  BOOST_REQUIRE_MESSAGE(victim.has_value(), "the victim still waits");
  BOOST_TEST((victim->error.code == lock_errc::deadlock_victim));
  auto resolved
      = fixture.events.await(event_type::deadlock_resolved, bounded_wait);
  BOOST_REQUIRE(resolved.has_value());
  BOOST_TEST(resolved->deadlock.outcome == "victim_failed");
  std::this_thread::sleep_for(2 * short_timeout);
  BOOST_TEST(approver.received() == 0u);
}

BOOST_AUTO_TEST_CASE(notify_publishes_summary) {
  // A path relative to the current directory, as the configuration allows.
  auto library
      = std::filesystem::relative(plugin_dir + "/libholdfast_nats_notify.so")
            .string();
  deadlock_fixture fixture{
      deadlock_yaml() + "plugins:\n"
      + plugin_entry("notify", library, "nats_notify",
                     "      subject: test.notify.{tenant}\n")};
  raw_subscriber reader{fixture.nats.url(), "test.notify.default"};
  auto waits = fixture.start_ring({"o0", "o1"}, {"w0", "w1"});

  auto victim = waits[1]->await(bounded_wait);
  BOOST_REQUIRE(victim.has_value());
  BOOST_TEST((victim->error.code == lock_errc::deadlock_victim));
  auto summary = reader.next(bounded_wait);
  BOOST_REQUIRE_MESSAGE(summary.has_value(), "no summary arrived");
  BOOST_TEST_MESSAGE("summary:\n" << summary->data);
  const auto& text = summary->data;
  BOOST_TEST(text.find("tenant default") != std::string::npos);
  BOOST_TEST(text.find("resolved") != std::string::npos);
  BOOST_TEST(text.find("o1") != std::string::npos);
  BOOST_TEST(text.find("youngest") != std::string::npos);
  BOOST_TEST(text.find("o0 waits for ci/w1") != std::string::npos);
  BOOST_TEST(text.find("o1 waits for ci/w0") != std::string::npos);
  BOOST_TEST(text.find("held by o1") != std::string::npos);
  BOOST_TEST(text.find('{') == std::string::npos);
}

BOOST_AUTO_TEST_CASE(hanging_hook_does_not_stall) {
  deadlock_fixture fixture{
      deadlock_yaml("  hook_timeout: 300ms\n") + "plugins:\n"
      + plugin_entry("sleepy", test_hooks, "hang", "      sleep_ms: 3000\n")};

  // Two cycles one after the other: the second one meets the plugin still
  // asleep in its hook for the first.
  for (auto prefix : {"a", "b"}) {
    BOOST_TEST_CONTEXT("cycle " << prefix) {
      std::string p = prefix;
      auto waits
          = fixture.start_ring({p + "o0", p + "o1"}, {p + "w0", p + "w1"});
      auto victim = waits[1]->await(bounded_wait);
      BOOST_REQUIRE(victim.has_value());
      BOOST_TEST((victim->error.code == lock_errc::deadlock_victim));
      BOOST_TEST_MESSAGE("victim of " << prefix << " waited "
                                      << waits[1]->elapsed().count() << " ms");
      // Deadlock timeout plus hook timeout, well under the hook's sleep.
      BOOST_TEST(waits[1]->elapsed().count() < 2'500);
      BOOST_TEST(!waits[0]->finished());
    }
  }
  auto counters = fixture.counters();
  BOOST_TEST(counters.detected == 2u);
  BOOST_TEST(counters.resolved == 2u);
  BOOST_TEST(counters.dissolved == 0u);
  BOOST_TEST(counters.hook_timeouts == 2u);
}

BOOST_AUTO_TEST_CASE(throwing_hook_is_counted) {
  deadlock_fixture fixture{deadlock_yaml() + "plugins:\n"
                         + plugin_entry("faulty", test_hooks, "throw")};
  auto waits = fixture.start_ring({"o0", "o1"}, {"w0", "w1"});

  auto victim = waits[1]->await(bounded_wait);
  BOOST_REQUIRE(victim.has_value());
  BOOST_TEST((victim->error.code == lock_errc::deadlock_victim));
  auto resolved
      = fixture.events.await(event_type::deadlock_resolved, bounded_wait);
  BOOST_REQUIRE(resolved.has_value());
  BOOST_TEST(resolved->deadlock.outcome == "victim_failed");
  BOOST_TEST_MESSAGE("resolution reason: " << resolved->deadlock.reason);
  BOOST_TEST(resolved->deadlock.reason.find("faulty") != std::string::npos);
  BOOST_TEST(!waits[0]->finished());

  auto counters = fixture.counters();
  BOOST_TEST_MESSAGE("hook errors: " << counters.hook_errors);
  BOOST_TEST(counters.hook_errors >= 1u);
  BOOST_TEST(counters.hook_timeouts == 0u);
  BOOST_TEST(counters.resolved == 1u);
}

BOOST_AUTO_TEST_CASE(plugin_policy_picks_victim) {
  deadlock_fixture fixture{
      deadlock_yaml("  policy: plugin:chooser\n") + "plugins:\n"
      + plugin_entry("chooser", test_hooks, "pick", "      victim: o0\n")};
  // o2 is the youngest; the plugin names o0.
  auto waits = fixture.start_ring({"o0", "o1", "o2"}, {"w0", "w1", "w2"});

  auto victim = waits[0]->await(bounded_wait);
  BOOST_REQUIRE(victim.has_value());
  BOOST_TEST((victim->error.code == lock_errc::deadlock_victim));
  auto resolved
      = fixture.events.await(event_type::deadlock_resolved, bounded_wait);
  BOOST_REQUIRE(resolved.has_value());
  BOOST_TEST(resolved->deadlock.victim == "o0");
  BOOST_TEST(resolved->deadlock.policy == "plugin:chooser");
  BOOST_TEST(!waits[1]->finished());
  BOOST_TEST(!waits[2]->finished());
}

BOOST_AUTO_TEST_CASE(record_hook_sees_order) {
  temp_dir directory{"holdfast-record-hook"};
  auto file = directory.file("calls.txt").string();
  deadlock_fixture fixture{
      deadlock_yaml("  policy: plugin:recorder\n") + "plugins:\n"
      + plugin_entry("recorder", test_hooks, "record",
                     "      file: \"" + file + "\"\n      victim: o0\n")};
  auto waits = fixture.start_ring({"o0", "o1"}, {"w0", "w1"});

  auto victim = waits[0]->await(bounded_wait);
  BOOST_REQUIRE(victim.has_value());
  BOOST_TEST((victim->error.code == lock_errc::deadlock_victim));
  auto resolved
      = fixture.events.await(event_type::deadlock_resolved, bounded_wait);
  BOOST_REQUIRE(resolved.has_value());
  auto id = std::to_string(resolved->deadlock.id);
  auto last_line = "after_resolution " + id + " victim_failed";

  // The notification runs on the plugin's thread after the event.
  std::vector<std::string> lines;
  auto complete = eventually(
      [&] {
        lines.clear();
        std::ifstream in{file};
        for (std::string line; std::getline(in, line);)
          lines.push_back(line);
        return std::find(lines.begin(), lines.end(), last_line) != lines.end();
      },
      bounded_wait);
  for (const auto& line : lines)
    BOOST_TEST_MESSAGE("hook call: " << line);
  BOOST_TEST_REQUIRE(complete);

  // Rounds without a finding add before_detection lines anywhere, so they
  // are checked apart from the calls about the deadlock.
  BOOST_TEST(lines.front() == "before_detection");
  std::vector<std::string> calls;
  for (const auto& line : lines)
    if (line != "before_detection")
      calls.push_back(line);
  std::vector<std::string> expected{"on_detection " + id, "choose_victim " + id,
                                    "before_resolution " + id, last_line};
  BOOST_TEST(calls == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(load_failure_stops_serve) {
  nats_server nats;
  struct failure {
    std::string label;
    std::string library;
    std::string factory;
    std::string settings;
    std::string reason;
  };
  std::vector<failure> failures{
      {"missing file", test_plugin_dir + "/libholdfast_no_such_plugin.so",
       "hang", "", "No such file"},
      {"wrong version", test_plugin_dir + "/libholdfast_test_wrong_version.so",
       "hang", "", "built for plugin API 999"},
      {"no symbols", test_plugin_dir + "/libholdfast_test_no_symbols.so",
       "hang", "", "does not export holdfast_plugin_api_version"},
      {"unknown factory", test_hooks, "nonexistent", "",
       "no factory 'nonexistent'"},
      {"factory error", test_hooks, "needs_setting", "      other: x\n",
       "setting 'required' is missing"},
  };
  for (const auto& entry : failures) {
    BOOST_TEST_CONTEXT(entry.label) {
      auto [status, output] = serve_with_plugin(nats.url(), entry.library,
                                                entry.factory, entry.settings);
      BOOST_TEST_MESSAGE(entry.label << ": " << output);
      BOOST_TEST_REQUIRE(status.has_value());
      BOOST_TEST(*status == 2);
      auto expected
          = "cannot load plugin 'broken' from " + entry.library + ": ";
      BOOST_TEST(output.find(expected) != std::string::npos);
      BOOST_TEST(output.find(entry.reason) != std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
