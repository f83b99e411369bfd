/* Route entries: the action (forward, redirect, direct response) and its runtime helpers. */
#include <stdio.h>
#include <string.h>

#include "api/pbutil/pbutil.h"
#include "google/protobuf/duration.pb-c.h"
#include "proxy/http/route/route_internal.h"

/* Envoy's default route timeout. */
#define DEFAULT_TIMEOUT_MS 15000u

static int duration_ms(const Google__Protobuf__Duration *d, const char *path, const char *field,
                       uint64_t fallback, uint64_t *out, char *err, size_t err_len)
{
    if (d != NULL && (d->seconds < 0 || d->nanos < 0)) {
        snprintf(err, err_len, "%s.%s: must not be negative", path, field);
        return -1;
    }
    *out = rs_pb_duration_ms(d, fallback);
    return 0;
}

static bool has_crlf(const char *s)
{
    return s != NULL && strpbrk(s, "\r\n") != NULL;
}

static const char *const weight_fields[] = {
    "name",
    "cluster_header",
    "weight",
    "request_headers_to_add",
    "request_headers_to_remove",
    "response_headers_to_add",
    "response_headers_to_remove",
    "host_rewrite_literal",
    NULL,
};

static int compile_weighted(struct rs_route_config *rc,
                            const Envoy__Config__Route__V3__WeightedCluster *pb, const char *path,
                            struct rs_route_forward *f, char *err, size_t err_len)
{
    static const char *const wc_fields[] = {"clusters", NULL};
    char sub[RT_PATH_MAX], fsub[RT_PATH_MAX];
    if (!rs_pb_check_supported(&pb->base, wc_fields, path, err, err_len))
        return -1;
    if (pb->n_clusters == 0) {
        snprintf(err, err_len, "%s.clusters: must not be empty", path);
        return -1;
    }
    struct rs_route_cluster_weight *w = rt_array(rc, pb->n_clusters, sizeof *w);
    if (w == NULL)
        return rt_oom(err, err_len);
    uint64_t total = 0;
    for (size_t i = 0; i < pb->n_clusters; i++) {
        const Envoy__Config__Route__V3__WeightedCluster__ClusterWeight *cw = pb->clusters[i];
        snprintf(sub, sizeof sub, "%s.clusters[%zu]", path, i);
        if (!rs_pb_check_supported(&cw->base, weight_fields, sub, err, err_len))
            return -1;
        bool has_name = cw->name && cw->name[0];
        bool has_header = cw->cluster_header && cw->cluster_header[0];
        if (has_name == has_header) {
            snprintf(err, err_len, "%s: exactly one of name or cluster_header is required", sub);
            return -1;
        }
        if (has_name) {
            w[i].name = rt_strdup(rc, cw->name);
            if (w[i].name == NULL)
                return rt_oom(err, err_len);
            snprintf(fsub, sizeof fsub, "%s.name", sub);
            if (rt_add_cluster(rc, cw->name, fsub, err, err_len) < 0)
                return -1;
        } else {
            if (!rt_header_name_valid(cw->cluster_header)) {
                snprintf(err, err_len, "%s.cluster_header: invalid header name '%s'", sub,
                         cw->cluster_header);
                return -1;
            }
            w[i].cluster_header = rt_strdup_lower(rc, cw->cluster_header);
            if (w[i].cluster_header == NULL)
                return rt_oom(err, err_len);
        }
        w[i].weight = cw->weight ? cw->weight->value : 0;
        total += w[i].weight;
        if (cw->host_rewrite_specifier_case ==
            ENVOY__CONFIG__ROUTE__V3__WEIGHTED_CLUSTER__CLUSTER_WEIGHT__HOST_REWRITE_SPECIFIER_HOST_REWRITE_LITERAL) {
            if (has_crlf(cw->host_rewrite_literal)) {
                snprintf(err, err_len, "%s.host_rewrite_literal: must not contain CR or LF", sub);
                return -1;
            }
            w[i].host_rewrite_literal = rt_strdup(rc, cw->host_rewrite_literal);
            if (w[i].host_rewrite_literal == NULL)
                return rt_oom(err, err_len);
        }
        if (rt_header_ops_compile(rc, sub, cw->request_headers_to_add, cw->n_request_headers_to_add,
                                  cw->request_headers_to_remove, cw->n_request_headers_to_remove,
                                  cw->response_headers_to_add, cw->n_response_headers_to_add,
                                  cw->response_headers_to_remove, cw->n_response_headers_to_remove,
                                  &w[i].headers, err, err_len) < 0)
            return -1;
    }
    /* Envoy: the weights must sum to more than 0 and fit in 32 bits. */
    if (total == 0) {
        snprintf(err, err_len, "%s.clusters: sum of weights must be greater than 0", path);
        return -1;
    }
    if (total > UINT32_MAX) {
        snprintf(err, err_len, "%s.clusters: sum of weights must not exceed %u", path, UINT32_MAX);
        return -1;
    }
    f->weighted = w;
    f->n_weighted = pb->n_clusters;
    f->total_weight = total;
    return 0;
}

