/* In-place JSON string quoting of the tail of a strbuf: values are rendered straight into the
 * output and then escaped where they lie, so formatting a JSON log line allocates nothing beyond
 * the output's own growth. */
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

void rs_fmt_json_quote_tail(struct rs_strbuf *out, size_t start)
{
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
