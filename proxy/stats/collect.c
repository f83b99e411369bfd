/* Selects and snapshots the stats a rendering shows: one pass under the store's lock for names,
 * then the filter and the values without it. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <math.h>

#include "proxy/core/strbuf.h"
#include "proxy/stats/render_internal.h"
#include "proxy/stats/store_internal.h"

const double rs_stats_quantiles_[RS_STATS_QUANTILES] = {0, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 100};

int rs_stats_collect_(struct rs_stats_store *store, const struct rs_stats_render_options *opt,
                      struct rs_stats_entry **out, size_t *n, struct rs_strbuf *err)
{
    *out = NULL;
    *n = 0;
    /* The filter comes from an admin client: PCRE2 (the syntax Envoy's RE2 filters are written
     * in, near enough) with a match limit, so a hostile pattern costs bounded work per name. */
    pcre2_code *re = NULL;
    pcre2_match_data *md = NULL;
    pcre2_match_context *mc = NULL;
    bool filtered = opt != NULL && opt->filter != NULL && opt->filter[0] != '\0';
    if (filtered) {
        int code;
        PCRE2_SIZE offset;
        re = pcre2_compile((PCRE2_SPTR)opt->filter, PCRE2_ZERO_TERMINATED, 0, &code, &offset, NULL);
        if (re == NULL) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(code, msg, sizeof msg);
            rs_strbuf_printf(err, "Invalid regex: %s at offset %zu\n", (const char *)msg,
                             (size_t)offset);
            return -1;
        }
        md = pcre2_match_data_create_from_pattern(re, NULL);
        mc = pcre2_match_context_create(NULL);
        if (md == NULL || mc == NULL) {
            pcre2_match_data_free(md);
            pcre2_match_context_free(mc);
            pcre2_code_free(re);
            rs_strbuf_puts(err, "out of memory\n");
            return -1;
        }
        pcre2_set_match_limit(mc, 100000);
        pcre2_set_depth_limit(mc, 1000);
    }

    pthread_mutex_lock(&store->mu);
    size_t count = store->count;
    struct rs_stats_entry *entries = count ? rs_stats_xcalloc_(count, sizeof(*entries)) : NULL;
    for (size_t i = 0; i < count; i++) {
        const struct rs_stats_meta *m = &store->meta[i];
        entries[i].name = m->name;
        entries[i].id = (rs_stat_id)i;
        entries[i].kind = m->kind;
        if (m->kind == RS_STAT_HISTOGRAM)
            entries[i].interval = store->hist_interval[m->hist_index];
    }
    pthread_mutex_unlock(&store->mu);

    size_t kept = 0;
    for (size_t i = 0; i < count; i++) {
        struct rs_stats_entry *e = &entries[i];
        if (filtered &&
            pcre2_match(re, (PCRE2_SPTR)e->name, PCRE2_ZERO_TERMINATED, 0, 0, md, mc) < 0)
            continue; /* no match, or over the match limit: not shown */
        bool used;
        switch (e->kind) {
        case RS_STAT_COUNTER:
            e->value = rs_stats_sum_slots_(store, e->id);
            used = e->value != 0;
            break;
        case RS_STAT_GAUGE:
            e->value = rs_stats_sum_slots_(store, e->id);
            used = rs_stats_gauge_used_(store, e->id);
            break;
        default:
            rs_stats_hist_merge_(store, e->id, &e->hist);
            used = e->hist.count != 0;
            break;
        }
        if (opt != NULL && opt->used_only && !used)
            continue;
        entries[kept++] = *e;
    }
    if (filtered) {
        pcre2_match_data_free(md);
        pcre2_match_context_free(mc);
        pcre2_code_free(re);
    }
    *out = entries;
    *n = kept;
    return 0;
}

int rs_stats_entry_cmp_(const void *a, const void *b)
{
    const struct rs_stats_entry *x = a, *y = b;
    bool xh = x->kind == RS_STAT_HISTOGRAM, yh = y->kind == RS_STAT_HISTOGRAM;
    if (xh != yh)
        return xh ? 1 : -1;
    return strcmp(x->name, y->name);
}

void rs_stats_format_double_(char *buf, size_t len, double v)
{
    if (isnan(v)) {
        snprintf(buf, len, "nan");
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, len, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

void rs_stats_format_quantile_(char *buf, size_t len, double v)
{
    rs_stats_format_double_(buf, len, isnan(v) ? v : round(v * 1e4) / 1e4);
}