static const char *const forward_fields[] = {
    "cluster",
    "cluster_header",
    "weighted_clusters",
    "cluster_not_found_response_code",
    "prefix_rewrite",
    "regex_rewrite",
    "host_rewrite_literal",
    "auto_host_rewrite",
    "timeout",
    "idle_timeout",
    "retry_policy",
    "request_mirror_policies",
    NULL,
};

static int compile_forward(struct rs_route_config *rc,
                           const Envoy__Config__Route__V3__RouteAction *pb, const char *path,
                           const struct rt_vhost_defaults *defs, struct rs_route_forward *f,
                           char *err, size_t err_len)
{
    char sub[RT_PATH_MAX];
    if (!rs_pb_check_supported(&pb->base, forward_fields, path, err, err_len))
        return -1;
    switch (pb->cluster_specifier_case) {
    case ENVOY__CONFIG__ROUTE__V3__ROUTE_ACTION__CLUSTER_SPECIFIER_CLUSTER:
        if (pb->cluster == NULL || pb->cluster[0] == '\0') {
            snprintf(err, err_len, "%s.cluster: must not be empty", path);
            return -1;
        }
        f->cluster_kind = RS_ROUTE_CLUSTER_NAME;
        f->cluster = rt_strdup(rc, pb->cluster);
        if (f->cluster == NULL)
            return rt_oom(err, err_len);
        snprintf(sub, sizeof sub, "%s.cluster", path);
        if (rt_add_cluster(rc, pb->cluster, sub, err, err_len) < 0)
            return -1;
        break;
    case ENVOY__CONFIG__ROUTE__V3__ROUTE_ACTION__CLUSTER_SPECIFIER_CLUSTER_HEADER:
        if (!rt_header_name_valid(pb->cluster_header)) {
            snprintf(err, err_len, "%s.cluster_header: invalid header name '%s'", path,
                     pb->cluster_header);
            return -1;
        }
        f->cluster_kind = RS_ROUTE_CLUSTER_HEADER;
        f->cluster_header = rt_strdup_lower(rc, pb->cluster_header);
        if (f->cluster_header == NULL)
            return rt_oom(err, err_len);
        break;
    case ENVOY__CONFIG__ROUTE__V3__ROUTE_ACTION__CLUSTER_SPECIFIER_WEIGHTED_CLUSTERS:
        f->cluster_kind = RS_ROUTE_CLUSTER_WEIGHTED;
        snprintf(sub, sizeof sub, "%s.weighted_clusters", path);
        if (compile_weighted(rc, pb->weighted_clusters, sub, f, err, err_len) < 0)
            return -1;
        break;
    default:
        snprintf(err, err_len,
                 "%s: one of cluster, cluster_header or weighted_clusters is required", path);
        return -1;
    }
    switch (pb->cluster_not_found_response_code) {
    case ENVOY__CONFIG__ROUTE__V3__ROUTE_ACTION__CLUSTER_NOT_FOUND_RESPONSE_CODE__NOT_FOUND:
        f->cluster_not_found_code = 404;
        break;
    case ENVOY__CONFIG__ROUTE__V3__ROUTE_ACTION__CLUSTER_NOT_FOUND_RESPONSE_CODE__INTERNAL_SERVER_ERROR:
        f->cluster_not_found_code = 500;
        break;
    default:
        f->cluster_not_found_code = 503;
        break;
    }

    bool has_prefix = pb->prefix_rewrite && pb->prefix_rewrite[0];
    if (has_prefix && pb->regex_rewrite != NULL) {
        snprintf(err, err_len, "%s: only one of prefix_rewrite or regex_rewrite may be specified",
                 path);
        return -1;
    }
    if (has_prefix) {
        if (has_crlf(pb->prefix_rewrite)) {
            snprintf(err, err_len, "%s.prefix_rewrite: must not contain CR or LF", path);
            return -1;
        }
        f->rewrite.kind = RS_ROUTE_REWRITE_PREFIX;
        f->rewrite.value = rt_strdup(rc, pb->prefix_rewrite);
        if (f->rewrite.value == NULL)
            return rt_oom(err, err_len);
        f->rewrite.len = strlen(pb->prefix_rewrite);
    } else if (pb->regex_rewrite != NULL) {
        snprintf(sub, sizeof sub, "%s.regex_rewrite", path);
        if (rt_regex_rewrite_compile(rc, pb->regex_rewrite, sub, &f->rewrite, err, err_len) < 0)
            return -1;
    }

    if (pb->host_rewrite_specifier_case ==
        ENVOY__CONFIG__ROUTE__V3__ROUTE_ACTION__HOST_REWRITE_SPECIFIER_HOST_REWRITE_LITERAL) {
        if (has_crlf(pb->host_rewrite_literal)) {
            snprintf(err, err_len, "%s.host_rewrite_literal: must not contain CR or LF", path);
            return -1;
        }
        f->host_rewrite_literal = rt_strdup(rc, pb->host_rewrite_literal);
        if (f->host_rewrite_literal == NULL)
            return rt_oom(err, err_len);
    } else if (pb->host_rewrite_specifier_case ==
               ENVOY__CONFIG__ROUTE__V3__ROUTE_ACTION__HOST_REWRITE_SPECIFIER_AUTO_HOST_REWRITE) {
        f->auto_host_rewrite = pb->auto_host_rewrite && pb->auto_host_rewrite->value;
    }

    if (duration_ms(pb->timeout, path, "timeout", DEFAULT_TIMEOUT_MS, &f->timeout_ms, err,
                    err_len) < 0)
        return -1;
    f->idle_timeout_ms = -1;
    if (pb->idle_timeout != NULL) {
        uint64_t ms;
        if (duration_ms(pb->idle_timeout, path, "idle_timeout", 0, &ms, err, err_len) < 0)
            return -1;
        f->idle_timeout_ms = (int64_t)ms;
    }

    f->retry = defs->retry;
    if (pb->retry_policy != NULL) {
        snprintf(sub, sizeof sub, "%s.retry_policy", path);
        f->retry = rt_retry_policy_compile(rc, pb->retry_policy, sub, err, err_len);
        if (f->retry == NULL)
            return -1;
    }
    f->mirrors = defs->mirrors;
    f->n_mirrors = defs->n_mirrors;
    if (pb->n_request_mirror_policies > 0) {
        snprintf(sub, sizeof sub, "%s.request_mirror_policies", path);
        if (rt_mirrors_compile(rc, pb->request_mirror_policies, pb->n_request_mirror_policies, sub,
                               &f->mirrors, err, err_len) < 0)
            return -1;
        f->n_mirrors = pb->n_request_mirror_policies;
    }
    return 0;
}

