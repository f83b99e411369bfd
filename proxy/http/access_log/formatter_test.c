/* Formatter: every operator (with and without a value), truncation, START_TIME specs, Envoy's
 * default format, JSON typing/nesting, header mode and compile errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <unistd.h>

#include "api/codec/codec.h"
#include "api/type_registry.h"
#include "google/protobuf/struct.pb-c.h"
#include "proxy/core/strbuf.h"
#include "proxy/http/access_log/formatter.h"
#include "proxy/http/access_log/stream_info.h"
#include "proxy/http/header_map.h"

struct fixture {
    struct rs_header_map *req, *resp, *trailers;
    struct rs_stream_info si;
};

static void add(struct rs_header_map *m, const char *n, const char *v)
{
    assert_int_equal(rs_header_map_add(m, n, strlen(n), v, strlen(v)), 0);
}

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);
    fx->req = rs_header_map_new();
    fx->resp = rs_header_map_new();
    fx->trailers = rs_header_map_new();
    add(fx->req, ":method", "GET");
    add(fx->req, ":path", "/api/v1?x=1");
    add(fx->req, ":authority", "example.com");
    add(fx->req, "user-agent", "curl/8.5.0");
    add(fx->req, "x-request-id", "4b5e5a5c-1f61-4a4e-9a4e-0d1c2b3a4f5e");
    add(fx->req, "x-empty", "");
    add(fx->resp, ":status", "200");
    add(fx->resp, "x-envoy-upstream-service-time", "7");
    add(fx->resp, "content-type", "text/plain");
    add(fx->trailers, "grpc-status", "0");
    struct rs_stream_info *si = &fx->si;
    rs_stream_info_init(si);
    si->start_time.tv_sec = 1704164645; /* 2024-01-02T03:04:05Z */
    si->start_time.tv_nsec = 678912345;
    si->last_downstream_rx_byte_ns = 1999999;
    si->first_upstream_rx_byte_ns = 9000000;
    si->last_downstream_tx_byte_ns = 12500000;
    si->request_complete_ns = 12999999;
    si->protocol = "HTTP/1.1";
    si->response_code = 200;
    si->response_code_details = "via_upstream";
    si->bytes_received = 17;
    si->bytes_sent = 1234;
    si->upstream_host = "10.0.0.2:8080";
    si->upstream_cluster = "backend";
    si->downstream_remote_address = "192.168.1.7:51234";
    si->downstream_local_address = "[::1]:15006";
    si->request_id = "4b5e5a5c-1f61-4a4e-9a4e-0d1c2b3a4f5e";
    si->route_name = "default-route";
    si->request_headers = fx->req;
    si->response_headers = fx->resp;
    si->response_trailers = fx->trailers;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    rs_header_map_free(fx->req);
    rs_header_map_free(fx->resp);
    rs_header_map_free(fx->trailers);
    free(fx);
    return 0;
}

/* Formats si with format (text mode) and checks the output. */
static void expect_text(const struct rs_stream_info *si, const char *format, const char *want)
{
    char err[256] = "";
    struct rs_formatter *f = rs_formatter_new(format, err, sizeof err);
    if (f == NULL)
        fail_msg("format '%s' rejected: %s", format, err);
    struct rs_strbuf sb = RS_STRBUF_INIT;
    rs_formatter_format(f, si, &sb);
    if (strcmp(sb.data ? sb.data : "", want) != 0)
        fail_msg("format '%s': got '%s', want '%s'", format, sb.data ? sb.data : "", want);
    rs_strbuf_free(&sb);
    rs_formatter_free(f);
}

static void expect_error(const char *format, const char *want)
{
    char err[256] = "";
    struct rs_formatter *f = rs_formatter_new(format, err, sizeof err);
    if (f != NULL) {
        rs_formatter_free(f);
        fail_msg("format '%s' accepted", format);
    }
    if (strstr(err, want) == NULL)
        fail_msg("format '%s': error '%s' lacks '%s'", format, err, want);
}

static void test_default_format(void **state)
{
    struct fixture *fx = *state;
    /* Envoy's default line for this request, byte for byte. */
    expect_text(&fx->si, NULL,
                "[2024-01-02T03:04:05.678Z] \"GET /api/v1?x=1 HTTP/1.1\" 200 - 17 1234 12 7 \"-\" "
                "\"curl/8.5.0\" \"4b5e5a5c-1f61-4a4e-9a4e-0d1c2b3a4f5e\" \"example.com\" "
                "\"10.0.0.2:8080\"\n");
    /* x-envoy-original-path wins over :path when present. */
    add(fx->req, "x-envoy-original-path", "/orig");
    expect_text(&fx->si, "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%", "/orig");
}

