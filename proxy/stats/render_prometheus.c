/* /stats/prometheus: the text exposition format with Envoy's metric names (envoy_ prefix, tags
 * extracted into labels, other characters turned into '_'). Series are grouped by metric family so
 * that each family has exactly one TYPE line, as the format requires. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/core/strbuf.h"
#include "proxy/stats/render_internal.h"
#include "proxy/stats/tags.h"

struct series {
    char *family; /* owned */
    char *labels; /* owned: `a="x",b="y"` or "" */
    const struct rs_stats_entry *entry;
};

static void append_sanitized(struct rs_strbuf *sb, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool ok =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        rs_strbuf_append(sb, ok ? &c : "_", 1);
    }
}

static void append_label_value(struct rs_strbuf *sb, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        switch (s[i]) {
        case '\\':
            rs_strbuf_puts(sb, "\\\\");
            break;
        case '"':
            rs_strbuf_puts(sb, "\\\"");
            break;
        case '\n':
            rs_strbuf_puts(sb, "\\n");
            break;
        default:
            rs_strbuf_append(sb, &s[i], 1);
        }
    }
}

static void make_series(const struct rs_stats_entry *e, struct series *out)
{
    size_t n = strlen(e->name);
    char *extracted = malloc(n + 1);
    if (extracted == NULL)
        abort();
    struct rs_stats_tag tags[RS_STATS_MAX_TAGS];
    size_t ntags = rs_stats_extract_tags(e->name, extracted, tags);

    struct rs_strbuf sb = RS_STRBUF_INIT;
    rs_strbuf_puts(&sb, "envoy_");
    append_sanitized(&sb, extracted, strlen(extracted));
    out->family = rs_strbuf_take(&sb);

    for (size_t t = 0; t < ntags; t++) {
        if (t)
            rs_strbuf_puts(&sb, ",");
        append_sanitized(&sb, tags[t].name, strlen(tags[t].name));
        rs_strbuf_puts(&sb, "=\"");
        append_label_value(&sb, e->name + tags[t].value_off, tags[t].value_len);
        rs_strbuf_puts(&sb, "\"");
    }
    out->labels = rs_strbuf_take(&sb);
    out->entry = e;
    free(extracted);
}

static int series_cmp(const void *a, const void *b)
{
    const struct series *x = a, *y = b;
    int c = strcmp(x->family, y->family);
    if (c != 0)
        return c;
    if (x->entry->kind != y->entry->kind)
        return (int)x->entry->kind - (int)y->entry->kind;
    c = strcmp(x->labels, y->labels);
    /* Colliding names: the survivor must not depend on qsort's order. */
    return c != 0 ? c : strcmp(x->entry->name, y->entry->name);
}

static const char *type_name(enum rs_stat_kind kind)
{
    switch (kind) {
    case RS_STAT_COUNTER:
        return "counter";
    case RS_STAT_GAUGE:
        return "gauge";
    default:
        return "histogram";
    }
}

/* `family{labels}` or `family{labels,extra}`, braces omitted when empty. */
static void series_name(struct rs_strbuf *out, const char *family, const char *suffix,
                        const char *labels, const char *extra)
{
    rs_strbuf_printf(out, "%s%s", family, suffix);
    bool has_labels = labels[0] != '\0', has_extra = extra != NULL;
    if (!has_labels && !has_extra)
        return;
    rs_strbuf_printf(out, "{%s%s%s}", labels, has_labels && has_extra ? "," : "",
                     has_extra ? extra : "");
}

static void render_histogram(struct rs_strbuf *out, const struct series *s)
{
    const struct rs_stats_histogram_summary *h = &s->entry->hist;
    char le[64];
    for (unsigned b = 0; b < RS_STATS_HISTOGRAM_BUCKETS; b++) {
        char bound[32];
        rs_stats_format_double_(bound, sizeof(bound), rs_stats_histogram_bounds[b]);
        snprintf(le, sizeof(le), "le=\"%s\"", bound);
        series_name(out, s->family, "_bucket", s->labels, le);
        rs_strbuf_printf(out, " %" PRIu64 "\n", h->bucket_counts[b]);
    }
    series_name(out, s->family, "_bucket", s->labels, "le=\"+Inf\"");
    rs_strbuf_printf(out, " %" PRIu64 "\n", h->count);
    series_name(out, s->family, "_sum", s->labels, NULL);
    rs_strbuf_printf(out, " %" PRIu64 "\n", h->sum);
    series_name(out, s->family, "_count", s->labels, NULL);
    rs_strbuf_printf(out, " %" PRIu64 "\n", h->count);
}

int rs_stats_render_prometheus(struct rs_stats_store *store,
                               const struct rs_stats_render_options *opt, struct rs_strbuf *out)
{
    struct rs_stats_entry *entries;
    size_t n;
    if (rs_stats_collect_(store, opt, &entries, &n, out) != 0)
        return -1;
    struct series *series = n ? calloc(n, sizeof(*series)) : NULL;
    if (n && series == NULL)
        abort();
    for (size_t i = 0; i < n; i++)
        make_series(&entries[i], &series[i]);
    if (n > 1)
        qsort(series, n, sizeof(*series), series_cmp);

    const struct series *prev = NULL;
    for (size_t i = 0; i < n; i++) {
        const struct series *s = &series[i];
        if (prev == NULL || strcmp(prev->family, s->family) != 0) {
            rs_strbuf_printf(out, "# TYPE %s %s\n", s->family, type_name(s->entry->kind));
        } else if (prev->entry->kind != s->entry->kind || strcmp(prev->labels, s->labels) == 0) {
            /* Two stats whose names collapse to one family of another type, or to one series
             * (e.g. "a-b" and "a_b"): the format allows neither, so the first one wins. */
            continue;
        }
        prev = s;
        switch (s->entry->kind) {
        case RS_STAT_COUNTER:
            series_name(out, s->family, "", s->labels, NULL);
            rs_strbuf_printf(out, " %" PRIu64 "\n", s->entry->value);
            break;
        case RS_STAT_GAUGE:
            series_name(out, s->family, "", s->labels, NULL);
            rs_strbuf_printf(out, " %" PRId64 "\n", (int64_t)s->entry->value);
            break;
        case RS_STAT_HISTOGRAM:
            render_histogram(out, s);
            break;
        }
    }
    for (size_t i = 0; i < n; i++) {
        free(series[i].family);
        free(series[i].labels);
    }
    free(series);
    free(entries);
    return 0;
}
