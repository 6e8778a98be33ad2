#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <ostream>
#include <string>

#include "messages/validation.hpp"

namespace holdfast {

// Lets BOOST_TEST print codes by name when a comparison fails.
std::ostream& boost_test_print_type(std::ostream& out, lock_errc code) {
  return out << to_string_view(code);
}

} // namespace holdfast

using namespace holdfast;

namespace {

const request_limits limits;

std::string text(size_t length, char c = 'a') {
  return std::string(length, c);
}

acquire_request valid_acquire() {
  acquire_request request;
  request.key = {"default", "network", "prod"};
  request.owner = "pr-42";
  return request;
}

release_request valid_release() {
  release_request request;
  request.tenant = "default";
  request.lock_id = "bbce926399fd37f304daa3347858bf0a";
  return request;
}

renew_request valid_renew() {
  renew_request request;
  request.tenant = "default";
  request.lock_id = "bbce926399fd37f304daa3347858bf0a";
  return request;
}

get_request valid_get() {
  get_request request;
  request.key = {"default", "network", "prod"};
  return request;
}

list_request valid_list() {
  list_request request;
  request.tenant = "default";
  return request;
}

release_owner_request valid_release_owner() {
  release_owner_request request;
  request.tenant = "default";
  request.owner = "pr-42";
  return request;
}

/// Checks that `error` reports a valid request.
void check_valid(const lock_error& error) {
  BOOST_TEST(error.code == lock_errc::none);
  BOOST_TEST(error.field == "");
}

/// Checks that `error` is an `invalid_request` that names `field`.
void check_invalid(const lock_error& error, const std::string& field) {
  BOOST_TEST(error.code == lock_errc::invalid_request);
  BOOST_TEST(error.field == field);
  BOOST_TEST(!error.message.empty());
}

} // namespace

BOOST_AUTO_TEST_SUITE(tenant_charset)

BOOST_AUTO_TEST_CASE(tenant_accepts_token_characters) {
  BOOST_TEST(is_valid_tenant("default", limits));
  BOOST_TEST(is_valid_tenant("Team_A-01", limits));
  BOOST_TEST(is_valid_tenant("_", limits));
  BOOST_TEST(is_valid_tenant("-", limits));
}

BOOST_AUTO_TEST_CASE(tenant_length_boundary) {
  BOOST_TEST(is_valid_tenant(text(1), limits));
  BOOST_TEST(is_valid_tenant(text(64), limits));
  BOOST_TEST(!is_valid_tenant(text(65), limits));
  BOOST_TEST(!is_valid_tenant("", limits));
}

BOOST_AUTO_TEST_CASE(tenant_rejects_subject_characters) {
  for (const char* tenant :
       {"a.b", "a*b", "a>b", "a b", "a/b", "a%b", "a:b", "a\tb", "\xc3\xa9"}) {
    BOOST_TEST_CONTEXT("tenant " << tenant) {
      BOOST_TEST(!is_valid_tenant(tenant, limits));
    }
  }
}