static void test_default_format_local_reply(void **state)
{
    struct fixture *fx = *state;
    struct rs_stream_info si;
    rs_stream_info_init(&si);
    si.start_time = fx->si.start_time;
    si.protocol = "HTTP/1.1";
    si.response_code = 404;
    si.response_flags = RS_RF_NR;
    si.bytes_sent = 0;
    si.request_complete_ns = 250000;
    si.request_headers = fx->req;
    expect_text(&si, NULL,
                "[2024-01-02T03:04:05.678Z] \"GET /api/v1?x=1 HTTP/1.1\" 404 NR 0 0 0 - \"-\" "
                "\"curl/8.5.0\" \"4b5e5a5c-1f61-4a4e-9a4e-0d1c2b3a4f5e\" \"example.com\" \"-\"\n");
}

static void test_operators_present(void **state)
{
    struct fixture *fx = *state;
    const struct rs_stream_info *si = &fx->si;
    expect_text(si, "%PROTOCOL%", "HTTP/1.1");
    expect_text(si, "%RESPONSE_CODE%", "200");
    expect_text(si, "%RESPONSE_CODE_DETAILS%", "via_upstream");
    expect_text(si, "%BYTES_RECEIVED% %BYTES_SENT%", "17 1234");
    expect_text(si, "%DURATION%", "12");
    expect_text(si, "%REQUEST_DURATION%", "1");
    expect_text(si, "%RESPONSE_DURATION%", "9");
    expect_text(si, "%RESPONSE_TX_DURATION%", "3");
    expect_text(si, "%UPSTREAM_HOST%", "10.0.0.2:8080");
    expect_text(si, "%UPSTREAM_REMOTE_ADDRESS%", "10.0.0.2:8080");
    expect_text(si, "%UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%", "10.0.0.2");
    expect_text(si, "%UPSTREAM_CLUSTER%", "backend");
    expect_text(si, "%DOWNSTREAM_REMOTE_ADDRESS%", "192.168.1.7:51234");
    expect_text(si, "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%", "192.168.1.7");
    expect_text(si, "%DOWNSTREAM_LOCAL_ADDRESS%", "[::1]:15006");
    expect_text(si, "%DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT%", "::1");
    expect_text(si, "%ROUTE_NAME%", "default-route");
    expect_text(si, "%STREAM_ID%", "4b5e5a5c-1f61-4a4e-9a4e-0d1c2b3a4f5e");
    expect_text(si, "%REQ(:METHOD)% %REQ(User-Agent)%", "GET curl/8.5.0");
    expect_text(si, "%RESP(content-type)% %RESP(:STATUS)%", "text/plain 200");
    expect_text(si, "%TRAILER(GRPC-STATUS)%", "0");
    expect_text(si,
                "%REQUEST_HEADER(:METHOD)% %RESPONSE_HEADER(CONTENT-TYPE)% "
                "%RESPONSE_TRAILER(grpc-status)% %REQUEST_HEADER(X-NO?:AUTHORITY)%:3",
                "GET text/plain 0 exa");
    expect_text(si, "[%REQ(X-EMPTY)%]", "[]"); /* present but empty is not missing */
    expect_text(si, "100%% done %%%PROTOCOL%%%", "100% done %HTTP/1.1%");
    char host[256];
    assert_int_equal(gethostname(host, sizeof host), 0);
    expect_text(si, "%HOSTNAME%", host);
}

