/* Field paths for error messages: "static_resources.clusters[2].connect_timeout", map entries as
 * `a.b["key"]`. Segments are pushed while descending and only rendered when an error happens, so
 * the common (successful) path costs no formatting. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/codec/codec_internal.h"

void rs_codec_path_init(struct rs_codec_path *p, char *err, size_t err_len)
{
    memset(p, 0, sizeof(*p));
    p->err = err;
    p->err_len = err_len;
    if (err && err_len)
        err[0] = '\0';
}

void rs_codec_path_release(struct rs_codec_path *p)
{
    free(p->segs);
    p->segs = NULL;
    p->n = p->cap = 0;
}

static struct rs_codec_seg *push(struct rs_codec_path *p)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        struct rs_codec_seg *segs = realloc(p->segs, cap * sizeof(*segs));
        if (!segs) {
            rs_codec_fail(p, "out of memory");
            return NULL;
        }
        p->segs = segs;
        p->cap = cap;
    }
    return &p->segs[p->n++];
}

int rs_codec_path_push_field(struct rs_codec_path *p, const char *name)
{
    struct rs_codec_seg *s = push(p);
    if (!s)
        return -1;
    s->kind = RS_CODEC_SEG_FIELD;
    s->name = name;
    s->name_len = strlen(name);
    return 0;
}

int rs_codec_path_push_index(struct rs_codec_path *p, size_t index)
{
    struct rs_codec_seg *s = push(p);
    if (!s)
        return -1;
    s->kind = RS_CODEC_SEG_INDEX;
    s->index = index;
    return 0;
}

int rs_codec_path_push_key(struct rs_codec_path *p, const char *key, size_t len)
{
    struct rs_codec_seg *s = push(p);
    if (!s)
        return -1;
    s->kind = RS_CODEC_SEG_KEY;
    s->name = key;
    s->name_len = len;
    return 0;
}

void rs_codec_path_pop(struct rs_codec_path *p)
{
    if (p->n)
        p->n--;
}

void rs_codec_errf(char *err, size_t err_len, const char *fmt, ...)
{
    va_list ap;
    if (!err || !err_len)
        return;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
}

/* Error text must stay printable and bounded whatever the input holds: escape quotes, backslashes
 * and control bytes, and cut long values (on a UTF-8 boundary) with "...". */
void rs_codec_quote(char *out, size_t out_len, const char *s, size_t len)
{
    static const size_t max_shown = 64;
    size_t o = 0, i;
    if (!out_len)
        return;
#define PUT(c)                                                                                     \
    do {                                                                                           \
        if (o + 1 < out_len)                                                                       \
            out[o++] = (c);                                                                        \
    } while (0)
    PUT('"');
    for (i = 0; i < len && i < max_shown; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            PUT('\\');
            PUT((char)c);
        } else if (c < 0x20 || c == 0x7f) {
            static const char hex[] = "0123456789abcdef";
            PUT('\\');
            PUT('x');
            PUT(hex[c >> 4]);
            PUT(hex[c & 15]);
        } else {
            PUT((char)c);
        }
    }
    if (i < len) {
        /* Do not leave half a UTF-8 sequence before the ellipsis. */
        while (o > 1 && ((unsigned char)out[o - 1] & 0xc0) == 0x80)
            o--;
        if (o > 1 && ((unsigned char)out[o - 1] & 0xc0) == 0xc0)
            o--;
        PUT('.');
        PUT('.');
        PUT('.');
    }
    PUT('"');
#undef PUT
    out[o] = '\0';
}

static size_t render_path(const struct rs_codec_path *p, char *out, size_t out_len)
{
    size_t o = 0;
    char tmp[160];
    for (size_t i = 0; i < p->n; i++) {
        const struct rs_codec_seg *s = &p->segs[i];
        int w;
        switch (s->kind) {
        case RS_CODEC_SEG_FIELD:
            w = snprintf(out + o, out_len - o, "%s%.*s", o ? "." : "", (int)s->name_len, s->name);
            break;
        case RS_CODEC_SEG_INDEX:
            w = snprintf(out + o, out_len - o, "[%zu]", s->index);
            break;
        default:
            rs_codec_quote(tmp, sizeof(tmp), s->name, s->name_len);
            w = snprintf(out + o, out_len - o, "[%s]", tmp);
            break;
        }
        if (w < 0 || (size_t)w >= out_len - o)
            return out_len - 1;
        o += (size_t)w;
    }
    return o;
}

/* The reason is the important part, so a path too long for the caller's buffer loses its middle
 * ("a.b.c...x.y.z: reason") rather than pushing the reason out. */
int rs_codec_fail(struct rs_codec_path *p, const char *fmt, ...)
{
    char reason[512];
    char *where;
    size_t wlen, rlen, avail;
    va_list ap;
    if (p->failed)
        return -1;
    p->failed = 1;
    if (!p->err || !p->err_len)
        return -1;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    where = p->n ? malloc(p->n * 176 + 1) : NULL;
    if (!where) {
        rs_codec_errf(p->err, p->err_len, "%s", reason);
        return -1;
    }
    wlen = render_path(p, where, p->n * 176 + 1);
    rlen = strlen(reason);
    avail = p->err_len > rlen + 3 ? p->err_len - rlen - 3 : 0;
    if (wlen <= avail || avail < 16) {
        rs_codec_errf(p->err, p->err_len, "%.*s: %s", (int)wlen, where, reason);
    } else {
        size_t head = avail / 3, tail = avail - head - 3;
        rs_codec_errf(p->err, p->err_len, "%.*s...%s: %s", (int)head, where, where + wlen - tail,
                      reason);
    }
    free(where);
    return -1;
}
