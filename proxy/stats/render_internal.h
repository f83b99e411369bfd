/* Private to proxy/stats: the snapshot the renderers format. */
#ifndef RS_STATS_RENDER_INTERNAL_H
#define RS_STATS_RENDER_INTERNAL_H

#include <stddef.h>

#include "proxy/stats/stats.h"

struct rs_stats_entry {
    const char *name; /* the store's copy: valid while the store lives */
    rs_stat_id id;
    enum rs_stat_kind kind;
    uint64_t value; /* counters; gauges as the bits of their int64 */
    struct rs_stats_histogram_summary hist, interval; /* histograms only */
};

/* The stats selected by opt (NULL = all), in id order. Returns 0 with a malloc'ed array (caller
 * frees; it may be NULL when n is 0), or -1 with "Invalid regex: ..." appended to err. */
int rs_stats_collect_(struct rs_stats_store *store, const struct rs_stats_render_options *opt,
                      struct rs_stats_entry **out, size_t *n, struct rs_strbuf *err);
/* qsort order of Envoy's listings: counters and gauges by name, then histograms by name. */
int rs_stats_entry_cmp_(const void *a, const void *b);
/* Shortest of %.15g/%.16g/%.17g that reads back as v ("nan" for NaN), like Envoy's formatting. */
void rs_stats_format_double_(char *buf, size_t len, double v);

/* A quantile estimate for display: rounded to 4 decimals (the estimate is no finer than that, and
 * 0.999 reads better than 0.9990000000000001), then as rs_stats_format_double_. */
void rs_stats_format_quantile_(char *buf, size_t len, double v);

/* Envoy's supported quantiles, in percent, and as printed ("P99.5"). */
#define RS_STATS_QUANTILES 10
extern const double rs_stats_quantiles_[RS_STATS_QUANTILES];

#endif
