#include "tests/support/nats_server.hpp"

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <system_error>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace holdfast::test {

namespace {

/// Closes a socket descriptor at scope exit.
struct socket_guard {
  int fd;

  ~socket_guard() {
    if (fd >= 0)
      ::close(fd);
  }
};

sockaddr_in loopback(uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

bool tcp_connects(uint16_t port) {
  socket_guard socket{::socket(AF_INET, SOCK_STREAM, 0)};
  if (socket.fd < 0)
    return false;
  auto address = loopback(port);
  return ::connect(socket.fd, reinterpret_cast<sockaddr*>(&address),
                   sizeof(address))
         == 0;
}

bool is_executable(const std::filesystem::path& path) {
  return ::access(path.c_str(), X_OK) == 0;
}

} // namespace

uint16_t pick_free_port() {
  socket_guard socket{::socket(AF_INET, SOCK_STREAM, 0)};
  if (socket.fd < 0)
    throw std::system_error(errno, std::generic_category(),
                            "creating a socket to find a free port failed");
  auto address = loopback(0);
  if (::bind(socket.fd, reinterpret_cast<sockaddr*>(&address), sizeof(address))
      != 0)
    throw std::system_error(errno, std::generic_category(),
                            "binding 127.0.0.1:0 to find a free port failed");
  socklen_t size = sizeof(address);
  if (::getsockname(socket.fd, reinterpret_cast<sockaddr*>(&address), &size)
      != 0)
    throw std::system_error(errno, std::generic_category(),
                            "reading the bound port failed");
  return ntohs(address.sin_port);
}

bool wait_for_tcp(uint16_t port, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!tcp_connects(port)) {
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  return true;
}

std::string find_nats_server() {
  if (const char* configured = std::getenv("HOLDFAST_NATS_SERVER"))
    return is_executable(configured) ? configured : "";
  std::string directories;
  if (const char* path = std::getenv("PATH"))
    directories = path;
  // Debian installs nats-server to /usr/sbin, which is not in every PATH.
  directories += ":/usr/sbin:/usr/local/sbin:/usr/local/bin:/usr/bin";
  size_t start = 0;
  while (start <= directories.size()) {
    auto end = directories.find(':', start);
    if (end == std::string::npos)
      end = directories.size();
    auto directory = directories.substr(start, end - start);
    if (!directory.empty()) {
      auto candidate = std::filesystem::path{directory} / "nats-server";
      if (is_executable(candidate))
        return candidate.string();
    }
    start = end + 1;
  }
  return {};
}

nats_server::nats_server(nats_server_options options)
    : options_(std::move(options)), port_(pick_free_port()) {
  start();
}

nats_server::~nats_server() {
  process_.reset();
}

void nats_server::start() {
  if (process_ && process_->is_running())
    return;
  auto program = find_nats_server();
  if (program.empty())
    throw std::runtime_error("nats-server not found in PATH or the sbin "
                             "directories; install the nats-server package "
                             "or set HOLDFAST_NATS_SERVER");
  process_options settings;
  settings.program = program;
  settings.args = {"-a", "127.0.0.1", "-p", std::to_string(port_)};
  if (options_.jetstream) {
    settings.args.push_back("-js");
    settings.args.push_back("-sd");
    settings.args.push_back(directory_.file("jetstream").string());
  }
  settings.log_path = log_path();
  process_ = std::make_unique<process>(std::move(settings));
  auto deadline = std::chrono::steady_clock::now() + options_.ready_timeout;
  while (!tcp_connects(port_)) {
    if (!process_->is_running())
      throw std::runtime_error("nats-server on port " + std::to_string(port_)
                               + " exited at start; its log ends with:\n"
                               + tail_of_file(log_path()));
    if (std::chrono::steady_clock::now() >= deadline)
      throw std::runtime_error("nats-server did not accept connections on port "
                               + std::to_string(port_) + " within "
                               + std::to_string(options_.ready_timeout.count())
                               + " ms; its log ends with:\n"
                               + tail_of_file(log_path()));
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
}

void nats_server::stop() {
  if (process_)
    process_->stop(options_.stop_timeout);
  process_.reset();
}

void nats_server::kill() {
  if (process_)
    process_->kill_group(SIGKILL);
  process_.reset();
}

void nats_server::restart() {
  stop();
  start();
}

bool nats_server::is_running() {
  return process_ && process_->is_running();
}

std::string nats_server::url() const {
  return "nats://127.0.0.1:" + std::to_string(port_);
}

std::string nats_server::log_path() const {
  return directory_.file("nats-server.log").string();
}

} // namespace holdfast::test
