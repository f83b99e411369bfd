/* In-place JSON string quoting of the tail of a strbuf: values are rendered straight into the
 * output and then escaped where they lie, so formatting a JSON log line allocates nothing beyond
 * the output's own growth. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/core/strbuf.h"
#include "proxy/http/access_log/formatter_internal.h"

static size_t escaped_len(unsigned char c)
{
    if (c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f')
        return 2;
    if (c < 0x20)
        return 6; /* \u00XX */
    return 1;
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlongs, no surrogates, at most
 * U+10FFFF), or 0 if the bytes there are not one. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else {
        return 0;
    }
    if (n < len || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++) {
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    }
    return len;
}

static bool valid_utf8(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq(p + i, n - i);
        if (k == 0)
            return false;
        i += k;
    }
    return true;
}

/* Header values are bytes, not text: a value that is not UTF-8 still has to give valid JSON, so
 * bytes outside well-formed sequences are written as \u00XX (read as Latin-1). Rare, so this
 * path copies. */
static void quote_invalid_utf8(struct rs_strbuf *out, size_t start)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = out->len - start;
    unsigned char *raw = malloc(n);
    if (raw == NULL)
        abort(); /* as rs_strbuf does on out-of-memory */
    memcpy(raw, out->data + start, n);
    out->len = start;
    out->data[start] = '\0';
    rs_strbuf_append(out, "\"", 1);
    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq(raw + i, n - i);
        if (k > 1) {
            rs_strbuf_append(out, (const char *)raw + i, k);
            i += k;
            continue;
        }
        unsigned char c = raw[i++];
        size_t e = escaped_len(c);
        if (k == 1 && e == 1) {
            rs_strbuf_append(out, (const char *)&c, 1);
        } else if (k == 1 && e == 2) {
            char esc[2] = {'\\', c == '\n'   ? 'n'
                                 : c == '\r' ? 'r'
                                 : c == '\t' ? 't'
                                 : c == '\b' ? 'b'
                                 : c == '\f' ? 'f'
                                             : (char)c};
            rs_strbuf_append(out, esc, 2);
        } else {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            rs_strbuf_append(out, esc, 6);
        }
    }
    rs_strbuf_append(out, "\"", 1);
    free(raw);
}

void rs_fmt_json_quote_tail(struct rs_strbuf *out, size_t start)
{
    if (out->len > start &&
        !valid_utf8((const unsigned char *)out->data + start, out->len - start)) {
        quote_invalid_utf8(out, start);
        return;
    }
    static const char zeros[64];
    static const char hex[] = "0123456789abcdef";
    size_t n = out->len - start;
    size_t m = 2;
    for (size_t i = 0; i < n; i++)
        m += escaped_len((unsigned char)out->data[start + i]);
    for (size_t grow = m - n; grow > 0;) {
        size_t k = grow < sizeof zeros ? grow : sizeof zeros;
        rs_strbuf_append(out, zeros, k);
        grow -= k;
    }
    /* Fill backwards: the write position never passes the unread raw bytes. */
    char *d = out->data + start;
    size_t w = m;
    d[--w] = '"';
    for (size_t r = n; r-- > 0;) {
        unsigned char c = (unsigned char)d[r];
        size_t e = escaped_len(c);
        if (e == 1) {
            d[--w] = (char)c;
            continue;
        }
        if (e == 6) {
            w -= 6;
            memcpy(d + w, "\\u00", 4);
            d[w + 4] = hex[c >> 4];
            d[w + 5] = hex[c & 15];
            continue;
        }
        char s = c == '\n'   ? 'n'
                 : c == '\r' ? 'r'
                 : c == '\t' ? 't'
                 : c == '\b' ? 'b'
                 : c == '\f' ? 'f'
                             : (char)c;
        d[--w] = s;
        d[--w] = '\\';
    }
    d[--w] = '"';
}
