#pragma once

#include <filesystem>
#include <string_view>

namespace holdfast::test {

/// A fresh directory under $TMPDIR (or /tmp), removed with its contents by
/// the destructor. Set HOLDFAST_KEEP_TEST_DIRS=1 to keep it for a
/// post-mortem.
class temp_dir {
public:
  /// Creates `<tmp>/<prefix>-XXXXXX`. Throws `std::system_error` on failure.
  explicit temp_dir(std::string_view prefix = "holdfast-test");

  /// Removes the directory unless HOLDFAST_KEEP_TEST_DIRS is set.
  ~temp_dir();

  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  /// Returns the directory.
  const std::filesystem::path& path() const noexcept {
    return path_;
  }

  /// Returns `path() / name` without creating anything.
  std::filesystem::path file(std::string_view name) const {
    return path_ / name;
  }

private:
  std::filesystem::path path_;
};

} // namespace holdfast::test
