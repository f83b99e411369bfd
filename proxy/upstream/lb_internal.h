/* Private to upstream/: per-worker load-balancer state and the per-algorithm pick functions.
 *
 * Each worker owns one slot of the cluster's rs_lb_worker array and is the only thread that touches
 * it; slots are cache-line aligned so workers never share a line. State that depends on the host
 * set (schedules) is rebuilt lazily when the worker sees a new set generation. */
#ifndef RS_UPSTREAM_LB_INTERNAL_H
#define RS_UPSTREAM_LB_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proxy/upstream/cluster.h"
#include "proxy/upstream/lb.h"

#define RS_LB_CACHE_LINE 64

/* Earliest-deadline-first schedule over a host set's indices. Two flavours:
 * exact (weighted round robin): host i's k-th turn has deadline k / w_i, compared exactly in
 *   integers, so every run of total_weight picks gives host i exactly w_i picks;
 * dynamic (weighted least request): after a pick the host's next deadline is pushed by
 *   (active_requests + 1) / weight, Envoy's effective weight with active_request_bias 1. */
struct rs_lb_edf_entry {
    double deadline; /* dynamic */
    uint64_t turns;  /* exact: picks so far */
    uint32_t weight;
    uint32_t index;
};

struct rs_lb_edf {
    struct rs_lb_edf_entry *heap;
    size_t n;
    bool exact;
};

/* Builds a schedule over set (n == 0 allowed). Returns false on allocation failure. */
bool rs_lb_edf_init(struct rs_lb_edf *edf, const struct rs_host_set *set, bool exact);
void rs_lb_edf_clear(struct rs_lb_edf *edf);
/* Index of the next host; `next_cost` (dynamic only) is how far its next deadline moves. */
uint32_t rs_lb_edf_pick(struct rs_lb_edf *edf, double next_cost);

/* ORIGINAL_DST: destinations seen by this worker, reused while in use. */
struct rs_lb_odst_entry {
    struct rs_host *host; /* one reference owned by the map */
    uint64_t last_used_ms;
};

struct rs_lb_odst_map {
    struct rs_lb_odst_entry *slots; /* open addressing, power-of-two capacity, NULL host = free */
    size_t cap;
    size_t count;
    uint64_t next_sweep_ms;
};

struct rs_lb_worker {
    _Alignas(RS_LB_CACHE_LINE) uint64_t generation; /* host set the state was built for; 0: none */
    uint64_t rng;                                   /* splitmix64 state */
    size_t rr_next;                                 /* unweighted round robin cursor */
    struct rs_lb_edf edf;
    struct rs_lb_odst_map odst;
};

struct rs_lb_worker *rs_lb_workers_new(unsigned n);
void rs_lb_workers_free(struct rs_lb_worker *w, unsigned n);

uint64_t rs_lb_rand(struct rs_lb_worker *w);
/* Uniform in [0, bound). */
uint64_t rs_lb_rand_below(struct rs_lb_worker *w, uint64_t bound);

/* Per-algorithm entry points: set non-empty, w's state built for set. Return an index into set. */
size_t rs_lb_round_robin_pick(struct rs_lb_worker *w, const struct rs_host_set *set);
size_t rs_lb_random_pick(struct rs_lb_worker *w, const struct rs_host_set *set);
size_t rs_lb_least_request_pick(struct rs_lb_worker *w, const struct rs_host_set *set,
                                uint32_t choice_count);
/* (Re)builds w's set-dependent state for the policy. */
bool rs_lb_round_robin_prepare(struct rs_lb_worker *w, const struct rs_host_set *set);
bool rs_lb_least_request_prepare(struct rs_lb_worker *w, const struct rs_host_set *set);

/* ORIGINAL_DST: returns a referenced host for ctx->original_dst, or NULL. */
struct rs_host *rs_lb_original_dst_pick(struct rs_cluster *c, struct rs_lb_worker *w,
                                        const struct rs_lb_context *ctx);
void rs_lb_odst_map_clear(struct rs_lb_odst_map *m);

#endif
