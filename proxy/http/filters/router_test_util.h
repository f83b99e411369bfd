/* Router tests' harness: a FAKE stream implementing the rs_http_stream_* functions the router
 * calls (recording what it encodes), a real loop on the test thread, real clusters from YAML and
 * a tiny HTTP/1.1 upstream played with raw loopback sockets. Include from exactly one .c file per
 * test binary (it defines the stream functions). */
#ifndef RS_HTTP_FILTERS_ROUTER_TEST_UTIL_H
#define RS_HTTP_FILTERS_ROUTER_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/codec/codec.h"
#include "api/type_registry.h"
#include "proxy/core/buffer.h"
#include "proxy/core/loop.h"
#include "proxy/http/access_log/stream_info.h"
#include "proxy/http/filters/router.h"
#include "proxy/http/header_map.h"
#include "proxy/http/route/route.h"
#include "proxy/net/worker.h"
#include "proxy/stats/stats.h"
#include "proxy/upstream/cluster.h"
#include "proxy/upstream/test_util.h"

/* ---- the fake stream ---- */

struct rs_http_stream {
    struct rs_worker *worker;
    struct rs_stream_info si;
    const struct rs_route_config *rc;
    struct rs_header_map *req; /* owned */
    struct rs_http_filter *filter;
    /* recorded */
    int local_status;
    char local_body[256];
    char local_details[256];
    uint32_t local_flags;
    struct rs_header_map *resp;     /* owned */
    struct rs_header_map *trailers; /* owned */
    char body[4096];
    size_t body_len;
    bool done;
    int resets;
    bool over_limit;
    bool downstream_paused;
};

struct rs_worker *rs_http_stream_worker(struct rs_http_stream *s)
{
    return s->worker;
}
struct rs_stream_info *rs_http_stream_info(struct rs_http_stream *s)
{
    return &s->si;
}
const struct rs_route *rs_http_stream_route(struct rs_http_stream *s)
{
    return rs_route_config_match(s->rc, s->req, NULL);
}
void rs_http_stream_clear_route_cache(struct rs_http_stream *s)
{
    (void)s;
}
void rs_http_stream_continue_decoding(struct rs_http_stream *s, struct rs_http_filter *f)
{
    (void)s;
    (void)f;
}
void rs_http_stream_continue_encoding(struct rs_http_stream *s, struct rs_http_filter *f)
{
    (void)s;
    (void)f;
}
void rs_http_stream_encode_headers(struct rs_http_stream *s, struct rs_http_filter *f,
                                   struct rs_header_map *headers, bool end_stream)
{
    (void)f;
    assert_null(s->resp);
    s->resp = headers;
    s->done = end_stream;
}
void rs_http_stream_encode_data(struct rs_http_stream *s, struct rs_http_filter *f,
                                struct rs_buffer *data, bool end_stream)
{
    (void)f;
    assert_non_null(s->resp);
    assert_false(s->done);
    size_t n = rs_buffer_len(data);
    assert_true(s->body_len + n < sizeof s->body);
    rs_buffer_copy_out(data, 0, s->body + s->body_len, n);
    s->body_len += n;
    rs_buffer_clear(data);
    s->done = end_stream;
}
void rs_http_stream_encode_trailers(struct rs_http_stream *s, struct rs_http_filter *f,
                                    struct rs_header_map *trailers)
{
    (void)f;
    assert_false(s->done);
    s->trailers = trailers;
    s->done = true;
}
void rs_http_stream_send_local_reply(struct rs_http_stream *s, int status, const char *body,
                                     const char *details, uint32_t response_flags)
{
    assert_int_equal(s->local_status, 0);
    s->local_status = status;
    snprintf(s->local_body, sizeof s->local_body, "%s", body ? body : "");
    snprintf(s->local_details, sizeof s->local_details, "%s", details ? details : "");
    s->local_flags = response_flags;
    s->si.response_flags |= response_flags;
    s->done = true;
}
void rs_http_stream_reset(struct rs_http_stream *s)
{
    s->resets++;
    s->done = true;
}
bool rs_http_stream_downstream_over_limit(struct rs_http_stream *s)
{
    return s->over_limit;
}
void rs_http_stream_pause_downstream_reads(struct rs_http_stream *s, bool paused)
{
    s->downstream_paused = paused;
}

