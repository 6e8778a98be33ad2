#include "actors/event_broker.hpp"

#include <vector>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/logger.hpp"

namespace holdfast {

namespace {

struct subscription {
  event_filter filter;
  caf::actor subscriber;
};

struct event_broker_state {
  std::vector<subscription> subscriptions;

  static inline const char* name = "holdfast.event_broker";
};

using broker_pointer = event_broker_actor::stateful_pointer<event_broker_state>;

void remove_subscriber(broker_pointer self, const caf::actor_addr& address) {
  auto& subscriptions = self->state.subscriptions;
  auto removed = std::remove_if(subscriptions.begin(), subscriptions.end(),
                                [&](const subscription& entry) {
                                  return entry.subscriber.address() == address;
                                });
  subscriptions.erase(removed, subscriptions.end());
}

event_broker_actor::behavior_type event_broker_impl(broker_pointer self) {
  self->set_down_handler([self](const caf::down_msg& down) {
    remove_subscriber(self, down.source);
  });
  logger("engine")->info("event broker started");

  return {
    [self](lock_event& event) {
      for (auto& entry : self->state.subscriptions)
        if (entry.filter.matches(event))
          caf::anon_send(entry.subscriber, event);
    },
    [self](subscribe_atom, event_filter& filter, caf::actor& subscriber) {
      self->monitor(subscriber);
      self->state.subscriptions.push_back(
        {std::move(filter), std::move(subscriber)});
    },
    [self](unsubscribe_atom, caf::actor& subscriber) {
      remove_subscriber(self, subscriber.address());
    },
  };
}

} // namespace

event_broker_actor spawn_event_broker(caf::actor_system& system) {
  return system.spawn(event_broker_impl);
}

} // namespace holdfast
