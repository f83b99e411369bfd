/* Envoy's RouteConfiguration (envoy.config.route.v3) compiled into an immutable matcher.
 *
 * Built once on the main thread from the protobuf, validated whole (every error names its field
 * path, every set field we do not implement is rejected), then shared read-only by all workers:
 * nothing here is modified after rs_route_config_new returns, so matching takes no locks.
 *
 * Cluster names are not resolved here: the caller checks rs_route_config_cluster_name(rc, i)
 * against its cluster manager (and reports rs_route_config_cluster_path(rc, i) on failure).
 * Header values to add are kept raw: `%...%` substitution happens later, in the router. */
#ifndef RS_HTTP_ROUTE_ROUTE_H
#define RS_HTTP_ROUTE_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envoy/config/route/v3/route.pb-c.h"
#include "proxy/http/header_map.h"

struct rs_route_regex; /* a compiled PCRE2 pattern (regex.c) */

/* envoy.type.matcher.v3.StringMatcher */
enum rs_route_str_kind {
    RS_ROUTE_STR_EXACT,
    RS_ROUTE_STR_PREFIX,
    RS_ROUTE_STR_SUFFIX,
    RS_ROUTE_STR_CONTAINS,
    RS_ROUTE_STR_REGEX,
};

struct rs_route_string_matcher {
    enum rs_route_str_kind kind;
    bool ignore_case; /* never set for RS_ROUTE_STR_REGEX (Envoy rejects it) */
    const char *value;
    size_t len;
    const struct rs_route_regex *regex; /* RS_ROUTE_STR_REGEX: full match */
};

/* envoy.config.route.v3.HeaderMatcher */
enum rs_route_header_match_kind {
    RS_ROUTE_HDR_STRING,
    RS_ROUTE_HDR_PRESENT,
    RS_ROUTE_HDR_RANGE,
};

struct rs_route_header_matcher {
    const char *name; /* lower-cased */
    size_t name_len;
    enum rs_route_header_match_kind kind;
    struct rs_route_string_matcher str; /* RS_ROUTE_HDR_STRING */
    bool present;                       /* RS_ROUTE_HDR_PRESENT */
    int64_t range_start, range_end;     /* RS_ROUTE_HDR_RANGE: [start, end) */
    bool invert;
    bool treat_missing_as_empty;
};

/* envoy.config.route.v3.QueryParameterMatcher, matched against the first occurrence of the
 * parameter (not percent-decoded, as Envoy). present_match: the parameter's presence must equal
 * `present` (current Envoy: `present_match: false` matches an absent parameter); string_match or
 * no specifier: the parameter must be present (and match). */
struct rs_route_query_matcher {
    const char *name;
    size_t name_len;
    bool has_string;
    struct rs_route_string_matcher str;
    bool has_present;
    bool present;
};

enum rs_route_path_kind {
    RS_ROUTE_PATH_PREFIX,
    RS_ROUTE_PATH_EXACT,
    RS_ROUTE_PATH_REGEX,
    RS_ROUTE_PATH_SEPARATED_PREFIX,
};

struct rs_route_match {
    enum rs_route_path_kind kind;
    const char *value; /* prefix / path / path_separated_prefix */
    size_t len;
    const struct rs_route_regex *regex; /* RS_ROUTE_PATH_REGEX */
    bool case_sensitive;                /* default true; not applied to regex */
    const struct rs_route_header_matcher *headers;
    size_t n_headers;
    const struct rs_route_query_matcher *query;
    size_t n_query;
};

/* envoy.config.core.v3.HeaderValueOption.HeaderAppendAction, same numbering. */
enum rs_route_append_action {
    RS_ROUTE_APPEND_IF_EXISTS_OR_ADD = 0,
    RS_ROUTE_ADD_IF_ABSENT = 1,
    RS_ROUTE_OVERWRITE_IF_EXISTS_OR_ADD = 2,
    RS_ROUTE_OVERWRITE_IF_EXISTS = 3,
};

struct rs_route_header_add {
    const char *name; /* lower-cased */
    size_t name_len;
    const char *value; /* raw format string, %...% not yet substituted */
    size_t value_len;
    enum rs_route_append_action action;
    bool keep_empty_value;
};

/* The four header-manipulation lists of one level (config, virtual host, route, cluster weight). */
struct rs_route_header_ops {
    const struct rs_route_header_add *request_add;
    size_t n_request_add;
    const char *const *request_remove; /* lower-cased */
    size_t n_request_remove;
    const struct rs_route_header_add *response_add;
    size_t n_response_add;
    const char *const *response_remove;
    size_t n_response_remove;
};

