/* libFuzzer target for the admin server's request path: any bytes as what a connection has
 * buffered, parsed with rs_admin_request_parse the way the server does it (pipelined requests one
 * after the other, each answered through rs_admin_route against a real stats store and fake
 * hooks), under a few size limits.
 *
 * The server calls the parser again on the whole buffer after every receive, so the parser must
 * agree with itself on a prefix and on the whole: the input is also cut in two at a position
 * taken from its first byte, and the answers for the first part and for the whole must be
 * consistent (see check_prefix). Anything inconsistent aborts, so libFuzzer keeps the input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/admin/admin.h"
#include "proxy/admin/request.h"
#include "proxy/admin/response.h"
#include "proxy/admin/router.h"
#include "proxy/core/strbuf.h"
#include "proxy/stats/stats.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* More pipelined requests than this in one input add nothing the first ones did not cover. */
#define MAX_PIPELINED 64

static void die(const char *what)
{
    fprintf(stderr, "admin_request_fuzz: %s\n", what);
    abort();
}

/* ---- fake hooks: fixed answers, so a response depends on the request alone ---- */

static enum rs_server_state fake_state(void *ctx)
{
    (void)ctx;
    return RS_SERVER_LIVE;
}
static void fake_server_info(void *ctx, struct rs_strbuf *out)
{
    (void)ctx;
    rs_strbuf_puts(out, "{\"version\":\"fuzz\",\"state\":\"LIVE\"}");
}
static void fake_clusters(void *ctx, bool json, struct rs_strbuf *out)
{
    (void)ctx;
    rs_strbuf_puts(out, json ? "{\"cluster_statuses\":[{\"name\":\"backend\"}]}"
                             : "backend::observability_name::backend\n");
}
static void fake_listeners(void *ctx, bool json, struct rs_strbuf *out)
{
    (void)ctx;
    rs_strbuf_puts(out, json ? "{\"listener_statuses\":[{\"name\":\"ingress\"}]}"
                             : "ingress::0.0.0.0:15001\n");
}
static int fake_config_dump(void *ctx, const char *resource, struct rs_strbuf *out)
{
    (void)ctx;
    /* The real hook accepts a few resource names and answers 404 to the rest: both branches. */
    if (resource != NULL && strcmp(resource, "static_clusters") != 0) {
        rs_strbuf_puts(out, "no such resource\n");
        return 404;
    }
    rs_strbuf_puts(out, "{\"configs\":[]}");
    return 200;
}
static void fake_set_healthcheck_failed(void *ctx, bool failed)
{
    (void)ctx;
    (void)failed;
}
static void fake_drain(void *ctx, bool graceful, bool inboundonly)
{
    (void)ctx;
    (void)graceful;
    (void)inboundonly;
}
static void fake_quit(void *ctx)
{
    (void)ctx;
}

static const struct rs_admin_hooks hooks = {
    .server_state = fake_state,
    .server_info = fake_server_info,
    .clusters = fake_clusters,
    .listeners = fake_listeners,
    .config_dump = fake_config_dump,
    .set_healthcheck_failed = fake_set_healthcheck_failed,
    .drain_listeners = fake_drain,
    .quit = fake_quit,
};

/* One store for the whole process: the renderers only read it, so every input sees the same
 * stats. Names with Envoy's tag patterns, so the Prometheus tag extraction has work to do, and an
 * unused counter for ?usedonly. */
static struct rs_stats_store *stats_store(void)
{
    static struct rs_stats_store *store;
    if (store != NULL)
        return store;
    store = rs_stats_store_new();
    struct rs_stats_shard *shard = rs_stats_shard_new(store);
    if (store == NULL || shard == NULL)
        die("cannot create the stats store");
    rs_stats_add(shard, rs_stats_counter(store, "cluster.backend.upstream_cx_total"), 7);
    rs_stats_counter(store, "cluster.backend.upstream_cx_connect_fail");
    rs_stats_gauge_set(shard, rs_stats_gauge(store, "cluster.backend.membership_healthy"), 3);
    rs_stats_add(shard, rs_stats_counter(store, "listener.0.0.0.0_15001.downstream_cx_total"), 2);
    rs_stats_add(shard, rs_stats_counter(store, "http.admin.downstream_rq_2xx"), 11);
    rs_stats_gauge_set(shard, rs_stats_gauge(store, "server.live"), 1);
    rs_stat_id h = rs_stats_histogram(store, "cluster.backend.upstream_cx_length_ms");
    rs_stats_histogram_record(shard, h, 3);
    rs_stats_histogram_record(shard, h, 250);
    /* A flush gives the histogram an interval, then one more value for the cumulative view. */
    rs_stats_flush(store);
    rs_stats_histogram_record(shard, h, 4000);
    rs_stats_histogram(store, "cluster.backend.upstream_rq_time");
    return store;
}

/* ---- invariants of one parse ---- */