/* ---- environment ---- */

#define MAX_CLUSTERS 4

struct env {
    struct rs_loop *loop;
    struct rs_stats_store *store;
    struct rs_stats_shard *shard;
    struct rs_worker worker;
    struct rs_route_config *rc;
    struct rs_cluster *clusters[MAX_CLUSTERS];
    size_t n_clusters;
    struct rs_http_filter_factory factory;
    int lfd;         /* the upstream's listening socket */
    uint16_t port;   /* its port */
    uint16_t closed; /* a port nobody listens on */
    int fds_before;
};

static inline int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n++;
    closedir(d);
    return n;
}

static inline struct rs_cluster *lookup(void *ctx, const char *name)
{
    struct env *e = ctx;
    for (size_t i = 0; i < e->n_clusters; i++)
        if (strcmp(e->clusters[i]->name, name) == 0)
            return e->clusters[i];
    return NULL;
}

static inline int listen_any(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    assert_int_equal(listen(fd, 16), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

__attribute__((unused)) static const char ROUTES[] =
    "request_headers_to_add: [{header: {key: x-config, value: c}}]\n"
    "virtual_hosts:\n- name: vh\n  domains: ['*']\n  routes:\n"
    "  - match: {prefix: /direct}\n"
    "    direct_response: {status: 200, body: {inline_string: hello}}\n"
    "    response_headers_to_add: [{header: {key: x-direct, value: d}}]\n"
    "  - match: {prefix: /redir}\n"
    "    redirect: {host_redirect: example.com, response_code: FOUND}\n"
    "  - match: {prefix: /api/}\n"
    "    route: {cluster: up, prefix_rewrite: /v1/, host_rewrite_literal: backend.local}\n"
    "    request_headers_to_add: [{header: {key: x-added, value: 'yes'}}]\n"
    "    request_headers_to_remove: [x-internal]\n"
    "    response_headers_to_add: [{header: {key: x-resp, value: r}}]\n"
    "    response_headers_to_remove: [x-secret]\n"
    "  - match: {prefix: /short}\n"
    "    route: {cluster: up, timeout: 0.1s}\n"
    "  - match: {prefix: /empty}\n"
    "    route: {cluster: empty}\n"
    "  - match: {prefix: /refused}\n"
    "    route: {cluster: refused}\n"
    "  - match: {prefix: /nocluster}\n"
    "    route: {cluster: missing}\n"
    "  - match: {prefix: /retry}\n"
    "    route:\n      cluster: up\n"
    "      retry_policy: {retry_on: 5xx, num_retries: 2, retry_back_off: {base_interval: 0.001s}}\n"
    "  - match: {prefix: /pertry}\n"
    "    route:\n      cluster: up\n"
    "      retry_policy: {retry_on: 5xx, num_retries: 1, per_try_timeout: 0.05s,\n"
    "                     retry_back_off: {base_interval: 0.001s}}\n"
    "  - match: {prefix: /weighted}\n"
    "    route:\n      weighted_clusters:\n        clusters:\n"
    "        - {name: up, weight: 100, host_rewrite_literal: w.local,\n"
    "           request_headers_to_add: [{header: {key: x-weight, value: up}}]}\n"
    "  - match: {prefix: /byheader}\n"
    "    route: {cluster_header: x-cluster}\n"
    "  - match: {prefix: /mirror}\n"
    "    route:\n      cluster: up\n"
    "      request_mirror_policies: [{cluster: up}, {cluster: missing}]\n"
    "  - match: {prefix: /plain}\n"
    "    route: {cluster: up}\n"
    "    request_headers_to_add: [{header: {key: x-client, value: "
    "'%DOWNSTREAM_REMOTE_ADDRESS%'}}]\n"
    "    response_headers_to_add: [{header: {key: x-upstream, value: 'at %UPSTREAM_HOST%'}}]\n";

static inline struct rs_route_config *build_routes(const char *yaml)
{
    char err[512] = "";
    ProtobufCMessage *pb =
        rs_codec_parse_yaml(&envoy__config__route__v3__route_configuration__descriptor, yaml,
                            strlen(yaml), rs_api_find_type_url, err, sizeof err);
    if (pb == NULL)
        fail_msg("yaml: %s", err);
    struct rs_route_config *rc = rs_route_config_new(
        (const Envoy__Config__Route__V3__RouteConfiguration *)pb, "rc", err, sizeof err);
    protobuf_c_message_free_unpacked(pb, NULL);
    if (rc == NULL)
        fail_msg("routes: %s", err);
    return rc;
}

static inline void add_cluster(struct env *e, const char *name, const char *endpoints)
{
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "name: %s\nconnect_timeout: 1s\nload_assignment:\n  cluster_name: %s\n%s", name, name,
             endpoints);
    struct rs_cluster_env cenv = {.n_workers = 1, .stats = e->store};
    e->clusters[e->n_clusters++] = rs_test_cluster(yaml, &cenv);
}

static inline int setup(void **state)
{
    struct env *e = calloc(1, sizeof *e);
    e->fds_before = count_fds();
    char err[128];
    struct rs_loop_options opt = {.buf_count = 64, .buf_size = 4096, .name = "t"};
    e->loop = rs_loop_new(&opt, err, sizeof err);
    assert_non_null(e->loop);
    e->store = rs_stats_store_new();
    e->shard = rs_stats_shard_new(e->store);
    e->worker.id = 0;
    e->worker.loop = e->loop;
    e->worker.stats = e->shard;
    e->lfd = listen_any(&e->port);
    int tmp = listen_any(&e->closed);
    close(tmp);
    char ep[512];
    snprintf(ep, sizeof ep,
             "  endpoints:\n  - lb_endpoints:\n    - endpoint: {address: {socket_address: "
             "{address: 127.0.0.1, port_value: %u}}}\n",
             e->port);
    add_cluster(e, "up", ep);
    snprintf(ep, sizeof ep,
             "  endpoints:\n  - lb_endpoints:\n    - endpoint: {address: {socket_address: "
             "{address: 127.0.0.1, port_value: %u}}}\n",
             e->closed);
    add_cluster(e, "refused", ep);
    add_cluster(e, "empty", "");
    e->rc = build_routes(ROUTES);
    struct rs_router_options ro = {.dynamic_stats = true};
    struct rs_router_env renv = {
        .lookup = lookup, .lookup_ctx = e, .stats = e->store, .n_workers = 1, .routes = e->rc};
    assert_int_equal(rs_router_factory_init(&e->factory, &ro, &renv), 0);
    *state = e;
    return 0;
}

static inline void turns(struct env *e, int n)
{
    for (int i = 0; i < n; i++)
        rs_loop_run_once(e->loop, 5);
}

#define RUN_UNTIL(e, cond)                                                                         \
    do {                                                                                           \
        for (int i_ = 0; i_ < 400 && !(cond); i_++)                                                \
            rs_loop_run_once((e)->loop, 5);                                                        \
        assert_true(cond);                                                                         \
    } while (0)

static inline int teardown(void **state)
{
    struct env *e = *state;
    rs_router_worker_release(e->factory.config, 0);
    turns(e, 5); /* pools free themselves from the loop */
    e->factory.free_config(e->factory.config);
    for (size_t i = 0; i < e->n_clusters; i++)
        rs_cluster_unref(e->clusters[i]);
    rs_route_config_free(e->rc);
    close(e->lfd);
    rs_loop_free(e->loop);
    rs_stats_store_free(e->store);
    assert_int_equal(count_fds(), e->fds_before);
    free(e);
    return 0;
}

/* A stream with request headers "name: value" pairs after method, path. */
static inline struct rs_http_stream *stream_new(struct env *e, const char *method, const char *path,
                                                const char *const *extra)
{
    struct rs_http_stream *s = calloc(1, sizeof *s);
    s->worker = &e->worker;
    s->rc = e->rc;
    rs_stream_info_start(&s->si);
    s->si.downstream_remote_address = "10.1.2.3:5555";
    s->req = rs_header_map_new();
    rs_header_map_add(s->req, ":method", 7, method, strlen(method));
    rs_header_map_add(s->req, ":path", 5, path, strlen(path));
    rs_header_map_add(s->req, ":authority", 10, "front.example", 13);
    rs_header_map_add(s->req, ":scheme", 7, "http", 4);
    for (size_t i = 0; extra != NULL && extra[i] != NULL; i += 2)
        rs_header_map_add(s->req, extra[i], strlen(extra[i]), extra[i + 1], strlen(extra[i + 1]));
    s->filter = e->factory.create(e->factory.config, s);
    assert_non_null(s->filter);
    s->filter->stream = s;
    return s;
}

static inline enum rs_filter_status send_headers(struct rs_http_stream *s, bool end_stream)
{
    return s->filter->ops->decode_headers(s->filter, s->req, end_stream);
}

static inline void send_data(struct env *e, struct rs_http_stream *s, const char *data,
                             bool end_stream)
{
    struct rs_buffer b;
    rs_buffer_init(&b, e->loop);
    rs_buffer_add_copy(&b, data, strlen(data));
    s->filter->ops->decode_data(s->filter, &b, end_stream);
    assert_int_equal(rs_buffer_len(&b), 0);
    rs_buffer_clear(&b);
}

static inline void stream_free(struct rs_http_stream *s)
{
    s->filter->ops->destroy(s->filter);
    rs_header_map_free(s->req);
    rs_header_map_free(s->resp);
    rs_header_map_free(s->trailers);
    free(s);
}

static inline const char *resp_header(struct rs_http_stream *s, const char *name)
{
    static char v[256];
    const struct rs_hstr *h = rs_header_map_gets(s->resp, name);
    if (h == NULL)
        return NULL;
    snprintf(v, sizeof v, "%.*s", (int)h->len, h->p);
    return v;
}

/* ---- the upstream server ---- */

static inline int srv_accept(struct env *e)
{
    int fd = -1;
    for (int i = 0; i < 400 && fd < 0; i++) {
        fd = accept4(e->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0)
            rs_loop_run_once(e->loop, 5);
    }
    assert_true(fd >= 0);
    return fd;
}

static inline bool srv_nothing_to_accept(struct env *e)
{
    int fd = accept4(e->lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd >= 0)
        close(fd);
    return fd < 0;
}

/* Reads until the received bytes end with `suffix`; returns them (static buffer). */
static inline const char *srv_read_until(struct env *e, int fd, const char *suffix)
{
    static char buf[8192];
    size_t len = 0, sl = strlen(suffix);
    for (int i = 0; i < 400; i++) {
        ssize_t n = recv(fd, buf + len, sizeof buf - 1 - len, 0);
        if (n > 0)
            len += (size_t)n;
        buf[len] = '\0';
        if (len >= sl && memcmp(buf + len - sl, suffix, sl) == 0)
            return buf;
        rs_loop_run_once(e->loop, 5);
    }
    fail_msg("upstream got: [%s]", buf);
    return NULL;
}

static inline void srv_send(int fd, const char *s)
{
    assert_int_equal(send(fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

static inline uint64_t counter(struct env *e, const char *stat)
{
    char name[128];
    snprintf(name, sizeof name, "cluster.up.%s", stat);
    rs_stat_id id = rs_stats_find(e->store, name, NULL);
    if (id == RS_STAT_INVALID)
        return 0;
    return rs_stats_counter_value(e->store, id);
}

#endif