static void test_mesh_operators(void **state)
{
    struct fixture *fx = *state;
    struct rs_stream_info *si = &fx->si;
    expect_text(si, "%DOWNSTREAM_REMOTE_PORT% %DOWNSTREAM_LOCAL_PORT%", "51234 15006");
    expect_text(si,
                "%UPSTREAM_LOCAL_ADDRESS% %REQUESTED_SERVER_NAME% %CONNECTION_TERMINATION_DETAILS% "
                "%DOWNSTREAM_PEER_URI_SAN% %DOWNSTREAM_LOCAL_URI_SAN% "
                "%UPSTREAM_REQUEST_ATTEMPT_COUNT%",
                "- - - - - 0");
    si->upstream_local_address = "10.0.0.1:40000";
    si->requested_server_name = "outbound_.80_._.backend.default.svc.cluster.local";
    si->downstream_peer_uri_san = "spiffe://cluster.local/ns/default/sa/client";
    si->downstream_local_uri_san = "spiffe://cluster.local/ns/default/sa/server";
    si->upstream_request_attempt_count = 2;
    si->response_flags = RS_RF_URX;
    /* Istio's default sidecar access log format. */
    expect_text(si,
                "[%START_TIME%] \"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%\" "
                "%RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% "
                "%CONNECTION_TERMINATION_DETAILS% \"%UPSTREAM_TRANSPORT_FAILURE_REASON%\" "
                "%BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "
                "\"%REQ(X-FORWARDED-FOR)%\" \"%REQ(USER-AGENT)%\" \"%REQ(X-REQUEST-ID)%\" "
                "\"%REQ(:AUTHORITY)%\" \"%UPSTREAM_HOST%\" %UPSTREAM_CLUSTER% "
                "%UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% "
                "%REQUESTED_SERVER_NAME% %ROUTE_NAME%\n",
                "[2024-01-02T03:04:05.678Z] \"GET /api/v1?x=1 HTTP/1.1\" 200 URX via_upstream - "
                "\"-\" 17 1234 12 7 \"-\" \"curl/8.5.0\" \"4b5e5a5c-1f61-4a4e-9a4e-0d1c2b3a4f5e\" "
                "\"example.com\" \"10.0.0.2:8080\" backend 10.0.0.1:40000 [::1]:15006 "
                "192.168.1.7:51234 outbound_.80_._.backend.default.svc.cluster.local "
                "default-route\n");
    expect_text(
        si, "%DOWNSTREAM_PEER_URI_SAN%|%DOWNSTREAM_LOCAL_URI_SAN%|%UPSTREAM_REQUEST_ATTEMPT_COUNT%",
        "spiffe://cluster.local/ns/default/sa/client|"
        "spiffe://cluster.local/ns/default/sa/server|2");
    si->downstream_remote_address = "/var/run/sock";
    expect_text(si, "%DOWNSTREAM_REMOTE_PORT%", "-");
    si->downstream_remote_address = "[::1]";
    expect_text(si, "%DOWNSTREAM_REMOTE_PORT%", "-");
    si->downstream_remote_address = "1.2.3.4:99999";
    expect_text(si, "%DOWNSTREAM_REMOTE_PORT%", "-");
}

static void test_operators_missing(void **state)
{
    (void)state;
    struct rs_stream_info si;
    rs_stream_info_init(&si);
    expect_text(&si,
                "%PROTOCOL% %RESPONSE_CODE% %RESPONSE_CODE_DETAILS% %RESPONSE_FLAGS% "
                "%BYTES_RECEIVED% %BYTES_SENT% %DURATION% %REQUEST_DURATION% "
                "%RESPONSE_DURATION% %RESPONSE_TX_DURATION% %UPSTREAM_HOST% %UPSTREAM_CLUSTER% "
                "%UPSTREAM_TRANSPORT_FAILURE_REASON% %DOWNSTREAM_REMOTE_ADDRESS% "
                "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% %DOWNSTREAM_LOCAL_ADDRESS% "
                "%ROUTE_NAME% %STREAM_ID% %REQ(X)% %RESP(X)% %TRAILER(X)% %REQ(A?B)%",
                "- 0 - - 0 0 - - - - - - - - - - - - - - - -");
    si.upstream_transport_failure_reason = "TLS_error:_CERTIFICATE_VERIFY_FAILED";
    expect_text(&si, "%UPSTREAM_TRANSPORT_FAILURE_REASON%", "TLS_error:_CERTIFICATE_VERIFY_FAILED");
    si.upstream_cluster = "";
    expect_text(&si, "%UPSTREAM_CLUSTER%", "-");
}