static const char *const redirect_fields[] = {
    "https_redirect", "scheme_redirect", "host_redirect", "port_redirect", "path_redirect",
    "prefix_rewrite", "regex_rewrite",   "response_code", "strip_query",   NULL,
};

static int compile_redirect(struct rs_route_config *rc,
                            const Envoy__Config__Route__V3__RedirectAction *pb, const char *path,
                            struct rs_route_redirect *r, char *err, size_t err_len)
{
    char sub[RT_PATH_MAX];
    if (!rs_pb_check_supported(&pb->base, redirect_fields, path, err, err_len))
        return -1;
    if (pb->scheme_rewrite_specifier_case ==
            ENVOY__CONFIG__ROUTE__V3__REDIRECT_ACTION__SCHEME_REWRITE_SPECIFIER_HTTPS_REDIRECT &&
        pb->https_redirect) {
        r->scheme = "https";
    } else if (
        pb->scheme_rewrite_specifier_case ==
            ENVOY__CONFIG__ROUTE__V3__REDIRECT_ACTION__SCHEME_REWRITE_SPECIFIER_SCHEME_REDIRECT &&
        pb->scheme_redirect && pb->scheme_redirect[0]) {
        if (has_crlf(pb->scheme_redirect) || strpbrk(pb->scheme_redirect, ":/") != NULL) {
            snprintf(err, err_len, "%s.scheme_redirect: invalid scheme '%s'", path,
                     pb->scheme_redirect);
            return -1;
        }
        /* Used as configured, as Envoy does (schemes are case-insensitive anyway). */
        r->scheme = rt_strdup(rc, pb->scheme_redirect);
        if (r->scheme == NULL)
            return rt_oom(err, err_len);
    }
    if (pb->host_redirect && pb->host_redirect[0]) {
        if (has_crlf(pb->host_redirect)) {
            snprintf(err, err_len, "%s.host_redirect: must not contain CR or LF", path);
            return -1;
        }
        r->host = rt_strdup(rc, pb->host_redirect);
        if (r->host == NULL)
            return rt_oom(err, err_len);
    }
    if (pb->port_redirect > 65535) {
        snprintf(err, err_len, "%s.port_redirect: must be at most 65535", path);
        return -1;
    }
    r->port = pb->port_redirect;
    switch (pb->path_rewrite_specifier_case) {
    case ENVOY__CONFIG__ROUTE__V3__REDIRECT_ACTION__PATH_REWRITE_SPECIFIER_PATH_REDIRECT:
    case ENVOY__CONFIG__ROUTE__V3__REDIRECT_ACTION__PATH_REWRITE_SPECIFIER_PREFIX_REWRITE: {
        bool whole =
            pb->path_rewrite_specifier_case ==
            ENVOY__CONFIG__ROUTE__V3__REDIRECT_ACTION__PATH_REWRITE_SPECIFIER_PATH_REDIRECT;
        const char *v = whole ? pb->path_redirect : pb->prefix_rewrite;
        if (has_crlf(v)) {
            snprintf(err, err_len, "%s.%s: must not contain CR or LF", path,
                     whole ? "path_redirect" : "prefix_rewrite");
            return -1;
        }
        r->path.kind = whole ? RS_ROUTE_REWRITE_PATH : RS_ROUTE_REWRITE_PREFIX;
        r->path.value = rt_strdup(rc, v ? v : "");
        if (r->path.value == NULL)
            return rt_oom(err, err_len);
        r->path.len = strlen(r->path.value);
        break;
    }
    case ENVOY__CONFIG__ROUTE__V3__REDIRECT_ACTION__PATH_REWRITE_SPECIFIER_REGEX_REWRITE:
        snprintf(sub, sizeof sub, "%s.regex_rewrite", path);
        if (rt_regex_rewrite_compile(rc, pb->regex_rewrite, sub, &r->path, err, err_len) < 0)
            return -1;
        break;
    default:
        break;
    }
    static const uint32_t codes[] = {301, 302, 303, 307, 308};
    if ((unsigned)pb->response_code >= sizeof codes / sizeof codes[0]) {
        snprintf(err, err_len, "%s.response_code: unknown value %d", path, (int)pb->response_code);
        return -1;
    }
    r->response_code = codes[pb->response_code];
    r->strip_query = pb->strip_query;
    return 0;
}