/* retry_on flags (x-envoy-retry-on uses the same names). */
#define RS_RETRY_ON_5XX (1u << 0)
#define RS_RETRY_ON_GATEWAY_ERROR (1u << 1)
#define RS_RETRY_ON_RESET (1u << 2)
#define RS_RETRY_ON_CONNECT_FAILURE (1u << 3)
#define RS_RETRY_ON_RETRIABLE_4XX (1u << 4)
#define RS_RETRY_ON_REFUSED_STREAM (1u << 5)
#define RS_RETRY_ON_RETRIABLE_STATUS_CODES (1u << 6)
#define RS_RETRY_ON_GRPC_CANCELLED (1u << 7)
#define RS_RETRY_ON_GRPC_DEADLINE_EXCEEDED (1u << 8)
#define RS_RETRY_ON_GRPC_RESOURCE_EXHAUSTED (1u << 9)
#define RS_RETRY_ON_GRPC_UNAVAILABLE (1u << 10)
#define RS_RETRY_ON_GRPC_INTERNAL (1u << 11)

/* Parses a retry_on / x-envoy-retry-on list ("5xx, reset"). Names Envoy does not know are
 * skipped, as Envoy does. The first name Envoy knows but Ringside does not implement
 * (retriable-headers, envoy-ratelimited, reset-before-request, http3-post-connect-failure) is
 * copied into unsupported_buf (if non-NULL) so a config can be rejected; it adds no flag.
 * Returns the RS_RETRY_ON_* flags. */
uint32_t rs_route_parse_retry_on(const char *s, size_t len, char *unsupported_buf,
                                 size_t unsupported_len);

struct rs_route_retry_policy {
    uint32_t retry_on;                    /* RS_RETRY_ON_* */
    uint32_t num_retries;                 /* default 1 */
    uint64_t per_try_timeout_ms;          /* 0: none */
    uint64_t base_interval_ms;            /* default 25 */
    uint64_t max_interval_ms;             /* default 10 x base */
    bool previous_hosts;                  /* retry_host_predicate previous_hosts */
    uint32_t host_selection_max_attempts; /* default 1 */
    const uint32_t *retriable_status_codes;
    size_t n_retriable_status_codes;
};

struct rs_route_mirror_policy {
    const char *cluster;        /* NULL when cluster_header is used */
    const char *cluster_header; /* lower-cased, or NULL */
    uint32_t per_million;       /* runtime_fraction.default_value; 1000000 when unset */
    bool disable_shadow_host_suffix_append;
};

struct rs_route_cluster_weight {
    const char *name;           /* NULL when cluster_header is used */
    const char *cluster_header; /* lower-cased, or NULL */
    uint32_t weight;
    const char *host_rewrite_literal; /* or NULL */
    struct rs_route_header_ops headers;
};

enum rs_route_rewrite_kind {
    RS_ROUTE_REWRITE_NONE,
    RS_ROUTE_REWRITE_PREFIX, /* prefix_rewrite */
    RS_ROUTE_REWRITE_REGEX,  /* regex_rewrite */
    RS_ROUTE_REWRITE_PATH,   /* redirect path_redirect: the whole path (query included) */
};

struct rs_route_path_rewrite {
    enum rs_route_rewrite_kind kind;
    const char *value; /* prefix or path */
    size_t len;
    const struct rs_route_regex *regex;
    const char *substitution; /* RE2 syntax (\1) translated to PCRE2's ($1) */
};

enum rs_route_cluster_kind {
    RS_ROUTE_CLUSTER_NAME,
    RS_ROUTE_CLUSTER_HEADER,
    RS_ROUTE_CLUSTER_WEIGHTED,
};

/* envoy.config.route.v3.RouteAction */
struct rs_route_forward {
    enum rs_route_cluster_kind cluster_kind;
    const char *cluster;                            /* RS_ROUTE_CLUSTER_NAME */
    const char *cluster_header;                     /* RS_ROUTE_CLUSTER_HEADER, lower-cased */
    const struct rs_route_cluster_weight *weighted; /* RS_ROUTE_CLUSTER_WEIGHTED */
    size_t n_weighted;
    uint64_t total_weight;           /* > 0 */
    uint32_t cluster_not_found_code; /* 503 (default), 404 or 500 */
    struct rs_route_path_rewrite rewrite;
    const char *host_rewrite_literal; /* or NULL */
    bool auto_host_rewrite;
    uint64_t timeout_ms;     /* default 15000; 0 disables */
    int64_t idle_timeout_ms; /* -1: unset (the HCM's stream_idle_timeout applies); 0 disables */
    /* Effective policies: the route's own, else the virtual host's (Envoy does not merge them). */
    const struct rs_route_retry_policy *retry; /* NULL: no retries */
    const struct rs_route_mirror_policy *mirrors;
    size_t n_mirrors;
};

/* envoy.config.route.v3.RedirectAction */
struct rs_route_redirect {
    const char *scheme; /* NULL keeps the request's; scheme_redirect as given, or "https" */
    const char *host;   /* NULL keeps the request's */
    uint32_t port;      /* 0 keeps the request's */
    struct rs_route_path_rewrite path;
    uint32_t response_code; /* 301 (default), 302, 303, 307, 308 */
    bool strip_query;
};

/* envoy.config.route.v3.DirectResponseAction */
struct rs_route_direct_response {
    uint32_t status;  /* 200..599 */
    const char *body; /* NULL: no body */
    size_t body_len;
};

