#pragma once

// `wire_encoding` is defined with the codec in messages/, because the codec
// needs it and messages/ must not depend on bridges/.
#include "messages/wire_codec.hpp"
