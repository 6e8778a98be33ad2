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

event_recorder::event_recorder(nats_client& client,
                               const event_filter& filter) {
  subscription_
    = client.subscribe_events(filter, [this](const lock_event& event) {
        {
          std::lock_guard<std::mutex> guard{mutex_};
          events_.push_back(event);
        }
        arrived_.notify_all();
      });
}

event_recorder::~event_recorder() {
  // Ends the subscription before the members its handler uses go.
  subscription_.reset();
}

std::optional<lock_event>
event_recorder::await(event_type type, std::chrono::milliseconds timeout) {
  std::optional<lock_event> result;
  std::unique_lock<std::mutex> guard{mutex_};
  arrived_.wait_for(guard, timeout, [&] {
    for (const auto& event : events_)
      if (event.type == type) {
        result = event;
        return true;
      }
    return false;
  });
  return result;
}

size_t event_recorder::count(event_type type) {
  std::lock_guard<std::mutex> guard{mutex_};
  size_t result = 0;
  for (const auto& event : events_)
    if (event.type == type)
      ++result;
  return result;
}

std::vector<lock_event> event_recorder::events() {
  std::lock_guard<std::mutex> guard{mutex_};
  return events_;
}

background_acquire::background_acquire(const holdfast_service& service,
                                       acquire_request request)
  : request_(std::move(request)) {
  // Connected before the thread starts, so that the request goes out as
  // soon as possible.
  std::shared_ptr<nats_client> client = service.make_client(
    std::chrono::seconds{10});
  thread_ = std::thread{[this, client] {
    auto sent = std::chrono::steady_clock::now();
    auto reply = client->acquire(request_);
    auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - sent);
    {
      std::lock_guard<std::mutex> guard{mutex_};
      reply_ = std::move(reply);
      elapsed_ = took;
    }
    arrived_.notify_all();
  }};
}

background_acquire::~background_acquire() {
  if (thread_.joinable())
    thread_.join();
}

bool background_acquire::finished() {
  std::lock_guard<std::mutex> guard{mutex_};
  return reply_.has_value();
}

std::optional<lock_reply>
background_acquire::await(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> guard{mutex_};
  arrived_.wait_for(guard, timeout, [&] { return reply_.has_value(); });
  return reply_;
}

std::chrono::milliseconds background_acquire::elapsed() {
  std::lock_guard<std::mutex> guard{mutex_};
  return elapsed_;
}

} // namespace holdfast::test
