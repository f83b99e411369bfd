/* Request and response header edits: route header operations, the upstream request head and the
 * redirect Location. Values are taken literally: `%...%` formatting is not applied yet. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/core/decimal.h"
#include "proxy/core/strbuf.h"
#include "proxy/http/access_log/formatter.h"
#include "proxy/http/filters/router_internal.h"
#include "proxy/upstream/host.h"

static void apply_adds(struct rs_router_filter *rf, const struct rs_route_header_add *adds,
                       size_t n, struct rs_header_map *h)
{
    struct rs_strbuf fmt = {0};
    for (size_t i = 0; i < n; i++) {
        const struct rs_route_header_add *a = &adds[i];
        const char *val = a->value;
        size_t len = a->value_len;
        const struct rs_formatter *f = rs_router_header_format(rf->cfg, a);
        if (f != NULL) {
            rs_strbuf_reset(&fmt);
            rs_formatter_format(f, rs_http_stream_info(rf->stream), &fmt);
            val = fmt.data != NULL ? fmt.data : "";
            len = fmt.len;
        }
        if (len == 0 && !a->keep_empty_value)
            continue;
        bool present = rs_header_map_get(h, a->name, a->name_len) != NULL;
        switch (a->action) {
        case RS_ROUTE_APPEND_IF_EXISTS_OR_ADD:
            rs_header_map_add(h, a->name, a->name_len, val, len);
            break;
        case RS_ROUTE_ADD_IF_ABSENT:
            if (!present)
                rs_header_map_add(h, a->name, a->name_len, val, len);
            break;
        case RS_ROUTE_OVERWRITE_IF_EXISTS_OR_ADD:
            rs_header_map_set(h, a->name, a->name_len, val, len);
            break;
        case RS_ROUTE_OVERWRITE_IF_EXISTS:
            if (present)
                rs_header_map_set(h, a->name, a->name_len, val, len);
            break;
        }
    }
    rs_strbuf_free(&fmt);
}

static void apply_removes(const char *const *names, size_t n, struct rs_header_map *h)
{
    for (size_t i = 0; i < n; i++)
        rs_header_map_remove(h, names[i], strlen(names[i]));
}

/* Envoy's HeaderParser: each level removes, then adds; levels in the route's order, a weighted
 * cluster's own level first by default and last when the most specific level wins. */
static void apply_ops(struct rs_router_filter *rf, struct rs_header_map *h, bool request)
{
    const struct rs_route *route = rf->route;
    const struct rs_route_cluster_weight *weight = rf->weight;
    const struct rs_route_header_ops *levels[4];
    size_t n = 0;
    if (weight != NULL && !route->most_specific_header_mutations_wins)
        levels[n++] = &weight->headers;
    for (int i = 0; i < 3; i++)
        if (route->header_levels[i] != NULL)
            levels[n++] = route->header_levels[i];
    if (weight != NULL && route->most_specific_header_mutations_wins)
        levels[n++] = &weight->headers;
    for (size_t i = 0; i < n; i++) {
        const struct rs_route_header_ops *o = levels[i];
        if (request) {
            apply_removes(o->request_remove, o->n_request_remove, h);
            apply_adds(rf, o->request_add, o->n_request_add, h);
        } else {
            apply_removes(o->response_remove, o->n_response_remove, h);
            apply_adds(rf, o->response_add, o->n_response_add, h);
        }
    }
}

void rs_router_apply_request_ops(struct rs_router_filter *rf, struct rs_header_map *h)
{
    apply_ops(rf, h, true);
}

void rs_router_apply_response_ops(struct rs_router_filter *rf, struct rs_header_map *h)
{
    apply_ops(rf, h, false);
}

