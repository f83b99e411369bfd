/* Route configuration: built from YAML through the codec, as a bootstrap would be. Matching,
 * virtual host precedence, actions, rewrites, and each rejection with its exact path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/codec/codec.h"
#include "api/type_registry.h"
#include "proxy/http/route/route.h"

#define P "rc"

static struct rs_route_config *build_err(const char *yaml, char *err, size_t err_len)
{
    ProtobufCMessage *pb =
        rs_codec_parse_yaml(&envoy__config__route__v3__route_configuration__descriptor, yaml,
                            strlen(yaml), rs_api_find_type_url, err, err_len);
    if (pb == NULL)
        fail_msg("yaml: %s", err);
    struct rs_route_config *rc = rs_route_config_new(
        (const Envoy__Config__Route__V3__RouteConfiguration *)pb, P, err, err_len);
    protobuf_c_message_free_unpacked(pb, NULL);
    return rc;
}

static struct rs_route_config *build(const char *yaml)
{
    char err[512] = "";
    struct rs_route_config *rc = build_err(yaml, err, sizeof err);
    if (rc == NULL)
        fail_msg("build: %s", err);
    return rc;
}

static void expect_error(const char *yaml, const char *want)
{
    char err[512] = "";
    struct rs_route_config *rc = build_err(yaml, err, sizeof err);
    if (rc != NULL) {
        rs_route_config_free(rc);
        fail_msg("expected error '%s'", want);
    }
    assert_string_equal(err, want);
}

/* Request headers from "name: value" lines separated by '\n'. */
static struct rs_header_map *req(const char *host, const char *path, const char *extra)
{
    struct rs_header_map *m = rs_header_map_new();
    rs_header_map_add(m, ":method", 7, "GET", 3);
    if (host != NULL)
        rs_header_map_add(m, ":authority", 10, host, strlen(host));
    if (path != NULL)
        rs_header_map_add(m, ":path", 5, path, strlen(path));
    const char *p = extra;
    while (p != NULL && *p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        const char *colon = memchr(p, ':', len);
        assert_non_null(colon);
        size_t vo = (size_t)(colon - p) + 1;
        while (vo < len && p[vo] == ' ')
            vo++;
        rs_header_map_add(m, p, (size_t)(colon - p), p + vo, len - vo);
        p = nl ? nl + 1 : p + len;
    }
    return m;
}

/* Name of the matched route for a request, "" when unnamed, NULL when none. */
static const char *match_name(const struct rs_route_config *rc, const char *host, const char *path,
                              const char *extra)
{
    struct rs_header_map *m = req(host, path, extra);
    const struct rs_route *r = rs_route_config_match(rc, m, NULL);
    rs_header_map_free(m);
    return r ? r->name : NULL;
}

static const char *vhost_name(const struct rs_route_config *rc, const char *host)
{
    const struct rs_virtual_host *vh = rs_virtual_host_select(rc, host, strlen(host));
    return vh ? vh->name : NULL;
}

#define assert_route(rc, host, path, extra, want)                                                  \
    do {                                                                                           \
        const char *got_ = match_name(rc, host, path, extra);                                      \
        if (want == NULL)                                                                          \
            assert_null(got_);                                                                     \
        else {                                                                                     \
            assert_non_null(got_);                                                                 \
            assert_string_equal(got_, want);                                                       \
        }                                                                                          \
    } while (0)

#define VH "virtual_hosts:\n- name: vh\n  domains: ['*']\n  routes:\n"

static void path_matchers(void **state)
{
    (void)state;
    struct rs_route_config *rc =
        build(VH "  - {name: exact, match: {path: /exact}, route: {cluster: a}}\n"
                 "  - {name: sep, match: {path_separated_prefix: /api}, route: {cluster: a}}\n"
                 "  - {name: re, match: {safe_regex: {regex: '/r/[0-9]+'}}, route: {cluster: a}}\n"
                 "  - {name: pre, match: {prefix: /p}, route: {cluster: a}}\n");
    assert_route(rc, "h", "/exact", NULL, "exact");
    assert_route(rc, "h", "/exact?x=1", NULL, "exact");
    assert_route(rc, "h", "/exact#frag", NULL, "exact");
    assert_route(rc, "h", "/exact/", NULL, NULL);
    assert_route(rc, "h", "/Exact", NULL, NULL);
    assert_route(rc, "h", "/api", NULL, "sep");
    assert_route(rc, "h", "/api/v1", NULL, "sep");
    assert_route(rc, "h", "/api?q", NULL, "sep");
    assert_route(rc, "h", "/apix", NULL, NULL);
    assert_route(rc, "h", "/r/123", NULL, "re");
    assert_route(rc, "h", "/r/123?a=b", NULL, "re");
    assert_route(rc, "h", "/r/12x", NULL, NULL); /* full match, not search */
    assert_route(rc, "h", "/x/r/1", NULL, NULL);
    assert_route(rc, "h", "/p", NULL, "pre");
    assert_route(rc, "h", "/pq/r", NULL, "pre");
    assert_route(rc, "h", "/P", NULL, NULL);
    assert_route(rc, "h", "/q", NULL, NULL);
    /* No :path: nothing matches (CONNECT is not routed here). */
    assert_route(rc, "h", NULL, NULL, NULL);
    /* Only a default virtual host: the host is not needed. */
    assert_route(rc, NULL, "/exact", NULL, "exact");
    rs_route_config_free(rc);
}

static void first_match_wins(void **state)
{
    (void)state;
    struct rs_route_config *rc =
        build(VH "  - {name: one, match: {prefix: /a}, route: {cluster: a}}\n"
                 "  - {name: two, match: {prefix: /a/b}, route: {cluster: b}}\n"
                 "  - {name: all, match: {prefix: ''}, route: {cluster: c}}\n");
    assert_route(rc, "h", "/a/b", NULL, "one");
    assert_route(rc, "h", "/zzz", NULL, "all");
    rs_route_config_free(rc);
}

static void case_insensitive(void **state)
{
    (void)state;
    struct rs_route_config *rc = build(
        VH "  - {name: pre, match: {prefix: /Foo, case_sensitive: false}, route: {cluster: a}}\n"
           "  - {name: ex, match: {path: /BAR, case_sensitive: false}, route: {cluster: a}}\n"
           "  - {name: sep, match: {path_separated_prefix: /Baz, case_sensitive: false}, route: "
           "{cluster: a}}\n"
           "  - {name: re, match: {safe_regex: {regex: /re}, case_sensitive: false}, route: "
           "{cluster: a}}\n");
    assert_route(rc, "h", "/fOO/x", NULL, "pre");
    assert_route(rc, "h", "/bar", NULL, "ex");
    assert_route(rc, "h", "/bar/", NULL, NULL);
    assert_route(rc, "h", "/BAZ/1", NULL, "sep");
    assert_route(rc, "h", "/bazz", NULL, NULL);
    /* case_sensitive does not apply to regexes (Envoy). */
    assert_route(rc, "h", "/re", NULL, "re");
    assert_route(rc, "h", "/RE", NULL, NULL);
    rs_route_config_free(rc);
}

