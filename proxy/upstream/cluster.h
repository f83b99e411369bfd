/* A cluster: a named group of upstream hosts with a load-balancing policy, built from Envoy's
 * envoy.config.cluster.v3.Cluster.
 *
 * Threading: the main thread creates clusters, publishes host sets (rs_cluster_set_hosts) and runs
 * DNS. Workers only read the immutable configuration fields, read the current host set within a
 * loop turn, and pick hosts (lb.h) using their own per-worker slot. Clusters are reference counted
 * (atomic) so that several config snapshots can share one; the last unref frees it, on whichever
 * thread that happens (after QSBR made sure no worker still reads it, for snapshots). */
#ifndef RS_UPSTREAM_CLUSTER_H
#define RS_UPSTREAM_CLUSTER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envoy/config/cluster/v3/cluster.pb-c.h"
#include "proxy/upstream/cluster_stats.h"
#include "proxy/upstream/host.h"

struct rs_qsbr;
struct rs_stats_store;
struct rs_stats_shard;
struct rs_lb_worker;
struct rs_dns_cluster;

enum rs_cluster_type {
    RS_CLUSTER_STATIC,
    RS_CLUSTER_STRICT_DNS,
    RS_CLUSTER_ORIGINAL_DST,
};

enum rs_lb_policy {
    RS_LB_ROUND_ROBIN,
    RS_LB_LEAST_REQUEST,
    RS_LB_RANDOM,
    RS_LB_CLUSTER_PROVIDED, /* ORIGINAL_DST */
};

/* Envoy's DnsLookupFamily. AUTO: IPv6 if the name has any, else IPv4. V4_PREFERRED: IPv4 if any,
 * else IPv6. ALL: both. */
enum rs_dns_family {
    RS_DNS_AUTO,
    RS_DNS_V4_ONLY,
    RS_DNS_V6_ONLY,
    RS_DNS_V4_PREFERRED,
    RS_DNS_ALL,
};

/* One configured lb_endpoint (load_assignment), kept for DNS re-resolution and diagnostics. */
struct rs_cluster_endpoint {
    char *address;  /* IP literal (STATIC) or DNS name (STRICT_DNS) */
    char *hostname; /* endpoint.hostname, "" if unset */
    uint16_t port;
    uint32_t weight;
    struct rs_locality locality;
};

/* What a cluster needs from its surroundings. Everything is optional for unit tests. */
struct rs_cluster_env {
    unsigned n_workers;                /* per-worker LB slots (0 is treated as 1) */
    struct rs_qsbr *qsbr;              /* retires replaced host sets; NULL: freed at once (only
                                          when no other thread reads the cluster) */
    struct rs_stats_store *stats;      /* NULL: no stats, every id is RS_STAT_INVALID */
    struct rs_stats_shard *main_shard; /* main thread's shard, for membership stats */
};

struct rs_cluster {
    /* ---- configuration: immutable after rs_cluster_new, readable from any thread ---- */
    char *name;
    enum rs_cluster_type type;
    enum rs_lb_policy lb_policy;
    uint64_t connect_timeout_ms;                /* default 5000 */
    uint32_t per_connection_buffer_limit_bytes; /* default 1 MiB */
    uint64_t dns_refresh_rate_ms;               /* default 5000 */
    enum rs_dns_family dns_family;
    uint64_t cleanup_interval_ms; /* ORIGINAL_DST idle host removal, default 5000 */
    uint32_t lr_choice_count;     /* LEAST_REQUEST, default 2 */
    uint16_t odst_port_override;  /* ORIGINAL_DST upstream_port_override, 0 = none */
    size_t n_endpoints;
    struct rs_cluster_endpoint *endpoints;
    struct rs_cluster_stats stats;

    /* ---- private to upstream/ ---- */
    _Atomic(struct rs_host_set *) hosts_; /* never NULL after rs_cluster_new */
    _Atomic uint32_t refs_;
    unsigned n_workers_;
    struct rs_lb_worker *lb_; /* n_workers_ cache-line-aligned slots */
    struct rs_cluster_env env_;
    uint64_t generation_;        /* main thread: last host-set generation handed out */
    bool initialized_;           /* main thread: first host set is known (DNS resolved once) */
    struct rs_dns_cluster *dns_; /* main thread: STRICT_DNS state while started */
};

/* Validates and builds a cluster. `path` names the message in the config for errors
 * ("static_resources.clusters[1]"). Returns a cluster with one reference owned by the caller, or
 * NULL with "<path>.<field>: <reason>" in err. STATIC clusters get their hosts now; STRICT_DNS
 * clusters have no host until DNS resolves (dns.h); ORIGINAL_DST clusters never have a shared host
 * set (hosts come from each connection's original destination). */
struct rs_cluster *rs_cluster_new(const Envoy__Config__Cluster__V3__Cluster *pb, const char *path,
                                  const struct rs_cluster_env *env, char *err, size_t err_len);
struct rs_cluster *rs_cluster_ref(struct rs_cluster *c);
/* Drops a reference; the last one frees the cluster, its host set and per-worker LB state. A
 * started STRICT_DNS cluster is kept alive by its DNS state until rs_dns_cluster_stop. */
void rs_cluster_unref(struct rs_cluster *c);

/* The current host set. Workers: valid until the end of the current loop turn (QSBR). Main
 * thread: valid until the next rs_cluster_set_hosts. Never NULL. */
static inline const struct rs_host_set *rs_cluster_hosts(const struct rs_cluster *c)
{
    return atomic_load_explicit(&((struct rs_cluster *)c)->hosts_, memory_order_acquire);
}

/* Main thread: publishes `set` (ownership moves to the cluster), retires the previous one through
 * QSBR and updates the membership stats. Counts membership_change when the addresses differ. */
void rs_cluster_set_hosts(struct rs_cluster *c, struct rs_host_set *set);

/* Main thread: true once the cluster's first host set is known (immediately for STATIC and
 * ORIGINAL_DST, after the first DNS round for STRICT_DNS). */
static inline bool rs_cluster_initialized(const struct rs_cluster *c)
{
    return c->initialized_;
}

const char *rs_cluster_type_name(enum rs_cluster_type t);
const char *rs_cluster_lb_policy_name(enum rs_lb_policy p);

#endif