enum rs_route_action_kind {
    RS_ROUTE_ACTION_FORWARD,
    RS_ROUTE_ACTION_REDIRECT,
    RS_ROUTE_ACTION_DIRECT_RESPONSE,
};

struct rs_route {
    const char *name; /* "" when unnamed */
    struct rs_route_match match;
    enum rs_route_action_kind action;
    struct rs_route_forward forward;        /* RS_ROUTE_ACTION_FORWARD */
    struct rs_route_redirect redirect;      /* RS_ROUTE_ACTION_REDIRECT */
    struct rs_route_direct_response direct; /* RS_ROUTE_ACTION_DIRECT_RESPONSE */
    struct rs_route_header_ops headers;
    /* Header levels in the order the router applies them: route, virtual host, route config
     * (Envoy's default: the least specific level applies last, so it wins on overwrite), or the
     * reverse when most_specific_header_mutations_wins. A picked cluster weight's headers are
     * the most specific level of all: first by default, last when most_specific_wins. */
    const struct rs_route_header_ops *header_levels[3];
    bool most_specific_header_mutations_wins;
    int64_t per_request_buffer_limit_bytes; /* -1 unset: the route's, else the virtual host's */
};

struct rs_virtual_host {
    const char *name;
    const struct rs_route *routes;
    size_t n_routes;
    struct rs_route_header_ops headers;
};

struct rs_route_config;

/* Compiles pb; NULL with "<path>.<field>: <reason>" in err on any error. `path` names pb in the
 * configuration ("...http_connection_manager.route_config"). pb may be freed afterwards. */
struct rs_route_config *rs_route_config_new(const Envoy__Config__Route__V3__RouteConfiguration *pb,
                                            const char *path, char *err, size_t err_len);
void rs_route_config_free(struct rs_route_config *rc);

const char *rs_route_config_name(const struct rs_route_config *rc);
size_t rs_route_config_vhost_count(const struct rs_route_config *rc);
const struct rs_virtual_host *rs_route_config_vhost(const struct rs_route_config *rc, size_t i);
/* validate_clusters as given (true/false), or -1 when unset (Envoy: true for inline configs). */
int rs_route_config_validate_clusters(const struct rs_route_config *rc);

/* Every cluster name the config references (cluster, weighted_clusters, request_mirror_policies),
 * each once, with the path of its first reference ("<path>.virtual_hosts[0].routes[1].route
 * .cluster"). */
size_t rs_route_config_cluster_count(const struct rs_route_config *rc);
const char *rs_route_config_cluster_name(const struct rs_route_config *rc, size_t i);
const char *rs_route_config_cluster_path(const struct rs_route_config *rc, size_t i);

/* Virtual host for a host (:authority) value, Envoy's order: exact, then the longest `*suffix`,
 * then the longest `prefix*`, then `*`. Case-insensitive. The port is part of the host unless
 * ignore_port_in_host_matching. NULL if none. */
const struct rs_virtual_host *rs_virtual_host_select(const struct rs_route_config *rc,
                                                     const char *host, size_t host_len);

/* First route of the selected virtual host matching the request (:authority, falling back to
 * host; :path, whose query string feeds query_parameters; any header matchers). NULL if no
 * virtual host or no route matches (Envoy's 404 NR). *vh_out (if non-NULL) gets the virtual
 * host, or NULL. */
const struct rs_route *rs_route_config_match(const struct rs_route_config *rc,
                                             const struct rs_header_map *req_headers,
                                             const struct rs_virtual_host **vh_out);
/* Same, for a virtual host already chosen. */
const struct rs_route *rs_virtual_host_match(const struct rs_virtual_host *vh,
                                             const struct rs_header_map *req_headers);

/* Rewrites a request path (query string included) with the route's prefix_rewrite or
 * regex_rewrite (forward routes) or the redirect's path rewrite (redirect routes). The query
 * string is kept (for path_redirect, the configured value replaces it). Writes a NUL-terminated
 * result into out. Returns 1 if rewritten, 0 if the route has no rewrite (out untouched), -1 if
 * out is too small or the regex hit its match limit. */
int rs_route_rewrite_path(const struct rs_route *route, const char *path, size_t path_len,
                          char *out, size_t out_cap, size_t *out_len);

/* Weighted cluster for value (taken modulo total_weight, so a uniform random value in
 * [0, total_weight) gives the configured split): the first entry whose cumulative weight exceeds
 * value. NULL for routes that are not weighted. */
const struct rs_route_cluster_weight *rs_route_pick_weighted(const struct rs_route *route,
                                                             uint64_t value);

/* Full match of s against a compiled regex (PCRE2, bounded by a match limit; hitting the limit
 * is no match). */
bool rs_route_regex_match(const struct rs_route_regex *re, const char *s, size_t len);
/* StringMatcher evaluation. */
bool rs_route_string_match(const struct rs_route_string_matcher *m, const char *s, size_t len);

#endif
