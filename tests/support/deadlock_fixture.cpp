#include "tests/support/deadlock_fixture.hpp"

#include <thread>

#include <boost/test/unit_test.hpp>

namespace holdfast::test {

using namespace std::chrono_literals;

namespace {

/// Upper bound of the wait for a request to be queued.
constexpr auto queue_timeout = 10s;

} // namespace

resource_key ci_resource(const std::string& workspace) {
  return {"default", "ci", workspace};
}

acquire_request ci_request(const std::string& workspace, std::string owner,
                           int64_t wait_ms, priority level) {
  acquire_request request;
  request.key = ci_resource(workspace);
  request.owner = std::move(owner);
  request.wait_ms = wait_ms;
  request.ttl_ms = 60'000;
  request.level = level;
  return request;
}

int64_t ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now() - start)
      .count();
}

deadlock_fixture::deadlock_fixture(std::string yaml)
    : service(nats.url(), std::move(yaml)) {
  // Nothing else to do.
}

deadlock_fixture::~deadlock_fixture() {
  for (auto& wait : waits)
    if (!wait->finished())
      client->release_owner({"default", wait->request().owner});
}

lock_record deadlock_fixture::hold(const std::string& workspace,
                                   const std::string& owner) {
  auto reply = client->acquire(ci_request(workspace, owner, 0));
  BOOST_REQUIRE_MESSAGE(reply.ok(), owner << " could not lock " << workspace
                                          << ": " << reply.error.message);
  return reply.lock;
}

uint32_t deadlock_fixture::waiting(const std::string& workspace) {
  auto reply = client->get({ci_resource(workspace)});
  return reply.ok() ? reply.waiting : 0;
}

background_acquire& deadlock_fixture::start_wait(const std::string& workspace,
                                                 const std::string& owner,
                                                 priority level) {
  auto before = waiting(workspace);
  waits.push_back(std::make_unique<background_acquire>(
      service, ci_request(workspace, owner, 30'000, level)));
  auto& wait = *waits.back();
  BOOST_REQUIRE_MESSAGE(
      eventually(
          [&] { return wait.finished() || waiting(workspace) == before + 1; },
          queue_timeout),
      owner << " did not start waiting for " << workspace);

  // The next wait then begins in a later millisecond of the service clock,
  // so that the youngest request is never a tie.
  std::this_thread::sleep_for(3ms);
  return wait;
}

std::vector<background_acquire*>
deadlock_fixture::start_ring(const std::vector<std::string>& owners,
                             const std::vector<std::string>& workspaces) {
  BOOST_TEST_REQUIRE(owners.size() == workspaces.size());
  for (size_t i = 0; i < owners.size(); ++i)
    hold(workspaces[i], owners[i]);
  std::vector<background_acquire*> result;
  for (size_t i = 0; i < owners.size(); ++i)
    result.push_back(
        &start_wait(workspaces[(i + 1) % workspaces.size()], owners[i]));
  return result;
}

deadlock_stats deadlock_fixture::counters() {
  auto reply = client->detect();
  BOOST_REQUIRE_MESSAGE(reply.ok(), reply.error.message);
  return reply.deadlock_counters;
}

} // namespace holdfast::test
