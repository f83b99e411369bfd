/* The connection manager end to end on a real loop: a socketpair stands for the accepted client
 * connection, and a test filter answers locally (no router): it echoes the request line, the
 * authority and the body length, optionally chunked, after a STOP resumed from a timer, or as a
 * local reply. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/codec/codec.h"
#include "api/type_registry.h"
#include "proxy/core/buffer.h"
#include "proxy/core/loop.h"
#include "proxy/core/timer.h"
#include "proxy/http/access_log/writer.h"
#include "proxy/http/conn_manager/hcm.h"
#include "proxy/http/header_map.h"
#include "proxy/net/worker.h"
#include "proxy/stats/stats.h"

/* ---- the test filter ---- */

struct echo {
    struct rs_http_filter base;
    struct rs_timer timer;
    struct rs_loop *loop;
    char line[256];
    size_t body;
    bool chunked;
};

static void echo_reply(struct echo *e)
{
    struct rs_http_stream *s = e->base.stream;
    char body[512];
    int n = snprintf(body, sizeof body, "%s body=%zu\n", e->line, e->body);
    struct rs_header_map *h = rs_header_map_new();
    rs_header_map_add(h, ":status", 7, "200", 3);
    if (!e->chunked) {
        char cl[16];
        int m = snprintf(cl, sizeof cl, "%d", n);
        rs_header_map_add(h, "content-length", 14, cl, (size_t)m);
    }
    rs_http_stream_encode_headers(s, &e->base, h, false);
    struct rs_buffer b;
    rs_buffer_init(&b, e->loop);
    if (e->chunked) {
        rs_buffer_add_copy(&b, body, 5);
        rs_http_stream_encode_data(s, &e->base, &b, false);
        rs_buffer_add_copy(&b, body + 5, (size_t)n - 5);
    } else {
        rs_buffer_add_copy(&b, body, (size_t)n);
    }
    rs_http_stream_encode_data(s, &e->base, &b, true);
    rs_buffer_clear(&b);
}

/* x-big: a 2 x 100 kB response whose second half waits until the downstream drains. */
#define BIG_HALF 100000
static int drained_calls;

static void big_send(struct echo *e, bool end)
{
    struct rs_buffer b;
    rs_buffer_init(&b, e->loop);
    char *block = malloc(BIG_HALF);
    memset(block, 'x', BIG_HALF);
    rs_buffer_add_owned(&b, (uint8_t *)block, BIG_HALF);
    rs_http_stream_encode_data(e->base.stream, &e->base, &b, end);
    rs_buffer_clear(&b);
}

static void big_start(struct echo *e)
{
    struct rs_header_map *h = rs_header_map_new();
    rs_header_map_add(h, ":status", 7, "200", 3);
    rs_header_map_add(h, "content-length", 14, "200000", 6);
    rs_http_stream_encode_headers(e->base.stream, &e->base, h, false);
    big_send(e, false);
    assert_true(rs_http_stream_downstream_over_limit(e->base.stream));
    e->chunked = true; /* marks "second half pending" */
}

static void echo_drained(struct rs_http_filter *f)
{
    struct echo *e = (struct echo *)f;
    drained_calls++;
    if (e->chunked) {
        e->chunked = false;
        big_send(e, true);
    }
}

static void echo_resume(struct rs_loop *loop, struct rs_timer *t)
{
    (void)loop;
    struct echo *e = (struct echo *)((char *)t - offsetof(struct echo, timer));
    rs_http_stream_continue_decoding(e->base.stream, &e->base);
}

static enum rs_filter_status echo_headers(struct rs_http_filter *f, struct rs_header_map *h,
                                          bool end)
{
    struct echo *e = (struct echo *)f;
    const struct rs_hstr *m = rs_header_map_gets(h, ":method"), *p = rs_header_map_gets(h, ":path");
    const struct rs_hstr *a = rs_header_map_gets(h, ":authority");
    snprintf(e->line, sizeof e->line, "%.*s %.*s host=%.*s", (int)m->len, m->p, (int)p->len, p->p,
             a ? (int)a->len : 1, a ? a->p : "-");
    e->chunked = rs_header_map_gets(h, "x-chunked") != NULL;
    if (rs_header_map_gets(h, "x-show-rid") != NULL) {
        const struct rs_hstr *rid = rs_header_map_gets(h, "x-request-id");
        size_t n = strlen(e->line);
        snprintf(e->line + n, sizeof e->line - n, " rid=%.*s", rid ? (int)rid->len : 1,
                 rid ? rid->p : "-");
    }
    const struct rs_hstr *show = rs_header_map_gets(h, "x-show-h");
    if (show != NULL) {
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)show->len, show->p);
        const struct rs_hstr *v = rs_header_map_gets(h, name);
        size_t n = strlen(e->line);
        snprintf(e->line + n, sizeof e->line - n, " %s=%.*s", name, v ? (int)v->len : 1,
                 v ? v->p : "-");
    }
    if (rs_header_map_gets(h, "x-big") != NULL) {
        big_start(e);
        return RS_FILTER_STOP;
    }
    if (rs_header_map_gets(h, "x-hang") != NULL)
        return RS_FILTER_STOP; /* never answers: the stream timeouts must */
    const struct rs_hstr *local = rs_header_map_gets(h, "x-local");
    if (local != NULL) {
        rs_http_stream_send_local_reply(f->stream, atoi(local->p), "denied", "test_denied", 0);
        return RS_FILTER_STOP;
    }
    if (end)
        echo_reply(e);
    return RS_FILTER_STOP;
}

