/* /stats?format=json as Envoy writes it: counters and gauges as {"name","value"} objects, then
 * one {"histograms": {"supported_quantiles", "computed_quantiles"}} element. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

#include "proxy/core/strbuf.h"
#include "proxy/stats/render_internal.h"

static void json_number(struct rs_strbuf *out, double v)
{
    if (isnan(v)) {
        rs_strbuf_puts(out, "null"); /* JSON has no NaN; Envoy writes null */
        return;
    }
    char buf[32];
    rs_stats_format_quantile_(buf, sizeof(buf), v);
    rs_strbuf_puts(out, buf);
}

static void render_histograms(const struct rs_stats_entry *h, size_t n, struct rs_strbuf *out)
{
    rs_strbuf_puts(out, "{\"histograms\":{\"supported_quantiles\":[");
    for (unsigned i = 0; i < RS_STATS_QUANTILES; i++) {
        if (i)
            rs_strbuf_puts(out, ",");
        json_number(out, rs_stats_quantiles_[i]);
    }
    rs_strbuf_puts(out, "],\"computed_quantiles\":[");
    for (size_t k = 0; k < n; k++) {
        if (k)
            rs_strbuf_puts(out, ",");
        rs_strbuf_puts(out, "{\"name\":");
        rs_strbuf_json_string(out, h[k].name);
        rs_strbuf_puts(out, ",\"values\":[");
        for (unsigned i = 0; i < RS_STATS_QUANTILES; i++) {
            double q = rs_stats_quantiles_[i] / 100;
            rs_strbuf_puts(out, i ? ",{\"interval\":" : "{\"interval\":");
            json_number(out, rs_stats_histogram_quantile(&h[k].interval, q));
            rs_strbuf_puts(out, ",\"cumulative\":");
            json_number(out, rs_stats_histogram_quantile(&h[k].hist, q));
            rs_strbuf_puts(out, "}");
        }
        rs_strbuf_puts(out, "]}");
    }
    rs_strbuf_puts(out, "]}}");
}

int rs_stats_render_json(struct rs_stats_store *store, const struct rs_stats_render_options *opt,
                         struct rs_strbuf *out)
{
    struct rs_stats_entry *entries;
    size_t n;
    if (rs_stats_collect_(store, opt, &entries, &n, out) != 0)
        return -1;
    if (n > 1)
        qsort(entries, n, sizeof(*entries), rs_stats_entry_cmp_);
    rs_strbuf_puts(out, "{\"stats\":[");
    size_t i = 0;
    for (; i < n && entries[i].kind != RS_STAT_HISTOGRAM; i++) {
        if (i)
            rs_strbuf_puts(out, ",");
        rs_strbuf_puts(out, "{\"name\":");
        rs_strbuf_json_string(out, entries[i].name);
        if (entries[i].kind == RS_STAT_COUNTER)
            rs_strbuf_printf(out, ",\"value\":%" PRIu64 "}", entries[i].value);
        else
            rs_strbuf_printf(out, ",\"value\":%" PRId64 "}", (int64_t)entries[i].value);
    }
    if (i < n) {
        if (i)
            rs_strbuf_puts(out, ",");
        render_histograms(&entries[i], n - i, out);
    }
    rs_strbuf_puts(out, "]}\n");
    free(entries);
    return 0;
}