static void header_matchers(void **state)
{
    (void)state;
    struct rs_route_config *rc =
        build(VH "  - name: exact\n    match: {prefix: /e, headers: [{name: X-Env, string_match: "
                 "{exact: prod}}]}\n    route: {cluster: a}\n"
                 "  - name: nocase\n    match: {prefix: /n, headers: [{name: x-env, string_match: "
                 "{exact: PROD, ignore_case: true}}]}\n    route: {cluster: a}\n"
                 "  - name: prefix\n    match: {prefix: /p, headers: [{name: ua, string_match: "
                 "{prefix: curl/}}]}\n    route: {cluster: a}\n"
                 "  - name: suffix\n    match: {prefix: /s, headers: [{name: ua, string_match: "
                 "{suffix: .com, ignore_case: true}}]}\n    route: {cluster: a}\n"
                 "  - name: contains\n    match: {prefix: /c, headers: [{name: ua, string_match: "
                 "{contains: bot}}]}\n    route: {cluster: a}\n"
                 "  - name: regex\n    match: {prefix: /r, headers: [{name: v, string_match: "
                 "{safe_regex: {regex: 'v[0-9]'}}}]}\n    route: {cluster: a}\n"
                 "  - name: present\n    match: {prefix: /pr, headers: [{name: tok, present_match: "
                 "true}]}\n    route: {cluster: a}\n"
                 "  - name: absent\n    match: {prefix: /ab, headers: [{name: tok, present_match: "
                 "false}]}\n    route: {cluster: a}\n"
                 "  - name: invert\n    match: {prefix: /i, headers: [{name: x-env, string_match: "
                 "{exact: prod}, invert_match: true}]}\n    route: {cluster: a}\n"
                 "  - name: invpresent\n    match: {prefix: /ip, headers: [{name: tok, "
                 "present_match: true, invert_match: true}]}\n    route: {cluster: a}\n"
                 "  - name: noval\n    match: {prefix: /nv, headers: [{name: tok}]}\n    route: "
                 "{cluster: a}\n"
                 "  - name: range\n    match: {prefix: /rg, headers: [{name: n, range_match: "
                 "{start: -5, end: 10}}]}\n    route: {cluster: a}\n"
                 "  - name: missing\n    match: {prefix: /m, headers: [{name: q, string_match: "
                 "{exact: ''}, treat_missing_header_as_empty: true}]}\n    route: {cluster: a}\n"
                 "  - name: missingpresent\n    match: {prefix: /ymp, headers: [{name: q, "
                 "present_match: true, treat_missing_header_as_empty: true}]}\n"
                 "    route: {cluster: a}\n"
                 "  - name: missinginvert\n    match: {prefix: /ymi, headers: [{name: q, "
                 "string_match: {exact: ''}, invert_match: true, treat_missing_header_as_empty: "
                 "true}]}\n    route: {cluster: a}\n"
                 "  - name: method\n    match: {prefix: /zmeth, headers: [{name: ':method', "
                 "string_match: {exact: POST}}]}\n    route: {cluster: a}\n"
                 "  - name: two\n    match: {prefix: /two, headers: [{name: a, present_match: "
                 "true}, {name: b, present_match: true}]}\n    route: {cluster: a}\n");
    assert_route(rc, "h", "/e", "x-env: prod", "exact");
    assert_route(rc, "h", "/e", "X-ENV: prod", "exact");
    assert_route(rc, "h", "/e", "x-env: Prod", NULL);
    assert_route(rc, "h", "/e", NULL, NULL);
    /* Repeated headers are matched as one comma-joined value (Envoy). */
    assert_route(rc, "h", "/e", "x-env: prod\nx-env: dev", NULL);
    assert_route(rc, "h", "/c", "ua: ro\nua: bot", "contains");
    assert_route(rc, "h", "/n", "x-env: pRoD", "nocase");
    assert_route(rc, "h", "/p", "ua: curl/8", "prefix");
    assert_route(rc, "h", "/p", "ua: Curl/8", NULL);
    assert_route(rc, "h", "/s", "ua: EXAMPLE.COM", "suffix");
    assert_route(rc, "h", "/s", "ua: example.org", NULL);
    assert_route(rc, "h", "/c", "ua: a-bot-b", "contains");
    assert_route(rc, "h", "/c", "ua: a-b", NULL);
    assert_route(rc, "h", "/r", "v: v1", "regex");
    assert_route(rc, "h", "/r", "v: v10", NULL);
    assert_route(rc, "h", "/pr", "tok: ''", "present");
    assert_route(rc, "h", "/pr", NULL, NULL);
    assert_route(rc, "h", "/ab", NULL, "absent");
    assert_route(rc, "h", "/ab", "tok: 1", NULL);
    assert_route(rc, "h", "/i", "x-env: dev", "invert");
    assert_route(rc, "h", "/i", "x-env: prod", NULL);
    /* An inverted value matcher never matches an absent header (Envoy). */
    assert_route(rc, "h", "/i", NULL, NULL);
    assert_route(rc, "h", "/ip", NULL, "invpresent");
    assert_route(rc, "h", "/ip", "tok: 1", NULL);
    assert_route(rc, "h", "/nv", "tok: 1", "noval");
    assert_route(rc, "h", "/nv", NULL, NULL);
    assert_route(rc, "h", "/rg", "n: -5", "range");
    assert_route(rc, "h", "/rg", "n: 9", "range");
    assert_route(rc, "h", "/rg", "n: 10", NULL);
    assert_route(rc, "h", "/rg", "n: 1x", NULL);
    assert_route(rc, "h", "/m", NULL, "missing");
    assert_route(rc, "h", "/m", "q: 1", NULL);
    assert_route(rc, "h", "/ymp", NULL, "missingpresent");
    assert_route(rc, "h", "/ymi", NULL, NULL);
    assert_route(rc, "h", "/ymi", "q: x", "missinginvert");
    assert_route(rc, "h", "/zmeth", NULL, NULL);
    {
        struct rs_header_map *m = rs_header_map_new();
        rs_header_map_add(m, ":method", 7, "POST", 4);
        rs_header_map_add(m, ":authority", 10, "h", 1);
        rs_header_map_add(m, ":path", 5, "/zmeth", 6);
        const struct rs_route *r = rs_route_config_match(rc, m, NULL);
        assert_non_null(r);
        assert_string_equal(r->name, "method");
        rs_header_map_free(m);
    }
    assert_route(rc, "h", "/two", "a: 1\nb: 2", "two");
    assert_route(rc, "h", "/two", "a: 1", NULL);
    rs_route_config_free(rc);

    rc = build(VH "  - name: post\n    match: {prefix: /, headers: [{name: ':method', "
                  "string_match: {exact: GET}}]}\n    route: {cluster: a}\n");
    assert_route(rc, "h", "/x", NULL, "post");
    rs_route_config_free(rc);
}

