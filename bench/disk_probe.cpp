#include "bench/disk_probe.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

namespace holdfast::bench {

namespace {

constexpr size_t page_size = 4'096;

std::runtime_error io_failure(const std::string& step,
                              const std::string& path) {
  return std::runtime_error(step + " " + path
                            + " failed: " + std::strerror(errno));
}

} // namespace

latency_summary probe_fdatasync(const std::string& directory, size_t rounds) {
  auto path = directory + "/fdatasync-probe";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0)
    throw io_failure("creating", path);
  std::vector<char> page(page_size, 'p');
  std::vector<int64_t> samples_ns;
  samples_ns.reserve(rounds);
  for (size_t round = 0; round < rounds; ++round) {
    page[0] = static_cast<char>(round);
    if (::pwrite(fd, page.data(), page.size(), 0)
        != static_cast<ssize_t>(page.size())) {
      ::close(fd);
      throw io_failure("writing", path);
    }
    auto begin = std::chrono::steady_clock::now();
    if (::fdatasync(fd) != 0) {
      ::close(fd);
      throw io_failure("fdatasync of", path);
    }
    samples_ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::steady_clock::now() - begin)
                             .count());
  }
  ::close(fd);
  ::unlink(path.c_str());
  return summarize(samples_ns);
}

} // namespace holdfast::bench
