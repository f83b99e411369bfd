/* Histograms: per-shard bucket cells, their merge, Envoy's flush intervals and quantile
 * estimates. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/stats/store_internal.h"

#define HIST_MARK 2 /* chunk->used value for a slot that holds histogram cells */

const double rs_stats_histogram_bounds[RS_STATS_HISTOGRAM_BUCKETS] = {
    0.5,  1,    5,     10,    25,    50,     100,    250,     500,     1000,
    2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000,
};

/* Integer upper bounds equivalent to the double ones for integer values (v <= 0.5 iff v == 0). */
static const uint64_t int_bounds[RS_STATS_HISTOGRAM_BUCKETS] = {
    0,    1,    5,     10,    25,    50,     100,    250,     500,     1000,
    2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000,
};

static inline uint64_t ld(_Atomic(uint64_t) *p)
{
    return atomic_load_explicit(p, memory_order_relaxed);
}
static inline void st(_Atomic(uint64_t) *p, uint64_t v)
{
    atomic_store_explicit(p, v, memory_order_relaxed);
}

void rs_stats_hist_attach_(struct rs_stats_shard *shard, rs_stat_id id)
{
    struct rs_stats_hist_cells *cells = rs_stats_xcalloc_(1, sizeof(*cells));
    st(&cells->min, UINT64_MAX);
    struct rs_stats_chunk *chunk = rs_stats_chunk_(shard, id);
    uint32_t i = id & (RS_STATS_CHUNK_SIZE - 1u);
    atomic_store_explicit(&chunk->slots[i], (uint64_t)(uintptr_t)cells, memory_order_release);
    atomic_store_explicit(&chunk->used[i], HIST_MARK, memory_order_release);
}

static struct rs_stats_hist_cells *cells_of(struct rs_stats_shard *shard, rs_stat_id id)
{
    struct rs_stats_chunk *chunk = rs_stats_chunk_(shard, id);
    uint32_t i = id & (RS_STATS_CHUNK_SIZE - 1u);
    if (chunk == NULL || atomic_load_explicit(&chunk->used[i], memory_order_acquire) != HIST_MARK)
        return NULL;
    return (struct rs_stats_hist_cells *)(uintptr_t)atomic_load_explicit(&chunk->slots[i],
                                                                         memory_order_acquire);
}

void rs_stats_hist_detach_(struct rs_stats_shard *shard, rs_stat_id id)
{
    free(cells_of(shard, id));
}

void rs_stats_histogram_record(struct rs_stats_shard *shard, rs_stat_id id, uint64_t value)
{
    /* The check makes a counter id passed here by mistake a no-op instead of a wild write. */
    struct rs_stats_hist_cells *h = cells_of(shard, id);
    if (h == NULL)
        return;
    unsigned b = 0;
    while (b < RS_STATS_HISTOGRAM_BUCKETS && value > int_bounds[b])
        b++;
    st(&h->buckets[b], ld(&h->buckets[b]) + 1);
    st(&h->sum, ld(&h->sum) + value);
    if (value < ld(&h->min))
        st(&h->min, value);
    if (value > ld(&h->max))
        st(&h->max, value);
}

void rs_stats_hist_merge_(struct rs_stats_store *store, rs_stat_id id,
                          struct rs_stats_histogram_summary *out)
{
    uint64_t buckets[RS_STATS_HISTOGRAM_BUCKETS + 1] = {0};
    uint64_t min = UINT64_MAX;
    memset(out, 0, sizeof(*out));
    for (struct rs_stats_shard *s = atomic_load_explicit(&store->shards, memory_order_acquire);
         s != NULL; s = s->next) {
        struct rs_stats_hist_cells *h = cells_of(s, id);
        if (h == NULL)
            continue;
        for (unsigned b = 0; b <= RS_STATS_HISTOGRAM_BUCKETS; b++)
            buckets[b] += ld(&h->buckets[b]);
        out->sum += ld(&h->sum);
        uint64_t smin = ld(&h->min), smax = ld(&h->max);
        if (smin < min)
            min = smin;
        if (smax > out->max)
            out->max = smax;
    }
    uint64_t cum = 0;
    for (unsigned b = 0; b < RS_STATS_HISTOGRAM_BUCKETS; b++) {
        cum += buckets[b];
        out->bucket_counts[b] = cum;
    }
    out->count = cum + buckets[RS_STATS_HISTOGRAM_BUCKETS];
    out->min = out->count ? min : 0;
    if (out->count == 0)
        out->max = 0;
}

