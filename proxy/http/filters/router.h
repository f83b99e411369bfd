/* envoy.filters.http.router for HTTP/1.1 upstreams: the last decode filter of an HTTP filter
 * chain. It answers locally for routes without an upstream (no route, direct_response, redirect)
 * and otherwise picks a cluster and a host, borrows a keep-alive connection from the worker's pool
 * for that cluster, writes the request with the h1 codec and feeds the response into the encode
 * chain.
 *
 * Threading: the factory config is built on the main thread and shared read-only by the workers,
 * except for one slot per worker (its pools, its PRNG) that only that worker touches, and the
 * cluster stats table, which is guarded by a mutex (only touched when a worker meets a cluster or a
 * status code for the first time).
 *
 * Ownership: the factory config owns its per-worker slots. Pools must be given up on their own
 * worker (rs_router_worker_release) before the config is freed; free_config frees what is left
 * but a pool freed off its loop is only safe once that loop no longer runs. */
#ifndef RS_HTTP_FILTERS_ROUTER_H
#define RS_HTTP_FILTERS_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#include "proxy/http/filter.h"

struct rs_cluster;
struct rs_route_config;
struct rs_stats_store;

#define RS_ROUTER_FILTER_NAME "envoy.filters.http.router"

/* The fields of envoy.extensions.filters.http.router.v3.Router the router uses (the HCM's struct
 * rs_router_settings has the same fields: copy them). Kept here so this library does not depend
 * on the connection manager that links it. */
struct rs_router_options {
    bool suppress_envoy_headers;
    bool dynamic_stats; /* default true */
};

/* Cluster lookup by name: a borrowed pointer valid while the config that holds the router lives
 * (the cluster manager's snapshot), or NULL when no such cluster exists. Called on workers. */
typedef struct rs_cluster *(*rs_router_cluster_lookup)(void *ctx, const char *name);

struct rs_router_env {
    rs_router_cluster_lookup lookup;
    void *lookup_ctx;
    struct rs_stats_store *stats; /* NULL: no upstream_rq_* stats */
    unsigned n_workers;           /* worker ids are < n_workers (0 is treated as 1) */
    /* The route configuration the router serves (read only during rs_router_factory_init): every
     * cluster it references gets its upstream_rq_* stats registered now, on the main thread, and
     * every `%...%` header value is compiled. NULL: stats registered on first use, header values
     * sent literally. */
    const struct rs_route_config *routes;
};

/* Builds the factory entry for the HCM's http_filters (name "envoy.filters.http.router").
 * Returns 0 and fills out, or -1 on allocation failure. out->free_config frees the config. */
int rs_router_factory_init(struct rs_http_filter_factory *out, const struct rs_router_options *opt,
                           const struct rs_router_env *env);

/* On worker `worker_id`'s thread, while its loop still runs: gives up the pools that worker
 * created (rs_h1_pool_free; connections lent out close when released) and drops its cluster
 * references. The slot may be used again afterwards (pools are re-created lazily). */
void rs_router_worker_release(void *factory_config, unsigned worker_id);

/* The downstream drained below its limit: a router paused on rs_http_stream_downstream_over_limit
 * resumes reading its upstream. The connection manager calls it for the router filter of a stream
 * (filter.h has no callback for it yet). */
void rs_router_on_downstream_drained(struct rs_http_filter *f);

#endif
