#include "messages/replies.hpp"

namespace holdfast {

lock_error make_lock_error(lock_errc code, std::string message,
                           std::string field) {
  lock_error result;
  result.code = code;
  result.message = std::move(message);
  result.field = std::move(field);
  return result;
}

lock_reply make_error_reply(lock_errc code, std::string message,
                            std::string field) {
  lock_reply result;
  result.error = make_lock_error(code, std::move(message), std::move(field));
  return result;
}

lock_reply make_lock_reply(lock_record record) {
  lock_reply result;
  result.lock = std::move(record);
  return result;
}

} // namespace holdfast
