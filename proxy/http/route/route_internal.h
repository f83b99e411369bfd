/* Shared by the route compiler's files; not part of the public API. */
#ifndef RS_HTTP_ROUTE_INTERNAL_H
#define RS_HTTP_ROUTE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envoy/config/core/v3/base.pb-c.h"
#include "envoy/config/route/v3/route.pb-c.h"
#include "envoy/type/matcher/v3/regex.pb-c.h"
#include "envoy/type/matcher/v3/string.pb-c.h"
#include "proxy/http/route/route.h"

/* Error paths are built into fixed buffers: config paths are short, truncation is harmless. */
#define RT_PATH_MAX 512

struct rt_arena_block;
struct rt_domain; /* vhost.c */

struct rs_route_config {
    const char *name;
    struct rs_virtual_host *vhosts;
    size_t n_vhosts;
    struct rs_route_header_ops headers;
    bool most_specific_header_mutations_wins;
    bool ignore_port_in_host_matching;
    int validate_clusters;
    uint32_t max_direct_response_body;
    const struct rs_route_mirror_policy *mirrors; /* route-config level */
    size_t n_mirrors;

    /* Virtual host lookup tables (vhost.c). */
    struct rt_domain *exact, *suffix, *prefix;
    size_t n_exact, n_suffix, n_prefix;
    const struct rs_virtual_host *default_vh;

    /* Referenced clusters, deduplicated. */
    const char **cluster_names;
    const char **cluster_paths;
    size_t n_clusters, cap_clusters;

    struct rs_route_regex *regexes; /* every compiled pattern, for freeing */
    void *match_ctx;                /* pcre2_match_context with the limits, shared read-only */
    struct rt_arena_block *arena;
};

/* Everything compiled lives in the config's arena and goes with rs_route_config_free, so the
 * builders never free piecemeal on error paths. All return NULL on allocation failure. */
void *rt_alloc(struct rs_route_config *rc, size_t size); /* zeroed */
void *rt_array(struct rs_route_config *rc, size_t n, size_t size);
char *rt_strndup(struct rs_route_config *rc, const char *s, size_t len);
char *rt_strdup(struct rs_route_config *rc, const char *s);
char *rt_strdup_lower(struct rs_route_config *rc, const char *s);

int rt_oom(char *err, size_t err_len);
int rt_add_cluster(struct rs_route_config *rc, const char *name, const char *path, char *err,
                   size_t err_len);

/* regex.c */
int rt_regex_init(struct rs_route_config *rc, char *err, size_t err_len);
void rt_regex_free_all(struct rs_route_config *rc);
/* Compiles a RegexMatcher found at `path`; errors name "<path>.regex". */
const struct rs_route_regex *rt_regex_compile(struct rs_route_config *rc,
                                              const Envoy__Type__Matcher__V3__RegexMatcher *pb,
                                              const char *path, char *err, size_t err_len);
/* Compiles a RegexMatchAndSubstitute into rw (kind REGEX). */
int rt_regex_rewrite_compile(struct rs_route_config *rc,
                             const Envoy__Type__Matcher__V3__RegexMatchAndSubstitute *pb,
                             const char *path, struct rs_route_path_rewrite *rw, char *err,
                             size_t err_len);
/* Replaces every match of re in s with the translated substitution. Returns the output length or
 * -1 (output too small, match limit). */
int rt_regex_replace_all(const struct rs_route_regex *re, const char *sub, const char *s,
                         size_t len, char *out, size_t out_cap, size_t *out_len);

/* matcher.c */
int rt_string_matcher_compile(struct rs_route_config *rc,
                              const Envoy__Type__Matcher__V3__StringMatcher *pb, const char *path,
                              struct rs_route_string_matcher *out, char *err, size_t err_len);
int rt_route_match_compile(struct rs_route_config *rc,
                           const Envoy__Config__Route__V3__RouteMatch *pb, const char *path,
                           struct rs_route_match *out, char *err, size_t err_len);
bool rt_header_name_valid(const char *s);

/* headers.c */
int rt_header_ops_compile(struct rs_route_config *rc, const char *path,
                          Envoy__Config__Core__V3__HeaderValueOption *const *req_add,
                          size_t n_req_add, char *const *req_remove, size_t n_req_remove,
                          Envoy__Config__Core__V3__HeaderValueOption *const *resp_add,
                          size_t n_resp_add, char *const *resp_remove, size_t n_resp_remove,
                          struct rs_route_header_ops *out, char *err, size_t err_len);

/* retry.c */
const struct rs_route_retry_policy *
rt_retry_policy_compile(struct rs_route_config *rc, const Envoy__Config__Route__V3__RetryPolicy *pb,
                        const char *path, char *err, size_t err_len);
int rt_mirrors_compile(struct rs_route_config *rc,
                       Envoy__Config__Route__V3__RouteAction__RequestMirrorPolicy *const *pb,
                       size_t n, const char *path, const struct rs_route_mirror_policy **out,
                       char *err, size_t err_len);

/* action.c */
struct rt_vhost_defaults {
    const struct rs_route_retry_policy *retry;
    const struct rs_route_mirror_policy *mirrors;
    size_t n_mirrors;
};
int rt_route_compile(struct rs_route_config *rc, const Envoy__Config__Route__V3__Route *pb,
                     const char *path, const struct rt_vhost_defaults *defs, struct rs_route *out,
                     char *err, size_t err_len);

/* vhost.c */
int rt_vhost_index(struct rs_route_config *rc,
                   const Envoy__Config__Route__V3__RouteConfiguration *pb, const char *path,
                   char *err, size_t err_len);

#endif
