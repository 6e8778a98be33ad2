#include "messages/registration.hpp"

#include "messages/deadlock.hpp"
#include "messages/engine.hpp"
#include "messages/error_code.hpp"
#include "messages/events.hpp"
#include "messages/queueing.hpp"
#include "messages/replies.hpp"
#include "messages/requests.hpp"

namespace holdfast {

void register_messages(caf::actor_system_config& config) {
  config.add_message_type<resource_key>("holdfast::resource_key");
  config.add_message_type<lock_record>("holdfast::lock_record");
  config.add_message_type<acquire_request>("holdfast::acquire_request");
  config.add_message_type<release_request>("holdfast::release_request");
  config.add_message_type<renew_request>("holdfast::renew_request");
  config.add_message_type<get_request>("holdfast::get_request");
  config.add_message_type<list_request>("holdfast::list_request");
  config.add_message_type<release_owner_request>(
    "holdfast::release_owner_request");
  config.add_message_type<lock_error>("holdfast::lock_error");
  config.add_message_type<lock_reply>("holdfast::lock_reply");
  config.add_message_type<lock_event>("holdfast::lock_event");
  config.add_message_type<event_filter>("holdfast::event_filter");
  config.add_message_type<holder_update>("holdfast::holder_update");
  config.add_message_type<acquire_async_request>(
    "holdfast::acquire_async_request");
  config.add_message_type<ticket_request>("holdfast::ticket_request");
  config.add_message_type<cancel_request>("holdfast::cancel_request");
  config.add_message_type<bulk_acquire_request>(
    "holdfast::bulk_acquire_request");
  config.add_message_type<bulk_release_request>(
    "holdfast::bulk_release_request");
  config.add_message_type<reopen_owner_request>(
    "holdfast::reopen_owner_request");
  config.add_message_type<stats_request>("holdfast::stats_request");
  config.add_message_type<ticket_info>("holdfast::ticket_info");
  config.add_message_type<release_outcome>("holdfast::release_outcome");
  config.add_message_type<queue_stats>("holdfast::queue_stats");
  config.add_message_type<cycle_member>("holdfast::cycle_member");
  config.add_message_type<deadlock_info>("holdfast::deadlock_info");
  config.add_message_type<deadlock_stats>("holdfast::deadlock_stats");
  config.add_message_type<detect_request>("holdfast::detect_request");
  config.add_message_type<holder_changed>("holdfast::holder_changed");
  config.add_message_type<wait_started>("holdfast::wait_started");
  config.add_message_type<wait_ended>("holdfast::wait_ended");
  config.add_message_type<fail_waiter>("holdfast::fail_waiter");

  auto render = [](uint8_t value, caf::atom_value,
                   const caf::message& context) {
    std::string result = "holdfast: ";
    result += to_string_view(static_cast<lock_errc>(value));
    if (!context.empty()) {
      result += " (";
      result += to_string(context);
      result += ")";
    }
    return result;
  };
  config.add_error_category(lock_error_category, render);
}

} // namespace holdfast