static void test_response_flags(void **state)
{
    (void)state;
    struct rs_stream_info si;
    rs_stream_info_init(&si);
    si.response_flags = RS_RF_URX | RS_RF_UF | RS_RF_UH;
    expect_text(&si, "%RESPONSE_FLAGS%", "UH,UF,URX");
    si.response_flags = RS_RF_DC | RS_RF_UPE | RS_RF_UT | RS_RF_UAEX;
    expect_text(&si, "%RESPONSE_FLAGS%", "UT,UAEX,DC,UPE");
    si.response_flags = RS_RF_NR;
    expect_text(&si, "%RESPONSE_FLAGS%", "NR");
    assert_string_equal(rs_stream_info_flag_name(RS_RF_UO), "UO");
    assert_string_equal(rs_stream_info_flag_name(RS_RF_LH), "LH");
    assert_string_equal(rs_stream_info_flag_name(RS_RF_RL), "RL");
    assert_string_equal(rs_stream_info_flag_name(RS_RF_DI), "DI");
    assert_string_equal(rs_stream_info_flag_name(RS_RF_FI), "FI");
    assert_string_equal(rs_stream_info_flag_name(RS_RF_UR), "UR");
    assert_string_equal(rs_stream_info_flag_name(RS_RF_UC), "UC");
    assert_null(rs_stream_info_flag_name(RS_RF_UO | RS_RF_UC));
}

static void test_stream_info_clock(void **state)
{
    (void)state;
    struct rs_stream_info si;
    struct timespec before, after;
    clock_gettime(CLOCK_REALTIME, &before);
    rs_stream_info_start(&si);
    clock_gettime(CLOCK_REALTIME, &after);
    assert_true(si.start_time.tv_sec >= before.tv_sec && si.start_time.tv_sec <= after.tv_sec);
    assert_int_equal(si.first_upstream_rx_byte_ns, RS_STREAM_INFO_UNSET);
    usleep(3000);
    rs_stream_info_mark_first(&si, &si.first_upstream_rx_byte_ns);
    int64_t first = si.first_upstream_rx_byte_ns;
    assert_true(first >= 3000000);
    usleep(2000);
    rs_stream_info_mark_first(&si, &si.first_upstream_rx_byte_ns);
    assert_int_equal(si.first_upstream_rx_byte_ns, first); /* first stays first */
    rs_stream_info_mark_last(&si, &si.request_complete_ns);
    assert_true(si.request_complete_ns >= first + 2000000);
    int64_t last = si.request_complete_ns;
    rs_stream_info_mark_last(&si, &si.request_complete_ns);
    assert_true(si.request_complete_ns >= last);
    char want[32];
    snprintf(want, sizeof want, "%lld", (long long)(si.request_complete_ns / 1000000));
    expect_text(&si, "%DURATION%", want);
}

static void test_truncation(void **state)
{
    struct fixture *fx = *state;
    expect_text(&fx->si, "%REQ(USER-AGENT)%:4", "curl");
    expect_text(&fx->si, "%REQ(USER-AGENT)%:100", "curl/8.5.0");
    expect_text(&fx->si, "%REQ(X-MISSING?USER-AGENT)%:6|", "curl/8|");
    expect_text(&fx->si, "%REQ(X-MISSING)%:3", "-");
    expect_text(&fx->si, "%UPSTREAM_HOST%:8", "10.0.0.2");
    expect_text(&fx->si, "%PROTOCOL%:x", "HTTP/1.1:x");
}

static void test_start_time(void **state)
{
    struct fixture *fx = *state;
    const struct rs_stream_info *si = &fx->si;
    expect_text(si, "%START_TIME%", "2024-01-02T03:04:05.678Z");
    expect_text(si, "%START_TIME(%Y/%m/%d)%", "2024/01/02");
    expect_text(si, "%START_TIME(%H:%M:%S.%f)%", "03:04:05.678912345");
    expect_text(si, "%START_TIME(%s.%3f)%", "1704164645.678");
    expect_text(si, "%START_TIME(%6f|%9f|%1f)%", "678912|678912345|6");
    expect_text(si, "%START_TIME(%Y-%m-%dT%H:%M:%E3SZ)%", "2024-01-02T03:04:05.678Z");
    expect_text(si, "%START_TIME(%%f %a)%", "%f Tue");
    expect_text(si, "%START_TIME()%", "2024-01-02T03:04:05.678Z");
}