static enum rs_filter_status echo_data(struct rs_http_filter *f, struct rs_buffer *data, bool end)
{
    struct echo *e = (struct echo *)f;
    e->body += rs_buffer_len(data);
    rs_buffer_clear(data);
    if (end)
        echo_reply(e);
    return RS_FILTER_STOP;
}

static enum rs_filter_status echo_trailers(struct rs_http_filter *f, struct rs_header_map *t)
{
    (void)t;
    echo_reply((struct echo *)f);
    return RS_FILTER_STOP;
}

static void echo_destroy(struct rs_http_filter *f)
{
    struct echo *e = (struct echo *)f;
    rs_timer_cancel(e->loop, &e->timer);
    free(e);
}

static const struct rs_http_filter_ops echo_ops = {
    .name = "test.echo",
    .decode_headers = echo_headers,
    .decode_data = echo_data,
    .decode_trailers = echo_trailers,
    .destroy = echo_destroy,
};

static struct rs_http_filter *echo_create(void *config, struct rs_http_stream *s)
{
    (void)config;
    struct echo *e = calloc(1, sizeof *e);
    e->base.ops = &echo_ops;
    e->loop = rs_http_stream_worker(s)->loop;
    rs_timer_init(&e->timer, echo_resume);
    return &e->base;
}

/* A filter before the echo that holds the request headers for 20 ms (an auth call, say). */
struct pause {
    struct rs_http_filter base;
    struct rs_timer timer;
    struct rs_loop *loop;
    bool hold_response;
};

static void pause_fired(struct rs_loop *loop, struct rs_timer *t)
{
    (void)loop;
    struct pause *p = (struct pause *)((char *)t - offsetof(struct pause, timer));
    rs_http_stream_continue_decoding(p->base.stream, &p->base);
}

static enum rs_filter_status pause_headers(struct rs_http_filter *f, struct rs_header_map *h,
                                           bool end)
{
    (void)end;
    struct pause *p = (struct pause *)f;
    p->hold_response = rs_header_map_gets(h, "x-pause-response") != NULL;
    if (rs_header_map_gets(h, "x-pause") == NULL)
        return RS_FILTER_CONTINUE;
    rs_timer_arm(p->loop, &p->timer, 20);
    return RS_FILTER_STOP;
}

static void pause_encode_fired(struct rs_loop *loop, struct rs_timer *t)
{
    (void)loop;
    struct pause *p = (struct pause *)((char *)t - offsetof(struct pause, timer));
    rs_http_stream_continue_encoding(p->base.stream, &p->base);
}

static enum rs_filter_status pause_encode_headers(struct rs_http_filter *f, struct rs_header_map *h,
                                                  bool end)
{
    (void)end;
    struct pause *p = (struct pause *)f;
    rs_header_map_add(h, "x-paused-filter", 15, "saw-response", 12);
    /* A request with x-pause-response gets its response held 20 ms. */
    if (p->hold_response) {
        p->timer.cb = pause_encode_fired;
        rs_timer_arm(p->loop, &p->timer, 20);
        return RS_FILTER_STOP;
    }
    return RS_FILTER_CONTINUE;
}

static void pause_destroy(struct rs_http_filter *f)
{
    struct pause *p = (struct pause *)f;
    rs_timer_cancel(p->loop, &p->timer);
    free(p);
}

static const struct rs_http_filter_ops pause_ops = {
    .name = "test.pause",
    .decode_headers = pause_headers,
    .encode_headers = pause_encode_headers,
    .destroy = pause_destroy,
};

