#include "proxy/core/strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void reserve(struct rs_strbuf *sb, size_t extra)
{
    if (sb->len + extra + 1 <= sb->cap)
        return;
    size_t cap = sb->cap ? sb->cap : 256;
    while (cap < sb->len + extra + 1)
        cap *= 2;
    char *p = realloc(sb->data, cap);
    if (p == NULL)
        abort();
    sb->data = p;
    sb->cap = cap;
}

void rs_strbuf_append(struct rs_strbuf *sb, const char *data, size_t len)
{
    reserve(sb, len);
    memcpy(sb->data + sb->len, data, len);
    sb->len += len;
    sb->data[sb->len] = '\0';
}

void rs_strbuf_puts(struct rs_strbuf *sb, const char *s)
{
    rs_strbuf_append(sb, s, strlen(s));
}

void rs_strbuf_vprintf(struct rs_strbuf *sb, const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n < 0)
        return;
    reserve(sb, (size_t)n);
    vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
    sb->len += (size_t)n;
}

void rs_strbuf_printf(struct rs_strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rs_strbuf_vprintf(sb, fmt, ap);
    va_end(ap);
}

void rs_strbuf_json_string(struct rs_strbuf *sb, const char *s)
{
    rs_strbuf_append(sb, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            rs_strbuf_append(sb, "\\\"", 2);
            break;
        case '\\':
            rs_strbuf_append(sb, "\\\\", 2);
            break;
        case '\n':
            rs_strbuf_append(sb, "\\n", 2);
            break;
        case '\r':
            rs_strbuf_append(sb, "\\r", 2);
            break;
        case '\t':
            rs_strbuf_append(sb, "\\t", 2);
            break;
        default:
            if (*p < 0x20)
                rs_strbuf_printf(sb, "\\u%04x", *p);
            else
                rs_strbuf_append(sb, (const char *)p, 1);
        }
    }
    rs_strbuf_append(sb, "\"", 1);
}

void rs_strbuf_reset(struct rs_strbuf *sb)
{
    sb->len = 0;
    if (sb->data)
        sb->data[0] = '\0';
}

char *rs_strbuf_take(struct rs_strbuf *sb)
{
    char *p = sb->data;
    if (p == NULL)
        p = calloc(1, 1);
    sb->data = NULL;
    sb->len = sb->cap = 0;
    return p;
}

void rs_strbuf_free(struct rs_strbuf *sb)
{
    free(sb->data);
    sb->data = NULL;
    sb->len = sb->cap = 0;
}
