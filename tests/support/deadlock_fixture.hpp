#pragma once

// A service for deadlock tests over NATS: its own nats-server, a client,
// the deadlock events of the default tenant, and blocking acquires that
// owners use to form wait-for cycles on the resources ci/<workspace>.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/holdfast_service.hpp"
#include "tests/support/nats_server.hpp"

namespace holdfast::test {

/// Returns the resource ci/<workspace> of the default tenant.
resource_key ci_resource(const std::string& workspace);

/// Returns a request for ci/<workspace> with a lease of 60 s.
acquire_request ci_request(const std::string& workspace, std::string owner,
                           int64_t wait_ms,
                           priority level = priority::medium);

/// Returns the milliseconds since `start` on the steady clock.
int64_t ms_since(std::chrono::steady_clock::time_point start);

struct deadlock_fixture {
  /// Starts the service with `yaml` appended to its configuration.
  explicit deadlock_fixture(std::string yaml);

  /// Closes the owners of the acquires still waiting, so that their
  /// threads can be joined.
  ~deadlock_fixture();

  nats_server nats;
  holdfast_service service;
  std::unique_ptr<nats_client> client = service.make_client(
    std::chrono::seconds{10});
  event_recorder events{*client, {"default", "deadlock", "", ""}};
  std::vector<std::unique_ptr<background_acquire>> waits;

  /// Acquires ci/<workspace> for `owner` at once, or fails the test.
  lock_record hold(const std::string& workspace, const std::string& owner);

  /// Returns how many requests wait for ci/<workspace>.
  uint32_t waiting(const std::string& workspace);

  /// Starts a blocking acquire and returns once the service queued it.
  background_acquire& start_wait(const std::string& workspace,
                                 const std::string& owner,
                                 priority level = priority::medium);

  /// Makes owners[i] hold workspaces[i] and then wait for workspaces[i+1],
  /// the last owner waiting for the first workspace, so that the last
  /// owner's request is the youngest. Returns the waits in the order they
  /// began.
  std::vector<background_acquire*>
  start_ring(const std::vector<std::string>& owners,
             const std::vector<std::string>& workspaces);

  /// Returns the detector's counters. The detect verb runs a detection
  /// round too, so call it only when no cycle is waiting to be found.
  deadlock_stats counters();
};

} // namespace holdfast::test
