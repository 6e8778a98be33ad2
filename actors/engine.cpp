#include "actors/engine.hpp"

#include <chrono>

#include <caf/send.hpp>

#include "actors/deadlock_detector.hpp"
#include "actors/lock_actor.hpp"
#include "actors/logger.hpp"
#include "actors/scheduler_spawn.hpp"

namespace holdfast {

int64_t system_now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
    .count();
}

engine_handles start_engine(caf::actor_system& system, store_backend& store,
                            engine_config config) {
  if (!config.now_ms)
    config.now_ms = system_now_ms;
  if (!config.calculator)
    config.calculator
      = std::make_shared<configured_priority_calculator>(config.priorities);
  config.limits.max_bulk_locks = config.max_bulk_locks;

  auto context = std::make_shared<lock_actor_context>();
  context->store = &store;
  context->broker = spawn_event_broker(system);
  context->calculator = config.calculator;
  context->config = std::make_shared<const engine_config>(std::move(config));

  const auto& deadlock = context->config->deadlock;
  if (deadlock.enabled)
    context->detector = spawn_deadlock_detector(
      system,
      std::shared_ptr<const deadlock_settings>(context->config, &deadlock),
      context->broker, context->config->now_ms,
      context->config->detach_plugin_actors);

  auto recovered = store.load();
  engine_handles handles;
  handles.broker = context->broker;
  handles.scheduler = spawn_scheduler(system, context, std::move(recovered));
  if (context->detector)
    caf::anon_send(context->detector,
                   caf::actor_cast<caf::actor>(handles.scheduler));
  logger("engine")->info("engine started with {} storage", store.name());
  if (deadlock.enabled)
    logger("deadlock")->info(
      "deadlock detection on: timeout {} ms, policy {}{}, fallback {}, "
      "release_victim_locks {}, prevention {}, hook_timeout {} ms, "
      "max_extension {} ms, {} plugin instances",
      deadlock.timeout.count(), to_string_view(deadlock.policy),
      deadlock.policy == victim_policy::plugin ? ":" + deadlock.policy_plugin
                                               : std::string{},
      to_string_view(deadlock.fallback), deadlock.release_victim_locks,
      deadlock.prevention, deadlock.hook_timeout.count(),
      deadlock.max_extension.count(), deadlock.hooks.size());
  else
    logger("deadlock")->info("deadlock detection off");
  return handles;
}

} // namespace holdfast
