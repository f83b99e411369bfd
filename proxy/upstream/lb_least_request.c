/* LEAST_REQUEST, as Envoy. Equal weights: power of `choice_count` choices, i.e. sample that many
 * hosts at random and keep the one with the fewest active requests. Unequal weights: an EDF
 * schedule where a host's effective weight is weight / (active_requests + 1) (Envoy's formula with
 * the default active_request_bias of 1), evaluated each time the host is picked. */
#include "proxy/upstream/lb_internal.h"

static int64_t active_requests(const struct rs_host *h)
{
    int64_t a = atomic_load_explicit(&h->stats.rq_active, memory_order_relaxed);
    return a > 0 ? a : 0;
}

bool rs_lb_least_request_prepare(struct rs_lb_worker *w, const struct rs_host_set *set)
{
    rs_lb_edf_clear(&w->edf);
    if (set->equal_weights || set->n_hosts == 0)
        return true;
    return rs_lb_edf_init(&w->edf, set, false);
}

size_t rs_lb_least_request_pick(struct rs_lb_worker *w, const struct rs_host_set *set,
                                uint32_t choice_count)
{
    if (w->edf.heap != NULL) {
        const struct rs_host *h = set->hosts[w->edf.heap[0].index];
        double cost = (double)(active_requests(h) + 1) / (double)h->weight;
        return rs_lb_edf_pick(&w->edf, cost);
    }
    size_t best = (size_t)rs_lb_rand_below(w, set->n_hosts);
    int64_t best_active = active_requests(set->hosts[best]);
    for (uint32_t i = 1; i < choice_count; i++) {
        size_t cand = (size_t)rs_lb_rand_below(w, set->n_hosts);
        int64_t a = active_requests(set->hosts[cand]);
        if (a < best_active) {
            best = cand;
            best_active = a;
        }
    }
    return best;
}
