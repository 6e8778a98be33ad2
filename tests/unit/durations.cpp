#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>

#include "apps/durations.hpp"

using namespace holdfast;
using std::chrono::milliseconds;

namespace {

/// Returns the parsed value in milliseconds, or -1 when parsing fails.
int64_t parsed_ms(std::string_view text) {
  auto value = parse_duration(text);
  return value ? value->count() : -1;
}

} // namespace

BOOST_AUTO_TEST_SUITE(duration_parse)

BOOST_AUTO_TEST_CASE(parse_single_units) {
  BOOST_TEST(parsed_ms("1500ms") == 1'500);
  BOOST_TEST(parsed_ms("30s") == 30'000);
  BOOST_TEST(parsed_ms("5m") == 300'000);
  BOOST_TEST(parsed_ms("2h") == 7'200'000);
  BOOST_TEST(parsed_ms("1d") == 86'400'000);
}

BOOST_AUTO_TEST_CASE(parse_combined_units) {
  BOOST_TEST(parsed_ms("1h30m") == 5'400'000);
  BOOST_TEST(parsed_ms("1m30s") == 90'000);
  BOOST_TEST(parsed_ms("1s500ms") == 1'500);
  BOOST_TEST(parsed_ms("1d2h3m4s5ms") == 93'784'005);
}

BOOST_AUTO_TEST_CASE(parse_zero) {
  BOOST_TEST(parsed_ms("0") == 0);
  BOOST_TEST(parsed_ms("0s") == 0);
  BOOST_TEST(parsed_ms("0ms") == 0);
  BOOST_TEST(parsed_ms("00s") == 0);
}

BOOST_AUTO_TEST_CASE(parse_leading_zeros) {
  BOOST_TEST(parsed_ms("05m") == 300'000);
}

BOOST_AUTO_TEST_CASE(parse_ms_is_not_minutes) {
  // "ms" must win over "m" followed by "s".
  BOOST_TEST(parsed_ms("1ms") == 1);
  BOOST_TEST(parsed_ms("1m1s") == 61'000);
}

BOOST_AUTO_TEST_CASE(parse_rejects_empty) {
  BOOST_TEST(!parse_duration("").has_value());
}

BOOST_AUTO_TEST_CASE(parse_rejects_sign) {
  BOOST_TEST(!parse_duration("-5s").has_value());
  BOOST_TEST(!parse_duration("+5s").has_value());
  BOOST_TEST(!parse_duration("-0").has_value());
}

BOOST_AUTO_TEST_CASE(parse_rejects_missing_unit) {
  BOOST_TEST(!parse_duration("5").has_value());
  BOOST_TEST(!parse_duration("1500").has_value());
  BOOST_TEST(!parse_duration("00").has_value());
  BOOST_TEST(!parse_duration("1m30").has_value());
}

BOOST_AUTO_TEST_CASE(parse_rejects_missing_number) {
  BOOST_TEST(!parse_duration("s").has_value());
  BOOST_TEST(!parse_duration("ms").has_value());
  BOOST_TEST(!parse_duration("1hm").has_value());
}

BOOST_AUTO_TEST_CASE(parse_rejects_unknown_unit) {
  for (const char* text :
       {"5x", "5sec", "5min", "2hours", "1w", "5S", "5M", "1y", "5us"}) {
    BOOST_TEST_CONTEXT("duration " << text) {
      BOOST_TEST(!parse_duration(text).has_value());
    }
  }
}

BOOST_AUTO_TEST_CASE(parse_rejects_other_syntax) {
  for (const char* text : {"1.5s", "1,5s", " 5s", "5s ", "5 s", "1h 30m",
                           "0x10s", "5s,", "PT5S"}) {
    BOOST_TEST_CONTEXT("duration '" << text << "'") {
      BOOST_TEST(!parse_duration(text).has_value());
    }
  }
}

BOOST_AUTO_TEST_CASE(parse_largest_value) {
  constexpr auto max = std::numeric_limits<int64_t>::max();
  BOOST_TEST(parsed_ms("9223372036854775807ms") == max);
}

BOOST_AUTO_TEST_CASE(parse_rejects_number_overflow) {
  BOOST_TEST(!parse_duration("9223372036854775808ms").has_value());
  BOOST_TEST(!parse_duration("99999999999999999999999s").has_value());
}

BOOST_AUTO_TEST_CASE(parse_rejects_unit_overflow) {
  // 106,751,991,167 days fit into int64 milliseconds, one more does not.
  BOOST_TEST(parsed_ms("106751991167d") == 9'223'372'036'828'800'000);
  BOOST_TEST(!parse_duration("106751991168d").has_value());
  BOOST_TEST(!parse_duration("9223372036854775807s").has_value());
}

BOOST_AUTO_TEST_CASE(parse_rejects_sum_overflow) {
  BOOST_TEST(!parse_duration("9223372036854775807ms1ms").has_value());
  BOOST_TEST(!parse_duration("106751991167d1d").has_value());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(duration_format)

BOOST_AUTO_TEST_CASE(format_whole_units) {
  BOOST_TEST(format_duration(milliseconds{0}) == "0s");
  BOOST_TEST(format_duration(milliseconds{1'000}) == "1s");
  BOOST_TEST(format_duration(milliseconds{300'000}) == "5m");
  BOOST_TEST(format_duration(milliseconds{7'200'000}) == "2h");
}

BOOST_AUTO_TEST_CASE(format_combined_units) {
  BOOST_TEST(format_duration(milliseconds{5'400'000}) == "1h30m");
  BOOST_TEST(format_duration(milliseconds{3'661'000}) == "1h1m1s");
  BOOST_TEST(format_duration(milliseconds{3'601'000}) == "1h1s");
}

BOOST_AUTO_TEST_CASE(format_days_as_hours) {
  BOOST_TEST(format_duration(milliseconds{172'800'000}) == "48h");
}

BOOST_AUTO_TEST_CASE(format_fractions_as_milliseconds) {
  BOOST_TEST(format_duration(milliseconds{1'500}) == "1500ms");
  BOOST_TEST(format_duration(milliseconds{1}) == "1ms");
  BOOST_TEST(format_duration(milliseconds{60'001}) == "60001ms");
}

BOOST_AUTO_TEST_CASE(format_negative) {
  BOOST_TEST(format_duration(milliseconds{-5'000}) == "-5s");
  BOOST_TEST(format_duration(milliseconds{-1'500}) == "-1500ms");
}

BOOST_AUTO_TEST_CASE(format_parses_back) {
  for (int64_t ms :
       {int64_t{0}, int64_t{1}, int64_t{999}, int64_t{1'000}, int64_t{1'500},
        int64_t{59'999}, int64_t{90'000}, int64_t{5'400'000},
        int64_t{86'400'000}, int64_t{93'784'000}, int64_t{93'784'005}}) {
    BOOST_TEST_CONTEXT("milliseconds " << ms) {
      auto text = format_duration(milliseconds{ms});
      BOOST_TEST(parsed_ms(text) == ms);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