static void query_matchers(void **state)
{
    (void)state;
    struct rs_route_config *rc =
        build(VH "  - name: str\n    match: {prefix: /s, query_parameters: [{name: debug, "
                 "string_match: {exact: '1'}}]}\n    route: {cluster: a}\n"
                 "  - name: pres\n    match: {prefix: /p, query_parameters: [{name: tok, "
                 "present_match: true}]}\n    route: {cluster: a}\n"
                 "  - name: re\n    match: {prefix: /r, query_parameters: [{name: v, string_match: "
                 "{safe_regex: {regex: '[a-z]+'}}}]}\n    route: {cluster: a}\n"
                 "  - name: nocase\n    match: {prefix: /n, query_parameters: [{name: v, "
                 "string_match: {prefix: AB, ignore_case: true}}]}\n    route: {cluster: a}\n"
                 "  - name: absent\n    match: {prefix: /a, query_parameters: [{name: tok, "
                 "present_match: false}]}\n    route: {cluster: a}\n"
                 "  - name: noval\n    match: {prefix: /z, query_parameters: [{name: tok}]}\n"
                 "    route: {cluster: a}\n");
    assert_route(rc, "h", "/s?debug=1", NULL, "str");
    assert_route(rc, "h", "/s?a=b&debug=1", NULL, "str");
    assert_route(rc, "h", "/s?debug=2", NULL, NULL);
    assert_route(rc, "h", "/s?Debug=1", NULL, NULL); /* names are case-sensitive */
    assert_route(rc, "h", "/s", NULL, NULL);
    /* The first occurrence decides (Envoy). */
    assert_route(rc, "h", "/s?debug=2&debug=1", NULL, NULL);
    assert_route(rc, "h", "/p?tok", NULL, "pres");
    assert_route(rc, "h", "/p?tok=", NULL, "pres");
    assert_route(rc, "h", "/p?tokx=1", NULL, NULL);
    assert_route(rc, "h", "/p?x=1#tok", NULL, NULL); /* a fragment is not the query */
    assert_route(rc, "h", "/r?v=abc", NULL, "re");
    assert_route(rc, "h", "/r?v=abc1", NULL, NULL);
    assert_route(rc, "h", "/r?v", NULL, NULL);
    assert_route(rc, "h", "/n?v=abX", "", "nocase");
    /* Current Envoy: present_match false matches an absent parameter. */
    assert_route(rc, "h", "/a?x=1", NULL, "absent");
    assert_route(rc, "h", "/a", NULL, "absent");
    assert_route(rc, "h", "/a?tok=1", NULL, NULL);
    /* No specifier: presence. Values are not percent-decoded. */
    assert_route(rc, "h", "/z?tok=%41", NULL, "noval");
    assert_route(rc, "h", "/z?to%6B=1", NULL, NULL);
    rs_route_config_free(rc);
}

static void vhost_precedence(void **state)
{
    (void)state;
    struct rs_route_config *rc =
        build("virtual_hosts:\n"
              "- {name: exact, domains: [api.example.com, 'api.example.com:8080'], routes: []}\n"
              "- {name: suffix_long, domains: ['*.api.example.com'], routes: []}\n"
              "- {name: suffix, domains: ['*.example.com'], routes: []}\n"
              "- {name: suffix_nodot, domains: ['*ample.org'], routes: []}\n"
              "- {name: prefix, domains: ['api.*'], routes: []}\n"
              "- {name: prefix_long, domains: ['api.ex*'], routes: []}\n"
              "- {name: default, domains: ['*'], routes: []}\n");
    assert_string_equal(vhost_name(rc, "api.example.com"), "exact");
    assert_string_equal(vhost_name(rc, "API.Example.COM"), "exact");
    assert_string_equal(vhost_name(rc, "v1.api.example.com"), "suffix_long");
    assert_string_equal(vhost_name(rc, "www.example.com"), "suffix");
    /* The wildcard stands for at least one character. */
    assert_string_equal(vhost_name(rc, ".example.com"), "default");
    assert_string_equal(vhost_name(rc, "example.com"), "default");
    assert_string_equal(vhost_name(rc, "example.org"), "suffix_nodot");
    assert_string_equal(vhost_name(rc, "ample.org"), "default");
    /* Suffix beats prefix. */
    assert_string_equal(vhost_name(rc, "api.foo.example.com"), "suffix");
    assert_string_equal(vhost_name(rc, "api.exz"), "prefix_long");
    assert_string_equal(vhost_name(rc, "api.other"), "prefix");
    assert_string_equal(vhost_name(rc, "api."), "default");
    assert_string_equal(vhost_name(rc, "other"), "default");
    /* The port is part of the host by default (Envoy), so only domains naming it match. */
    assert_string_equal(vhost_name(rc, "api.example.com:8080"), "exact");
    assert_string_equal(vhost_name(rc, "api.example.com:9090"), "prefix_long");
    assert_string_equal(vhost_name(rc, "www.example.com:80"), "default");
    rs_route_config_free(rc);

    rc = build("ignore_port_in_host_matching: true\nvirtual_hosts:\n"
               "- {name: exact, domains: [a.com], routes: []}\n"
               "- {name: v6, domains: ['[::1]'], routes: []}\n"
               "- {name: suffix, domains: ['*.b.com'], routes: []}\n");
    assert_string_equal(vhost_name(rc, "a.com:8080"), "exact");
    assert_string_equal(vhost_name(rc, "x.b.com:1"), "suffix");
    assert_string_equal(vhost_name(rc, "[::1]:80"), "v6");
    assert_string_equal(vhost_name(rc, "[::1]"), "v6");
    assert_null(vhost_name(rc, "c.com"));
    rs_route_config_free(rc);

    /* Without a '*' domain, an unknown host has no virtual host: Envoy's 404. */
    rc = build("virtual_hosts:\n- name: v\n  domains: [a.com]\n  routes:\n"
               "  - {match: {prefix: /}, route: {cluster: a}}\n");
    const struct rs_virtual_host *vh = (const void *)1;
    struct rs_header_map *m = req("b.com", "/", NULL);
    assert_null(rs_route_config_match(rc, m, &vh));
    assert_null(vh);
    rs_header_map_free(m);
    m = req("A.COM", "/x", NULL);
    const struct rs_route *r = rs_route_config_match(rc, m, &vh);
    assert_non_null(r);
    assert_string_equal(vh->name, "v");
    assert_string_equal(r->name, "");
    rs_header_map_free(m);
    /* No host at all: no virtual host, unless the default is the only one (Envoy). */
    m = rs_header_map_new();
    rs_header_map_add(m, ":path", 5, "/", 1);
    assert_null(rs_route_config_match(rc, m, NULL));
    rs_header_map_free(m);
    /* host is used when :authority is absent. */
    m = rs_header_map_new();
    rs_header_map_add(m, ":path", 5, "/", 1);
    rs_header_map_add(m, "Host", 4, "a.com", 5);
    assert_non_null(rs_route_config_match(rc, m, NULL));
    rs_header_map_free(m);
    rs_route_config_free(rc);
}

