/* The name table and the shards: registration, shard creation, merged reads of counters and
 * gauges. Histogram cells are in histogram.c, renderings in render_*.c. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/stats/store_internal.h"

#define SINK_CHUNK (RS_STATS_MAX_CHUNKS - 1u)

void *rs_stats_xcalloc_(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (p == NULL)
        abort();
    return p;
}

static void *xrealloc(void *p, size_t n, size_t size)
{
    p = reallocarray(p, n, size);
    if (p == NULL)
        abort();
    return p;
}

static uint64_t hash_name(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

struct rs_stats_store *rs_stats_store_new(void)
{
    struct rs_stats_store *store = rs_stats_xcalloc_(1, sizeof(*store));
    pthread_mutex_init(&store->mu, NULL);
    store->table_cap = 1024;
    store->table = rs_stats_xcalloc_(store->table_cap, sizeof(*store->table));
    return store;
}

void rs_stats_store_free(struct rs_stats_store *store)
{
    if (store == NULL)
        return;
    struct rs_stats_shard *shard = atomic_load_explicit(&store->shards, memory_order_acquire);
    while (shard != NULL) {
        struct rs_stats_shard *next = shard->next;
        for (uint32_t i = 0; i < store->hist_count; i++)
            rs_stats_hist_detach_(shard, store->hist_ids[i]);
        for (uint32_t c = 0; c < RS_STATS_MAX_CHUNKS; c++)
            free(atomic_load_explicit(&shard->chunks[c], memory_order_relaxed));
        free(shard);
        shard = next;
    }
    for (uint32_t i = 0; i < store->count; i++)
        free(store->meta[i].name);
    free(store->meta);
    free(store->table);
    free(store->hist_ids);
    free(store->hist_last);
    free(store->hist_interval);
    pthread_mutex_destroy(&store->mu);
    free(store);
}

/* Caller holds mu. Returns the table position holding name, or the empty one where it belongs. */
static uint32_t *table_find(struct rs_stats_store *store, const char *name)
{
    uint32_t mask = store->table_cap - 1;
    for (uint32_t i = (uint32_t)hash_name(name) & mask;; i = (i + 1) & mask) {
        uint32_t *pos = &store->table[i];
        if (*pos == 0 || strcmp(store->meta[*pos - 1].name, name) == 0)
            return pos;
    }
}

static void table_grow(struct rs_stats_store *store)
{
    uint32_t *old = store->table;
    uint32_t old_cap = store->table_cap;
    store->table_cap *= 2;
    store->table = rs_stats_xcalloc_(store->table_cap, sizeof(*store->table));
    for (uint32_t i = 0; i < old_cap; i++)
        if (old[i] != 0)
            *table_find(store, store->meta[old[i] - 1].name) = old[i];
    free(old);
}

static void shard_add_chunk(struct rs_stats_shard *shard, uint32_t c)
{
    if (atomic_load_explicit(&shard->chunks[c], memory_order_relaxed) != NULL)
        return; /* the sink chunk, allocated with the shard */
    struct rs_stats_chunk *chunk = rs_stats_xcalloc_(1, sizeof(*chunk));
    atomic_store_explicit(&shard->chunks[c], chunk, memory_order_release);
}

static void hist_reserve(struct rs_stats_store *store)
{
    if (store->hist_count < store->hist_cap)
        return;
    uint32_t cap = store->hist_cap ? store->hist_cap * 2 : 64;
    store->hist_ids = xrealloc(store->hist_ids, cap, sizeof(*store->hist_ids));
    store->hist_last = xrealloc(store->hist_last, cap, sizeof(*store->hist_last));
    store->hist_interval = xrealloc(store->hist_interval, cap, sizeof(*store->hist_interval));
    store->hist_cap = cap;
}

static rs_stat_id register_stat(struct rs_stats_store *store, const char *name,
                                enum rs_stat_kind kind)
{
    if (name == NULL || name[0] == '\0')
        return RS_STAT_INVALID;
    pthread_mutex_lock(&store->mu);
    rs_stat_id id = RS_STAT_INVALID;
    uint32_t *pos = table_find(store, name);
    if (*pos != 0) {
        if (store->meta[*pos - 1].kind == kind)
            id = *pos - 1;
        goto out;
    }
    if (store->count >= RS_STATS_MAX_STATS)
        goto out;
    id = store->count;

    /* Every shard gets the chunk before anyone can hold the id. */
    uint32_t c = id >> RS_STATS_CHUNK_BITS;
    if (c >= store->nchunks) {
        for (struct rs_stats_shard *s = store->shards; s != NULL; s = s->next)
            shard_add_chunk(s, c);
        store->nchunks = c + 1;
    }
    if (store->count == store->meta_cap) {
        store->meta_cap = store->meta_cap ? store->meta_cap * 2 : 256;
        store->meta = xrealloc(store->meta, store->meta_cap, sizeof(*store->meta));
    }
    struct rs_stats_meta *m = &store->meta[id];
    m->name = strdup(name);
    if (m->name == NULL)
        abort();
    m->kind = kind;
    m->hist_index = 0;
    if (kind == RS_STAT_HISTOGRAM) {
        hist_reserve(store);
        m->hist_index = store->hist_count++;
        store->hist_ids[m->hist_index] = id;
        memset(&store->hist_last[m->hist_index], 0, sizeof(store->hist_last[0]));
        memset(&store->hist_interval[m->hist_index], 0, sizeof(store->hist_interval[0]));
        for (struct rs_stats_shard *s = store->shards; s != NULL; s = s->next)
            rs_stats_hist_attach_(s, id);
    }
    store->count++;
    *pos = id + 1;
    if (store->count * 2 > store->table_cap)
        table_grow(store);
out:
    pthread_mutex_unlock(&store->mu);
    return id;
}

