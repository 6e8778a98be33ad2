#include <boost/test/unit_test.hpp>

#include <ostream>
#include <string>

#include "bridges/subjects.hpp"

namespace holdfast {

// Lets BOOST_TEST print codes by name when a comparison fails.
std::ostream& boost_test_print_type(std::ostream& out, lock_errc code) {
  return out << to_string_view(code);
}

} // namespace holdfast

using namespace holdfast;

namespace {

lock_event sample_event(event_type type, std::string project,
                        std::string workspace) {
  lock_event event;
  event.type = type;
  event.record.key = {"team-a", std::move(project), std::move(workspace)};
  return event;
}

} // namespace

BOOST_AUTO_TEST_SUITE(subjects)

BOOST_AUTO_TEST_CASE(escape_keeps_safe_characters) {
  BOOST_TEST(escape_subject_token("Net_work-01") == "Net_work-01");
}

BOOST_AUTO_TEST_CASE(escape_reserved_characters) {
  BOOST_TEST(escape_subject_token("a.b") == "a%2Eb");
  BOOST_TEST(escape_subject_token("*") == "%2A");
  BOOST_TEST(escape_subject_token(">") == "%3E");
  BOOST_TEST(escape_subject_token("50%") == "50%25");
  BOOST_TEST(escape_subject_token("a b") == "a%20b");
  BOOST_TEST(escape_subject_token("env/prod") == "env%2Fprod");
  BOOST_TEST(escape_subject_token("\xc3\xa9") == "%C3%A9");
}

BOOST_AUTO_TEST_CASE(escape_round_trip) {
  std::string all;
  for (int c = 1; c < 256; ++c)
    all += static_cast<char>(c);
  auto escaped = escape_subject_token(all);
  auto allowed = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                 "0123456789_-%";
  BOOST_TEST(escaped.find_first_not_of(allowed) == std::string::npos);
  auto unescaped = unescape_subject_token(escaped);
  BOOST_TEST(unescaped.has_value());
  BOOST_TEST(*unescaped == all);
}

BOOST_AUTO_TEST_CASE(unescape_accepts_lower_case_hex) {
  BOOST_TEST(unescape_subject_token("a%2eb").value_or("") == "a.b");
}

BOOST_AUTO_TEST_CASE(unescape_rejects_bad_escapes) {
  BOOST_TEST(!unescape_subject_token("abc%").has_value());
  BOOST_TEST(!unescape_subject_token("abc%2").has_value());
  BOOST_TEST(!unescape_subject_token("%G1").has_value());
  BOOST_TEST(!unescape_subject_token("%%41").has_value());
}

BOOST_AUTO_TEST_CASE(request_subject_format) {
  BOOST_TEST(request_subject("team-a", request_verb::release_owner)
             == "holdfast.v1.team-a.lock.release_owner");
}

BOOST_AUTO_TEST_CASE(parse_good_subjects) {
  for (auto verb :
       {request_verb::acquire, request_verb::release, request_verb::renew,
        request_verb::get, request_verb::list, request_verb::release_owner}) {
    auto subject = request_subject("team_A-1", verb);
    auto parsed = parse_request_subject(subject);
    BOOST_TEST(parsed.error.code == lock_errc::none, parsed.error.message);
    BOOST_TEST(parsed.tenant == "team_A-1");
    BOOST_TEST((parsed.verb == verb));
  }
}

BOOST_AUTO_TEST_CASE(parse_unknown_verb) {
  auto parsed = parse_request_subject("holdfast.v1.t.lock.steal");
  BOOST_TEST((parsed.error.code == lock_errc::invalid_request));
  BOOST_TEST(parsed.error.field == "subject");
  BOOST_TEST(parsed.error.message.find("'steal'") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(parse_unknown_area) {
  auto parsed = parse_request_subject("holdfast.v1.t.locks");
  BOOST_TEST((parsed.error.code == lock_errc::invalid_request));
  BOOST_TEST(parsed.error.field == "subject");
  BOOST_TEST(parsed.error.message.find("'locks'") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(parse_missing_verb) {
  auto parsed = parse_request_subject("holdfast.v1.t.lock");
  BOOST_TEST((parsed.error.code == lock_errc::invalid_request));
  BOOST_TEST(parsed.error.field == "subject");
}

BOOST_AUTO_TEST_CASE(parse_extra_tokens) {
  auto parsed = parse_request_subject("holdfast.v1.t.lock.acquire.now");
  BOOST_TEST((parsed.error.code == lock_errc::invalid_request));
  BOOST_TEST(parsed.error.field == "subject");
}

BOOST_AUTO_TEST_CASE(parse_wrong_prefix) {
  auto parsed = parse_request_subject("holdfast.v2.t.lock.acquire");
  BOOST_TEST((parsed.error.code == lock_errc::invalid_request));
  BOOST_TEST(parsed.error.field == "subject");
}

BOOST_AUTO_TEST_CASE(parse_bad_tenant) {
  auto parsed = parse_request_subject("holdfast.v1.te%nant.lock.get");
  BOOST_TEST((parsed.error.code == lock_errc::invalid_request));
  BOOST_TEST(parsed.error.field == "tenant");
  parsed = parse_request_subject("holdfast.v1.\xc3\xa9.lock.get");
  BOOST_TEST(parsed.error.field == "tenant");
}

BOOST_AUTO_TEST_CASE(event_subject_format) {
  auto event = sample_event(event_type::lock_acquired, "network", "prod");
  BOOST_TEST(event_subject(event)
             == "holdfast.v1.team-a.events.lock.acquired.network.prod");
  event = sample_event(event_type::lock_wait_timeout, "infra.core", "eu>1");
  BOOST_TEST(event_subject(event)
             == "holdfast.v1.team-a.events.lock.wait_timeout.infra%2Ecore."
                "eu%3E1");
}

BOOST_AUTO_TEST_CASE(filter_subject_all_wildcards) {
  BOOST_TEST(event_filter_subject({}) == "holdfast.v1.*.events.*.*.*.*");
}

BOOST_AUTO_TEST_CASE(filter_subject_full) {
  event_filter filter{"team-a", "lock.released", "infra.core", "prod"};
  BOOST_TEST(event_filter_subject(filter)
             == "holdfast.v1.team-a.events.lock.released.infra%2Ecore.prod");
}

BOOST_AUTO_TEST_CASE(filter_subject_category_only) {
  event_filter filter{"", "lock", "network", ""};
  BOOST_TEST(event_filter_subject(filter)
             == "holdfast.v1.*.events.lock.*.network.*");
}

BOOST_AUTO_TEST_CASE(filter_subject_escapes_wildcards) {
  event_filter filter{"", "", "*", ">"};
  BOOST_TEST(event_filter_subject(filter)
             == "holdfast.v1.*.events.*.*.%2A.%3E");
}

BOOST_AUTO_TEST_SUITE_END()