/* A mesh-sized table: thousands of domains, each found in its own virtual host. */
static void many_virtual_hosts(void **state)
{
    (void)state;
    size_t cap = 4000 * 96, o = 0;
    char *y = malloc(cap);
    o += (size_t)snprintf(y + o, cap - o, "virtual_hosts:\n");
    for (int i = 0; i < 3000; i++)
        o += (size_t)snprintf(y + o, cap - o,
                              "- {name: v%d, domains: ['svc%d.ns.svc', 'svc%d.ns.svc:80', "
                              "'*.w%d.example']}\n",
                              i, i, i, i);
    struct rs_route_config *rc = build(y);
    free(y);
    assert_int_equal(rs_route_config_vhost_count(rc), 3000);
    assert_string_equal(vhost_name(rc, "svc0.ns.svc"), "v0");
    assert_string_equal(vhost_name(rc, "svc2999.ns.svc:80"), "v2999");
    assert_string_equal(vhost_name(rc, "a.w1234.example"), "v1234");
    assert_null(vhost_name(rc, "svc3000.ns.svc"));
    rs_route_config_free(rc);
}

static void forward_defaults_and_timeouts(void **state)
{
    (void)state;
    struct rs_route_config *rc = build(
        VH
        "  - {name: d, match: {prefix: /d}, route: {cluster: a}}\n"
        "  - {name: t, match: {prefix: /t}, route: {cluster: b, timeout: 2.5s, idle_timeout: 0s, "
        "cluster_not_found_response_code: NOT_FOUND, host_rewrite_literal: up.example}}\n"
        "  - {name: h, match: {prefix: /h}, route: {cluster_header: X-Cluster, auto_host_rewrite: "
        "true}}\n");
    const struct rs_virtual_host *vh = rs_route_config_vhost(rc, 0);
    const struct rs_route_forward *f = &vh->routes[0].forward;
    assert_int_equal(vh->routes[0].action, RS_ROUTE_ACTION_FORWARD);
    assert_int_equal(f->cluster_kind, RS_ROUTE_CLUSTER_NAME);
    assert_string_equal(f->cluster, "a");
    assert_int_equal(f->timeout_ms, 15000);
    assert_int_equal(f->idle_timeout_ms, -1);
    assert_int_equal(f->cluster_not_found_code, 503);
    assert_null(f->retry);
    assert_int_equal(f->n_mirrors, 0);
    assert_null(f->host_rewrite_literal);
    assert_false(f->auto_host_rewrite);
    assert_int_equal(f->rewrite.kind, RS_ROUTE_REWRITE_NONE);
    f = &vh->routes[1].forward;
    assert_int_equal(f->timeout_ms, 2500);
    assert_int_equal(f->idle_timeout_ms, 0);
    assert_int_equal(f->cluster_not_found_code, 404);
    assert_string_equal(f->host_rewrite_literal, "up.example");
    f = &vh->routes[2].forward;
    assert_int_equal(f->cluster_kind, RS_ROUTE_CLUSTER_HEADER);
    assert_string_equal(f->cluster_header, "x-cluster");
    assert_true(f->auto_host_rewrite);
    /* Referenced clusters, each once, with the path of the first reference. */
    assert_int_equal(rs_route_config_cluster_count(rc), 2);
    assert_string_equal(rs_route_config_cluster_name(rc, 0), "a");
    assert_string_equal(rs_route_config_cluster_path(rc, 0),
                        P ".virtual_hosts[0].routes[0].route.cluster");
    assert_string_equal(rs_route_config_cluster_name(rc, 1), "b");
    assert_null(rs_route_config_cluster_name(rc, 2));
    assert_int_equal(rs_route_config_validate_clusters(rc), -1);
    rs_route_config_free(rc);
}

static void rewrites(void **state)
{
    (void)state;
    struct rs_route_config *rc = build(
        VH
        "  - {name: p, match: {prefix: /api/}, route: {cluster: a, prefix_rewrite: /}}\n"
        "  - {name: e, match: {path: /old}, route: {cluster: a, prefix_rewrite: /new}}\n"
        "  - {name: ci, match: {prefix: /CI, case_sensitive: false}, route: {cluster: a, "
        "prefix_rewrite: /ci2}}\n"
        "  - name: re\n    match: {prefix: /v}\n    route:\n      cluster: a\n      "
        "regex_rewrite:\n"
        "        pattern: {regex: '^/v([0-9]+)/(\\w+)'}\n        substitution: '/\\2/version/\\1'\n"
        "  - name: all\n    match: {prefix: /g}\n    route:\n      cluster: a\n      "
        "regex_rewrite:\n"
        "        pattern: {regex: 'o'}\n        substitution: '0$\\\\'\n"
        "  - {name: none, match: {prefix: /}, route: {cluster: a}}\n");
    const struct rs_virtual_host *vh = rs_route_config_vhost(rc, 0);
    char out[64];
    size_t n = 0;
    assert_int_equal(
        rs_route_rewrite_path(&vh->routes[0], "/api/users?x=1", 14, out, sizeof out, &n), 1);
    assert_string_equal(out, "/users?x=1");
    assert_int_equal(n, 10);
    assert_int_equal(rs_route_rewrite_path(&vh->routes[1], "/old?q", 6, out, sizeof out, &n), 1);
    assert_string_equal(out, "/new?q");
    assert_int_equal(rs_route_rewrite_path(&vh->routes[2], "/cI/x", 5, out, sizeof out, &n), 1);
    assert_string_equal(out, "/ci2/x");
    assert_int_equal(
        rs_route_rewrite_path(&vh->routes[3], "/v12/items?a=/v1/b", 18, out, sizeof out, &n), 1);
    assert_string_equal(out, "/items/version/12?a=/v1/b");
    /* Every occurrence is replaced; '$' and '\\' in the substitution are literal. */
    assert_int_equal(rs_route_rewrite_path(&vh->routes[4], "/google", 7, out, sizeof out, &n), 1);
    assert_string_equal(out, "/g0$\\0$\\gle");
    assert_int_equal(rs_route_rewrite_path(&vh->routes[5], "/x", 2, out, sizeof out, &n), 0);
    /* Too small an output buffer is an error, never a truncated path. */
    assert_int_equal(rs_route_rewrite_path(&vh->routes[0], "/api/users", 10, out, 6, &n), -1);
    assert_int_equal(rs_route_rewrite_path(&vh->routes[0], "/api/users", 10, out, 7, &n), 1);
    assert_string_equal(out, "/users");
    assert_int_equal(rs_route_rewrite_path(&vh->routes[3], "/v1/abcdef", 10, out, 8, &n), -1);
    rs_route_config_free(rc);
}

