#include "proxy/core/buffer.h"

#include <stdlib.h>
#include <string.h>

#include "proxy/core/loop.h"

void rs_buffer_init(struct rs_buffer *b, struct rs_loop *loop)
{
    memset(b, 0, sizeof *b);
    b->loop = loop;
}

static struct rs_slice *at(const struct rs_buffer *b, uint32_t i)
{
    return &b->slices[(b->head + i) & (b->cap - 1)];
}

static int reserve(struct rs_buffer *b)
{
    if (b->count < b->cap)
        return 0;
    uint32_t cap = b->cap ? b->cap * 2 : 8;
    struct rs_slice *s = malloc(sizeof *s * cap);
    if (s == NULL)
        return -1;
    for (uint32_t i = 0; i < b->count; i++)
        s[i] = *at(b, i);
    free(b->slices);
    b->slices = s;
    b->cap = cap;
    b->head = 0;
    return 0;
}

static void release_slice(struct rs_buffer *b, struct rs_slice *s)
{
    if (s->bid >= 0)
        rs_loop_buf_release(b->loop, (uint16_t)s->bid);
    else
        free(s->heap);
}

static int push(struct rs_buffer *b, struct rs_slice s)
{
    if (s.len == 0) {
        release_slice(b, &s);
        return 0;
    }
    if (reserve(b) < 0) {
        release_slice(b, &s);
        return -1;
    }
    *at(b, b->count) = s;
    b->count++;
    b->len += s.len;
    return 0;
}

void rs_buffer_clear(struct rs_buffer *b)
{
    for (uint32_t i = 0; i < b->count; i++)
        release_slice(b, at(b, i));
    free(b->slices);
    struct rs_loop *loop = b->loop;
    rs_buffer_init(b, loop);
}

int rs_buffer_add_loop(struct rs_buffer *b, uint16_t bid, uint32_t off, uint32_t len)
{
    rs_loop_buf_ref(b->loop, bid);
    struct rs_slice s = {rs_loop_buf(b->loop, bid) + off, len, bid, NULL};
    return push(b, s);
}

int rs_buffer_adopt_loop(struct rs_buffer *b, uint16_t bid, uint32_t off, uint32_t len)
{
    struct rs_slice s = {rs_loop_buf(b->loop, bid) + off, len, bid, NULL};
    return push(b, s);
}

int rs_buffer_add_owned(struct rs_buffer *b, uint8_t *block, size_t len)
{
    struct rs_slice s = {block, (uint32_t)len, -1, block};
    return push(b, s);
}

int rs_buffer_add_copy(struct rs_buffer *b, const void *data, size_t len)
{
    if (len == 0)
        return 0;
    uint8_t *block = malloc(len);
    if (block == NULL)
        return -1;
    memcpy(block, data, len);
    return rs_buffer_add_owned(b, block, len);
}

long rs_buffer_move(struct rs_buffer *dst, struct rs_buffer *src, size_t n)
{
    size_t moved = 0;
    while (moved < n && src->count > 0) {
        struct rs_slice *s = at(src, 0);
        size_t want = n - moved;
        if (s->len <= want) {
            struct rs_slice whole = *s;
            src->head = (src->head + 1) & (src->cap - 1);
            src->count--;
            src->len -= whole.len;
            if (push(dst, whole) < 0)
                return -1;
            moved += whole.len;
            continue;
        }
        /* Split: the front part goes to dst. */
        if (s->bid >= 0) {
            if (rs_buffer_add_loop(dst, (uint16_t)s->bid,
                                   (uint32_t)(s->data - rs_loop_buf(src->loop, (uint16_t)s->bid)),
                                   (uint32_t)want) < 0)
                return -1;
        } else if (rs_buffer_add_copy(dst, s->data, want) < 0) {
            return -1;
        }
        s->data += want;
        s->len -= (uint32_t)want;
        src->len -= want;
        moved += want;
    }
    return (long)moved;
}

void rs_buffer_drain(struct rs_buffer *b, size_t n)
{
    while (n > 0 && b->count > 0) {
        struct rs_slice *s = at(b, 0);
        if (s->len <= n) {
            n -= s->len;
            b->len -= s->len;
            release_slice(b, s);
            b->head = (b->head + 1) & (b->cap - 1);
            b->count--;
        } else {
            s->data += n;
            s->len -= (uint32_t)n;
            b->len -= n;
            n = 0;
        }
    }
}

size_t rs_buffer_copy_out(const struct rs_buffer *b, size_t off, void *out, size_t n)
{
    size_t copied = 0;
    for (uint32_t i = 0; i < b->count && copied < n; i++) {
        const struct rs_slice *s = at(b, i);
        if (off >= s->len) {
            off -= s->len;
            continue;
        }
        size_t take = s->len - off;
        if (take > n - copied)
            take = n - copied;
        memcpy((uint8_t *)out + copied, s->data + off, take);
        copied += take;
        off = 0;
    }
    return copied;
}

unsigned rs_buffer_iov(const struct rs_buffer *b, struct iovec *iov, unsigned max)
{
    unsigned n = 0;
    for (uint32_t i = 0; i < b->count && n < max; i++, n++) {
        const struct rs_slice *s = at(b, i);
        iov[n].iov_base = s->data;
        iov[n].iov_len = s->len;
    }
    return n;
}
