/* Counters, gauges and histograms with Envoy's names, sharded per thread and merged on read.
 *
 * Names are registered in a store (main thread, at config time: a mutex guards the name table,
 * never the data path). Each writing thread (every worker, and the main thread) owns a shard: a
 * chunked array indexed by stat id that only that thread writes, with relaxed atomic stores, so
 * an increment is a load and a store, no lock and no shared cache line. Readers (admin, on the main
 * thread) sum the shards with relaxed loads. Stats are never unregistered: a removed cluster's
 * stats keep their last values, as Envoy's do until they are evicted. Shards are never freed
 * before the store either, so a finished worker's counts stay in the totals. */
#ifndef RS_STATS_STATS_H
#define RS_STATS_STATS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct rs_strbuf;

typedef uint32_t rs_stat_id;
/* Returned when a name cannot be registered. Writing to it is harmless: the fast path masks the
 * chunk index, so this id lands in a reserved sink slot that is never rendered. */
#define RS_STAT_INVALID UINT32_MAX

/* Chunking of stat ids: chunks are allocated by the registering thread for every shard before
 * the id is handed out, so a writer never sees a missing chunk. */
#define RS_STATS_CHUNK_BITS 10u
#define RS_STATS_CHUNK_SIZE (1u << RS_STATS_CHUNK_BITS)
#define RS_STATS_MAX_CHUNKS 1024u /* up to 1M stats */
/* The last slot of the last chunk is the sink that RS_STAT_INVALID maps to. */
#define RS_STATS_MAX_STATS (RS_STATS_CHUNK_SIZE * RS_STATS_MAX_CHUNKS - 1u)

enum rs_stat_kind { RS_STAT_COUNTER, RS_STAT_GAUGE, RS_STAT_HISTOGRAM };

/* Histogram values: Envoy's default bucket bounds (0.5 ... 3600000, 19 of them) in the unit of
 * the stat (milliseconds for durations, bytes for sizes). Values above the last bound are counted
 * in an overflow bucket (Prometheus' le="+Inf"). */
#define RS_STATS_HISTOGRAM_BUCKETS 19
extern const double rs_stats_histogram_bounds[RS_STATS_HISTOGRAM_BUCKETS];

struct rs_stats_store;

/* One chunk of one shard. `used` is 1 once a gauge was written: a gauge that went up and back to
 * zero still counts as used (as Envoy's), which its value alone cannot tell. Counters are "used"
 * when non-zero, so their fast path stays a single load and store. For a histogram, `used` is 2
 * and the slot holds a pointer to the shard's cells for it. */
struct rs_stats_chunk {
    _Atomic(uint64_t) slots[RS_STATS_CHUNK_SIZE];
    _Atomic(uint8_t) used[RS_STATS_CHUNK_SIZE];
};

/* One thread's values. Counters and gauges live in the chunk slots (gauges as int64 deltas summed
 * on read); a histogram's slot holds a pointer to that shard's own bucket array for it (allocated
 * by the registering thread, like the chunks). Owned by the store; only the creating thread
 * writes through it. */
struct rs_stats_shard {
    struct rs_stats_chunk *_Atomic chunks[RS_STATS_MAX_CHUNKS];
    struct rs_stats_store *store;
    struct rs_stats_shard *next; /* the store's list of shards; immutable once published */
};

struct rs_stats_store *rs_stats_store_new(void);
/* Frees the store and every shard created from it. No thread may use either afterwards. */
void rs_stats_store_free(struct rs_stats_store *store);

/* Find-or-create by full name, e.g. "cluster.backend.upstream_cx_total". Thread-safe.
 * Returns RS_STAT_INVALID if the name exists with another kind, is empty, or the table is full. */
