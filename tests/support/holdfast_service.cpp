#include "tests/support/holdfast_service.hpp"

#include <fstream>
#include <stdexcept>

namespace holdfast::test {

std::string holdfast_binary() {
  if (auto path = std::getenv("HOLDFAST_BINARY_PATH"))
    return path;
  return HOLDFAST_BINARY;
}

holdfast_service::holdfast_service(std::string nats_url,
                                   std::string extra_yaml)
  : nats_url_(std::move(nats_url)) {
  std::ofstream config{config_path()};
  config << "nats:\n"
         << "  url: \"" << nats_url_ << "\"\n"
         << "storage:\n"
         << "  backend: lmdb\n"
         << "  path: \"" << directory_.file("data").string() << "\"\n"
         << "log:\n"
         << "  level: info\n"
         << extra_yaml;
  config.close();
  start();
}

holdfast_service::~holdfast_service() {
  if (process_ && process_->is_running())
    process_->stop(std::chrono::seconds{5});
}

std::string holdfast_service::log_path() const {
  return directory_.file("holdfast.log").string();
}

std::string holdfast_service::config_path() const {
  return directory_.file("holdfast.yaml").string();
}

std::string holdfast_service::log_tail() const {
  return tail_of_file(log_path());
}

void holdfast_service::start() {
  if (process_ && process_->is_running())
    return;

  process_options options;
  options.program = holdfast_binary();
  options.args = {"serve", "--config", config_path()};
  options.log_path = log_path();
  process_ = std::make_unique<process>(std::move(options));

  // The service is ready once a request gets a reply from it rather than
  // a transport failure.
  auto client = make_client(std::chrono::milliseconds{500});
  get_request probe{{"default", "readiness", "probe"}};
  auto ready = eventually(
    [&] {
      if (!process_->is_running())
        return true;
      auto reply = client->get(probe);
      return reply.error.code != lock_errc::unavailable;
    },
    std::chrono::seconds{20});
  if (!ready || !process_->is_running())
    throw std::runtime_error("holdfast serve did not become ready; log:\n"
                             + log_tail());
}

void holdfast_service::kill() {
  process_->kill_group(SIGKILL);
  process_->wait(std::chrono::seconds{10});
}

int holdfast_service::stop() {
  return process_->stop(std::chrono::seconds{10});
}

process& holdfast_service::running() {
  return *process_;
}

std::unique_ptr<nats_client>
holdfast_service::make_client(std::chrono::milliseconds timeout) const {
  client_options options;
  options.url = nats_url_;
  options.timeout = timeout;
  return std::make_unique<nats_client>(options);
}

} // namespace holdfast::test