static void weighted_clusters(void **state)
{
    (void)state;
    struct rs_route_config *rc =
        build(VH "  - match: {prefix: /}\n    route:\n      weighted_clusters:\n        clusters:\n"
                 "        - {name: stable, weight: 90, host_rewrite_literal: s.local,"
                 " request_headers_to_add: [{header: {key: x-canary, value: '0'}}]}\n"
                 "        - {name: off, weight: 0}\n"
                 "        - {name: canary, weight: 10}\n"
                 "        - {cluster_header: x-pick, weight: 1}\n");
    const struct rs_route *r = &rs_route_config_vhost(rc, 0)->routes[0];
    assert_int_equal(r->forward.cluster_kind, RS_ROUTE_CLUSTER_WEIGHTED);
    assert_int_equal(r->forward.total_weight, 101);
    assert_string_equal(rs_route_pick_weighted(r, 0)->name, "stable");
    assert_string_equal(rs_route_pick_weighted(r, 89)->name, "stable");
    assert_string_equal(rs_route_pick_weighted(r, 90)->name, "canary");
    assert_string_equal(rs_route_pick_weighted(r, 99)->name, "canary");
    const struct rs_route_cluster_weight *w = rs_route_pick_weighted(r, 100);
    assert_null(w->name);
    assert_string_equal(w->cluster_header, "x-pick");
    /* Values past the total wrap around. */
    assert_string_equal(rs_route_pick_weighted(r, 101)->name, "stable");
    assert_string_equal(rs_route_pick_weighted(r, 101 + 95)->name, "canary");
    w = rs_route_pick_weighted(r, 5);
    assert_string_equal(w->host_rewrite_literal, "s.local");
    assert_int_equal(w->headers.n_request_add, 1);
    assert_string_equal(w->headers.request_add[0].name, "x-canary");
    /* The zero-weight cluster is never picked, but is still a referenced cluster. */
    for (uint64_t v = 0; v < 101; v++)
        assert_string_not_equal(
            rs_route_pick_weighted(r, v)->name ? rs_route_pick_weighted(r, v)->name : "", "off");
    assert_int_equal(rs_route_config_cluster_count(rc), 3);
    assert_string_equal(rs_route_config_cluster_path(rc, 1),
                        P ".virtual_hosts[0].routes[0].route.weighted_clusters.clusters[1].name");
    rs_route_config_free(rc);

    rc = build(VH "  - {match: {prefix: /}, route: {cluster: a}}\n");
    assert_null(rs_route_pick_weighted(&rs_route_config_vhost(rc, 0)->routes[0], 0));
    rs_route_config_free(rc);
}

static void redirects(void **state)
{
    (void)state;
    struct rs_route_config *rc = build(
        VH "  - {name: https, match: {prefix: /s}, redirect: {https_redirect: true}}\n"
           "  - {name: full, match: {prefix: /f}, redirect: {scheme_redirect: HTTP, host_redirect: "
           "new.example, port_redirect: 8443, path_redirect: /landing, response_code: "
           "TEMPORARY_REDIRECT}}\n"
           "  - {name: pre, match: {prefix: /old/}, redirect: {prefix_rewrite: /new/, strip_query: "
           "true, "
           "response_code: PERMANENT_REDIRECT}}\n"
           "  - {name: pq, match: {prefix: /q}, redirect: {path_redirect: '/x?y=1', response_code: "
           "SEE_OTHER, strip_query: true}}\n"
           "  - {name: rel, match: {prefix: /l}, redirect: {path_redirect: rel}}\n"
           "  - name: re\n    match: {prefix: /r}\n    redirect:\n      response_code: FOUND\n     "
           " regex_rewrite:\n"
           "        pattern: {regex: '^/r/(.*)$'}\n        substitution: '/moved/\\1'\n");
    const struct rs_virtual_host *vh = rs_route_config_vhost(rc, 0);
    const struct rs_route_redirect *r = &vh->routes[0].redirect;
    char out[64];
    size_t n;
    assert_int_equal(vh->routes[0].action, RS_ROUTE_ACTION_REDIRECT);
    assert_string_equal(r->scheme, "https");
    assert_null(r->host);
    assert_int_equal(r->port, 0);
    assert_int_equal(r->response_code, 301);
    assert_int_equal(r->path.kind, RS_ROUTE_REWRITE_NONE);
    assert_int_equal(rs_route_rewrite_path(&vh->routes[0], "/s?a", 4, out, sizeof out, &n), 0);
    r = &vh->routes[1].redirect;
    assert_string_equal(r->scheme, "HTTP");
    assert_string_equal(r->host, "new.example");
    assert_int_equal(r->port, 8443);
    assert_int_equal(r->response_code, 307);
    assert_int_equal(rs_route_rewrite_path(&vh->routes[1], "/f/x?k=v", 8, out, sizeof out, &n), 1);
    assert_string_equal(out, "/landing?k=v");
    r = &vh->routes[2].redirect;
    assert_int_equal(r->response_code, 308);
    assert_true(r->strip_query);
    assert_int_equal(rs_route_rewrite_path(&vh->routes[2], "/old/a?k=v", 10, out, sizeof out, &n),
                     1);
    assert_string_equal(out, "/new/a");
    assert_int_equal(vh->routes[3].redirect.response_code, 303);
    /* A query in path_redirect replaces the request's. */
    assert_int_equal(rs_route_rewrite_path(&vh->routes[3], "/q?k=v", 6, out, sizeof out, &n), 1);
    assert_string_equal(out, "/x?y=1");
    /* Envoy prefixes a path_redirect lacking the leading '/'. */
    assert_int_equal(rs_route_rewrite_path(&vh->routes[4], "/l?k", 4, out, sizeof out, &n), 1);
    assert_string_equal(out, "/rel?k");
    assert_int_equal(vh->routes[5].redirect.response_code, 302);
    assert_int_equal(rs_route_rewrite_path(&vh->routes[5], "/r/a/b?z", 8, out, sizeof out, &n), 1);
    assert_string_equal(out, "/moved/a/b?z");
    assert_int_equal(rs_route_config_cluster_count(rc), 0);
    rs_route_config_free(rc);
}

static void direct_responses(void **state)
{
    (void)state;
    struct rs_route_config *rc = build(
        VH "  - {match: {prefix: /s}, direct_response: {status: 200, body: {inline_string: ok}}}\n"
           "  - {match: {prefix: /b}, direct_response: {status: 503, body: {inline_bytes: AAEC}}}\n"
           "  - {match: {prefix: /n}, direct_response: {status: 204}}\n");
    const struct rs_virtual_host *vh = rs_route_config_vhost(rc, 0);
    assert_int_equal(vh->routes[0].action, RS_ROUTE_ACTION_DIRECT_RESPONSE);
    assert_int_equal(vh->routes[0].direct.status, 200);
    assert_int_equal(vh->routes[0].direct.body_len, 2);
    assert_memory_equal(vh->routes[0].direct.body, "ok", 2);
    assert_int_equal(vh->routes[1].direct.status, 503);
    assert_int_equal(vh->routes[1].direct.body_len, 3);
    assert_memory_equal(vh->routes[1].direct.body, "\x00\x01\x02", 3);
    assert_null(vh->routes[2].direct.body);
    rs_route_config_free(rc);

    char big[5000 + 200];
    int o = snprintf(
        big, sizeof big,
        VH "  - {match: {prefix: /}, direct_response: {status: 200, body: {inline_string: '");
    memset(big + o, 'x', 4097);
    snprintf(big + o + 4097, sizeof big - (size_t)o - 4097, "'}}}\n");
    expect_error(big, P ".virtual_hosts[0].routes[0].direct_response.body: response body size is "
                        "4097 bytes; maximum is 4096");
    char big2[5400];
    snprintf(big2, sizeof big2, "max_direct_response_body_size_bytes: 5000\n%s", big);
    rc = build(big2);
    assert_int_equal(rs_route_config_vhost(rc, 0)->routes[0].direct.body_len, 4097);
    rs_route_config_free(rc);
}

