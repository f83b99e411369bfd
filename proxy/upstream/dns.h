/* DNS for STRICT_DNS clusters, without ever blocking a loop.
 *
 * A resolver owns one small thread that runs getaddrinfo (blocking, but only that thread waits) and
 * posts each result back to the main loop with rs_loop_post. A STRICT_DNS cluster, once started,
 * resolves each of its endpoints, re-resolves every dns_refresh_rate on an rs_timer, and publishes
 * a new host set when the answer changes, reusing the host objects of addresses still present so
 * their stats persist. Everything except getaddrinfo runs on the main thread. */
#ifndef RS_UPSTREAM_DNS_H
#define RS_UPSTREAM_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "proxy/upstream/cluster.h"

struct rs_loop;
struct rs_dns_resolver;
struct rs_dns_query;

struct rs_dns_result {
    int status; /* 0, or a getaddrinfo EAI_* code; a name with no address is status 0, n_addrs 0 */
    size_t n_addrs;
    struct sockaddr_storage *addrs; /* port filled in; AF_INET or AF_INET6 */
};

/* Runs on the main loop. The result is only valid during the call. */
typedef void (*rs_dns_cb)(void *arg, const struct rs_dns_result *result);

/* Starts the resolver thread; results are posted to `loop` (the main loop). NULL with err on
 * failure. */
struct rs_dns_resolver *rs_dns_resolver_new(struct rs_loop *loop, char *err, size_t err_len);
/* Stops and joins the thread (waiting for a getaddrinfo in progress). Every query must have
 * completed or been cancelled; results already posted still reach the loop on its next turns, where
 * cancelled ones are just freed, so run the loop once more before freeing it. */
void rs_dns_resolver_free(struct rs_dns_resolver *r);

/* Queues a lookup of name (an IP literal resolves to itself). cb(arg, result) runs later on the
 * loop, unless cancelled first. The handle is valid until cb runs or rs_dns_cancel. NULL on
 * allocation failure. Main thread. */
struct rs_dns_query *rs_dns_resolve(struct rs_dns_resolver *r, const char *name, uint16_t port,
                                    enum rs_dns_family family, rs_dns_cb cb, void *arg);
/* cb will not run; the query's memory is released by the resolver. Main thread. */
void rs_dns_cancel(struct rs_dns_query *q);

/* Applies Envoy's DnsLookupFamily to getaddrinfo's answer (in place, order kept, duplicates
 * dropped): AUTO keeps IPv6 if any else IPv4, V4_PREFERRED keeps IPv4 if any else IPv6, ALL keeps
 * both, V4_ONLY/V6_ONLY keep their family. */
void rs_dns_filter_family(struct rs_dns_result *res, enum rs_dns_family family);

/* ---- STRICT_DNS clusters (main thread) ---- */

typedef void (*rs_dns_cluster_init_cb)(struct rs_cluster *c, void *arg);

/* Starts resolving c's endpoints (c must be STRICT_DNS) and keeps a reference on c until
 * rs_dns_cluster_stop. on_init(c, arg) runs once, on the loop, when every endpoint has been
 * resolved once (successfully or not, as Envoy); if the cluster has no endpoint it runs before this
 * returns. Returns 0 or -ENOMEM. */
int rs_dns_cluster_start(struct rs_cluster *c, struct rs_dns_resolver *r, struct rs_loop *loop,
                         rs_dns_cluster_init_cb on_init, void *arg);
/* Cancels timers and queries and drops the reference taken by start. The last host set stays. */
void rs_dns_cluster_stop(struct rs_cluster *c);

#endif
