// `holdfast run` end to end: it holds the lock while the command runs,
// passes the lock to it, releases at exit, and terminates a command whose
// lease is lost.

#include <boost/test/unit_test.hpp>

#include <fstream>
#include <sstream>

#include "tests/support/holdfast_service.hpp"
#include "tests/support/nats_server.hpp"

using namespace holdfast;
using namespace holdfast::test;
using namespace std::chrono_literals;

namespace {

constexpr int lease_lost_status = 75;

struct run_fixture {
  nats_server nats;
  holdfast_service service{nats.url()};
  std::unique_ptr<nats_client> client = service.make_client();
  temp_dir directory{"holdfast-run"};

  std::unique_ptr<process> start_run(const std::string& ttl,
                                     const std::string& script) {
    process_options options;
    options.program = holdfast_binary();
    options.args = {"run",         "--nats",      nats.url(), "--project",
                    "network",     "--workspace", "prod",     "--owner",
                    "pipeline-7",  "--ttl",       ttl,        "--wait",
                    "10s",         "--",          "sh",       "-c",
                    script};
    options.log_path = directory.file("run.log").string();
    return std::make_unique<process>(std::move(options));
  }

  std::string read(const std::string& name) const {
    std::ifstream in{directory.file(name)};
    std::stringstream content;
    content << in.rdbuf();
    return content.str();
  }

  bool child_running() const {
    auto pid = read("child.pid");
    if (pid.empty())
      return false;
    return ::kill(std::stoi(pid), 0) == 0;
  }

  lock_reply current_lock() {
    return client->get({{"default", "network", "prod"}});
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(run_command, run_fixture)

BOOST_AUTO_TEST_CASE(passes_lock_and_exit_status) {
  auto output = directory.file("env.txt").string();
  auto run = start_run("30s", "echo \"$HOLDFAST_LOCK_ID $HOLDFAST_FENCING_TOKEN"
                              " $HOLDFAST_PROJECT $HOLDFAST_WORKSPACE\" > "
                                + output + "; exit 3");
  auto status = run->wait(30s);
  BOOST_REQUIRE(status.has_value());
  BOOST_TEST(*status == 3);

  std::istringstream fields{read("env.txt")};
  std::string lock_id, project, workspace;
  uint64_t token = 0;
  fields >> lock_id >> token >> project >> workspace;
  BOOST_TEST(lock_id.size() == 32u);
  BOOST_TEST(token > 0u);
  BOOST_TEST(project == "network");
  BOOST_TEST(workspace == "prod");
  BOOST_TEST((current_lock().error.code == lock_errc::not_found));
}

BOOST_AUTO_TEST_CASE(renews_lease_while_command_runs) {
  auto marker = directory.file("done").string();
  auto run = start_run("2s", "sleep 4; touch " + marker);
  auto held = eventually([&] { return current_lock().ok(); }, 10s);
  BOOST_REQUIRE(held);
  auto first = current_lock().lock;
  BOOST_TEST(first.owner == "pipeline-7");

  std::this_thread::sleep_for(3s);
  auto later = current_lock();
  BOOST_REQUIRE(later.ok());
  BOOST_TEST(later.lock.lock_id == first.lock_id);
  BOOST_TEST(later.lock.expires_at_ms > first.expires_at_ms);

  auto status = run->wait(30s);
  BOOST_REQUIRE(status.has_value());
  BOOST_TEST(*status == 0);
  BOOST_TEST(std::ifstream{marker}.good());
  BOOST_TEST((current_lock().error.code == lock_errc::not_found));
}

BOOST_AUTO_TEST_CASE(lost_lease_terminates_command) {
  auto pid_file = directory.file("child.pid").string();
  auto run = start_run("2s", "echo $$ > " + pid_file + "; exec sleep 60");
  auto started = eventually(
    [&] { return current_lock().ok() && child_running(); }, 10s);
  BOOST_REQUIRE(started);

  // Another party takes the lock away, as an operator's forced release
  // would; the next renewal fails and the command must stop.
  auto released = client->release_owner({"default", "pipeline-7"});
  BOOST_REQUIRE(released.ok());
  BOOST_TEST(released.released == 1u);

  auto status = run->wait(20s);
  BOOST_REQUIRE_MESSAGE(status.has_value(),
                        "run did not stop; log:\n"
                          << tail_of_file(directory.file("run.log")));
  BOOST_TEST(*status == lease_lost_status);
  BOOST_TEST(eventually([&] { return !child_running(); }, 10s));
  BOOST_TEST(tail_of_file(directory.file("run.log")).find("lease lost")
             != std::string::npos);
}

BOOST_AUTO_TEST_CASE(command_outliving_unreachable_service_is_stopped) {
  auto pid_file = directory.file("child.pid").string();
  auto run = start_run("2s", "echo $$ > " + pid_file + "; exec sleep 60");
  auto started = eventually(
    [&] { return current_lock().ok() && child_running(); }, 10s);
  BOOST_REQUIRE(started);

  // A frozen service cannot renew; once the lease has run out the command
  // is no longer protected and must be terminated.
  service.running().kill(SIGSTOP);
  auto status = run->wait(20s);
  service.running().kill(SIGCONT);

  BOOST_REQUIRE_MESSAGE(status.has_value(),
                        "run did not stop; log:\n"
                          << tail_of_file(directory.file("run.log")));
  BOOST_TEST(*status == lease_lost_status);
  BOOST_TEST(eventually([&] { return !child_running(); }, 10s));
}

BOOST_AUTO_TEST_CASE(missing_command_takes_no_lock) {
  process_options options;
  options.program = holdfast_binary();
  options.args = {"run",      "--nats",      nats.url(), "--project",
                  "network",  "--workspace", "prod",     "--owner",
                  "pipeline-7", "--",        "/nonexistent/terraform",
                  "apply"};
  options.log_path = directory.file("missing.log").string();
  process run{std::move(options)};
  auto status = run.wait(30s);
  BOOST_REQUIRE(status.has_value());
  BOOST_TEST(*status == 127);

  // No grant happened, so the first grant on the resource gets token 1.
  acquire_request request;
  request.key = {"default", "network", "prod"};
  request.owner = "other";
  auto granted = client->acquire(request);
  BOOST_REQUIRE(granted.ok());
  BOOST_TEST(granted.lock.token == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
