// Hooks with scripted behavior for tests. Factories:
//   hang           choose_victim and before_resolution sleep `sleep_ms`
//                  (default 3000), then return `victim` (default: none) or
//                  approve.
//   throw          every hook throws std::runtime_error.
//   pick           choose_victim returns `victim` (required).
//   record         appends one line per call to `file` (required):
//                  "before_detection", "on_detection <id>",
//                  "choose_victim <id>", "before_resolution <id>",
//                  "after_resolution <id> <outcome>". choose_victim returns
//                  `victim` (default: none); before_resolution answers
//                  `answer`: approve (default), veto or none.
//   needs_setting  the factory fails unless `required` is given.

#include <chrono>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include <holdfast/plugin.hpp>

namespace {

using holdfast::plugin::deadlock;
using holdfast::plugin::detection_round;
using holdfast::plugin::host;
using holdfast::plugin::resolution;
using holdfast::plugin::settings;
using holdfast::plugin::verdict;

std::string setting_or(const settings& values, const std::string& name,
                       const std::string& fallback) {
  auto found = values.find(name);
  return found == values.end() ? fallback : found->second;
}

std::string required(const settings& values, const std::string& name) {
  auto found = values.find(name);
  if (found == values.end())
    throw std::invalid_argument("setting '" + name + "' is missing");
  return found->second;
}

std::chrono::milliseconds milliseconds(const settings& values,
                                       const std::string& name,
                                       const std::string& fallback) {
  auto text = setting_or(values, name, fallback);
  try {
    size_t used = 0;
    auto value = std::stoll(text, &used);
    if (used == text.size() && value >= 0)
      return std::chrono::milliseconds{value};
  } catch (const std::exception&) {
    // Reported below.
  }
  throw std::invalid_argument("setting '" + name + "' has the invalid value \""
                              + text + "\": expected milliseconds, such as "
                              + fallback);
}

class hang_hook : public holdfast::plugin::hook {
public:
  explicit hang_hook(const settings& values)
      : delay_(milliseconds(values, "sleep_ms", "3000")),
        victim_(setting_or(values, "victim", "")) {
  }

  std::string choose_victim(const deadlock&) override {
    std::this_thread::sleep_for(delay_);
    return victim_;
  }

  void before_resolution(const deadlock&,
                         std::shared_ptr<verdict> answer) override {
    std::this_thread::sleep_for(delay_);
    answer->approve();
  }

private:
  std::chrono::milliseconds delay_;
  std::string victim_;
};

class throw_hook : public holdfast::plugin::hook {
public:
  void before_detection(const detection_round&) override {
    fail("before_detection");
  }

  void on_detection(const deadlock&) override {
    fail("on_detection");
  }

  std::string choose_victim(const deadlock&) override {
    fail("choose_victim");
  }

  void before_resolution(const deadlock&, std::shared_ptr<verdict>) override {
    fail("before_resolution");
  }

  void after_resolution(const deadlock&, const resolution&) override {
    fail("after_resolution");
  }

private:
  [[noreturn]] static void fail(const std::string& hook) {
    throw std::runtime_error("test hook 'throw' fails in " + hook);
  }
};

class pick_hook : public holdfast::plugin::hook {
public:
  explicit pick_hook(const settings& values)
      : victim_(required(values, "victim")) {
  }

  std::string choose_victim(const deadlock&) override {
    return victim_;
  }

private:
  std::string victim_;
};

class record_hook : public holdfast::plugin::hook {
public:
  explicit record_hook(const settings& values)
      : file_(required(values, "file")),
        victim_(setting_or(values, "victim", "")),
        answer_(setting_or(values, "answer", "approve")) {
    if (answer_ != "approve" && answer_ != "veto" && answer_ != "none")
      throw std::invalid_argument("setting 'answer' has the invalid value \""
                                  + answer_
                                  + "\": expected approve, veto or none");
  }

  void before_detection(const detection_round&) override {
    record("before_detection");
  }

  void on_detection(const deadlock& found) override {
    record("on_detection " + std::to_string(found.id));
  }

  std::string choose_victim(const deadlock& found) override {
    record("choose_victim " + std::to_string(found.id));
    return victim_;
  }

  void before_resolution(const deadlock& found,
                         std::shared_ptr<verdict> answer) override {
    record("before_resolution " + std::to_string(found.id));
    if (answer_ == "approve")
      answer->approve();
    else if (answer_ == "veto")
      answer->veto("vetoed by the record test hook");
  }

  void after_resolution(const deadlock& found,
                        const resolution& result) override {
    record("after_resolution " + std::to_string(found.id) + " "
           + result.outcome);
  }

private:
  /// Appends and closes at once, so that a test sees each line right away.
  void record(const std::string& line) {
    std::ofstream out{file_, std::ios::app};
    out << line << '\n';
    if (!out)
      throw std::runtime_error("appending to " + file_ + " failed");
  }

  std::string file_;
  std::string victim_;
  std::string answer_;
};

void register_factories(holdfast::plugin::registry& target) {
  target.add("hang", [](const settings& values, host&) {
    return std::make_unique<hang_hook>(values);
  });
  target.add("throw", [](const settings&, host&) {
    return std::make_unique<throw_hook>();
  });
  target.add("pick", [](const settings& values, host&) {
    return std::make_unique<pick_hook>(values);
  });
  target.add("record", [](const settings& values, host&) {
    return std::make_unique<record_hook>(values);
  });
  target.add("needs_setting", [](const settings& values, host&) {
    required(values, "required");
    return std::make_unique<holdfast::plugin::hook>();
  });
}

} // namespace

HOLDFAST_PLUGIN(register_factories)
