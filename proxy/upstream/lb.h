/* Host selection. Workers call rs_cluster_pick_host with their worker id; each worker uses only its
 * own slot of the cluster's LB state, so picking takes no lock and shares no written cache line
 * (except the picked host's reference count). */
#ifndef RS_UPSTREAM_LB_H
#define RS_UPSTREAM_LB_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct rs_cluster;
struct rs_host;

struct rs_lb_context {
    /* ORIGINAL_DST: the downstream connection's original destination (SO_ORIGINAL_DST or the
     * listener's local address). Ignored by the other policies. */
    const struct sockaddr *original_dst;
    /* A host to avoid if any other exists (a retry after this host failed), or NULL. */
    const struct rs_host *avoid;
    /* For hash-based policies (ring hash, maglev) once they exist. */
    uint64_t hash;
    bool has_hash;
    /* The worker loop's time (rs_loop_now_ms); 0 reads CLOCK_MONOTONIC. Used for ORIGINAL_DST's
     * idle-host cleanup. */
    uint64_t now_ms;
};

/* Picks a host for a new upstream connection or request, on worker `worker` (< n_workers given at
 * cluster creation; ids are taken modulo n_workers, so two threads must never pass ids that map to
 * the same slot: a main-thread caller needs a slot of its own). Returns the host with a
 * reference taken, which the caller drops with rs_host_unref, or NULL when the cluster has no host
 * (the caller counts upstream_cx_none_healthy). ctx may be NULL. */
struct rs_host *rs_cluster_pick_host(struct rs_cluster *c, unsigned worker,
                                     const struct rs_lb_context *ctx);

/* Reseeds one worker's PRNG and resets its schedule (tests; reproducible picks). */
void rs_lb_seed(struct rs_cluster *c, unsigned worker, uint64_t seed);

#endif