static struct rs_http_filter *pause_create(void *config, struct rs_http_stream *s)
{
    (void)config;
    struct pause *p = calloc(1, sizeof *p);
    p->base.ops = &pause_ops;
    p->loop = rs_http_stream_worker(s)->loop;
    rs_timer_init(&p->timer, pause_fired);
    return &p->base;
}

/* ---- environment ---- */

struct env {
    struct rs_loop *loop;
    struct rs_stats_store *store;
    struct rs_worker w;
    struct rs_listener l;
    struct rs_access_log_writer *writer;
    struct rs_network_filter nf;
    int fds_before;
    char log_path[256];
};

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    for (struct dirent *x; (x = readdir(d)) != NULL;)
        n++;
    closedir(d);
    return n;
}

static bool cluster_exists(void *ctx, const char *name)
{
    (void)ctx;
    (void)name;
    return true;
}

/* Builds the environment with extra HCM yaml (timeouts, limits). */
static struct env *env_new(const char *extra)
{
    struct env *e = calloc(1, sizeof *e);
    e->fds_before = count_fds();
    char err[512];
    struct rs_loop_options opt = {.buf_count = 64, .buf_size = 4096, .name = "t"};
    e->loop = rs_loop_new(&opt, err, sizeof err);
    assert_non_null(e->loop);
    e->store = rs_stats_store_new();
    e->w.loop = e->loop;
    e->w.stats = rs_stats_shard_new(e->store);
    snprintf(e->l.stat_name, sizeof e->l.stat_name, "test");
    e->l.buffer_limit = 1 << 20;
    rs_listener_register_stats(&e->l, e->store);
    e->writer = rs_access_log_writer_new(1, NULL, NULL, err, sizeof err);
    assert_non_null(e->writer);
    snprintf(e->log_path, sizeof e->log_path, "%s/hcm_test_%d.log",
             getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp", getpid());
    unlink(e->log_path);
    char yaml[4096];
    snprintf(
        yaml, sizeof yaml,
        "stat_prefix: t\n"
        "access_log:\n"
        "- name: envoy.access_loggers.file\n"
        "  typed_config:\n"
        "    \"@type\": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog\n"
        "    path: %s\n"
        "    log_format: {text_format_source: {inline_string: \"%%REQ(:METHOD)%% "
        "%%RESPONSE_CODE%% %%RESPONSE_FLAGS%% %%BYTES_RECEIVED%% %%PROTOCOL%%\\n\"}}\n"
        "route_config:\n"
        "  virtual_hosts:\n"
        "  - name: all\n"
        "    domains: ['*']\n"
        "    routes:\n"
        "    - match: {prefix: /}\n"
        "      route: {cluster: backend}\n"
        "http_filters:\n"
        "- name: envoy.filters.http.router\n"
        "  typed_config:\n"
        "    \"@type\": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router\n"
        "%s",
        e->log_path, extra);
    ProtobufCMessage *pb = rs_codec_parse_yaml(
        &envoy__extensions__filters__network__http_connection_manager__v3__http_connection_manager__descriptor,
        yaml, strlen(yaml), rs_api_find_type_url, err, sizeof err);
    if (pb == NULL)
        fail_msg("yaml: %s", err);
    struct rs_hcm_env henv = {
        .stats = e->store,
        .access_log_writer = e->writer,
        .cluster_exists = cluster_exists,
    };
    struct rs_hcm_config *cfg = rs_hcm_config_new(
        (const Envoy__Extensions__Filters__Network__HttpConnectionManager__V3__HttpConnectionManager
             *)pb,
        "hcm", &henv, err, sizeof err);
    protobuf_c_message_free_unpacked(pb, NULL);
    if (cfg == NULL)
        fail_msg("hcm: %s", err);
    struct rs_http_filter_factory f[2] = {
        {.name = "test.pause", .create = pause_create},
        {.name = "test.echo", .create = echo_create},
    };
    assert_int_equal(rs_hcm_network_filter(cfg, f, 2, &e->nf), 0);
    rs_hcm_set_downstream_drained_cb(&e->nf, 1, echo_drained);
    return e;
}

static void env_free(struct env *e)
{
    /* Everything still open is closed, as a worker stop would. */
    for (struct rs_active *a = e->w.active, *next; a != NULL; a = next) {
        next = a->next;
        a->close(a, true);
    }
    for (int i = 0; i < 50 && e->w.n_active > 0; i++)
        rs_loop_run_once(e->loop, 5);
    assert_int_equal(e->w.n_active, 0);
    e->nf.free_config(e->nf.config);
    rs_access_log_writer_free(e->writer);
    rs_loop_free(e->loop);
    rs_stats_store_free(e->store);
    unlink(e->log_path);
    assert_int_equal(count_fds(), e->fds_before);
    free(e);
}

/* Hands one end of a socketpair to the connection manager; returns the client end. */
static int connect_client(struct env *e)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    struct rs_accepted a = {.fd = sv[0], .listener = &e->l};
    rs_address_from_ip(&a.peer, "10.0.0.1", 1234);
    rs_address_from_ip(&a.local, "10.0.0.2", 80);
    e->nf.on_accept(&e->w, e->nf.config, &a);
    return sv[1];
}