rs_stat_id rs_stats_counter(struct rs_stats_store *store, const char *name);
rs_stat_id rs_stats_gauge(struct rs_stats_store *store, const char *name);
rs_stat_id rs_stats_histogram(struct rs_stats_store *store, const char *name);
/* printf-style convenience wrappers of the above. */
rs_stat_id rs_stats_counterf(struct rs_stats_store *store, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
rs_stat_id rs_stats_gaugef(struct rs_stats_store *store, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
rs_stat_id rs_stats_histogramf(struct rs_stats_store *store, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A shard for the calling thread; owned by the store (freed with it). Thread-safe. */
struct rs_stats_shard *rs_stats_shard_new(struct rs_stats_store *store);

static inline struct rs_stats_chunk *rs_stats_chunk_(struct rs_stats_shard *shard, rs_stat_id id)
{
    return atomic_load_explicit(
        &shard->chunks[(id >> RS_STATS_CHUNK_BITS) & (RS_STATS_MAX_CHUNKS - 1u)],
        memory_order_acquire);
}
static inline _Atomic(uint64_t) *rs_stats_slot_(struct rs_stats_shard *shard, rs_stat_id id)
{
    return &rs_stats_chunk_(shard, id)->slots[id & (RS_STATS_CHUNK_SIZE - 1u)];
}

/* Data path: only the shard's own thread calls these. Counters. */
static inline void rs_stats_add(struct rs_stats_shard *shard, rs_stat_id id, uint64_t n)
{
    _Atomic(uint64_t) *slot = rs_stats_slot_(shard, id);
    atomic_store_explicit(slot, atomic_load_explicit(slot, memory_order_relaxed) + n,
                          memory_order_relaxed);
}
static inline void rs_stats_inc(struct rs_stats_shard *shard, rs_stat_id id)
{
    rs_stats_add(shard, id, 1);
}

/* Gauges: each shard keeps its own delta; the merged value is the sum. */
static inline void rs_stats_gauge_add(struct rs_stats_shard *shard, rs_stat_id id, int64_t delta)
{
    struct rs_stats_chunk *chunk = rs_stats_chunk_(shard, id);
    uint32_t i = id & (RS_STATS_CHUNK_SIZE - 1u);
    atomic_store_explicit(&chunk->slots[i],
                          atomic_load_explicit(&chunk->slots[i], memory_order_relaxed) +
                              (uint64_t)delta,
                          memory_order_relaxed);
    atomic_store_explicit(&chunk->used[i], 1, memory_order_relaxed);
}
/* For gauges written by a single thread only (e.g. membership, set on the main thread): other
 * shards' deltas for the same gauge would be added to this value. */
static inline void rs_stats_gauge_set(struct rs_stats_shard *shard, rs_stat_id id, int64_t value)
{
    struct rs_stats_chunk *chunk = rs_stats_chunk_(shard, id);
    uint32_t i = id & (RS_STATS_CHUNK_SIZE - 1u);
    atomic_store_explicit(&chunk->slots[i], (uint64_t)value, memory_order_relaxed);
    atomic_store_explicit(&chunk->used[i], 1, memory_order_relaxed);
}
/* Not inline: a bucket search and four stores. Ignores ids that are not histograms. */
void rs_stats_histogram_record(struct rs_stats_shard *shard, rs_stat_id id, uint64_t value);

/* ---- read side (merged over all shards; any thread, typically main) ---- */
uint64_t rs_stats_counter_value(struct rs_stats_store *store, rs_stat_id id);
int64_t rs_stats_gauge_value(struct rs_stats_store *store, rs_stat_id id);
/* Counters: non-zero; gauges: ever written; histograms: ever recorded. */
bool rs_stats_used(struct rs_stats_store *store, rs_stat_id id);
/* Returns RS_STAT_INVALID if the name is not registered; kind may be NULL. */
rs_stat_id rs_stats_find(struct rs_stats_store *store, const char *name, enum rs_stat_kind *kind);
/* Number of registered stats (ids are 0 .. count-1). */
uint32_t rs_stats_count(struct rs_stats_store *store);

struct rs_stats_histogram_summary {
    uint64_t count;
    uint64_t sum;
    uint64_t min, max; /* of recorded values; 0 when count is 0 */
    /* cumulative: bucket_counts[i] = values <= rs_stats_histogram_bounds[i]; count - last = above
     */
    uint64_t bucket_counts[RS_STATS_HISTOGRAM_BUCKETS];
};
/* All values recorded since the histogram was registered. */
void rs_stats_histogram_value(struct rs_stats_store *store, rs_stat_id id,
                              struct rs_stats_histogram_summary *out);
/* Values recorded between the last two rs_stats_flush calls (Envoy's "interval"); count 0 before
 * the first flush. */
void rs_stats_histogram_interval_value(struct rs_stats_store *store, rs_stat_id id,
                                       struct rs_stats_histogram_summary *out);
/* Closes a histogram interval (Envoy's stats flush, every stats_flush_interval, 5 s by default).
 * Called from one thread (main). */
void rs_stats_flush(struct rs_stats_store *store);
/* Estimated quantile (q in [0,1]) by linear interpolation over the integers of its bucket,
 * clamped to the recorded min and max. NaN when count is 0. */
double rs_stats_histogram_quantile(const struct rs_stats_histogram_summary *h, double q);

/* Admin renderings. filter: a POSIX extended regex searched in the full name, or NULL. used_only:
 * skip stats never written. */
struct rs_stats_render_options {
    const char *filter;
    bool used_only;
};
/* "name: value" lines sorted by name (counters and gauges, then histograms), histograms as Envoy
 * prints them (P0(interval,cumulative) ... P100(...), or "No recorded values"). Each returns 0, or
 * -1 with a message in out (and nothing else appended) if the filter regex is invalid. */
int rs_stats_render_text(struct rs_stats_store *store, const struct rs_stats_render_options *opt,
                         struct rs_strbuf *out);
/* Envoy's {"stats":[{"name":..,"value":..},...,{"histograms":{...}}]}. */
int rs_stats_render_json(struct rs_stats_store *store, const struct rs_stats_render_options *opt,
                         struct rs_strbuf *out);
/* Prometheus text exposition with Envoy's tag extraction (envoy_cluster_upstream_cx_total
 * {envoy_cluster_name="x"} ...). */
int rs_stats_render_prometheus(struct rs_stats_store *store,
                               const struct rs_stats_render_options *opt, struct rs_strbuf *out);

#endif
