/* Access loggers from AccessLog YAML: file/stdout/stderr loggers, default/text/JSON formats end
 * to end through the writer, and config rejections with their paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/codec/codec.h"
#include "api/type_registry.h"
#include "envoy/config/accesslog/v3/accesslog.pb-c.h"
#include "proxy/http/access_log/access_log.h"
#include "proxy/http/access_log/stream_info.h"
#include "proxy/http/access_log/writer.h"
#include "proxy/http/header_map.h"

static char dir[512];
static struct rs_access_log_writer *writer;

static int group_setup(void **state)
{
    (void)state;
    const char *t = getenv("TEST_TMPDIR");
    snprintf(dir, sizeof dir, "%s/alcfgXXXXXX", t ? t : "/tmp");
    if (mkdtemp(dir) == NULL)
        return -1;
    char err[128];
    writer = rs_access_log_writer_new(2, NULL, NULL, err, sizeof err);
    return writer ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    rs_access_log_writer_free(writer);
    return 0;
}

static Envoy__Config__Accesslog__V3__AccessLog *parse(const char *yaml)
{
    char err[256];
    ProtobufCMessage *m =
        rs_codec_parse_yaml(&envoy__config__accesslog__v3__access_log__descriptor, yaml,
                            strlen(yaml), rs_api_find_type_url, err, sizeof err);
    if (m == NULL)
        fail_msg("yaml: %s", err);
    return (Envoy__Config__Accesslog__V3__AccessLog *)m;
}

/* Builds a logger from yaml (where "@PATH@" stands for a fresh file in the temp dir). */
static struct rs_access_log *build(const char *yaml_tmpl, const char *file, char *path,
                                   size_t path_len, char *err, size_t err_len)
{
    snprintf(path, path_len, "%s/%s", dir, file);
    unlink(path);
    char yaml[2048];
    const char *at = strstr(yaml_tmpl, "@PATH@");
    if (at != NULL)
        snprintf(yaml, sizeof yaml, "%.*s%s%s", (int)(at - yaml_tmpl), yaml_tmpl, path, at + 6);
    else
        snprintf(yaml, sizeof yaml, "%s", yaml_tmpl);
    Envoy__Config__Accesslog__V3__AccessLog *pb = parse(yaml);
    struct rs_access_log *log = rs_access_log_new(pb, "hcm.access_log[0]", writer, err, err_len);
    protobuf_c_message_free_unpacked(&pb->base, NULL);
    return log;
}

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

struct req {
    struct rs_header_map *h;
    struct rs_stream_info si;
};

static void make_req(struct req *r)
{
    r->h = rs_header_map_new();
    rs_header_map_add(r->h, ":method", 7, "POST", 4);
    rs_header_map_add(r->h, ":path", 5, "/submit", 7);
    rs_header_map_add(r->h, ":authority", 10, "svc.local", 9);
    rs_stream_info_init(&r->si);
    r->si.start_time.tv_sec = 0;
    r->si.start_time.tv_nsec = 5000000;
    r->si.protocol = "HTTP/1.1";
    r->si.response_code = 503;
    r->si.response_flags = RS_RF_UF | RS_RF_URX;
    r->si.request_complete_ns = 42000000;
    r->si.upstream_cluster = "backend";
    r->si.request_headers = r->h;
}

#define FILE_HEAD                                                                                  \
    "name: envoy.access_loggers.file\n"                                                            \
    "typed_config:\n"                                                                              \
    "  '@type': type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog\n"       \
    "  path: '@PATH@'\n"

static void test_file_default_format(void **state)
{
    (void)state;
    char path[700], err[512];
    struct rs_access_log *log = build(FILE_HEAD, "default.log", path, sizeof path, err, sizeof err);
    if (log == NULL)
        fail_msg("%s", err);
    struct req r;
    make_req(&r);
    rs_access_log_emit(log, 1, &r.si);
    rs_access_log_writer_flush(writer);
    assert_string_equal(slurp(path), "[1970-01-01T00:00:00.005Z] \"POST /submit HTTP/1.1\" 503 "
                                     "UF,URX 0 0 42 - \"-\" \"-\" \"-\" \"svc.local\" \"-\"\n");
    rs_access_log_free(log);
    rs_header_map_free(r.h);
}