static const char *const direct_fields[] = {"status", "body", NULL};
static const char *const body_fields[] = {"inline_bytes", "inline_string", NULL};

static int compile_direct(struct rs_route_config *rc,
                          const Envoy__Config__Route__V3__DirectResponseAction *pb,
                          const char *path, struct rs_route_direct_response *d, char *err,
                          size_t err_len)
{
    char sub[RT_PATH_MAX];
    if (!rs_pb_check_supported(&pb->base, direct_fields, path, err, err_len))
        return -1;
    if (pb->status < 200 || pb->status > 599) {
        snprintf(err, err_len, "%s.status: must be in [200, 600), got %u", path, pb->status);
        return -1;
    }
    d->status = pb->status;
    if (pb->body == NULL)
        return 0;
    snprintf(sub, sizeof sub, "%s.body", path);
    if (!rs_pb_check_supported(&pb->body->base, body_fields, sub, err, err_len))
        return -1;
    const char *b = NULL;
    size_t len = 0;
    if (pb->body->specifier_case == ENVOY__CONFIG__CORE__V3__DATA_SOURCE__SPECIFIER_INLINE_STRING) {
        b = pb->body->inline_string;
        len = strlen(b);
    } else if (pb->body->specifier_case ==
               ENVOY__CONFIG__CORE__V3__DATA_SOURCE__SPECIFIER_INLINE_BYTES) {
        b = (const char *)pb->body->inline_bytes.data;
        len = pb->body->inline_bytes.len;
    } else {
        snprintf(err, err_len, "%s: one of inline_string or inline_bytes is required", sub);
        return -1;
    }
    if (len > rc->max_direct_response_body) {
        snprintf(err, err_len, "%s: response body size is %zu bytes; maximum is %u", sub, len,
                 rc->max_direct_response_body);
        return -1;
    }
    d->body = rt_strndup(rc, b ? b : "", len);
    d->body_len = len;
    return d->body == NULL ? rt_oom(err, err_len) : 0;
}

