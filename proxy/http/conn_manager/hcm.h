/* The HTTP connection manager engine (envoy.filters.network.http_connection_manager) for
 * HTTP/1.1 downstream connections: a listener's terminal network filter that owns each accepted
 * connection, parses requests with the h1 codec, runs each request through one instance of every
 * configured HTTP filter (filter.h) and writes the response back. */
#ifndef RS_HTTP_CONN_MANAGER_HCM_H
#define RS_HTTP_CONN_MANAGER_HCM_H

#include <stddef.h>

#include "proxy/http/conn_manager/hcm_config.h"
#include "proxy/http/filter.h"
#include "proxy/net/listener.h"

/* Fills `out` with the connection manager as a network filter. Ownership of cfg and of each
 * factory's config passes to the filter (out->free_config frees them); the factories array itself
 * is copied, so the caller keeps (and frees) its own array. Returns 0, or -1 on allocation failure
 * (nothing is taken then). */
int rs_hcm_network_filter(struct rs_hcm_config *cfg, const struct rs_http_filter_factory *factories,
                          size_t n, struct rs_network_filter *out);

/* filter.h has no callback for "the downstream drained below its limit" yet. A filter that paused
 * on rs_http_stream_downstream_over_limit (the router pauses its upstream reads) registers one
 * here for its factory (index into the factories given above): the connection manager calls it
 * for that factory's instance in the current stream once the downstream send queue falls to half
 * its limit after the filter saw it over. For the router: rs_router_on_downstream_drained. */
void rs_hcm_set_downstream_drained_cb(struct rs_network_filter *nf, size_t factory_index,
                                      void (*cb)(struct rs_http_filter *f));

#endif