static void retry_on_parsing(void **state)
{
    (void)state;
    char bad[64] = "";
    const char *s = "5xx, gateway-error,reset,connect-failure ,retriable-4xx,refused-stream,"
                    "retriable-status-codes,cancelled,deadline-exceeded,resource-exhausted,"
                    "unavailable,internal";
    uint32_t f = rs_route_parse_retry_on(s, strlen(s), bad, sizeof bad);
    assert_int_equal(f, RS_RETRY_ON_5XX | RS_RETRY_ON_GATEWAY_ERROR | RS_RETRY_ON_RESET |
                            RS_RETRY_ON_CONNECT_FAILURE | RS_RETRY_ON_RETRIABLE_4XX |
                            RS_RETRY_ON_REFUSED_STREAM | RS_RETRY_ON_RETRIABLE_STATUS_CODES |
                            RS_RETRY_ON_GRPC_CANCELLED | RS_RETRY_ON_GRPC_DEADLINE_EXCEEDED |
                            RS_RETRY_ON_GRPC_RESOURCE_EXHAUSTED | RS_RETRY_ON_GRPC_UNAVAILABLE |
                            RS_RETRY_ON_GRPC_INTERNAL);
    assert_string_equal(bad, "");
    /* Unknown names are skipped as Envoy does; known but unimplemented ones are reported. */
    s = "bogus,5xx,,";
    assert_int_equal(rs_route_parse_retry_on(s, strlen(s), bad, sizeof bad), RS_RETRY_ON_5XX);
    assert_string_equal(bad, "");
    s = "reset,envoy-ratelimited";
    assert_int_equal(rs_route_parse_retry_on(s, strlen(s), bad, sizeof bad), RS_RETRY_ON_RESET);
    assert_string_equal(bad, "envoy-ratelimited");
    assert_int_equal(rs_route_parse_retry_on("5XX", 3, NULL, 0), 0); /* case-sensitive */
}

static void retry_and_mirror_policies(void **state)
{
    (void)state;
    struct rs_route_config *rc =
        build("request_mirror_policies: [{cluster: shadow_rc}]\n"
              "virtual_hosts:\n- name: vh\n  domains: ['*']\n"
              "  retry_policy: {retry_on: connect-failure}\n"
              "  request_mirror_policies:\n  - {cluster: shadow_vh, runtime_fraction: "
              "{default_value: {numerator: 25}}}\n"
              "  routes:\n"
              "  - {name: inherit, match: {prefix: /i}, route: {cluster: a}}\n"
              "  - name: own\n    match: {prefix: /o}\n    route:\n      cluster: a\n"
              "      request_mirror_policies:\n"
              "      - {cluster: m1, runtime_fraction: {default_value: {numerator: 5, denominator: "
              "TEN_THOUSAND}, runtime_key: k}}\n"
              "      - {cluster_header: X-Mirror, disable_shadow_host_suffix_append: true}\n"
              "      retry_policy:\n        retry_on: '5xx,retriable-status-codes'\n        "
              "num_retries: 3\n"
              "        per_try_timeout: 0.25s\n        retriable_status_codes: [409, 429]\n"
              "        retry_back_off: {base_interval: 0.1s}\n"
              "        retry_host_predicate: [{name: envoy.retry_host_predicates.previous_hosts}]\n"
              "        host_selection_retry_max_attempts: 5\n"
              "  - name: backoff\n    match: {prefix: /b}\n    route:\n      cluster: a\n"
              "      retry_policy: {retry_back_off: {base_interval: 0.01s, max_interval: 1s}}\n"
              "- name: plain\n  domains: [plain]\n  routes:\n  - {match: {prefix: /}, route: "
              "{cluster: a}}\n");
    const struct rs_virtual_host *vh = rs_route_config_vhost(rc, 0);
    const struct rs_route_forward *f = &vh->routes[0].forward;
    assert_non_null(f->retry);
    assert_int_equal(f->retry->retry_on, RS_RETRY_ON_CONNECT_FAILURE);
    assert_int_equal(f->retry->num_retries, 1);
    assert_int_equal(f->retry->per_try_timeout_ms, 0);
    assert_int_equal(f->retry->base_interval_ms, 25);
    assert_int_equal(f->retry->max_interval_ms, 250);
    assert_false(f->retry->previous_hosts);
    assert_int_equal(f->retry->host_selection_max_attempts, 1);
    /* The virtual host's mirrors replace the route config's; the route's replace both. */
    assert_int_equal(f->n_mirrors, 1);
    assert_string_equal(f->mirrors[0].cluster, "shadow_vh");
    assert_int_equal(f->mirrors[0].per_million, 250000);
    f = &vh->routes[1].forward;
    assert_int_equal(f->retry->retry_on, RS_RETRY_ON_5XX | RS_RETRY_ON_RETRIABLE_STATUS_CODES);
    assert_int_equal(f->retry->num_retries, 3);
    assert_int_equal(f->retry->per_try_timeout_ms, 250);
    assert_int_equal(f->retry->n_retriable_status_codes, 2);
    assert_int_equal(f->retry->retriable_status_codes[1], 429);
    assert_int_equal(f->retry->base_interval_ms, 100);
    assert_int_equal(f->retry->max_interval_ms, 1000);
    assert_true(f->retry->previous_hosts);
    assert_int_equal(f->retry->host_selection_max_attempts, 5);
    assert_int_equal(f->n_mirrors, 2);
    assert_string_equal(f->mirrors[0].cluster, "m1");
    assert_int_equal(f->mirrors[0].per_million, 500);
    assert_null(f->mirrors[1].cluster);
    assert_string_equal(f->mirrors[1].cluster_header, "x-mirror");
    assert_int_equal(f->mirrors[1].per_million, 1000000);
    assert_true(f->mirrors[1].disable_shadow_host_suffix_append);
    f = &vh->routes[2].forward;
    assert_int_equal(f->retry->retry_on, 0);
    assert_int_equal(f->retry->base_interval_ms, 10);
    assert_int_equal(f->retry->max_interval_ms, 1000);
    f = &rs_route_config_vhost(rc, 1)->routes[0].forward;
    assert_null(f->retry);
    assert_int_equal(f->n_mirrors, 1);
    assert_string_equal(f->mirrors[0].cluster, "shadow_rc");
    rs_route_config_free(rc);
}