static const char *const route_fields[] = {
    "name",
    "match",
    "route",
    "redirect",
    "direct_response",
    "request_headers_to_add",
    "request_headers_to_remove",
    "response_headers_to_add",
    "response_headers_to_remove",
    "per_request_buffer_limit_bytes",
    "metadata",
    NULL,
};

int rt_route_compile(struct rs_route_config *rc, const Envoy__Config__Route__V3__Route *pb,
                     const char *path, const struct rt_vhost_defaults *defs, struct rs_route *out,
                     char *err, size_t err_len)
{
    char sub[RT_PATH_MAX];
    if (!rs_pb_check_supported(&pb->base, route_fields, path, err, err_len))
        return -1;
    out->name = rt_strdup(rc, pb->name ? pb->name : "");
    if (out->name == NULL)
        return rt_oom(err, err_len);
    if (pb->match == NULL) {
        snprintf(err, err_len, "%s.match: is required", path);
        return -1;
    }
    snprintf(sub, sizeof sub, "%s.match", path);
    if (rt_route_match_compile(rc, pb->match, sub, &out->match, err, err_len) < 0)
        return -1;
    switch (pb->action_case) {
    case ENVOY__CONFIG__ROUTE__V3__ROUTE__ACTION_ROUTE:
        out->action = RS_ROUTE_ACTION_FORWARD;
        snprintf(sub, sizeof sub, "%s.route", path);
        if (compile_forward(rc, pb->route, sub, defs, &out->forward, err, err_len) < 0)
            return -1;
        break;
    case ENVOY__CONFIG__ROUTE__V3__ROUTE__ACTION_REDIRECT:
        out->action = RS_ROUTE_ACTION_REDIRECT;
        snprintf(sub, sizeof sub, "%s.redirect", path);
        if (compile_redirect(rc, pb->redirect, sub, &out->redirect, err, err_len) < 0)
            return -1;
        break;
    case ENVOY__CONFIG__ROUTE__V3__ROUTE__ACTION_DIRECT_RESPONSE:
        out->action = RS_ROUTE_ACTION_DIRECT_RESPONSE;
        snprintf(sub, sizeof sub, "%s.direct_response", path);
        if (compile_direct(rc, pb->direct_response, sub, &out->direct, err, err_len) < 0)
            return -1;
        break;
    default:
        snprintf(err, err_len, "%s: one of route, redirect or direct_response is required", path);
        return -1;
    }
    out->per_request_buffer_limit_bytes = pb->per_request_buffer_limit_bytes
                                              ? (int64_t)pb->per_request_buffer_limit_bytes->value
                                              : -1;
    return rt_header_ops_compile(rc, path, pb->request_headers_to_add, pb->n_request_headers_to_add,
                                 pb->request_headers_to_remove, pb->n_request_headers_to_remove,
                                 pb->response_headers_to_add, pb->n_response_headers_to_add,
                                 pb->response_headers_to_remove, pb->n_response_headers_to_remove,
                                 &out->headers, err, err_len);
}