static void send_all(int fd, const char *s)
{
    size_t len = strlen(s);
    assert_int_equal(send(fd, s, len, MSG_NOSIGNAL), (ssize_t)len);
}

static int count_of(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

/* Runs the loop and reads until `want` responses' worth of "HTTP/1.1 " status lines have arrived
 * and the last is complete (a terminating body marker "body=" line or empty chunk), or EOF.
 * Returns bytes read; *eof tells whether the server closed. */
static size_t pump(struct env *e, int fd, char *buf, size_t cap, const char *until, int times,
                   bool *eof, int max_ms)
{
    size_t len = 0;
    *eof = false;
    for (int i = 0; i < max_ms / 2; i++) {
        rs_loop_run_once(e->loop, 2);
        for (;;) {
            ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
            if (n > 0) {
                len += (size_t)n;
                continue;
            }
            if (n == 0)
                *eof = true;
            break;
        }
        buf[len] = 0;
        if (*eof || (until != NULL && count_of(buf, until) >= times))
            break;
    }
    buf[len] = 0;
    return len;
}

static uint64_t counter(struct env *e, const char *name)
{
    rs_stat_id id = rs_stats_find(e->store, name, NULL);
    assert_int_not_equal(id, RS_STAT_INVALID);
    return rs_stats_counter_value(e->store, id);
}

static int64_t gauge(struct env *e, const char *name)
{
    rs_stat_id id = rs_stats_find(e->store, name, NULL);
    assert_int_not_equal(id, RS_STAT_INVALID);
    return rs_stats_gauge_value(e->store, id);
}

/* ---- tests ---- */

static void keep_alive_three_requests(void **state)
{
    (void)state;
    struct env *e = env_new("");
    int fd = connect_client(e);
    char buf[8192];
    bool eof;
    for (int i = 0; i < 3; i++) {
        char req[128];
        snprintf(req, sizeof req, "GET /r%d HTTP/1.1\r\nHost: example.com\r\n\r\n", i);
        send_all(fd, req);
        pump(e, fd, buf, sizeof buf, "body=", 1, &eof, 1000);
        assert_false(eof);
        char want[64];
        snprintf(want, sizeof want, "GET /r%d host=example.com body=0\n", i);
        assert_non_null(strstr(buf, "HTTP/1.1 200 OK\r\n"));
        assert_non_null(strstr(buf, want));
        assert_non_null(strstr(buf, "server: envoy\r\n"));
        assert_non_null(strstr(buf, "date: "));
        assert_non_null(strstr(buf, "x-paused-filter: saw-response\r\n"));
        assert_null(strstr(buf, "connection: close"));
    }
    assert_int_equal(counter(e, "http.t.downstream_rq_total"), 3);
    assert_int_equal(counter(e, "http.t.downstream_rq_http1_total"), 3);
    assert_int_equal(counter(e, "http.t.downstream_rq_2xx"), 3);
    assert_int_equal(counter(e, "http.t.downstream_rq_completed"), 3);
    assert_int_equal(counter(e, "http.t.downstream_cx_total"), 1);
    assert_int_equal(gauge(e, "http.t.downstream_cx_active"), 1);
    assert_int_equal(gauge(e, "http.t.downstream_rq_active"), 0);
    assert_int_equal(gauge(e, "listener.test.downstream_cx_active"), 1);
    assert_true(counter(e, "http.t.downstream_cx_rx_bytes_total") > 100);
    close(fd);
    for (int i = 0; i < 20; i++)
        rs_loop_run_once(e->loop, 2);
    assert_int_equal(gauge(e, "http.t.downstream_cx_active"), 0);
    assert_int_equal(counter(e, "http.t.downstream_cx_destroy"), 1);
    assert_int_equal(counter(e, "listener.test.downstream_cx_destroy"), 1);
    env_free(e);
}

static void pipelined_in_order(void **state)
{
    (void)state;
    struct env *e = env_new("");
    int fd = connect_client(e);
    send_all(fd, "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
                 "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nabcd"
                 "GET /c HTTP/1.1\r\nHost: h\r\nx-pause: 1\r\n\r\n");
    char buf[8192];
    bool eof;
    pump(e, fd, buf, sizeof buf, "body=", 3, &eof, 2000);
    char *a = strstr(buf, "GET /a host=h body=0"), *b = strstr(buf, "POST /b host=h body=4");
    char *c = strstr(buf, "GET /c host=h body=0");
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_true(a < b && b < c);
    close(fd);
    env_free(e);
}

static void chunked_request_body_and_trailers(void **state)
{
    (void)state;
    struct env *e = env_new("");
    int fd = connect_client(e);
    char buf[8192];
    bool eof;
    send_all(fd, "POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
    pump(e, fd, buf, sizeof buf, "body=", 1, &eof, 1000);
    assert_non_null(strstr(buf, "POST /up host=h body=11\n"));
    /* Split across writes (and receive buffers), with a trailer. */
    send_all(fd, "POST /t HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r");
    pump(e, fd, buf, sizeof buf, "body=", 1, &eof, 20);
    send_all(fd, "\nabc\r\n0\r\nx-t");
    pump(e, fd, buf, sizeof buf, "body=", 1, &eof, 20);
    send_all(fd, ": 1\r\n\r\n");
    pump(e, fd, buf, sizeof buf, "body=", 1, &eof, 1000);
    assert_non_null(strstr(buf, "POST /t host=h body=3\n"));
    close(fd);
    env_free(e);
}

static void expect_100_continue(void **state)
{
    (void)state;
    struct env *e = env_new("");
    int fd = connect_client(e);
    char buf[8192];
    bool eof;
    send_all(fd, "PUT /x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
    pump(e, fd, buf, sizeof buf, "\r\n\r\n", 1, &eof, 1000);
    assert_string_equal(buf, "HTTP/1.1 100 Continue\r\n\r\n");
    send_all(fd, "xyz");
    pump(e, fd, buf, sizeof buf, "body=", 1, &eof, 1000);
    assert_non_null(strstr(buf, "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(buf, "PUT /x host=h body=3\n"));
    close(fd);
    env_free(e);
}

static void protocol_errors_answer_and_close(void **state)
{
    (void)state;
    static const struct {
        const char *req;
        const char *status;
    } cases[] = {
        {"GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"},
        {"BLAH\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"},
        {"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
         "HTTP/1.1 400 Bad Request\r\n"},
        {"GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n",
         "HTTP/1.1 501 Not Implemented\r\n"},
        {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
         "HTTP/1.1 400 Bad Request\r\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct env *e = env_new("");
        int fd = connect_client(e);
        char buf[8192];
        bool eof;
        send_all(fd, cases[i].req);
        pump(e, fd, buf, sizeof buf, NULL, 0, &eof, 1500);
        if (strncmp(buf, cases[i].status, strlen(cases[i].status)) != 0)
            fail_msg("case %zu: got '%s'", i, buf);
        assert_non_null(strstr(buf, "connection: close\r\n"));
        assert_true(eof);
        assert_int_equal(counter(e, "http.t.downstream_cx_protocol_error"), 1);
        close(fd);
        rs_access_log_writer_flush(e->writer);
        env_free(e);
    }
}

static void headers_too_large_is_431(void **state)
{
    (void)state;
    struct env *e = env_new("max_request_headers_kb: 1\n");
    int fd = connect_client(e);
    char req[3000];
    char pad[2000];
    memset(pad, 'a', sizeof pad - 1);
    pad[sizeof pad - 1] = 0;
    snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: h\r\nx-pad: %s\r\n\r\n", pad);
    send_all(fd, req);
    char buf[8192];
    bool eof;
    pump(e, fd, buf, sizeof buf, NULL, 0, &eof, 1500);
    assert_non_null(strstr(buf, "HTTP/1.1 431 Request Header Fields Too Large\r\n"));
    assert_true(eof);
    close(fd);
    env_free(e);
}

static void request_headers_timeout_is_408(void **state)
{
    (void)state;
    struct env *e = env_new("request_headers_timeout: 0.05s\n");
    int fd = connect_client(e);
    send_all(fd, "GET / HTTP/1.1\r\nHost: h\r\n");
    char buf[8192];
    bool eof;
    pump(e, fd, buf, sizeof buf, NULL, 0, &eof, 2000);
    assert_non_null(strstr(buf, "HTTP/1.1 408 Request Timeout\r\n"));
    assert_non_null(strstr(buf, "request header timeout"));
    assert_true(eof);
    assert_int_equal(counter(e, "http.t.downstream_rq_header_timeout"), 1);
    close(fd);
    env_free(e);
}

static void idle_timeout_closes(void **state)
{
    (void)state;
    struct env *e = env_new("common_http_protocol_options: {idle_timeout: 0.05s}\n");
    int fd = connect_client(e);
    char buf[8192];
    bool eof;
    pump(e, fd, buf, sizeof buf, NULL, 0, &eof, 2000);
    assert_true(eof);
    assert_int_equal(buf[0], 0);
    assert_int_equal(counter(e, "http.t.downstream_cx_idle_timeout"), 1);
    close(fd);
    env_free(e);
}

/* Envoy's default (accept_http_10 false): HTTP/1.0 is refused with 426 and the connection
 * closed. */
static void http10_refused(void **state)
{
    (void)state;
    struct env *e = env_new("");
    int fd = connect_client(e);
    send_all(fd, "GET /old HTTP/1.0\r\n\r\n");
    char buf[8192];
    bool eof;
    pump(e, fd, buf, sizeof buf, NULL, 0, &eof, 1500);
    assert_non_null(strstr(buf, "HTTP/1.1 426 Upgrade Required\r\n"));
    assert_non_null(strstr(buf, "connection: close\r\n"));
    assert_true(eof);
    close(fd);
    env_free(e);
}

static void chunked_response_when_no_length(void **state)
{
    (void)state;
    struct env *e = env_new("");
    int fd = connect_client(e);
    send_all(fd, "GET /c HTTP/1.1\r\nHost: h\r\nx-chunked: 1\r\n\r\n");
    char buf[8192];
    bool eof;
    pump(e, fd, buf, sizeof buf, "0\r\n\r\n", 1, &eof, 1000);
    assert_non_null(strstr(buf, "transfer-encoding: chunked\r\n"));
    assert_null(strstr(buf, "content-length"));
    assert_non_null(strstr(buf, "\r\n\r\n5\r\nGET /\r\n"));
    assert_non_null(strstr(buf, "\r\n0\r\n\r\n"));
    assert_false(eof);
    /* The connection is reused after a chunked response. */
    send_all(fd, "GET /next HTTP/1.1\r\nHost: h\r\n\r\n");
    pump(e, fd, buf, sizeof buf, "body=", 1, &eof, 1000);
    assert_non_null(strstr(buf, "GET /next host=h body=0"));
    close(fd);
    env_free(e);
}

static void local_reply_and_access_log(void **state)
{
    (void)state;
    struct env *e = env_new("");
    int fd = connect_client(e);
    send_all(fd, "POST /deny HTTP/1.1\r\nHost: h\r\nx-local: 403\r\nContent-Length: 2\r\n\r\nab");
    char buf[8192];
    bool eof;
    pump(e, fd, buf, sizeof buf, "denied", 1, &eof, 1000);
    assert_non_null(strstr(buf, "HTTP/1.1 403 Forbidden\r\n"));
    assert_non_null(strstr(buf, "content-type: text/plain\r\n"));
    assert_non_null(strstr(buf, "content-length: 6\r\n"));
    assert_int_equal(counter(e, "http.t.downstream_rq_4xx"), 1);
    /* Answered before the request was complete: HTTP/1.1 cannot go on (Envoy closes too). */
    assert_non_null(strstr(buf, "connection: close\r\n"));
    pump(e, fd, buf, sizeof buf, NULL, 0, &eof, 1000);
    assert_true(eof);
    close(fd);
    fd = connect_client(e);
    send_all(fd, "GET /ok HTTP/1.1\r\nHost: h\r\n\r\n");
    pump(e, fd, buf, sizeof buf, "body=", 1, &eof, 1000);
    assert_non_null(strstr(buf, "GET /ok host=h body=0"));
    for (int i = 0; i < 5; i++)
        rs_loop_run_once(e->loop, 2);
    rs_access_log_writer_flush(e->writer);
    FILE *fp = fopen(e->log_path, "r");
    assert_non_null(fp);
    char log[1024] = "";
    size_t n = fread(log, 1, sizeof log - 1, fp);
    log[n] = 0;
    fclose(fp);
    assert_string_equal(log, "POST 403 - 2 HTTP/1.1\nGET 200 - 0 HTTP/1.1\n");
    close(fd);
    env_free(e);
}

static void head_and_connection_close(void **state)
{
    (void)state;
    char buf[8192];
    bool eof;
    struct env *e = env_new("");
    int fd = connect_client(e);
    /* HEAD: the length of the body that GET would have, and no body. */
    send_all(fd, "HEAD /h HTTP/1.1\r\nHost: h\r\n\r\n");
    pump(e, fd, buf, sizeof buf, "\r\n\r\n", 1, &eof, 200);
    assert_non_null(strstr(buf, "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(buf, "content-length: 22\r\n"));
    assert_null(strstr(buf, "body="));
    /* The client asks to close: the response says so and the connection ends. */
    send_all(fd, "GET /last HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    pump(e, fd, buf, sizeof buf, NULL, 0, &eof, 1000);
    assert_non_null(strstr(buf, "connection: close\r\n"));
    assert_non_null(strstr(buf, "GET /last host=h body=0"));
    assert_null(strstr(buf, "body=0\nHTTP"));
    assert_true(eof);
    close(fd);
    env_free(e);
}

static void stream_timeouts(void **state)
{
    (void)state;
    char buf[8192];
    bool eof;
    struct env *e = env_new("stream_idle_timeout: 0.05s\n");
    int fd = connect_client(e);
    send_all(fd, "GET /hang HTTP/1.1\r\nHost: h\r\nx-hang: 1\r\n\r\n");
    pump(e, fd, buf, sizeof buf, "stream timeout", 1, &eof, 2000);
    assert_non_null(strstr(buf, "HTTP/1.1 408 Request Timeout\r\n"));
    assert_int_equal(counter(e, "http.t.downstream_rq_idle_timeout"), 1);
    /* The request was complete: the connection stays usable. */
    send_all(fd, "GET /after HTTP/1.1\r\nHost: h\r\n\r\n");
    pump(e, fd, buf, sizeof buf, "body=", 1, &eof, 1000);
    assert_non_null(strstr(buf, "GET /after host=h body=0"));
    close(fd);
    env_free(e);

    e = env_new("request_timeout: 0.05s\n");
    fd = connect_client(e);
    send_all(fd, "POST /slow HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc");
    pump(e, fd, buf, sizeof buf, NULL, 0, &eof, 2000);
    assert_non_null(strstr(buf, "HTTP/1.1 408 Request Timeout\r\n"));
    assert_non_null(strstr(buf, "request timeout"));
    assert_non_null(strstr(buf, "connection: close\r\n"));
    assert_true(eof);
    assert_int_equal(counter(e, "http.t.downstream_rq_timeout"), 1);
    close(fd);
    env_free(e);
}

static void request_id_generated_or_kept(void **state)
{
    (void)state;
    char buf[8192];
    bool eof;
    struct env *e = env_new("");
    int fd = connect_client(e);
    send_all(fd, "GET / HTTP/1.1\r\nHost: h\r\nx-show-rid: 1\r\n\r\n");
    pump(e, fd, buf, sizeof buf, "body=", 1, &eof, 1000);
    char *rid = strstr(buf, "rid=");
    assert_non_null(rid);
    rid += 4;
    /* A UUIDv4: 8-4-4-4-12 hex digits, version 4, variant 10xx. */
    assert_int_equal(rid[8], '-');
    assert_int_equal(rid[13], '-');
    assert_int_equal(rid[14], '4');
    assert_non_null(strchr("89ab", rid[19]));
    assert_int_equal(rid[36], ' ');
    send_all(fd, "GET / HTTP/1.1\r\nHost: h\r\nx-show-rid: 1\r\nX-Request-Id: mine\r\n\r\n");
    pump(e, fd, buf, sizeof buf, "body=", 1, &eof, 1000);
    assert_non_null(strstr(buf, "rid=mine body=0"));
    close(fd);
    env_free(e);
}

/* The response stops in the first filter (its headers, then the data that queues behind them)
 * and resumes from a timer: the client gets it whole and in order. */
static void response_held_and_resumed(void **state)
{
    (void)state;
    char buf[8192];
    bool eof;
    struct env *e = env_new("");
    int fd = connect_client(e);
    send_all(fd, "GET /held HTTP/1.1\r\nHost: h\r\nx-pause-response: 1\r\nx-chunked: 1\r\n\r\n");
    pump(e, fd, buf, sizeof buf, NULL, 0, &eof, 10);
    assert_int_equal(buf[0], 0); /* held: nothing written yet */
    pump(e, fd, buf, sizeof buf, "0\r\n\r\n", 1, &eof, 1000);
    assert_non_null(strstr(buf, "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(buf, "transfer-encoding: chunked\r\n"));
    /* The two chunks waited together behind the filter: they go out as one. */
    assert_non_null(strstr(buf, "\r\n\r\n18\r\nGET /held host=h body=0\n\r\n0\r\n\r\n"));
    assert_false(eof);
    close(fd);
    env_free(e);
}

static void downstream_drained_resumes_filter(void **state)
{
    (void)state;
    struct env *e = env_new("");
    e->l.buffer_limit = 16384;
    int fd = connect_client(e);
    send_all(fd, "GET /big HTTP/1.1\r\nHost: h\r\nx-big: 1\r\n\r\n");
    drained_calls = 0;
    size_t total = 0;
    char buf[65536];
    for (int i = 0; i < 2000 && total < 200000 + 100; i++) {
        rs_loop_run_once(e->loop, 1);
        ssize_t n;
        while ((n = recv(fd, buf, sizeof buf, 0)) > 0)
            total += (size_t)n;
    }
    assert_true(total > 200000);
    assert_true(drained_calls >= 1);
    assert_int_equal(counter(e, "http.t.downstream_rq_completed"), 1);
    close(fd);
    env_free(e);
}

static void upgrade_refused(void **state)
{
    (void)state;
    char buf[8192];
    bool eof;
    struct env *e = env_new("");
    int fd = connect_client(e);
    send_all(fd,
             "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
    pump(e, fd, buf, sizeof buf, NULL, 0, &eof, 1000);
    assert_non_null(strstr(buf, "HTTP/1.1 403 Forbidden\r\n"));
    assert_non_null(strstr(buf, "content-length: 0\r\n"));
    assert_true(eof);
    assert_int_equal(counter(e, "http.t.downstream_rq_ws_on_non_ws_route"), 1);
    close(fd);
    env_free(e);
}

static void forwarded_headers(void **state)
{
    (void)state;
    char buf[8192];
    bool eof;
    struct env *e = env_new("use_remote_address: true\n");
    int fd = connect_client(e); /* the peer is 10.0.0.1: internal */
    send_all(fd, "GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 1.1.1.1\r\n"
                 "x-show-h: x-forwarded-for\r\n\r\n");
    pump(e, fd, buf, sizeof buf, "body=", 1, &eof, 1000);
    assert_non_null(strstr(buf, "x-forwarded-for=1.1.1.1,10.0.0.1 body=0"));
    send_all(fd, "GET / HTTP/1.1\r\nHost: h\r\nx-show-h: x-envoy-internal\r\n\r\n");
    pump(e, fd, buf, sizeof buf, "body=", 1, &eof, 1000);
    assert_non_null(strstr(buf, "x-envoy-internal=true body=0"));
    send_all(fd, "GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-Proto: https\r\n"
                 "x-show-h: x-forwarded-proto\r\n\r\n");
    pump(e, fd, buf, sizeof buf, "body=", 1, &eof, 1000);
    assert_non_null(strstr(buf, "x-forwarded-proto=http body=0"));
    close(fd);
    env_free(e);
}

static void drain_closes_after_response(void **state)
{
    (void)state;
    struct env *e = env_new("");
    int idle = connect_client(e);
    int busy = connect_client(e);
    send_all(busy, "GET / HTTP/1.1\r\nHost: h\r\nx-pause: 1\r\n\r\n");
    rs_loop_run_once(e->loop, 2);
    for (struct rs_active *a = e->w.active, *next; a != NULL; a = next) {
        next = a->next;
        a->close(a, false);
    }
    char buf[8192];
    bool eof;
    pump(e, idle, buf, sizeof buf, NULL, 0, &eof, 1000);
    assert_true(eof);
    pump(e, busy, buf, sizeof buf, NULL, 0, &eof, 1000);
    assert_non_null(strstr(buf, "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(buf, "connection: close\r\n"));
    assert_true(eof);
    close(idle);
    close(busy);
    env_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keep_alive_three_requests),
        cmocka_unit_test(pipelined_in_order),
        cmocka_unit_test(chunked_request_body_and_trailers),
        cmocka_unit_test(expect_100_continue),
        cmocka_unit_test(protocol_errors_answer_and_close),
        cmocka_unit_test(headers_too_large_is_431),
        cmocka_unit_test(request_headers_timeout_is_408),
        cmocka_unit_test(idle_timeout_closes),
        cmocka_unit_test(http10_refused),
        cmocka_unit_test(chunked_response_when_no_length),
        cmocka_unit_test(local_reply_and_access_log),
        cmocka_unit_test(head_and_connection_close),
        cmocka_unit_test(stream_timeouts),
        cmocka_unit_test(request_id_generated_or_kept),
        cmocka_unit_test(response_held_and_resumed),
        cmocka_unit_test(downstream_drained_resumes_filter),
        cmocka_unit_test(upgrade_refused),
        cmocka_unit_test(forwarded_headers),
        cmocka_unit_test(drain_closes_after_response),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
