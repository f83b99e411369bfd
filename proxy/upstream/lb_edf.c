/* Earliest-deadline-first schedule as a binary min-heap (see lb_internal.h). */
#include <stdlib.h>

#include "proxy/upstream/lb_internal.h"

/* Exact comparison of (a.turns+1)/a.weight with (b.turns+1)/b.weight: cross-multiplied in 128 bits,
 * so it never overflows and never rounds. Ties go to the lower index, which keeps the order stable.
 */
static bool before(const struct rs_lb_edf *edf, const struct rs_lb_edf_entry *a,
                   const struct rs_lb_edf_entry *b)
{
    if (edf->exact) {
        unsigned __int128 l = (unsigned __int128)(a->turns + 1) * b->weight;
        unsigned __int128 r = (unsigned __int128)(b->turns + 1) * a->weight;
        if (l != r)
            return l < r;
    } else if (a->deadline != b->deadline) {
        return a->deadline < b->deadline;
    }
    return a->index < b->index;
}

static void sift_down(struct rs_lb_edf *edf, size_t i)
{
    struct rs_lb_edf_entry *h = edf->heap;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < edf->n && before(edf, &h[l], &h[m]))
            m = l;
        if (r < edf->n && before(edf, &h[r], &h[m]))
            m = r;
        if (m == i)
            return;
        struct rs_lb_edf_entry t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

bool rs_lb_edf_init(struct rs_lb_edf *edf, const struct rs_host_set *set, bool exact)
{
    rs_lb_edf_clear(edf);
    edf->exact = exact;
    if (set->n_hosts == 0)
        return true;
    edf->heap = calloc(set->n_hosts, sizeof(*edf->heap));
    if (edf->heap == NULL)
        return false;
    edf->n = set->n_hosts;
    for (size_t i = 0; i < set->n_hosts; i++) {
        uint32_t w = set->hosts[i]->weight;
        edf->heap[i] = (struct rs_lb_edf_entry){
            .deadline = 1.0 / (double)w, .turns = 0, .weight = w, .index = (uint32_t)i};
    }
    for (size_t i = edf->n / 2; i-- > 0;)
        sift_down(edf, i);
    return true;
}

void rs_lb_edf_clear(struct rs_lb_edf *edf)
{
    free(edf->heap);
    edf->heap = NULL;
    edf->n = 0;
}

uint32_t rs_lb_edf_pick(struct rs_lb_edf *edf, double next_cost)
{
    struct rs_lb_edf_entry *top = &edf->heap[0];
    uint32_t index = top->index;
    top->turns++;
    top->deadline += next_cost;
    sift_down(edf, 0);
    return index;
}