const struct rs_route_cluster_weight *rs_route_pick_weighted(const struct rs_route *route,
                                                             uint64_t value)
{
    if (route->action != RS_ROUTE_ACTION_FORWARD ||
        route->forward.cluster_kind != RS_ROUTE_CLUSTER_WEIGHTED)
        return NULL;
    const struct rs_route_forward *f = &route->forward;
    value %= f->total_weight;
    uint64_t end = 0;
    for (size_t i = 0; i < f->n_weighted; i++) {
        end += f->weighted[i].weight;
        if (value < end)
            return &f->weighted[i];
    }
    return &f->weighted[f->n_weighted - 1]; /* unreachable: value < total */
}

static int put(char *out, size_t cap, size_t *o, const char *s, size_t n)
{
    if (*o + n >= cap)
        return -1;
    memcpy(out + *o, s, n);
    *o += n;
    return 0;
}

int rs_route_rewrite_path(const struct rs_route *route, const char *path, size_t path_len,
                          char *out, size_t out_cap, size_t *out_len)
{
    const struct rs_route_path_rewrite *rw;
    bool strip_query = false;
    if (route->action == RS_ROUTE_ACTION_FORWARD) {
        rw = &route->forward.rewrite;
        if (rw->kind == RS_ROUTE_REWRITE_NONE)
            return 0;
    } else if (route->action == RS_ROUTE_ACTION_REDIRECT) {
        rw = &route->redirect.path;
        strip_query = route->redirect.strip_query;
        if (rw->kind == RS_ROUTE_REWRITE_NONE && !strip_query)
            return 0;
    } else {
        return 0;
    }
    size_t plen = 0;
    while (plen < path_len && path[plen] != '?' && path[plen] != '#')
        plen++;
    const char *query = path + plen;
    size_t qlen = strip_query ? 0 : path_len - plen;
    size_t o = 0;
    switch (rw->kind) {
    case RS_ROUTE_REWRITE_NONE:
        if (put(out, out_cap, &o, path, plen) < 0)
            return -1;
        break;
    case RS_ROUTE_REWRITE_PATH:
        /* A query string in path_redirect replaces the request's (Envoy). */
        if (memchr(rw->value, '?', rw->len) != NULL)
            qlen = 0;
        if (put(out, out_cap, &o, rw->value, rw->len) < 0)
            return -1;
        break;
    case RS_ROUTE_REWRITE_PREFIX: {
        /* Replace what the route matched: its prefix, or the whole path for exact and regex
         * matches. */
        size_t matched = plen;
        if ((route->match.kind == RS_ROUTE_PATH_PREFIX ||
             route->match.kind == RS_ROUTE_PATH_SEPARATED_PREFIX) &&
            route->match.len <= plen)
            matched = route->match.len;
        if (put(out, out_cap, &o, rw->value, rw->len) < 0 ||
            put(out, out_cap, &o, path + matched, plen - matched) < 0)
            return -1;
        break;
    }
    case RS_ROUTE_REWRITE_REGEX: {
        size_t n = 0;
        if (rt_regex_replace_all(rw->regex, rw->substitution, path, plen, out, out_cap, &n) < 0)
            return -1;
        o = n;
        break;
    }
    }
    if (route->action == RS_ROUTE_ACTION_REDIRECT && (o == 0 || out[0] != '/')) {
        /* A redirect's path always starts with '/' (Envoy adds it). */
        if (o + 1 >= out_cap)
            return -1;
        memmove(out + 1, out, o);
        out[0] = '/';
        o++;
    }
    if (put(out, out_cap, &o, query, qlen) < 0)
        return -1;
    out[o] = '\0';
    *out_len = o;
    return 1;
}
