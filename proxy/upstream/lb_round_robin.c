/* ROUND_ROBIN. Equal weights: a plain cursor (O(1)). Unequal weights: an exact EDF schedule, which
 * spreads each host's turns smoothly over the cycle (weights 1,2,3 give c b c a b c, not a b b c c
 * c) and gives every host exactly its weight's share of any total_weight consecutive picks. */
#include "proxy/upstream/lb_internal.h"

bool rs_lb_round_robin_prepare(struct rs_lb_worker *w, const struct rs_host_set *set)
{
    rs_lb_edf_clear(&w->edf);
    /* Start each worker at a random place so that workers (and restarts) do not all send their
     * first connections to the same host. */
    w->rr_next = set->n_hosts > 0 ? (size_t)rs_lb_rand_below(w, set->n_hosts) : 0;
    if (set->equal_weights || set->n_hosts == 0)
        return true;
    if (!rs_lb_edf_init(&w->edf, set, true))
        return false;
    for (size_t skip = w->rr_next; skip > 0; skip--)
        rs_lb_edf_pick(&w->edf, 0);
    return true;
}

size_t rs_lb_round_robin_pick(struct rs_lb_worker *w, const struct rs_host_set *set)
{
    if (w->edf.heap != NULL)
        return rs_lb_edf_pick(&w->edf, 0);
    size_t i = w->rr_next % set->n_hosts;
    w->rr_next = i + 1;
    return i;
}
