/* Private to proxy/stats: the store's layout, shared by the registration, read and render files. */
#ifndef RS_STATS_STORE_INTERNAL_H
#define RS_STATS_STORE_INTERNAL_H

#include <pthread.h>

#include "proxy/stats/stats.h"

/* One shard's cells for one histogram; the shard's slot for the histogram id points here and its
 * used byte is 2. The extra bucket counts values above the last bound. min starts at UINT64_MAX.
 * The count is the sum of the buckets, so a reader never sees a count that disagrees with them. */
struct rs_stats_hist_cells {
    _Atomic(uint64_t) buckets[RS_STATS_HISTOGRAM_BUCKETS + 1];
    _Atomic(uint64_t) sum, min, max;
};

struct rs_stats_meta {
    char *name; /* owned; never freed before the store, so readers may keep the pointer */
    enum rs_stat_kind kind;
    uint32_t hist_index; /* histograms only: index into hist_ids / hist_last / hist_interval */
};

struct rs_stats_store {
    pthread_mutex_t mu; /* guards everything below except the shard list's traversal */
    struct rs_stats_meta *meta;
    uint32_t count, meta_cap;
    uint32_t *table; /* open addressing on name hash: id + 1, 0 = empty */
    uint32_t table_cap;
    rs_stat_id *hist_ids;
    /* Interval bookkeeping (rs_stats_flush): merged values at the last flush and the difference
     * between the last two. */
    struct rs_stats_histogram_summary *hist_last, *hist_interval;
    uint32_t hist_count, hist_cap;
    uint32_t nchunks; /* chunks 0 .. nchunks-1 exist in every shard (and the sink chunk) */
    /* Pushed under mu with release; traversed without it (shards are never removed). */
    struct rs_stats_shard *_Atomic shards;
};

/* Allocation that aborts on failure: stats are registered at config time and a half-registered
 * stat (cells in some shards only) would be worse than stopping. */
void *rs_stats_xcalloc_(size_t n, size_t size);

/* Allocates a histogram's cells for one shard and stores them in its slot. Caller holds mu. */
void rs_stats_hist_attach_(struct rs_stats_shard *shard, rs_stat_id id);
/* Frees a histogram's cells in one shard (store teardown). */
void rs_stats_hist_detach_(struct rs_stats_shard *shard, rs_stat_id id);
/* Merged cumulative value over all shards (caller has checked that id is a histogram). */
void rs_stats_hist_merge_(struct rs_stats_store *store, rs_stat_id id,
                          struct rs_stats_histogram_summary *out);

/* Reads for renderers: no kind check, no lock needed. */
uint64_t rs_stats_sum_slots_(struct rs_stats_store *store, rs_stat_id id);
bool rs_stats_gauge_used_(struct rs_stats_store *store, rs_stat_id id);

#endif