/* Connection-specific names never forwarded (the codec drops the ones Connection nominates). */
static bool hop_by_hop(struct rs_hstr n)
{
    static const char *const names[] = {
        "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade",
        "te",         "host"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (rs_hstr_eq_nocase(n, names[i], strlen(names[i])))
            return true;
    return false;
}

static struct rs_h1_slice sl(const char *p, size_t len)
{
    return (struct rs_h1_slice){p, len};
}

/* Edits the request map once, as Envoy's router does before encoding: path and host rewrites,
 * x-forwarded-proto, the router's own x-envoy-* request headers removed, header operations. */
int rs_router_prepare_request(struct rs_router_filter *rf, struct rs_header_map *h)
{
    const struct rs_route *route = rf->route;
    const struct rs_route_forward *fw = &route->forward;

    const struct rs_hstr *path = rs_header_map_gets(h, ":path");
    if (path != NULL) {
        char buf[8192];
        size_t len;
        int r = rs_route_rewrite_path(route, path->p, path->len, buf, sizeof buf, &len);
        if (r < 0)
            return -EINVAL;
        if (r == 1)
            rs_header_map_set(h, ":path", 5, buf, len);
    }
    const char *host_rw = rf->weight != NULL && rf->weight->host_rewrite_literal != NULL
                              ? rf->weight->host_rewrite_literal
                              : fw->host_rewrite_literal;
    if (host_rw != NULL)
        rs_header_map_set(h, ":authority", 10, host_rw, strlen(host_rw));

    if (rs_header_map_gets(h, "x-forwarded-proto") == NULL) {
        const struct rs_hstr *scheme = rs_header_map_gets(h, ":scheme");
        if (scheme != NULL)
            rs_header_map_add(h, "x-forwarded-proto", 17, scheme->p, scheme->len);
        else
            rs_header_map_add(h, "x-forwarded-proto", 17, "http", 4);
    }
    for (const char *const *c = rs_retry_consumed_headers; *c != NULL; c++)
        rs_header_map_remove(h, *c, strlen(*c));
    rs_router_apply_request_ops(rf, h);
    return 0;
}

/* Serializes the HTTP/1.1 head of one attempt into out, with framing: the client's content-length
 * if it gave one, chunked when a body follows without one, nothing when the request ended with
 * its headers. */
int rs_router_build_request_head(struct rs_router_filter *rf, struct rs_header_map *h,
                                 bool end_stream, struct rs_h1_buf *out)
{
    const struct rs_route_forward *fw = &rf->route->forward;
    bool literal = fw->host_rewrite_literal != NULL ||
                   (rf->weight != NULL && rf->weight->host_rewrite_literal != NULL);
    /* Envoy's auto_host_rewrite uses the host's hostname and leaves :authority alone without one;
     * each attempt's host may differ. */
    if (!literal && fw->auto_host_rewrite && rf->host->hostname != NULL &&
        rf->host->hostname[0] != '\0')
        rs_header_map_set(h, ":authority", 10, rf->host->hostname, strlen(rf->host->hostname));
    if (!rf->cfg->opt.suppress_envoy_headers) {
        uint64_t t =
            rs_retry_expected_timeout_ms(rf->timeouts, rs_loop_now_ms(rf->loop) - rf->start_ms);
        if (t > 0) {
            char v[RS_DECIMAL_MAX];
            size_t n = rs_decimal(v, t);
            rs_header_map_set(h, "x-envoy-expected-rq-timeout-ms", 30, v, n);
        }
    }

    const struct rs_hstr *method = rs_header_map_gets(h, ":method");
    const struct rs_hstr *path = rs_header_map_gets(h, ":path");
    const struct rs_hstr *auth = rs_header_map_gets(h, ":authority");
    if (method == NULL || path == NULL)
        return -EINVAL;
    size_t n = rs_header_map_size(h);
    struct rs_h1_header *hs = calloc(n + 3, sizeof *hs);
    if (hs == NULL)
        return -ENOMEM;
    size_t k = 0;
    if (auth != NULL)
        hs[k++] = (struct rs_h1_header){.name = sl("host", 4), .value = sl(auth->p, auth->len)};
    bool has_cl = false;
    for (size_t i = 0; i < n; i++) {
        const struct rs_header *e = rs_header_map_at(h, i);
        if (e->name.len > 0 && e->name.p[0] == ':')
            continue;
        if (hop_by_hop(e->name))
            continue;
        if (rs_hstr_eq_nocase(e->name, "content-length", 14))
            has_cl = true;
        hs[k++] = (struct rs_h1_header){.name = sl(e->name.p, e->name.len),
                                        .value = sl(e->value.p, e->value.len)};
    }
    /* TE is hop-by-hop, but "te: trailers" is forwarded, as Envoy does. */
    const struct rs_hstr *te = rs_header_map_gets(h, "te");
    if (te != NULL && memmem(te->p, te->len, "trailers", 8) != NULL)
        hs[k++] = (struct rs_h1_header){.name = sl("te", 2), .value = sl("trailers", 8)};
    rf->request_chunked = !end_stream && !has_cl;
    if (rf->request_chunked)
        hs[k++] =
            (struct rs_h1_header){.name = sl("transfer-encoding", 17), .value = sl("chunked", 7)};
    int r = rs_h1_serialize_request_head(out, sl(method->p, method->len), sl(path->p, path->len), 1,
                                         hs, k);
    free(hs);
    return r;
}

/* Location for a redirect route: scheme, host (with port) and path as the redirect action says,
 * else as the request had them (Envoy's RouteEntryImplBase::newUri). */
int rs_router_redirect_location(const struct rs_route *route, const struct rs_header_map *h,
                                struct rs_h1_buf *out)
{
    const struct rs_route_redirect *rd = &route->redirect;
    const struct rs_hstr *scheme_h = rs_header_map_gets(h, ":scheme");
    if (scheme_h == NULL)
        scheme_h = rs_header_map_gets(h, "x-forwarded-proto");
    const struct rs_hstr *auth = rs_header_map_gets(h, ":authority");
    const struct rs_hstr *path = rs_header_map_gets(h, ":path");
    char scheme[32] = "http";
    if (rd->scheme != NULL)
        snprintf(scheme, sizeof scheme, "%s", rd->scheme);
    else if (scheme_h != NULL && scheme_h->len < sizeof scheme)
        snprintf(scheme, sizeof scheme, "%.*s", (int)scheme_h->len, scheme_h->p);

    char host[512] = "";
    if (auth != NULL && auth->len < sizeof host)
        snprintf(host, sizeof host, "%.*s", (int)auth->len, auth->p);
    /* Split an existing port off (not inside an IPv6 literal). */
    char port[16] = "";
    char *colon = strrchr(host, ':');
    if (colon != NULL && strchr(colon, ']') == NULL) {
        snprintf(port, sizeof port, "%s", colon + 1);
        *colon = '\0';
    }
    if (rd->host != NULL) {
        /* Envoy: a host_redirect replaces host and port together. */
        snprintf(host, sizeof host, "%s", rd->host);
        port[0] = '\0';
    }
    if (rd->port != 0)
        snprintf(port, sizeof port, "%u", rd->port);
    else if (rd->scheme != NULL && ((strcmp(scheme, "https") == 0 && strcmp(port, "80") == 0) ||
                                    (strcmp(scheme, "http") == 0 && strcmp(port, "443") == 0)))
        port[0] = '\0'; /* a scheme change drops the old scheme's default port */

    char pbuf[8192];
    size_t plen = 0;
    const char *p = path != NULL ? path->p : "/";
    size_t pl = path != NULL ? path->len : 1;
    if (rd->strip_query) {
        const char *q = memchr(p, '?', pl);
        if (q != NULL)
            pl = (size_t)(q - p);
    }
    int r = rs_route_rewrite_path(route, p, pl, pbuf, sizeof pbuf, &plen);
    if (r < 0)
        return -EINVAL;
    if (r == 1) {
        p = pbuf;
        pl = plen;
    }
    int n =
        snprintf(NULL, 0, "%s://%s%s%s%.*s", scheme, host, port[0] ? ":" : "", port, (int)pl, p);
    if (out->cap < (size_t)n + 1) {
        char *d = realloc(out->data, (size_t)n + 1);
        if (d == NULL)
            return -ENOMEM;
        out->data = d;
        out->cap = (size_t)n + 1;
    }
    snprintf(out->data, (size_t)n + 1, "%s://%s%s%s%.*s", scheme, host, port[0] ? ":" : "", port,
             (int)pl, p);
    out->len = (size_t)n;
    return 0;
}