static void header_manipulation(void **state)
{
    (void)state;
    const char *yaml =
        "request_headers_to_add: [{header: {key: X-Level, value: config}}]\n"
        "response_headers_to_remove: [Server]\n"
        "virtual_hosts:\n- name: vh\n  domains: ['*']\n"
        "  request_headers_to_add: [{header: {key: x-level, value: vhost}, append_action: "
        "OVERWRITE_IF_EXISTS_OR_ADD}]\n"
        "  routes:\n  - match: {prefix: /}\n    route: {cluster: a}\n"
        "    request_headers_to_add:\n"
        "    - {header: {key: X-Client, value: '%DOWNSTREAM_REMOTE_ADDRESS%'}, append_action: "
        "ADD_IF_ABSENT, keep_empty_value: true}\n"
        "    - {header: {key: x-only, value: v}, append_action: OVERWRITE_IF_EXISTS}\n"
        "    request_headers_to_remove: [X-Internal]\n"
        "    response_headers_to_add: [{header: {key: x-resp, value: '%UPSTREAM_HOST% %bogus'}}]\n";
    struct rs_route_config *rc = build(yaml);
    const struct rs_virtual_host *vh = rs_route_config_vhost(rc, 0);
    const struct rs_route *r = &vh->routes[0];
    assert_int_equal(r->headers.n_request_add, 2);
    assert_string_equal(r->headers.request_add[0].name, "x-client");
    /* Values are kept raw for the formatter, whatever they hold. */
    assert_string_equal(r->headers.request_add[0].value, "%DOWNSTREAM_REMOTE_ADDRESS%");
    assert_int_equal(r->headers.request_add[0].action, RS_ROUTE_ADD_IF_ABSENT);
    assert_true(r->headers.request_add[0].keep_empty_value);
    assert_int_equal(r->headers.request_add[1].action, RS_ROUTE_OVERWRITE_IF_EXISTS);
    assert_string_equal(r->headers.request_remove[0], "x-internal");
    assert_string_equal(r->headers.response_add[0].value, "%UPSTREAM_HOST% %bogus");
    assert_int_equal(vh->headers.request_add[0].action, RS_ROUTE_OVERWRITE_IF_EXISTS_OR_ADD);
    /* Default order: route, virtual host, config (the least specific applies last). */
    assert_false(r->most_specific_header_mutations_wins);
    assert_ptr_equal(r->header_levels[0], &r->headers);
    assert_ptr_equal(r->header_levels[1], &vh->headers);
    assert_string_equal(r->header_levels[2]->request_add[0].value, "config");
    assert_int_equal(r->header_levels[2]->request_add[0].action, RS_ROUTE_APPEND_IF_EXISTS_OR_ADD);
    assert_string_equal(r->header_levels[2]->response_remove[0], "server");
    rs_route_config_free(rc);

    char buf[2048];
    snprintf(buf, sizeof buf, "most_specific_header_mutations_wins: true\n%s", yaml);
    rc = build(buf);
    r = &rs_route_config_vhost(rc, 0)->routes[0];
    assert_true(r->most_specific_header_mutations_wins);
    assert_ptr_equal(r->header_levels[2], &r->headers);
    assert_string_equal(r->header_levels[0]->request_add[0].value, "config");
    rs_route_config_free(rc);
}

