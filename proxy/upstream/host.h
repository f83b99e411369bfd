/* Upstream hosts and immutable host sets.
 *
 * A host is one upstream address with its configuration (weight, locality) and the per-host
 * counters that admin /clusters shows. Hosts are shared by the main thread (which builds host sets)
 * and the workers (which pick hosts and keep them for the life of a connection), so they are
 * reference counted with atomics and their counters are atomics that any thread may bump.
 *
 * A host set is an immutable array of hosts. A cluster publishes its current set through an atomic
 * pointer; workers read it without taking references, within one loop turn (see qsbr.h), and the
 * main thread retires replaced sets through QSBR. */
#ifndef RS_UPSTREAM_HOST_H
#define RS_UPSTREAM_HOST_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* "[ffff:...:ffff]:65535" plus NUL. */
#define RS_HOST_ADDR_STR_LEN 56

/* Health flags (bit set): a host with no flag set is healthy. Envoy's names, for /clusters. Only
 * the field exists for now; health checking and outlier detection will set these. */
enum rs_host_health_flag {
    RS_HOST_FAILED_ACTIVE_HC = 1u << 0,
    RS_HOST_FAILED_OUTLIER_CHECK = 1u << 1,
    RS_HOST_FAILED_EDS_HEALTH = 1u << 2,
    RS_HOST_DEGRADED_ACTIVE_HC = 1u << 3,
    RS_HOST_DEGRADED_EDS_HEALTH = 1u << 4,
    RS_HOST_PENDING_DYNAMIC_REMOVAL = 1u << 5,
    RS_HOST_PENDING_ACTIVE_HC = 1u << 6,
    RS_HOST_EXCLUDED_VIA_IMMEDIATE_HC_FAIL = 1u << 7,
    RS_HOST_ACTIVE_HC_TIMEOUT = 1u << 8,
};

/* Per-host counters and gauges, written by any worker with relaxed atomics (the data path calls
 * the rs_host_stat_* helpers), read by admin. Envoy's per-host stat names. */
struct rs_host_stats {
    _Atomic uint64_t cx_total;
    _Atomic int64_t cx_active;
    _Atomic uint64_t cx_connect_fail;
    _Atomic uint64_t rq_total;
    _Atomic int64_t rq_active;
    _Atomic uint64_t rq_error;
    _Atomic uint64_t rq_success;
    _Atomic uint64_t rq_timeout;
};

struct rs_locality {
    char *region; /* never NULL ("" when unset) */
    char *zone;
    char *sub_zone;
};

struct rs_host {
    /* Immutable after rs_host_new. */
    struct sockaddr_storage addr;
    socklen_t addr_len;
    char addr_str[RS_HOST_ADDR_STR_LEN]; /* "127.0.0.1:8080", "[::1]:8080" */
    char *hostname;                      /* endpoint.hostname or the DNS name; "" if none */
    uint32_t weight;                     /* >= 1 */
    struct rs_locality locality;

    _Atomic uint32_t health_flags; /* enum rs_host_health_flag bits */
    _Atomic uint32_t refs;
    struct rs_host_stats stats;
};

/* Creates a host with one reference owned by the caller. hostname and locality may be NULL.
 * Returns NULL on allocation failure or an unsupported address family. */
struct rs_host *rs_host_new(const struct sockaddr *addr, socklen_t addr_len, const char *hostname,
                            uint32_t weight, const struct rs_locality *locality);
struct rs_host *rs_host_ref(struct rs_host *h);
/* Drops a reference; frees the host at zero. Any thread. NULL is a no-op. */
void rs_host_unref(struct rs_host *h);

static inline bool rs_host_healthy(const struct rs_host *h)
{
    return atomic_load_explicit(&h->health_flags, memory_order_relaxed) == 0;
}
/* True when both addresses are equal (family, address and port). */
bool rs_host_addr_equal(const struct sockaddr *a, const struct sockaddr *b);
/* Formats "ip:port" / "[ip6]:port" into out (RS_HOST_ADDR_STR_LEN bytes). Returns false for
 * families other than AF_INET and AF_INET6. */
bool rs_host_format_addr(const struct sockaddr *addr, char *out, size_t out_len);

/* Data-path helpers for the per-host stats (relaxed atomics: counters for display only). */
static inline void rs_host_stat_inc(_Atomic uint64_t *counter)
{
    atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
}
static inline void rs_host_stat_gauge_add(_Atomic int64_t *gauge, int64_t delta)
{
    atomic_fetch_add_explicit(gauge, delta, memory_order_relaxed);
}

/* ---- host sets ---- */

struct rs_host_set {
    size_t n_hosts;
    uint64_t total_weight;
    uint32_t max_weight;
    bool equal_weights;   /* every host has the same weight (LBs take their unweighted paths) */
    size_t n_healthy;     /* hosts with no health flag at build time */
    uint64_t generation;  /* set by the cluster when published; per-worker LB state keys on it */
    uint64_t *cum_weight; /* cum_weight[i] = sum of weights of hosts[0..i] (weighted random) */
    struct rs_host *hosts[];
};

/* Builds a set from n hosts, taking over the caller's reference on each (on failure the references
 * are dropped). n may be 0. Returns NULL only on allocation failure. */
struct rs_host_set *rs_host_set_new(struct rs_host **hosts, size_t n);
/* Drops the set's host references and frees it. Callers that published the set must retire it
 * through QSBR instead of calling this directly (see rs_cluster_set_hosts). */
void rs_host_set_free(struct rs_host_set *set);
/* Index of the host with this address, or -1. */
long rs_host_set_find(const struct rs_host_set *set, const struct sockaddr *addr);

#endif
