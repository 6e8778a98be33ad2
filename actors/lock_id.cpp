#include "actors/lock_id.hpp"

#include <sys/random.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace holdfast {

std::string make_lock_id() {
  std::array<unsigned char, 16> bytes;
  size_t filled = 0;
  while (filled < bytes.size()) {
    auto n = getrandom(bytes.data() + filled, bytes.size() - filled, 0);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      throw std::runtime_error(std::string{"getrandom failed: "}
                               + std::strerror(errno));
    }
    filled += static_cast<size_t>(n);
  }

  static constexpr char digits[] = "0123456789abcdef";
  std::string result;
  result.reserve(bytes.size() * 2);
  for (auto byte : bytes) {
    result += digits[byte >> 4];
    result += digits[byte & 0x0f];
  }
  return result;
}

} // namespace holdfast
