/* /stats as Envoy prints it: "name: value" lines, histograms as quantile summaries. */
#include <inttypes.h>
#include <stdlib.h>

#include "proxy/core/strbuf.h"
#include "proxy/stats/render_internal.h"

static void render_histogram(const struct rs_stats_entry *e, struct rs_strbuf *out)
{
    if (e->hist.count == 0) {
        rs_strbuf_puts(out, " No recorded values");
        return;
    }
    for (unsigned i = 0; i < RS_STATS_QUANTILES; i++) {
        double q = rs_stats_quantiles_[i] / 100;
        char p[32], iv[32], cum[32];
        rs_stats_format_double_(p, sizeof(p), rs_stats_quantiles_[i]);
        rs_stats_format_quantile_(iv, sizeof(iv), rs_stats_histogram_quantile(&e->interval, q));
        rs_stats_format_quantile_(cum, sizeof(cum), rs_stats_histogram_quantile(&e->hist, q));
        rs_strbuf_printf(out, " P%s(%s,%s)", p, iv, cum);
    }
}

int rs_stats_render_text(struct rs_stats_store *store, const struct rs_stats_render_options *opt,
                         struct rs_strbuf *out)
{
    struct rs_stats_entry *entries;
    size_t n;
    if (rs_stats_collect_(store, opt, &entries, &n, out) != 0)
        return -1;
    if (n > 1)
        qsort(entries, n, sizeof(*entries), rs_stats_entry_cmp_);
    for (size_t i = 0; i < n; i++) {
        const struct rs_stats_entry *e = &entries[i];
        rs_strbuf_printf(out, "%s:", e->name);
        switch (e->kind) {
        case RS_STAT_COUNTER:
            rs_strbuf_printf(out, " %" PRIu64, e->value);
            break;
        case RS_STAT_GAUGE:
            rs_strbuf_printf(out, " %" PRId64, (int64_t)e->value);
            break;
        case RS_STAT_HISTOGRAM:
            render_histogram(e, out);
            break;
        }
        rs_strbuf_puts(out, "\n");
    }
    free(entries);
    return 0;
}