BOOST_AUTO_TEST_CASE(tenant_follows_configured_length) {
  request_limits custom;
  custom.max_tenant_length = 3;
  BOOST_TEST(is_valid_tenant("abc", custom));
  BOOST_TEST(!is_valid_tenant("abcd", custom));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(name_charset)

BOOST_AUTO_TEST_CASE(name_accepts_printable_ascii) {
  BOOST_TEST(is_valid_name("team/net.core", 128));
  BOOST_TEST(is_valid_name("!", 128));
  BOOST_TEST(is_valid_name("~", 128));
  BOOST_TEST(is_valid_name("a*b>c%d", 128));
}

BOOST_AUTO_TEST_CASE(name_rejects_space_and_control_bytes) {
  BOOST_TEST(!is_valid_name("a b", 128));
  BOOST_TEST(!is_valid_name("a\tb", 128));
  BOOST_TEST(!is_valid_name("a\nb", 128));
  BOOST_TEST(!is_valid_name(std::string{"a\0b", 3}, 128));
  BOOST_TEST(!is_valid_name("a\x7f", 128));
}

BOOST_AUTO_TEST_CASE(name_rejects_non_ascii) {
  BOOST_TEST(!is_valid_name("\xc3\xa9", 128));
  BOOST_TEST(!is_valid_name("\x80", 128));
  BOOST_TEST(!is_valid_name("\xff", 128));
}

BOOST_AUTO_TEST_CASE(name_length_boundary) {
  BOOST_TEST(is_valid_name(text(1), 128));
  BOOST_TEST(is_valid_name(text(128), 128));
  BOOST_TEST(!is_valid_name(text(129), 128));
  BOOST_TEST(!is_valid_name("", 128));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(validate_acquire)

BOOST_AUTO_TEST_CASE(acquire_minimal_is_valid) {
  check_valid(validate(valid_acquire(), limits));
}

BOOST_AUTO_TEST_CASE(acquire_tenant_missing) {
  auto request = valid_acquire();
  request.key.tenant = "";
  check_invalid(validate(request, limits), "tenant");
}

BOOST_AUTO_TEST_CASE(acquire_tenant_limits) {
  auto request = valid_acquire();
  request.key.tenant = text(64);
  check_valid(validate(request, limits));
  request.key.tenant = text(65);
  check_invalid(validate(request, limits), "tenant");
  request.key.tenant = "a.b";
  check_invalid(validate(request, limits), "tenant");
}

BOOST_AUTO_TEST_CASE(acquire_project_limits) {
  auto request = valid_acquire();
  request.key.project = "";
  check_invalid(validate(request, limits), "project");
  request.key.project = text(128);
  check_valid(validate(request, limits));
  request.key.project = text(129);
  check_invalid(validate(request, limits), "project");
  request.key.project = "my project";
  check_invalid(validate(request, limits), "project");
}

BOOST_AUTO_TEST_CASE(acquire_workspace_limits) {
  auto request = valid_acquire();
  request.key.workspace = "";
  check_invalid(validate(request, limits), "workspace");
  request.key.workspace = text(128);
  check_valid(validate(request, limits));
  request.key.workspace = text(129);
  check_invalid(validate(request, limits), "workspace");
  request.key.workspace = "pr\xc3\xa9";
  check_invalid(validate(request, limits), "workspace");
}

BOOST_AUTO_TEST_CASE(acquire_owner_limits) {
  auto request = valid_acquire();
  request.owner = "";
  check_invalid(validate(request, limits), "owner");
  request.owner = text(256);
  check_valid(validate(request, limits));
  request.owner = text(257);
  check_invalid(validate(request, limits), "owner");
  request.owner = "pr 42";
  check_invalid(validate(request, limits), "owner");
}

BOOST_AUTO_TEST_CASE(acquire_user_limits) {
  auto request = valid_acquire();
  request.user = "";
  check_valid(validate(request, limits));
  request.user = text(256);
  check_valid(validate(request, limits));
  request.user = text(257);
  check_invalid(validate(request, limits), "user");
  request.user = "alice smith";
  check_invalid(validate(request, limits), "user");
}

BOOST_AUTO_TEST_CASE(acquire_wait_limits) {
  auto request = valid_acquire();
  request.wait_ms = 0;
  check_valid(validate(request, limits));
  request.wait_ms = 3'600'000;
  check_valid(validate(request, limits));
  request.wait_ms = 3'600'001;
  check_invalid(validate(request, limits), "wait_ms");
  request.wait_ms = -1;
  check_invalid(validate(request, limits), "wait_ms");
}

BOOST_AUTO_TEST_CASE(acquire_wait_follows_configured_limit) {
  request_limits custom;
  custom.max_wait_ms = 1'000;
  auto request = valid_acquire();
  request.wait_ms = 1'000;
  check_valid(validate(request, custom));
  request.wait_ms = 1'001;
  check_invalid(validate(request, custom), "wait_ms");
}

BOOST_AUTO_TEST_CASE(acquire_ttl_limits) {
  auto request = valid_acquire();
  request.ttl_ms = 0;
  check_valid(validate(request, limits));
  request.ttl_ms = 1'000;
  check_valid(validate(request, limits));
  request.ttl_ms = 999;
  check_invalid(validate(request, limits), "ttl_ms");
  request.ttl_ms = 86'400'000;
  check_valid(validate(request, limits));
  request.ttl_ms = 86'400'001;
  check_invalid(validate(request, limits), "ttl_ms");
  request.ttl_ms = -1;
  check_invalid(validate(request, limits), "ttl_ms");
}

BOOST_AUTO_TEST_CASE(acquire_ttl_follows_configured_limit) {
  request_limits custom;
  custom.max_ttl_ms = 60'000;
  auto request = valid_acquire();
  request.ttl_ms = 60'000;
  check_valid(validate(request, custom));
  request.ttl_ms = 60'001;
  check_invalid(validate(request, custom), "ttl_ms");
}

BOOST_AUTO_TEST_CASE(acquire_metadata_entry_count) {
  auto request = valid_acquire();
  for (int i = 0; i < 32; ++i)
    request.metadata["key" + std::to_string(i)] = "value";
  check_valid(validate(request, limits));
  request.metadata["key32"] = "value";
  check_invalid(validate(request, limits), "metadata");
}

BOOST_AUTO_TEST_CASE(acquire_metadata_key_length) {
  auto request = valid_acquire();
  request.metadata[text(64, 'k')] = "v";
  check_valid(validate(request, limits));
  request.metadata.clear();
  request.metadata[text(65, 'k')] = "v";
  check_invalid(validate(request, limits), "metadata");
  request.metadata.clear();
  request.metadata[""] = "v";
  check_invalid(validate(request, limits), "metadata");
}

BOOST_AUTO_TEST_CASE(acquire_metadata_key_charset) {
  auto request = valid_acquire();
  request.metadata["ticket.id_v-2"] = "OPS-7";
  check_valid(validate(request, limits));
  for (const char* key : {"a/b", "a b", "a:b", "a*b", "\xc3\xa9"}) {
    BOOST_TEST_CONTEXT("metadata key " << key) {
      request.metadata.clear();
      request.metadata[key] = "v";
      check_invalid(validate(request, limits), std::string{"metadata."} + key);
    }
  }
}

BOOST_AUTO_TEST_CASE(acquire_metadata_value_length) {
  auto request = valid_acquire();
  request.metadata["ticket"] = text(1024, 'v');
  check_valid(validate(request, limits));
  request.metadata["ticket"] = text(1025, 'v');
  check_invalid(validate(request, limits), "metadata.ticket");
  // Values are free-form: empty, spaces and any bytes are allowed.
  request.metadata["ticket"] = "";
  check_valid(validate(request, limits));
  request.metadata["ticket"] = "a b\t\xc3\xa9";
  check_valid(validate(request, limits));
}

BOOST_AUTO_TEST_CASE(acquire_reports_first_offending_field) {
  auto request = valid_acquire();
  request.key.tenant = "";
  request.key.project = "";
  request.owner = "";
  check_invalid(validate(request, limits), "tenant");
  request.key.tenant = "default";
  check_invalid(validate(request, limits), "project");
  request.key.project = "network";
  check_invalid(validate(request, limits), "owner");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(validate_release)

BOOST_AUTO_TEST_CASE(release_valid) {
  check_valid(validate(valid_release(), limits));
}

BOOST_AUTO_TEST_CASE(release_tenant_invalid) {
  auto request = valid_release();
  request.tenant = "";
  check_invalid(validate(request, limits), "tenant");
  request.tenant = text(65);
  check_invalid(validate(request, limits), "tenant");
}

BOOST_AUTO_TEST_CASE(release_lock_id_limits) {
  auto request = valid_release();
  request.lock_id = "";
  check_invalid(validate(request, limits), "lock_id");
  request.lock_id = text(64, 'f');
  check_valid(validate(request, limits));
  request.lock_id = text(65, 'f');
  check_invalid(validate(request, limits), "lock_id");
  request.lock_id = "bbce 9263";
  check_invalid(validate(request, limits), "lock_id");
}

BOOST_AUTO_TEST_CASE(release_any_token_is_valid) {
  auto request = valid_release();
  request.token = 0;
  check_valid(validate(request, limits));
  request.token = UINT64_MAX;
  check_valid(validate(request, limits));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(validate_renew)

BOOST_AUTO_TEST_CASE(renew_valid) {
  check_valid(validate(valid_renew(), limits));
}

BOOST_AUTO_TEST_CASE(renew_tenant_invalid) {
  auto request = valid_renew();
  request.tenant = "";
  check_invalid(validate(request, limits), "tenant");
  request.tenant = "a>b";
  check_invalid(validate(request, limits), "tenant");
}

BOOST_AUTO_TEST_CASE(renew_lock_id_limits) {
  auto request = valid_renew();
  request.lock_id = "";
  check_invalid(validate(request, limits), "lock_id");
  request.lock_id = text(64, 'f');
  check_valid(validate(request, limits));
  request.lock_id = text(65, 'f');
  check_invalid(validate(request, limits), "lock_id");
}

BOOST_AUTO_TEST_CASE(renew_ttl_limits) {
  auto request = valid_renew();
  request.ttl_ms = 0;
  check_valid(validate(request, limits));
  request.ttl_ms = 1'000;
  check_valid(validate(request, limits));
  request.ttl_ms = 999;
  check_invalid(validate(request, limits), "ttl_ms");
  request.ttl_ms = 86'400'000;
  check_valid(validate(request, limits));
  request.ttl_ms = 86'400'001;
  check_invalid(validate(request, limits), "ttl_ms");
  request.ttl_ms = -1;
  check_invalid(validate(request, limits), "ttl_ms");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(validate_get)

BOOST_AUTO_TEST_CASE(get_valid) {
  check_valid(validate(valid_get(), limits));
}

BOOST_AUTO_TEST_CASE(get_key_fields) {
  auto request = valid_get();
  request.key.tenant = "";
  check_invalid(validate(request, limits), "tenant");
  request = valid_get();
  request.key.project = "";
  check_invalid(validate(request, limits), "project");
  request = valid_get();
  request.key.workspace = text(129);
  check_invalid(validate(request, limits), "workspace");
  request.key.workspace = text(128);
  check_valid(validate(request, limits));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(validate_list)

BOOST_AUTO_TEST_CASE(list_without_filters_is_valid) {
  check_valid(validate(valid_list(), limits));
}

BOOST_AUTO_TEST_CASE(list_tenant_required) {
  auto request = valid_list();
  request.tenant = "";
  check_invalid(validate(request, limits), "tenant");
}

BOOST_AUTO_TEST_CASE(list_name_filters) {
  auto request = valid_list();
  request.project = text(128);
  request.workspace = text(128);
  request.owner = text(256);
  check_valid(validate(request, limits));
  request.project = text(129);
  check_invalid(validate(request, limits), "project");
  request.project = "network";
  request.workspace = "a b";
  check_invalid(validate(request, limits), "workspace");
  request.workspace = "prod";
  request.owner = text(257);
  check_invalid(validate(request, limits), "owner");
}

BOOST_AUTO_TEST_CASE(list_metadata_filter) {
  auto request = valid_list();
  request.meta_key = "ticket";
  check_valid(validate(request, limits));
  request.meta_value = "OPS-7";
  check_valid(validate(request, limits));
  request.meta_key = "";
  check_invalid(validate(request, limits), "meta_key");
}

BOOST_AUTO_TEST_CASE(list_meta_key_length) {
  auto request = valid_list();
  request.meta_key = text(64, 'k');
  check_valid(validate(request, limits));
  request.meta_key = text(65, 'k');
  check_invalid(validate(request, limits), "meta_key");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(validate_release_owner)

BOOST_AUTO_TEST_CASE(release_owner_valid) {
  check_valid(validate(valid_release_owner(), limits));
}

BOOST_AUTO_TEST_CASE(release_owner_tenant_invalid) {
  auto request = valid_release_owner();
  request.tenant = "";
  check_invalid(validate(request, limits), "tenant");
  request.tenant = "a b";
  check_invalid(validate(request, limits), "tenant");
}

BOOST_AUTO_TEST_CASE(release_owner_owner_limits) {
  auto request = valid_release_owner();
  request.owner = "";
  check_invalid(validate(request, limits), "owner");
  request.owner = text(256);
  check_valid(validate(request, limits));
  request.owner = text(257);
  check_invalid(validate(request, limits), "owner");
  request.owner = "pr\t42";
  check_invalid(validate(request, limits), "owner");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(publish_subject)

BOOST_AUTO_TEST_CASE(subject_accepts_literal_tokens) {
  BOOST_TEST(is_valid_publish_subject("_INBOX.abc123", 256));
  BOOST_TEST(is_valid_publish_subject("ci.jobs.42.lock", 256));
  BOOST_TEST(is_valid_publish_subject("a", 256));
  // Wildcards count only as whole tokens, so these are literal.
  BOOST_TEST(is_valid_publish_subject("a*b.c>d", 256));
}

BOOST_AUTO_TEST_CASE(subject_rejects_wildcards) {
  BOOST_TEST(!is_valid_publish_subject("a.*", 256));
  BOOST_TEST(!is_valid_publish_subject("a.>", 256));
  BOOST_TEST(!is_valid_publish_subject("*", 256));
  BOOST_TEST(!is_valid_publish_subject(">", 256));
}

BOOST_AUTO_TEST_CASE(subject_rejects_empty_tokens) {
  BOOST_TEST(!is_valid_publish_subject("", 256));
  BOOST_TEST(!is_valid_publish_subject(".", 256));
  BOOST_TEST(!is_valid_publish_subject("a.", 256));
  BOOST_TEST(!is_valid_publish_subject(".a", 256));
  BOOST_TEST(!is_valid_publish_subject("a..b", 256));
}

BOOST_AUTO_TEST_CASE(subject_rejects_space_and_non_ascii) {
  BOOST_TEST(!is_valid_publish_subject("a b", 256));
  BOOST_TEST(!is_valid_publish_subject("a\tb", 256));
  BOOST_TEST(!is_valid_publish_subject("a.\xc3\xa9", 256));
}

BOOST_AUTO_TEST_CASE(subject_length_boundary) {
  BOOST_TEST(is_valid_publish_subject(text(256), 256));
  BOOST_TEST(!is_valid_publish_subject(text(257), 256));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(validate_acquire_async)

acquire_async_request valid_async() {
  acquire_async_request request;
  request.request = valid_acquire();
  request.notify_subject = "_INBOX.abc123";
  return request;
}

BOOST_AUTO_TEST_CASE(async_valid) {
  check_valid(validate(valid_async(), limits));
}

BOOST_AUTO_TEST_CASE(async_checks_inner_request) {
  auto request = valid_async();
  request.request.owner = "";
  check_invalid(validate(request, limits), "owner");
  request = valid_async();
  request.request.ttl_ms = 999;
  check_invalid(validate(request, limits), "ttl_ms");
}

BOOST_AUTO_TEST_CASE(async_notify_subject) {
  auto request = valid_async();
  request.notify_subject = "";
  check_invalid(validate(request, limits), "notify");
  request.notify_subject = "updates.>";
  check_invalid(validate(request, limits), "notify");
  request.notify_subject = text(256);
  check_valid(validate(request, limits));
  request.notify_subject = text(257);
  check_invalid(validate(request, limits), "notify");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(validate_tickets)

BOOST_AUTO_TEST_CASE(ticket_valid) {
  check_valid(validate(ticket_request{"default", "t-1"}, limits));
  check_valid(validate(cancel_request{"default", "t-1"}, limits));
}

BOOST_AUTO_TEST_CASE(ticket_tenant_invalid) {
  check_invalid(validate(ticket_request{"", "t-1"}, limits), "tenant");
  check_invalid(validate(cancel_request{"a.b", "t-1"}, limits), "tenant");
}

BOOST_AUTO_TEST_CASE(ticket_id_limits) {
  auto missing = validate(ticket_request{"default", ""}, limits);
  check_invalid(missing, "ticket_id");
  BOOST_TEST(missing.message.rfind("ticket_id", 0) == 0u);
  check_valid(validate(ticket_request{"default", text(64)}, limits));
  check_invalid(validate(ticket_request{"default", text(65)}, limits),
                "ticket_id");
  check_invalid(validate(cancel_request{"default", ""}, limits), "ticket_id");
  check_invalid(validate(cancel_request{"default", "t 1"}, limits),
                "ticket_id");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(validate_bulk_acquire)

bulk_acquire_request valid_bulk(size_t count) {
  bulk_acquire_request request;
  request.tenant = "default";
  for (size_t i = 0; i < count; ++i) {
    auto item = valid_acquire();
    item.key.workspace = "ws-" + std::to_string(i);
    request.locks.push_back(std::move(item));
  }
  return request;
}

BOOST_AUTO_TEST_CASE(bulk_acquire_valid) {
  check_valid(validate(valid_bulk(1), limits));
  check_valid(validate(valid_bulk(256), limits));
}

BOOST_AUTO_TEST_CASE(bulk_acquire_tenant_invalid) {
  auto request = valid_bulk(1);
  request.tenant = "";
  check_invalid(validate(request, limits), "tenant");
}

BOOST_AUTO_TEST_CASE(bulk_acquire_lock_count) {
  check_invalid(validate(valid_bulk(0), limits), "locks");
  check_invalid(validate(valid_bulk(257), limits), "locks");
}

BOOST_AUTO_TEST_CASE(bulk_acquire_wait_limits) {
  auto request = valid_bulk(2);
  request.wait_ms = 3'600'000;
  check_valid(validate(request, limits));
  request.wait_ms = 3'600'001;
  check_invalid(validate(request, limits), "wait_ms");
  request.wait_ms = -1;
  check_invalid(validate(request, limits), "wait_ms");
}

BOOST_AUTO_TEST_CASE(bulk_acquire_item_fields_carry_index) {
  auto request = valid_bulk(3);
  request.locks[1].owner = "";
  check_invalid(validate(request, limits), "locks[1].owner");
  request = valid_bulk(3);
  request.locks[2].key.tenant = "other";
  check_invalid(validate(request, limits), "locks[2].tenant");
  request = valid_bulk(3);
  request.locks[0].metadata["a/b"] = "v";
  check_invalid(validate(request, limits), "locks[0].metadata.a/b");
}

BOOST_AUTO_TEST_CASE(bulk_acquire_rejects_duplicate_resource) {
  auto request = valid_bulk(3);
  request.locks[2].key = request.locks[0].key;
  check_invalid(validate(request, limits), "locks[2]");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(validate_bulk_release)

bulk_release_request valid_bulk_release(size_t count) {
  bulk_release_request request;
  request.tenant = "default";
  for (size_t i = 0; i < count; ++i)
    request.lock_ids.push_back("lock-" + std::to_string(i));
  return request;
}

BOOST_AUTO_TEST_CASE(bulk_release_valid) {
  check_valid(validate(valid_bulk_release(1), limits));
  check_valid(validate(valid_bulk_release(256), limits));
}

BOOST_AUTO_TEST_CASE(bulk_release_tenant_invalid) {
  auto request = valid_bulk_release(1);
  request.tenant = "a b";
  check_invalid(validate(request, limits), "tenant");
}

BOOST_AUTO_TEST_CASE(bulk_release_lock_count) {
  check_invalid(validate(valid_bulk_release(0), limits), "lock_ids");
  check_invalid(validate(valid_bulk_release(257), limits), "lock_ids");
}

BOOST_AUTO_TEST_CASE(bulk_release_lock_id_limits) {
  auto request = valid_bulk_release(3);
  request.lock_ids[1] = "";
  check_invalid(validate(request, limits), "lock_ids[1]");
  request.lock_ids[1] = text(64, 'f');
  check_valid(validate(request, limits));
  request.lock_ids[2] = text(65, 'f');
  check_invalid(validate(request, limits), "lock_ids[2]");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(validate_owner_and_stats)

BOOST_AUTO_TEST_CASE(reopen_owner_fields) {
  check_valid(validate(reopen_owner_request{"default", "pr-42"}, limits));
  check_invalid(validate(reopen_owner_request{"", "pr-42"}, limits), "tenant");
  check_invalid(validate(reopen_owner_request{"default", ""}, limits), "owner");
  check_valid(validate(reopen_owner_request{"default", text(256)}, limits));
  check_invalid(validate(reopen_owner_request{"default", text(257)}, limits),
                "owner");
}

BOOST_AUTO_TEST_CASE(stats_tenant) {
  check_valid(validate(stats_request{"default"}, limits));
  check_invalid(validate(stats_request{""}, limits), "tenant");
  check_invalid(validate(stats_request{text(65)}, limits), "tenant");
}

BOOST_AUTO_TEST_CASE(detect_tenant) {
  check_valid(validate(detect_request{"default"}, limits));
  check_valid(validate(detect_request{text(64)}, limits));
  check_invalid(validate(detect_request{""}, limits), "tenant");
  check_invalid(validate(detect_request{text(65)}, limits), "tenant");
  check_invalid(validate(detect_request{"team.a"}, limits), "tenant");
  check_invalid(validate(detect_request{"team*"}, limits), "tenant");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(metadata_text)

BOOST_AUTO_TEST_CASE(metadata_value_must_be_printable_utf8) {
  auto request = valid_acquire();
  request.metadata = {{"note", "caf\xc3\xa9 \xe2\x9c\x93\ttab"}};
  BOOST_TEST((validate(request, limits).code == lock_errc::none));

  for (std::string bad : {std::string("\xc3\x28"), std::string("a\x01" "b"),
                          std::string("esc\x1b[31m"), std::string("\xed\xa0\x80"),
                          std::string("\xc0\xaf"), std::string("\xe2\x82")}) {
    request.metadata = {{"note", bad}};
    auto error = validate(request, limits);
    BOOST_TEST((error.code == lock_errc::invalid_request));
    BOOST_TEST(error.field == "metadata.note");
  }
}

BOOST_AUTO_TEST_SUITE_END()
