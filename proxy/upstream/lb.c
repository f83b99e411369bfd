/* Dispatch to the cluster's policy, per-worker state lifetime, and the PRNG. */
#include "proxy/upstream/lb.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proxy/upstream/cluster.h"
#include "proxy/upstream/lb_internal.h"

/* splitmix64: tiny, fast and good enough for load balancing; one state word per worker. */
uint64_t rs_lb_rand(struct rs_lb_worker *w)
{
    uint64_t z = (w->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t rs_lb_rand_below(struct rs_lb_worker *w, uint64_t bound)
{
    /* Lemire's multiply-shift; the bias (bound / 2^64) is irrelevant for host counts. */
    return (uint64_t)(((unsigned __int128)rs_lb_rand(w) * bound) >> 64);
}

struct rs_lb_worker *rs_lb_workers_new(unsigned n)
{
    struct rs_lb_worker *w = aligned_alloc(RS_LB_CACHE_LINE, n * sizeof(*w));
    if (w == NULL)
        return NULL;
    memset(w, 0, n * sizeof(*w));
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)(uintptr_t)w;
    for (unsigned i = 0; i < n; i++) {
        w[i].rng = seed + i * 0x632be59bd9b4e019ull;
        rs_lb_rand(&w[i]);
    }
    return w;
}

void rs_lb_workers_free(struct rs_lb_worker *w, unsigned n)
{
    if (w == NULL)
        return;
    for (unsigned i = 0; i < n; i++) {
        rs_lb_edf_clear(&w[i].edf);
        rs_lb_odst_map_clear(&w[i].odst);
    }
    free(w);
}

void rs_lb_seed(struct rs_cluster *c, unsigned worker, uint64_t seed)
{
    struct rs_lb_worker *w = &c->lb_[worker % c->n_workers_];
    w->rng = seed;
    w->generation = 0;
}

static bool prepare(struct rs_cluster *c, struct rs_lb_worker *w, const struct rs_host_set *set)
{
    bool ok = true;
    switch (c->lb_policy) {
    case RS_LB_ROUND_ROBIN:
        ok = rs_lb_round_robin_prepare(w, set);
        break;
    case RS_LB_LEAST_REQUEST:
        ok = rs_lb_least_request_prepare(w, set);
        break;
    case RS_LB_RANDOM:
    case RS_LB_CLUSTER_PROVIDED:
        break;
    }
    if (ok)
        w->generation = set->generation;
    return ok;
}

static size_t pick_index(struct rs_cluster *c, struct rs_lb_worker *w,
                         const struct rs_host_set *set)
{
    switch (c->lb_policy) {
    case RS_LB_LEAST_REQUEST:
        return rs_lb_least_request_pick(w, set, c->lr_choice_count);
    case RS_LB_RANDOM:
        return rs_lb_random_pick(w, set);
    case RS_LB_ROUND_ROBIN:
    case RS_LB_CLUSTER_PROVIDED:
        break;
    }
    return rs_lb_round_robin_pick(w, set);
}

/* How many times a policy may pick again to avoid ctx->avoid before we step to a neighbour. */
#define AVOID_ATTEMPTS 3

struct rs_host *rs_cluster_pick_host(struct rs_cluster *c, unsigned worker,
                                     const struct rs_lb_context *ctx)
{
    struct rs_lb_worker *w = &c->lb_[worker % c->n_workers_];
    if (c->type == RS_CLUSTER_ORIGINAL_DST)
        return rs_lb_original_dst_pick(c, w, ctx);

    const struct rs_host_set *set = rs_cluster_hosts(c);
    if (set->n_hosts == 0)
        return NULL;
    if (w->generation != set->generation && !prepare(c, w, set)) {
        /* Out of memory for the schedule: fall back to uniform picks rather than failing. */
        return rs_host_ref(set->hosts[rs_lb_rand_below(w, set->n_hosts)]);
    }

    const struct rs_host *avoid = ctx != NULL ? ctx->avoid : NULL;
    size_t i = pick_index(c, w, set);
    if (avoid != NULL && set->n_hosts > 1) {
        /* Keep the policy's own choice where possible (it knows weights and load); a run of bad
         * luck falls back to the next host in the set so a retry never lands on `avoid`. */
        for (int attempt = 1; set->hosts[i] == avoid && attempt < AVOID_ATTEMPTS; attempt++)
            i = pick_index(c, w, set);
        if (set->hosts[i] == avoid)
            i = (i + 1) % set->n_hosts;
    }
    return rs_host_ref(set->hosts[i]);
}