rs_stat_id rs_stats_counter(struct rs_stats_store *store, const char *name)
{
    return register_stat(store, name, RS_STAT_COUNTER);
}
rs_stat_id rs_stats_gauge(struct rs_stats_store *store, const char *name)
{
    return register_stat(store, name, RS_STAT_GAUGE);
}
rs_stat_id rs_stats_histogram(struct rs_stats_store *store, const char *name)
{
    return register_stat(store, name, RS_STAT_HISTOGRAM);
}

static rs_stat_id register_vf(struct rs_stats_store *store, enum rs_stat_kind kind, const char *fmt,
                              va_list ap)
{
    char *name = NULL;
    if (vasprintf(&name, fmt, ap) < 0)
        return RS_STAT_INVALID;
    rs_stat_id id = register_stat(store, name, kind);
    free(name);
    return id;
}

rs_stat_id rs_stats_counterf(struct rs_stats_store *store, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rs_stat_id id = register_vf(store, RS_STAT_COUNTER, fmt, ap);
    va_end(ap);
    return id;
}
rs_stat_id rs_stats_gaugef(struct rs_stats_store *store, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rs_stat_id id = register_vf(store, RS_STAT_GAUGE, fmt, ap);
    va_end(ap);
    return id;
}
rs_stat_id rs_stats_histogramf(struct rs_stats_store *store, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rs_stat_id id = register_vf(store, RS_STAT_HISTOGRAM, fmt, ap);
    va_end(ap);
    return id;
}

struct rs_stats_shard *rs_stats_shard_new(struct rs_stats_store *store)
{
    struct rs_stats_shard *shard = rs_stats_xcalloc_(1, sizeof(*shard));
    shard->store = store;
    pthread_mutex_lock(&store->mu);
    shard_add_chunk(shard, SINK_CHUNK);
    for (uint32_t c = 0; c < store->nchunks; c++)
        shard_add_chunk(shard, c);
    for (uint32_t i = 0; i < store->hist_count; i++)
        rs_stats_hist_attach_(shard, store->hist_ids[i]);
    shard->next = store->shards;
    atomic_store_explicit(&store->shards, shard, memory_order_release);
    pthread_mutex_unlock(&store->mu);
    return shard;
}

uint64_t rs_stats_sum_slots_(struct rs_stats_store *store, rs_stat_id id)
{
    uint64_t sum = 0;
    for (struct rs_stats_shard *s = atomic_load_explicit(&store->shards, memory_order_acquire);
         s != NULL; s = s->next)
        sum += atomic_load_explicit(rs_stats_slot_(s, id), memory_order_relaxed);
    return sum;
}

bool rs_stats_gauge_used_(struct rs_stats_store *store, rs_stat_id id)
{
    for (struct rs_stats_shard *s = atomic_load_explicit(&store->shards, memory_order_acquire);
         s != NULL; s = s->next)
        if (atomic_load_explicit(&rs_stats_chunk_(s, id)->used[id & (RS_STATS_CHUNK_SIZE - 1u)],
                                 memory_order_relaxed))
            return true;
    return false;
}

/* Returns the kind of a registered id, or -1. */
static int kind_of(struct rs_stats_store *store, rs_stat_id id)
{
    pthread_mutex_lock(&store->mu);
    int kind = id < store->count ? (int)store->meta[id].kind : -1;
    pthread_mutex_unlock(&store->mu);
    return kind;
}

uint64_t rs_stats_counter_value(struct rs_stats_store *store, rs_stat_id id)
{
    return kind_of(store, id) == RS_STAT_COUNTER ? rs_stats_sum_slots_(store, id) : 0;
}

int64_t rs_stats_gauge_value(struct rs_stats_store *store, rs_stat_id id)
{
    /* Two's complement wrap-around makes the sum of signed deltas exact. */
    return kind_of(store, id) == RS_STAT_GAUGE ? (int64_t)rs_stats_sum_slots_(store, id) : 0;
}

bool rs_stats_used(struct rs_stats_store *store, rs_stat_id id)
{
    switch (kind_of(store, id)) {
    case RS_STAT_COUNTER:
        return rs_stats_sum_slots_(store, id) != 0;
    case RS_STAT_GAUGE:
        return rs_stats_gauge_used_(store, id);
    case RS_STAT_HISTOGRAM: {
        struct rs_stats_histogram_summary h;
        rs_stats_hist_merge_(store, id, &h);
        return h.count != 0;
    }
    default:
        return false;
    }
}

rs_stat_id rs_stats_find(struct rs_stats_store *store, const char *name, enum rs_stat_kind *kind)
{
    if (name == NULL)
        return RS_STAT_INVALID;
    pthread_mutex_lock(&store->mu);
    uint32_t *pos = table_find(store, name);
    rs_stat_id id = *pos != 0 ? *pos - 1 : RS_STAT_INVALID;
    if (id != RS_STAT_INVALID && kind != NULL)
        *kind = store->meta[id].kind;
    pthread_mutex_unlock(&store->mu);
    return id;
}

uint32_t rs_stats_count(struct rs_stats_store *store)
{
    pthread_mutex_lock(&store->mu);
    uint32_t n = store->count;
    pthread_mutex_unlock(&store->mu);
    return n;
}
