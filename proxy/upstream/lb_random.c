/* RANDOM: uniform over hosts when weights are equal, otherwise proportional to weight through a
 * binary search of the set's cumulative weights (shared, read-only). */
#include "proxy/upstream/lb_internal.h"

size_t rs_lb_random_pick(struct rs_lb_worker *w, const struct rs_host_set *set)
{
    if (set->equal_weights)
        return (size_t)rs_lb_rand_below(w, set->n_hosts);
    uint64_t r = rs_lb_rand_below(w, set->total_weight);
    /* First index whose cumulative weight exceeds r. */
    size_t lo = 0, hi = set->n_hosts - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (set->cum_weight[mid] > r)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}
