#include <boost/test/unit_test.hpp>

#include <string>

#include "bridges/nats_support.hpp"

using namespace holdfast;

BOOST_AUTO_TEST_SUITE(redact)

BOOST_AUTO_TEST_CASE(redact_keeps_url_without_credentials) {
  BOOST_TEST(redact_url("nats://127.0.0.1:4222") == "nats://127.0.0.1:4222");
  BOOST_TEST(redact_url("tls://nats.example.org:4443")
             == "tls://nats.example.org:4443");
  BOOST_TEST(redact_url("127.0.0.1:4222") == "127.0.0.1:4222");
  BOOST_TEST(redact_url("") == "");
}

BOOST_AUTO_TEST_CASE(redact_password_keeps_user) {
  BOOST_TEST(redact_url("nats://alice:s3cret@10.0.0.5:4222")
             == "nats://alice:***@10.0.0.5:4222");
}

BOOST_AUTO_TEST_CASE(redact_token) {
  BOOST_TEST(redact_url("nats://t0ken@10.0.0.5:4222")
             == "nats://***@10.0.0.5:4222");
}

BOOST_AUTO_TEST_CASE(redact_without_scheme) {
  BOOST_TEST(redact_url("alice:s3cret@10.0.0.5:4222")
             == "alice:***@10.0.0.5:4222");
  BOOST_TEST(redact_url("t0ken@10.0.0.5") == "***@10.0.0.5");
}

BOOST_AUTO_TEST_CASE(redact_password_with_reserved_characters) {
  // nats.c splits at the last '@', so everything before it is secret.
  BOOST_TEST(redact_url("nats://alice:p@ss:w/rd@host:4222")
             == "nats://alice:***@host:4222");
  BOOST_TEST(redact_url("nats://to@ken@host") == "nats://***@host");
}

BOOST_AUTO_TEST_CASE(redact_empty_user_or_password) {
  BOOST_TEST(redact_url("nats://:s3cret@host:4222") == "nats://:***@host:4222");
  BOOST_TEST(redact_url("nats://alice:@host:4222")
             == "nats://alice:***@host:4222");
}

BOOST_AUTO_TEST_CASE(redact_each_url_of_a_list) {
  BOOST_TEST(redact_url("nats://a:x@h1:4222,nats://h2:4222,nats://tok@h3")
             == "nats://a:***@h1:4222,nats://h2:4222,nats://***@h3");
  BOOST_TEST(redact_url("nats://h1, nats://b:y@h2")
             == "nats://h1, nats://b:***@h2");
  BOOST_TEST(redact_url("nats://h1,") == "nats://h1,");
}

BOOST_AUTO_TEST_CASE(redact_output_has_no_secret) {
  for (const char* url :
       {"nats://alice:s3cret@host:4222", "nats://s3cret@host:4222",
        "s3cret@host", "nats://u:s3cret@h1,nats://s3cret@h2"}) {
    BOOST_TEST_CONTEXT("url " << url) {
      BOOST_TEST(redact_url(url).find("s3cret") == std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