/* Returns the histogram index of id, or -1 if id is not a histogram. Caller holds mu. */
static long hist_index(struct rs_stats_store *store, rs_stat_id id)
{
    if (id >= store->count || store->meta[id].kind != RS_STAT_HISTOGRAM)
        return -1;
    return store->meta[id].hist_index;
}

void rs_stats_histogram_value(struct rs_stats_store *store, rs_stat_id id,
                              struct rs_stats_histogram_summary *out)
{
    pthread_mutex_lock(&store->mu);
    long idx = hist_index(store, id);
    pthread_mutex_unlock(&store->mu);
    if (idx < 0)
        memset(out, 0, sizeof(*out));
    else
        rs_stats_hist_merge_(store, id, out);
}

void rs_stats_histogram_interval_value(struct rs_stats_store *store, rs_stat_id id,
                                       struct rs_stats_histogram_summary *out)
{
    pthread_mutex_lock(&store->mu);
    long idx = hist_index(store, id);
    if (idx < 0)
        memset(out, 0, sizeof(*out));
    else
        *out = store->hist_interval[idx];
    pthread_mutex_unlock(&store->mu);
}

void rs_stats_flush(struct rs_stats_store *store)
{
    pthread_mutex_lock(&store->mu);
    for (uint32_t i = 0; i < store->hist_count; i++) {
        struct rs_stats_histogram_summary cur;
        rs_stats_hist_merge_(store, store->hist_ids[i], &cur);
        struct rs_stats_histogram_summary *last = &store->hist_last[i];
        struct rs_stats_histogram_summary *iv = &store->hist_interval[i];
        iv->count = cur.count - last->count;
        iv->sum = cur.sum - last->sum;
        for (unsigned b = 0; b < RS_STATS_HISTOGRAM_BUCKETS; b++)
            iv->bucket_counts[b] = cur.bucket_counts[b] - last->bucket_counts[b];
        /* Per-interval extremes are not kept; the all-time ones still bound the estimate. */
        iv->min = iv->count ? cur.min : 0;
        iv->max = iv->count ? cur.max : 0;
        *last = cur;
    }
    pthread_mutex_unlock(&store->mu);
}

double rs_stats_histogram_quantile(const struct rs_stats_histogram_summary *h, double q)
{
    if (h->count == 0)
        return NAN;
    if (q < 0)
        q = 0;
    if (q > 1)
        q = 1;
    double rank = q * (double)h->count;
    /* The first non-empty bucket whose cumulative count reaches the rank; the overflow bucket
     * (index RS_STATS_HISTOGRAM_BUCKETS) reaches every rank. */
    unsigned b = 0;
    uint64_t prev = 0;
    for (; b < RS_STATS_HISTOGRAM_BUCKETS; b++) {
        uint64_t cum = h->bucket_counts[b];
        if (cum > prev && (double)cum >= rank)
            break;
        prev = cum;
    }
    uint64_t in_bucket = (b < RS_STATS_HISTOGRAM_BUCKETS ? h->bucket_counts[b] : h->count) - prev;
    /* Values are integers, so bucket b holds lower..upper with lower one past the previous
     * bound: a histogram of 1 ms durations says 1, not somewhere in (0.5, 1]. */
    double lower = b == 0 ? 0 : (double)(int_bounds[b - 1] + 1);
    double upper = b < RS_STATS_HISTOGRAM_BUCKETS ? (double)int_bounds[b] : (double)h->max;
    double frac = in_bucket ? (rank - (double)prev) / (double)in_bucket : 0;
    if (frac < 0)
        frac = 0;
    double v = lower + frac * (upper - lower);
    if (v < (double)h->min)
        v = (double)h->min;
    if (v > (double)h->max)
        v = (double)h->max;
    return v;
}