static void test_compile_errors(void **state)
{
    (void)state;
    expect_error("%FOO%", "unknown command operator %FOO%");
    expect_error("a %REQ_HEADER(x)% b", "unknown command operator %REQ_HEADER%");
    expect_error("%PROTOCOL", "position 0");
    expect_error("ab %", "position 3");
    expect_error("100% done", "position 3");
    expect_error("%REQ%", "%REQ% requires a header name");
    expect_error("%REQ()%", "requires a header name");
    expect_error("%REQ(a?b?c)%", "one alternative");
    expect_error("%RESP(x?)%", "one alternative");
    expect_error("%PROTOCOL(x)%", "%PROTOCOL% takes no argument");
    expect_error("%REQ(x%", "missing ')'");
    expect_error("%REQ(x)%:0", "at least 1");
}

static struct rs_formatter *json_formatter(const char *yaml, bool omit, bool sort, char *err,
                                           size_t err_len)
{
    ProtobufCMessage *pb = rs_codec_parse_yaml(&google__protobuf__struct__descriptor, yaml,
                                               strlen(yaml), rs_api_find_type_url, err, err_len);
    if (pb == NULL)
        fail_msg("yaml: %s", err);
    struct rs_formatter_options opt = {.omit_empty_values = omit, .sort_properties = sort};
    struct rs_formatter *f =
        rs_formatter_new_json((const Google__Protobuf__Struct *)pb, &opt, err, err_len);
    protobuf_c_message_free_unpacked(pb, NULL);
    return f;
}

static void expect_json(const struct rs_stream_info *si, const char *yaml, bool omit, bool sort,
                        const char *want)
{
    char err[256] = "";
    struct rs_formatter *f = json_formatter(yaml, omit, sort, err, sizeof err);
    if (f == NULL)
        fail_msg("json_format rejected: %s", err);
    struct rs_strbuf sb = RS_STRBUF_INIT;
    rs_formatter_format(f, si, &sb);
    if (strcmp(sb.data, want) != 0)
        fail_msg("got  %s\nwant %s", sb.data, want);
    rs_strbuf_free(&sb);
    rs_formatter_free(f);
}

static void test_json_typing(void **state)
{
    struct fixture *fx = *state;
    expect_json(&fx->si,
                "code: '%RESPONSE_CODE%'\n"
                "dur: '%DURATION%'\n"
                "rx: '%BYTES_RECEIVED%'\n"
                "code_text: 'c=%RESPONSE_CODE%'\n"
                "proto: '%PROTOCOL%'\n"
                "missing: '%REQ(X-NOPE)%'\n"
                "missing_in_text: 'a %REQ(X-NOPE)% b'\n"
                "flags: '%RESPONSE_FLAGS%'\n"
                "start: '%START_TIME%'\n"
                "lit: plain\n",
                false, false,
                "{\"code\":200,\"dur\":12,\"rx\":17,\"code_text\":\"c=200\","
                "\"proto\":\"HTTP/1.1\",\"missing\":null,\"missing_in_text\":\"a - b\","
                "\"flags\":\"-\",\"start\":\"2024-01-02T03:04:05.678Z\",\"lit\":\"plain\"}\n");
}

static void test_json_nesting_and_literals(void **state)
{
    struct fixture *fx = *state;
    expect_json(&fx->si,
                "req:\n"
                "  method: '%REQ(:METHOD)%'\n"
                "  inner:\n"
                "    path: '%REQ(:PATH)%'\n"
                "  empty: {}\n"
                "list: ['%RESPONSE_CODE%', 'x%PROTOCOL%']\n"
                "n: 1.5\n"
                "i: 42\n"
                "b: true\n"
                "z: null\n",
                false, false,
                "{\"req\":{\"method\":\"GET\",\"inner\":{\"path\":\"/api/v1?x=1\"},\"empty\":{}},"
                "\"list\":[200,\"xHTTP/1.1\"],\"n\":1.5,\"i\":42,\"b\":true,\"z\":null}\n");
}