static void rejections(void **state)
{
    (void)state;
    /* Unsupported fields at each level. */
    expect_error("internal_only_headers: [x]\n",
                 P ".internal_only_headers: field is not supported by ringside");
    expect_error("virtual_hosts:\n- {name: v, domains: ['*'], require_tls: ALL}\n",
                 P ".virtual_hosts[0].require_tls: field is not supported by ringside");
    expect_error(
        VH "  - {match: {prefix: /}, route: {cluster: a, hash_policy: [{header: {header_name: "
           "x}}]}}\n",
        P ".virtual_hosts[0].routes[0].route.hash_policy: field is not supported by ringside");
    expect_error(VH "  - {match: {prefix: /, grpc: {}}, route: {cluster: a}}\n",
                 P ".virtual_hosts[0].routes[0].match.grpc: field is not supported by ringside");
    expect_error(VH "  - {match: {prefix: /}, route: {cluster: a}, decorator: {operation: x}}\n",
                 P ".virtual_hosts[0].routes[0].decorator: field is not supported by ringside");
    expect_error(
        VH
        "  - {match: {prefix: /}, route: {cluster: a, retry_policy: {per_try_idle_timeout: 1s}}}\n",
        P ".virtual_hosts[0].routes[0].route.retry_policy.per_try_idle_timeout: field is "
          "not supported by ringside");
    expect_error(VH "  - {match: {prefix: /}, route: {weighted_clusters: {clusters: [{name: a, "
                    "weight: 1}], runtime_key_prefix: k}}}\n",
                 P ".virtual_hosts[0].routes[0].route.weighted_clusters.runtime_key_prefix: field "
                   "is not supported by ringside");
    expect_error(
        VH
        "  - {match: {prefix: /}, direct_response: {status: 200, body: {filename: /etc/passwd}}}\n",
        P ".virtual_hosts[0].routes[0].direct_response.body.filename: field is not "
          "supported by ringside");
    /* Regexes. */
    expect_error(VH "  - {match: {safe_regex: {regex: '/a(['}}, route: {cluster: a}}\n",
                 P ".virtual_hosts[0].routes[0].match.safe_regex.regex: invalid regex '/a([': "
                   "missing terminating ] for character class at offset 4");
    expect_error(VH "  - {match: {prefix: /, headers: [{name: x, string_match: {safe_regex: "
                    "{regex: '*'}}}]}, route: {cluster: a}}\n",
                 P ".virtual_hosts[0].routes[0].match.headers[0].string_match.safe_regex.regex: "
                   "invalid regex '*': quantifier does not follow a repeatable item at offset 0");
    expect_error(VH "  - {match: {prefix: /, headers: [{name: x, string_match: {safe_regex: "
                    "{regex: a}, ignore_case: true}}]}, route: {cluster: a}}\n",
                 P ".virtual_hosts[0].routes[0].match.headers[0].string_match.ignore_case: has no "
                   "effect for safe_regex");
    expect_error(VH "  - {match: {prefix: /}, route: {cluster: a, regex_rewrite: {pattern: {regex: "
                    "'(a)'}, substitution: '\\2'}}}\n",
                 P ".virtual_hosts[0].routes[0].route.regex_rewrite.substitution: \\2 refers to a "
                   "group the pattern does not have (1 groups)");
    /* Domains. */
    expect_error(
        "virtual_hosts:\n- {name: a, domains: [x.com, '*']}\n- {name: b, domains: [X.COM]}\n",
        P ".virtual_hosts[1].domains[0]: duplicate domain 'X.COM' (also in virtual host 'a')");
    expect_error("virtual_hosts:\n- {name: a, domains: ['*']}\n- {name: b, domains: ['*']}\n",
                 P ".virtual_hosts[1].domains[0]: duplicate domain '*' (also in virtual host 'a')");
    expect_error("virtual_hosts:\n- {name: a, domains: ['*.x', '*.x']}\n", P
                 ".virtual_hosts[0].domains[1]: duplicate domain '*.x' (also in virtual host 'a')");
    expect_error("virtual_hosts:\n- {name: a}\n", P ".virtual_hosts[0].domains: must not be empty");
    /* The first repeat in config order is the one reported. */
    expect_error("virtual_hosts:\n- {name: a, domains: [x, y]}\n- {name: b, domains: [z, y, x]}\n",
                 P ".virtual_hosts[1].domains[1]: duplicate domain 'y' (also in virtual host 'a')");
    /* Envoy does not require unique virtual host names. */
    rs_route_config_free(
        build("virtual_hosts:\n- {name: a, domains: [a]}\n- {name: a, domains: [b]}\n"));
    expect_error("virtual_hosts:\n- {domains: [a]}\n",
                 P ".virtual_hosts[0].name: must not be empty");
    /* Actions. */
    expect_error(VH "  - {match: {prefix: /}, route: {weighted_clusters: {clusters: [{name: a, "
                    "weight: 0}, {name: b}]}}}\n",
                 P ".virtual_hosts[0].routes[0].route.weighted_clusters.clusters: sum of weights "
                   "must be greater than 0");
    expect_error(
        VH "  - {match: {prefix: /}, route: {weighted_clusters: {clusters: [{weight: 1}]}}}\n",
        P ".virtual_hosts[0].routes[0].route.weighted_clusters.clusters[0]: exactly one "
          "of name or cluster_header is required");
    expect_error(VH "  - {match: {prefix: /}}\n",
                 P ".virtual_hosts[0].routes[0]: one of route, redirect or direct_response is "
                   "required");
    expect_error(VH "  - {route: {cluster: a}}\n",
                 P ".virtual_hosts[0].routes[0].match: is required");
    expect_error(VH "  - {match: {prefix: /}, route: {timeout: 1s}}\n",
                 P ".virtual_hosts[0].routes[0].route: one of cluster, cluster_header or "
                   "weighted_clusters is required");
    expect_error(VH "  - {match: {case_sensitive: true}, route: {cluster: a}}\n",
                 P ".virtual_hosts[0].routes[0].match: one of prefix, path, safe_regex or "
                   "path_separated_prefix is required");
    expect_error(VH "  - {match: {path_separated_prefix: /a/}, route: {cluster: a}}\n",
                 P ".virtual_hosts[0].routes[0].match.path_separated_prefix: must be non-empty, "
                   "contain no '?' or '#', and not end with '/'");
    expect_error(VH "  - {match: {prefix: /}, route: {cluster: a, prefix_rewrite: /x, "
                    "regex_rewrite: {pattern: {regex: a}, substitution: b}}}\n",
                 P ".virtual_hosts[0].routes[0].route: only one of prefix_rewrite or regex_rewrite "
                   "may be specified");
    expect_error(
        VH "  - {match: {prefix: /}, direct_response: {status: 600}}\n",
        P ".virtual_hosts[0].routes[0].direct_response.status: must be in [200, 600), got 600");
    expect_error(VH "  - {match: {prefix: /}, route: {cluster: a, retry_policy: {retry_on: "
                    "'reset,retriable-headers'}}}\n",
                 P
                 ".virtual_hosts[0].routes[0].route.retry_policy.retry_on: 'retriable-headers' is "
                 "not supported by ringside");
    expect_error(VH "  - {match: {prefix: /}, route: {cluster: a, retry_policy: {retry_back_off: "
                    "{base_interval: 1s, max_interval: 0.5s}}}}\n",
                 P
                 ".virtual_hosts[0].routes[0].route.retry_policy.retry_back_off.max_interval: must "
                 "be greater than or equal to the base_interval");
    expect_error(
        VH "  - {match: {prefix: /}, route: {cluster: a, retry_policy: {retry_back_off: "
           "{max_interval: 1s}}}}\n",
        P
        ".virtual_hosts[0].routes[0].route.retry_policy.retry_back_off.base_interval: is required");
    expect_error(
        VH "  - {match: {prefix: /}, route: {cluster: a, retry_policy: {retry_host_predicate: "
           "[{name: envoy.retry_host_predicates.omit_canary_hosts}]}}}\n",
        P ".virtual_hosts[0].routes[0].route.retry_policy.retry_host_predicate[0]: retry "
          "host predicate 'envoy.retry_host_predicates.omit_canary_hosts' is not supported "
          "by ringside (only envoy.retry_host_predicates.previous_hosts)");
    expect_error(VH "  - {match: {prefix: /}, route: {cluster: a, request_mirror_policies: "
                    "[{cluster: a, cluster_header: b}]}}\n",
                 P ".virtual_hosts[0].routes[0].route.request_mirror_policies[0]: exactly one of "
                   "cluster or cluster_header is required");
    /* Header manipulation. */
    expect_error(VH "  - {match: {prefix: /}, route: {cluster: a}, request_headers_to_add: "
                    "[{header: {key: Host, value: x}}]}\n",
                 P
                 ".virtual_hosts[0].routes[0].request_headers_to_add[0].header.key: :-prefixed or "
                 "host headers may not be modified");
    expect_error("request_headers_to_remove: [':path']\n",
                 P ".request_headers_to_remove[0]: :-prefixed or host headers may not be removed");
    expect_error("response_headers_to_add: [{header: {key: 'bad name', value: x}}]\n",
                 P ".response_headers_to_add[0].header.key: invalid header name 'bad name'");
    expect_error(
        "response_headers_to_add: [{header: {key: x, raw_value: eA==}}]\n",
        P ".response_headers_to_add[0].header.raw_value: field is not supported by ringside");
    expect_error(VH "  - {match: {prefix: /, headers: [{name: ''}]}, route: {cluster: a}}\n",
                 P ".virtual_hosts[0].routes[0].match.headers[0].name: invalid header name ''");
    expect_error(
        VH "  - {match: {prefix: /, headers: [{name: x, string_match: {prefix: ''}}]}, route: "
           "{cluster: a}}\n",
        P ".virtual_hosts[0].routes[0].match.headers[0].string_match.prefix: must not be empty");
}

/* A catastrophic-backtracking pattern hits the match limit and simply does not match. */
static void regex_match_limit(void **state)
{
    (void)state;
    struct rs_route_config *rc =
        build(VH "  - {name: evil, match: {safe_regex: {regex: '/(a+)+b'}}, route: {cluster: a}}\n"
                 "  - {name: alt, match: {safe_regex: {regex: '/(x|xy)'}}, route: {cluster: a}}\n");
    /* Whole-string semantics backtrack into alternations like RE2's full match. */
    assert_route(rc, "h", "/xy", NULL, "alt");
    assert_route(rc, "h", "/x", NULL, "alt");
    assert_route(rc, "h", "/xyz", NULL, NULL);
    char path[64] = "/";
    memset(path + 1, 'a', 40);
    assert_route(rc, "h", path, NULL, NULL);
    assert_route(rc, "h", "/aab", NULL, "evil");
    rs_route_config_free(rc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(path_matchers),
        cmocka_unit_test(first_match_wins),
        cmocka_unit_test(case_insensitive),
        cmocka_unit_test(header_matchers),
        cmocka_unit_test(query_matchers),
        cmocka_unit_test(vhost_precedence),
        cmocka_unit_test(many_virtual_hosts),
        cmocka_unit_test(forward_defaults_and_timeouts),
        cmocka_unit_test(rewrites),
        cmocka_unit_test(weighted_clusters),
        cmocka_unit_test(redirects),
        cmocka_unit_test(direct_responses),
        cmocka_unit_test(retry_on_parsing),
        cmocka_unit_test(retry_and_mirror_policies),
        cmocka_unit_test(header_manipulation),
        cmocka_unit_test(rejections),
        cmocka_unit_test(regex_match_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
