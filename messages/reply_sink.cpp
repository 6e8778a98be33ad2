#include "messages/reply_sink.hpp"

namespace holdfast {

reply_sink::~reply_sink() = default;

} // namespace holdfast