static bool is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static void check_result(enum rs_admin_parse rc, const struct rs_admin_request *req, size_t len,
                         size_t limit)
{
    switch (rc) {
    case RS_ADMIN_PARSE_INCOMPLETE:
        /* The server grows its buffer on INCOMPLETE: past the limit it must have been refused. */
        if (len >= limit)
            die("INCOMPLETE on a buffer at or past the limit");
        if (req->scratch != NULL)
            die("INCOMPLETE left memory in the request");
        return;
    case RS_ADMIN_PARSE_ERROR:
        if (req->error_status != 400 && req->error_status != 413 && req->error_status != 431 &&
            req->error_status != 501 && req->error_status != 505)
            die("ERROR with an unexpected status");
        if (req->error_reason == NULL || req->error_reason[0] == '\0')
            die("ERROR without a reason");
        if (req->scratch != NULL)
            die("ERROR left memory in the request");
        return;
    case RS_ADMIN_PARSE_OK:
        break;
    default:
        die("unknown parse result");
    }
    if (req->consumed == 0 || req->consumed > len || req->consumed > limit)
        die("OK with consumed out of range");
    if (req->content_length > req->consumed)
        die("OK with a body longer than the request");
    if (req->method == NULL || req->method[0] == '\0' || req->path == NULL || req->path[0] != '/')
        die("OK without a method or an origin-form path");
    for (const char *m = req->method; *m; m++)
        if (!is_tchar((unsigned char)*m))
            die("OK with a method that is not a token");
    if (req->version_minor != 0 && req->version_minor != 1)
        die("OK with a version other than 1.0 or 1.1");
    if (req->nparams > RS_ADMIN_MAX_PARAMS)
        die("OK with too many parameters");
    for (size_t i = 0; i < req->nparams; i++)
        if (req->params[i].name == NULL || req->params[i].value == NULL)
            die("OK with a NULL parameter");
}

/* Routes one parsed request and serializes the answer the way the server sends it. */
static void answer(struct rs_admin_router *router, const struct rs_admin_request *req)
{
    struct rs_admin_response resp;
    rs_admin_response_init(&resp);
    rs_admin_route(router, req, &resp);
    if (resp.status < 100 || resp.status > 599)
        die("answer with an invalid status");
    if (resp.content_type == NULL)
        die("answer without a content type");
    struct rs_strbuf head = RS_STRBUF_INIT;
    rs_admin_response_head(&resp, req->keep_alive, req->version_minor == 0, &head);
    if (head.len < 4 || memcmp(head.data + head.len - 4, "\r\n\r\n", 4) != 0)
        die("response head does not end with a blank line");
    rs_strbuf_free(&head);
    rs_admin_response_free(&resp);
}

/* What a connection does with this buffer: answer every complete request in turn, stop at the
 * first incomplete one or at an error (which closes the connection). */
static void serve(const char *buf, size_t len, size_t limit)
{
    struct rs_admin_router router = {.hooks = &hooks, .stats = stats_store()};
    size_t off = 0;
    for (int n = 0; n < MAX_PIPELINED && off < len; n++) {
        struct rs_admin_request req;
        enum rs_admin_parse rc = rs_admin_request_parse(buf + off, len - off, limit, &req);
        check_result(rc, &req, len - off, limit);
        if (rc != RS_ADMIN_PARSE_OK)
            return;
        answer(&router, &req);
        off += req.consumed;
        bool close = !req.keep_alive;
        rs_admin_request_free(&req);
        if (close)
            return;
    }
}

static bool same_request(const struct rs_admin_request *a, const struct rs_admin_request *b)
{
    if (a->consumed != b->consumed || a->content_length != b->content_length ||
        a->version_minor != b->version_minor || a->keep_alive != b->keep_alive ||
        a->nparams != b->nparams || strcmp(a->method, b->method) != 0 ||
        strcmp(a->path, b->path) != 0)
        return false;
    for (size_t i = 0; i < a->nparams; i++)
        if (strcmp(a->params[i].name, b->params[i].name) != 0 ||
            strcmp(a->params[i].value, b->params[i].value) != 0)
            return false;
    return true;
}

/* The first `cut` bytes arrived, then the rest. The parser keeps no state, so:
 * - a request complete in the first part is the same request in the whole;
 * - bytes refused in the first part are refused in the whole (they are still there);
 * - a request complete in the whole is complete in any first part that holds it, and
 *   INCOMPLETE in any shorter one (neither refused nor, worse, accepted early). */
static void check_prefix(const char *buf, size_t len, size_t cut, size_t limit)
{
    struct rs_admin_request part, whole;
    enum rs_admin_parse rp = rs_admin_request_parse(buf, cut, limit, &part);
    check_result(rp, &part, cut, limit);
    enum rs_admin_parse rw = rs_admin_request_parse(buf, len, limit, &whole);
    check_result(rw, &whole, len, limit);
    if (rp == RS_ADMIN_PARSE_OK && (rw != RS_ADMIN_PARSE_OK || !same_request(&part, &whole)))
        die("a request complete in the first part parses differently in the whole");
    if (rp == RS_ADMIN_PARSE_ERROR && rw != RS_ADMIN_PARSE_ERROR)
        die("bytes refused in the first part are accepted in the whole");
    if (rw == RS_ADMIN_PARSE_OK) {
        if (cut >= whole.consumed && rp != RS_ADMIN_PARSE_OK)
            die("a first part holding the whole request does not parse");
        if (cut < whole.consumed && rp != RS_ADMIN_PARSE_INCOMPLETE)
            die("a first part shorter than the request is not INCOMPLETE");
    }
    if (rp == RS_ADMIN_PARSE_OK)
        rs_admin_request_free(&part);
    if (rw == RS_ADMIN_PARSE_OK)
        rs_admin_request_free(&whole);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    /* The server's limit; a small one, so 413 and 431 are reached with short inputs; and the
     * input's own size, the boundary between INCOMPLETE and 431. */
    const size_t limits[] = {RS_ADMIN_MAX_REQUEST, 64, size > 0 ? size : 1};
    for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++)
        serve(buf, size, limits[i]);

    /* The first byte picks the cut, scaled so that long inputs are cut anywhere too. */
    size_t cut = size > 0 ? (size_t)data[0] * size / 255 : 0;
    check_prefix(buf, size, cut, RS_ADMIN_MAX_REQUEST);
    check_prefix(buf, size, cut, 64);
    return 0;
}
