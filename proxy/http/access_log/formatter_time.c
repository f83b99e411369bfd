/* %START_TIME% rendering. Envoy formats times in UTC; its default is ISO 8601 with milliseconds,
 * and custom formats are strftime plus fractional-second specifiers that strftime lacks. */
#include <stdio.h>
#include <string.h>

#include "proxy/core/strbuf.h"
#include "proxy/http/access_log/formatter_internal.h"

static void put_fraction(long nsec, int digits, struct rs_strbuf *out)
{
    char buf[16];
    snprintf(buf, sizeof buf, "%09ld", nsec);
    rs_strbuf_append(out, buf, (size_t)digits);
}

/* Runs strftime over spec[0..len) (pure strftime directives and text). */
static void put_strftime(const char *spec, size_t len, const struct tm *tm, struct rs_strbuf *out)
{
    if (len == 0)
        return;
    char fmt[256];
    char buf[512];
    if (len >= sizeof fmt)
        len = sizeof fmt - 1;
    memcpy(fmt, spec, len);
    fmt[len] = '\0';
    size_t n = strftime(buf, sizeof buf, fmt, tm);
    rs_strbuf_append(out, buf, n);
}

void rs_fmt_time(const char *spec, const struct timespec *t, struct rs_strbuf *out)
{
    struct tm tm;
    time_t secs = t->tv_sec;
    gmtime_r(&secs, &tm);
    long nsec = t->tv_nsec;
    if (nsec < 0 || nsec > 999999999)
        nsec = 0;
    if (spec == NULL) {
        char buf[64];
        size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
        rs_strbuf_append(out, buf, n);
        rs_strbuf_append(out, ".", 1);
        put_fraction(nsec, 3, out);
        rs_strbuf_append(out, "Z", 1);
        return;
    }
    /* Plain strftime runs are collected and flushed before each special specifier, so the text
     * we produce ourselves is never read as a directive. */
    size_t len = strlen(spec), run = 0, i = 0;
    while (i < len) {
        if (spec[i] != '%' || i + 1 >= len) {
            i++;
            continue;
        }
        char c = spec[i + 1];
        size_t skip = 0;
        if (c == 'f') {
            put_strftime(spec + run, i - run, &tm, out);
            put_fraction(nsec, 9, out);
            skip = 2;
        } else if (c >= '1' && c <= '9' && i + 2 < len && spec[i + 2] == 'f') {
            put_strftime(spec + run, i - run, &tm, out);
            put_fraction(nsec, c - '0', out);
            skip = 3;
        } else if (c == 's') {
            put_strftime(spec + run, i - run, &tm, out);
            rs_strbuf_printf(out, "%lld", (long long)secs);
            skip = 2;
        } else if (c == 'E' && i + 3 < len && spec[i + 2] >= '0' && spec[i + 2] <= '9' &&
                   spec[i + 3] == 'S') {
            put_strftime(spec + run, i - run, &tm, out);
            rs_strbuf_printf(out, "%02d", tm.tm_sec);
            int digits = spec[i + 2] - '0';
            if (digits > 0) {
                rs_strbuf_append(out, ".", 1);
                put_fraction(nsec, digits, out);
            }
            skip = 4;
        } else {
            i += 2; /* "%%" and ordinary directives stay in the strftime run */
            continue;
        }
        i += skip;
        run = i;
    }
    put_strftime(spec + run, len - run, &tm, out);
}