static void test_json_escaping(void **state)
{
    struct fixture *fx = *state;
    add(fx->req, "x-evil", "a\"b\\c\td\x01");
    expect_json(&fx->si, "\"k\\\"ey\": '%REQ(X-EVIL)%'\n", false, false,
                "{\"k\\\"ey\":\"a\\\"b\\\\c\\td\\u0001\"}\n");
    expect_json(&fx->si, "k: 'x%REQ(X-EVIL)%'\n", false, false,
                "{\"k\":\"xa\\\"b\\\\c\\td\\u0001\"}\n");
    /* UTF-8 passes through; bytes that are not UTF-8 become \u00XX so the line stays JSON. */
    add(fx->req, "x-utf8", "caf\xc3\xa9 \xe2\x82\xac");
    add(fx->req, "x-latin1", "caf\xe9\n\xc3");
    add(fx->req, "x-overlong", "\xc0\xaf\xed\xa0\x80");
    expect_json(&fx->si, "a: '%REQ(X-UTF8)%'\nb: '%REQ(X-LATIN1)%'\nc: '%REQ(X-OVERLONG)%'\n",
                false, false,
                "{\"a\":\"caf\xc3\xa9 \xe2\x82\xac\",\"b\":\"caf\\u00e9\\n\\u00c3\","
                "\"c\":\"\\u00c0\\u00af\\u00ed\\u00a0\\u0080\"}\n");
}

static void test_json_omit_and_sort(void **state)
{
    struct fixture *fx = *state;
    struct rs_stream_info si;
    rs_stream_info_init(&si);
    si.request_headers = fx->req;
    expect_json(&si,
                "zz: '%UPSTREAM_HOST%'\n"
                "b: '%REQ(:METHOD)%'\n"
                "a: 'x%UPSTREAM_HOST%y'\n"
                "c: '%UPSTREAM_CLUSTER%'\n",
                true, true, "{\"a\":\"xy\",\"b\":\"GET\"}\n");
    expect_json(&si, "zz: '%UPSTREAM_HOST%'\nb: '%REQ(:METHOD)%'\n", false, true,
                "{\"b\":\"GET\",\"zz\":null}\n");
}

static void test_json_errors(void **state)
{
    (void)state;
    char err[256] = "";
    struct rs_formatter *f =
        json_formatter("a:\n  b:\n    c: '%BOGUS%'\n", false, false, err, sizeof err);
    assert_null(f);
    assert_string_equal(err, "json_format.a.b.c: unknown command operator %BOGUS%");
    f = json_formatter("l: ['ok', '%X']\n", false, false, err, sizeof err);
    assert_null(f);
    assert_non_null(strstr(err, "json_format.l[1]: "));
}

static void test_text_omit_empty(void **state)
{
    (void)state;
    struct rs_stream_info si;
    rs_stream_info_init(&si);
    char err[128];
    struct rs_formatter_options opt = {.omit_empty_values = true};
    struct rs_formatter *f = rs_formatter_new_text("[%UPSTREAM_HOST%]", &opt, err, sizeof err);
    assert_non_null(f);
    struct rs_strbuf sb = RS_STRBUF_INIT;
    rs_formatter_format(f, &si, &sb);
    assert_string_equal(sb.data, "[]");
    rs_strbuf_free(&sb);
    rs_formatter_free(f);
}

static void test_header_mode(void **state)
{
    struct fixture *fx = *state;
    char err[128];
    struct rs_formatter *f = rs_formatter_new_header(
        "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%|%UPSTREAM_TRANSPORT_FAILURE_REASON%|"
        "%REQ(x-request-id)%|%START_TIME(%s)%",
        err, sizeof err);
    assert_non_null(f);
    assert_false(rs_formatter_is_constant(f));
    struct rs_strbuf sb = RS_STRBUF_INIT;
    rs_formatter_format(f, &fx->si, &sb);
    /* missing values are empty, and no newline */
    assert_string_equal(sb.data, "192.168.1.7||4b5e5a5c-1f61-4a4e-9a4e-0d1c2b3a4f5e|1704164645");
    rs_strbuf_free(&sb);
    rs_formatter_free(f);

    f = rs_formatter_new_header("static 50%%", err, sizeof err);
    assert_non_null(f);
    assert_true(rs_formatter_is_constant(f));
    rs_formatter_format(f, &fx->si, &sb);
    assert_string_equal(sb.data, "static 50%");
    rs_strbuf_free(&sb);
    rs_formatter_free(f);

    assert_null(rs_formatter_new_header("%NOPE%", err, sizeof err));
    assert_string_equal(err, "unknown command operator %NOPE%");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_default_format, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_format_local_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_operators_present, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mesh_operators, setup, teardown),
        cmocka_unit_test_setup_teardown(test_operators_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_response_flags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncation, setup, teardown),
        cmocka_unit_test(test_stream_info_clock),
        cmocka_unit_test_setup_teardown(test_start_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compile_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_typing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_nesting_and_literals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_escaping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_omit_and_sort, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text_omit_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_mode, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
