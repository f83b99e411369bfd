/* Line splitting and field-line parsing shared by heads and chunked trailers.
 *
 * The parser is stateless: callers re-run it over a growing buffer. To keep answers stable as a
 * buffer grows (a prefix must never fail differently from the whole), every check looks only at
 * bytes that are both present and within the size limit, in the same order for both. */
#include <string.h>

#include "proxy/http/h1/internal.h"

static int limit_status(int bad_status)
{
    return bad_status == 502 ? 502 : 431;
}

enum rs_h1_status rs_h1_find_line(const char *buf, size_t len, size_t pos, size_t limit_end,
                                  size_t *eol, int bad_status, struct rs_h1_error *err)
{
    if (pos >= len) {
        if (len > limit_end)
            return rs_h1_fail(err, limit_status(bad_status), RS_H1_D_TOO_LARGE);
        return RS_H1_NEED_MORE;
    }
    const char *lf = memchr(buf + pos, '\n', len - pos);
    size_t stop = lf ? (size_t)(lf - buf) : len;
    /* A CR not followed by LF would let another parser see a line break we do not (RFC 9112
     * 2.2: bare CR must be rejected or replaced). Judge only CRs whose next byte is known and
     * inside the limit, so that a prefix and the whole agree. */
    for (const char *cr = memchr(buf + pos, '\r', stop - pos); cr;
         cr = memchr(cr + 1, '\r', (size_t)(buf + stop - (cr + 1)))) {
        size_t at = (size_t)(cr - buf);
        if (at + 1 >= stop || at + 1 >= limit_end)
            break;
        return rs_h1_fail(err, bad_status, RS_H1_D_CODEC);
    }
    if (!lf) {
        if (len > limit_end)
            return rs_h1_fail(err, limit_status(bad_status), RS_H1_D_TOO_LARGE);
        return RS_H1_NEED_MORE;
    }
    if (stop + 1 > limit_end)
        return rs_h1_fail(err, limit_status(bad_status), RS_H1_D_TOO_LARGE);
    /* A bare LF line ending: accepted by some parsers, so refused (smuggling vector). */
    if (stop == pos || buf[stop - 1] != '\r')
        return rs_h1_fail(err, bad_status, RS_H1_D_CODEC);
    *eol = stop - 1;
    return RS_H1_DONE;
}

/* One "name: value" line, buf[pos..eol), CRs already excluded by rs_h1_find_line. */
static enum rs_h1_status parse_field_line(const char *buf, size_t pos, size_t eol,
                                          struct rs_h1_header *h, int bad_status,
                                          struct rs_h1_error *err)
{
    /* A line starting with whitespace is obs-fold (a continuation line), which RFC 9112 5.2 lets
     * a proxy refuse; Envoy does. */
    if (rs_h1_is_ows((unsigned char)buf[pos]))
        return rs_h1_fail(err, bad_status, RS_H1_D_CODEC);
    size_t i = pos;
    while (i < eol && rs_h1_is_tchar((unsigned char)buf[i]))
        i++;
    /* Empty name, a non-token byte, or whitespace before the colon (RFC 9112 5.1: must be
     * refused, since some parsers would take "Transfer-Encoding " for a different field). */
    if (i == pos || i == eol || buf[i] != ':')
        return rs_h1_fail(err, bad_status, RS_H1_D_CODEC);
    h->name.p = buf + pos;
    h->name.len = i - pos;
    i++;
    while (i < eol && rs_h1_is_ows((unsigned char)buf[i]))
        i++;
    size_t vstart = i;
    for (; i < eol; i++) {
        if (!rs_h1_is_value_char((unsigned char)buf[i]))
            return rs_h1_fail(err, bad_status, RS_H1_D_CHARS);
    }
    size_t vend = eol;
    while (vend > vstart && rs_h1_is_ows((unsigned char)buf[vend - 1]))
        vend--;
    h->value.p = buf + vstart;
    h->value.len = vend - vstart;
    h->hop_by_hop = false;
    return RS_H1_DONE;
}

enum rs_h1_status rs_h1_parse_fields(const char *buf, size_t len, size_t pos, size_t limit_end,
                                     size_t max_count, struct rs_h1_header *out, size_t *count,
                                     size_t *end, int bad_status, struct rs_h1_error *err)
{
    for (;;) {
        size_t eol;
        enum rs_h1_status st = rs_h1_find_line(buf, len, pos, limit_end, &eol, bad_status, err);
        if (st != RS_H1_DONE)
            return st;
        if (eol == pos) {
            *end = eol + 2;
            return RS_H1_DONE;
        }
        if (*count >= max_count)
            return rs_h1_fail(err, limit_status(bad_status), RS_H1_D_TOO_MANY);
        st = parse_field_line(buf, pos, eol, &out[*count], bad_status, err);
        if (st != RS_H1_DONE)
            return st;
        (*count)++;
        pos = eol + 2;
    }
}