static void test_file_text_and_json(void **state)
{
    (void)state;
    char path[700], err[512];
    struct rs_access_log *text = build(FILE_HEAD "  log_format:\n"
                                                 "    text_format_source:\n"
                                                 "      inline_string: \"%RESPONSE_CODE% "
                                                 "%UPSTREAM_CLUSTER% %UPSTREAM_HOST%\\n\"\n"
                                                 "    omit_empty_values: true\n",
                                       "text.log", path, sizeof path, err, sizeof err);
    if (text == NULL)
        fail_msg("%s", err);
    struct req r;
    make_req(&r);
    rs_access_log_emit(text, 0, &r.si);
    rs_access_log_emit(text, 1, &r.si);
    rs_access_log_writer_flush(writer);
    assert_string_equal(slurp(path), "503 backend \n503 backend \n");
    rs_access_log_free(text);

    struct rs_access_log *json =
        build(FILE_HEAD "  log_format:\n"
                        "    json_format:\n"
                        "      status: '%RESPONSE_CODE%'\n"
                        "      flags: '%RESPONSE_FLAGS%'\n"
                        "      up:\n"
                        "        host: '%UPSTREAM_HOST%'\n"
                        "        cluster: '%UPSTREAM_CLUSTER%'\n"
                        "    json_format_options: {sort_properties: true}\n",
              "json.log", path, sizeof path, err, sizeof err);
    if (json == NULL)
        fail_msg("%s", err);
    rs_access_log_emit(json, 0, &r.si);
    rs_access_log_writer_flush(writer);
    assert_string_equal(
        slurp(path),
        "{\"flags\":\"UF,URX\",\"status\":503,\"up\":{\"cluster\":\"backend\",\"host\":null}}\n");
    rs_access_log_free(json);
    rs_header_map_free(r.h);
}

static void test_stream_loggers(void **state)
{
    (void)state;
    char path[700], err[512];
    struct rs_access_log *log = build(
        "name: envoy.access_loggers.stderr\n"
        "typed_config:\n"
        "  '@type': type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StderrAccessLog\n"
        "  log_format: {text_format_source: {inline_string: \"stderr logger %PROTOCOL%\\n\"}}\n",
        "unused", path, sizeof path, err, sizeof err);
    if (log == NULL)
        fail_msg("%s", err);
    struct req r;
    make_req(&r);
    rs_access_log_emit(log, 0, &r.si);
    rs_access_log_writer_flush(writer);
    rs_access_log_free(log);
    log = build("name: envoy.access_loggers.stdout\n"
                "typed_config:\n"
                "  '@type': "
                "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog\n",
                "unused", path, sizeof path, err, sizeof err);
    if (log == NULL)
        fail_msg("%s", err);
    rs_access_log_free(log);
    rs_header_map_free(r.h);
}

static void expect_reject(const char *yaml, const char *want)
{
    char path[700], err[512] = "";
    struct rs_access_log *log = build(yaml, "reject.log", path, sizeof path, err, sizeof err);
    if (log != NULL) {
        rs_access_log_free(log);
        fail_msg("accepted:\n%s", yaml);
    }
    if (strcmp(err, want) != 0)
        fail_msg("error '%s', want '%s'", err, want);
}

static void test_rejections(void **state)
{
    (void)state;
    expect_reject(FILE_HEAD "filter: {not_health_check_filter: {}}\n",
                  "hcm.access_log[0].filter: field is not supported by ringside");
    expect_reject("name: x\n", "hcm.access_log[0].typed_config: is required");
    expect_reject("name: envoy.access_loggers.http_grpc\n"
                  "typed_config:\n"
                  "  '@type': type.googleapis.com/google.protobuf.Empty\n",
                  "hcm.access_log[0].typed_config: access logger "
                  "'envoy.access_loggers.http_grpc' (google.protobuf.Empty) is not supported by "
                  "ringside; supported: envoy.access_loggers.file, envoy.access_loggers.stdout, "
                  "envoy.access_loggers.stderr");
    expect_reject(
        "name: f\n"
        "typed_config:\n"
        "  '@type': type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog\n",
        "hcm.access_log[0].typed_config.path: must not be empty");
    expect_reject(FILE_HEAD "  log_format: {text_format_source: {inline_string: '%NOPE% x'}}\n",
                  "hcm.access_log[0].typed_config.log_format.text_format_source: unknown command "
                  "operator %NOPE%");
    expect_reject(FILE_HEAD "  log_format: {text_format_source: {filename: /etc/fmt}}\n",
                  "hcm.access_log[0].typed_config.log_format.text_format_source.filename: field "
                  "is not supported by ringside");
    expect_reject(FILE_HEAD "  log_format:\n"
                            "    text_format_source: {inline_string: x}\n"
                            "    content_type: text/plain\n",
                  "hcm.access_log[0].typed_config.log_format.content_type: field is not supported "
                  "by ringside");
    expect_reject(FILE_HEAD "  log_format: {json_format: {a: {b: '%REQ(x?y?z)%'}}}\n",
                  "hcm.access_log[0].typed_config.log_format.json_format.a.b: command operator "
                  "%REQ(x?y?z)%: expected X or X?Y (one alternative)");
    expect_reject(FILE_HEAD "  log_format: {omit_empty_values: true}\n",
                  "hcm.access_log[0].typed_config.log_format: one of text_format_source or "
                  "json_format is required");
    char yaml[1024], want[1024];
    snprintf(
        yaml, sizeof yaml,
        "name: f\n"
        "typed_config:\n"
        "  '@type': type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog\n"
        "  path: %s/missing/dir/a.log\n",
        dir);
    snprintf(want, sizeof want,
             "hcm.access_log[0].typed_config.path: cannot open '%s/missing/dir/a.log': No such "
             "file or directory",
             dir);
    expect_reject(yaml, want);
}

static void test_list(void **state)
{
    (void)state;
    char path[700];
    snprintf(path, sizeof path, "%s/list.log", dir);
    unlink(path);
    char yaml[1024];
    snprintf(
        yaml, sizeof yaml,
        "name: f\n"
        "typed_config:\n"
        "  '@type': type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog\n"
        "  path: %s\n"
        "  log_format: {text_format_source: {inline_string: \"%%RESPONSE_CODE%%\\n\"}}\n",
        path);
    Envoy__Config__Accesslog__V3__AccessLog *pbs[2] = {parse(yaml), parse(yaml)};
    char err[512];
    struct rs_access_log_list *list =
        rs_access_log_list_new(pbs, 2, "hcm.access_log", writer, err, sizeof err);
    assert_non_null(list);
    assert_int_equal(rs_access_log_list_size(list), 2);
    struct req r;
    make_req(&r);
    rs_access_log_list_emit(list, 0, &r.si);
    rs_access_log_writer_flush(writer);
    assert_string_equal(slurp(path), "503\n503\n");
    rs_access_log_list_free(list);

    protobuf_c_message_free_unpacked(&pbs[1]->base, NULL);
    pbs[1] = parse("name: x\n");
    assert_null(rs_access_log_list_new(pbs, 2, "hcm.access_log", writer, err, sizeof err));
    assert_string_equal(err, "hcm.access_log[1].typed_config: is required");
    protobuf_c_message_free_unpacked(&pbs[0]->base, NULL);
    protobuf_c_message_free_unpacked(&pbs[1]->base, NULL);
    rs_header_map_free(r.h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_default_format),
        cmocka_unit_test(test_file_text_and_json),
        cmocka_unit_test(test_stream_loggers),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_list),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
