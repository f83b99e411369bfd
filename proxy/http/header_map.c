#include "proxy/http/header_map.h"

#include <stdlib.h>
#include <string.h>

/* Strings live in a chain of arena blocks freed together with the map: a stream's headers are
 * built once, edited a little and dropped whole, so per-string frees would only cost time.
 * Removing or replacing an entry leaves its bytes in the arena until the map is freed; edits per
 * stream are few and bounded by the filters, so the waste is bounded too. */
#define ARENA_MIN_BLOCK 1024u

struct arena_block {
    struct arena_block *next;
    size_t used;
    size_t cap;
    char data[];
};

struct rs_header_map {
    struct rs_header *entries;
    size_t n;
    size_t cap;
    size_t n_pseudo; /* entries[0 .. n_pseudo) are the pseudo-headers */
    size_t bytes;    /* sum of live name and value lengths */
    struct arena_block *arena;
};

static char *arena_alloc(struct rs_header_map *m, size_t len)
{
    struct arena_block *b = m->arena;
    if (b == NULL || b->cap - b->used < len) {
        size_t cap = len > ARENA_MIN_BLOCK ? len : ARENA_MIN_BLOCK;
        /* Grow with the map so a large header set takes few blocks. */
        if (b != NULL && b->cap * 2 > cap && b->cap * 2 >= len)
            cap = b->cap * 2;
        b = malloc(sizeof *b + cap);
        if (b == NULL)
            return NULL;
        b->next = m->arena;
        b->used = 0;
        b->cap = cap;
        m->arena = b;
    }
    char *p = b->data + b->used;
    b->used += len;
    return p;
}

static inline char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

bool rs_hstr_eq_nocase(struct rs_hstr a, const char *b, size_t b_len)
{
    if (a.len != b_len)
        return false;
    for (size_t i = 0; i < b_len; i++) {
        if (lower(a.p[i]) != lower(b[i]))
            return false;
    }
    return true;
}

struct rs_header_map *rs_header_map_new(void)
{
    return calloc(1, sizeof(struct rs_header_map));
}

void rs_header_map_free(struct rs_header_map *m)
{
    if (m == NULL)
        return;
    struct arena_block *b = m->arena;
    while (b != NULL) {
        struct arena_block *next = b->next;
        free(b);
        b = next;
    }
    free(m->entries);
    free(m);
}

static int reserve(struct rs_header_map *m, size_t want)
{
    if (want <= m->cap)
        return 0;
    size_t cap = m->cap ? m->cap * 2 : 16;
    while (cap < want)
        cap *= 2;
    struct rs_header *e = realloc(m->entries, cap * sizeof *e);
    if (e == NULL)
        return -1;
    m->entries = e;
    m->cap = cap;
    return 0;
}

/* Copies name (lower-cased) and value into the arena as one allocation. */
static int make_entry(struct rs_header_map *m, const char *name, size_t name_len, const char *value,
                      size_t value_len, struct rs_header *out)
{
    char *p = arena_alloc(m, name_len + value_len);
    if (p == NULL && name_len + value_len > 0)
        return -1;
    for (size_t i = 0; i < name_len; i++)
        p[i] = lower(name[i]);
    if (value_len > 0)
        memcpy(p + name_len, value, value_len);
    out->name.p = p;
    out->name.len = name_len;
    out->value.p = p + name_len;
    out->value.len = value_len;
    return 0;
}

int rs_header_map_add(struct rs_header_map *m, const char *name, size_t name_len, const char *value,
                      size_t value_len)
{
    if (reserve(m, m->n + 1) < 0)
        return -1;
    struct rs_header h;
    if (make_entry(m, name, name_len, value, value_len, &h) < 0)
        return -1;
    size_t at = m->n;
    if (name_len > 0 && name[0] == ':') {
        /* Pseudo-headers precede regular ones (RFC 9113 8.3): insert after the last one. */
        at = m->n_pseudo++;
        memmove(&m->entries[at + 1], &m->entries[at], (m->n - at) * sizeof *m->entries);
    }
    m->entries[at] = h;
    m->n++;
    m->bytes += name_len + value_len;
    return 0;
}

/* Removes entries matching name from index `from` on; returns how many. */
static size_t remove_from(struct rs_header_map *m, size_t from, const char *name, size_t name_len)
{
    size_t w = from, removed = 0;
    for (size_t r = from; r < m->n; r++) {
        struct rs_header *h = &m->entries[r];
        if (rs_hstr_eq_nocase(h->name, name, name_len)) {
            m->bytes -= h->name.len + h->value.len;
            if (r < m->n_pseudo)
                m->n_pseudo--;
            removed++;
            continue;
        }
        m->entries[w++] = *h;
    }
    m->n = w;
    return removed;
}

size_t rs_header_map_remove(struct rs_header_map *m, const char *name, size_t name_len)
{
    return remove_from(m, 0, name, name_len);
}

int rs_header_map_set(struct rs_header_map *m, const char *name, size_t name_len, const char *value,
                      size_t value_len)
{
    for (size_t i = 0; i < m->n; i++) {
        struct rs_header *h = &m->entries[i];
        if (!rs_hstr_eq_nocase(h->name, name, name_len))
            continue;
        /* Keep the first occurrence's position (so order is stable), replace its value, and
         * drop the later ones. */
        char *p = arena_alloc(m, value_len);
        if (p == NULL && value_len > 0)
            return -1;
        if (value_len > 0)
            memcpy(p, value, value_len);
        m->bytes -= h->value.len;
        m->bytes += value_len;
        h->value.p = p;
        h->value.len = value_len;
        remove_from(m, i + 1, name, name_len);
        return 0;
    }
    return rs_header_map_add(m, name, name_len, value, value_len);
}

const struct rs_hstr *rs_header_map_get(const struct rs_header_map *m, const char *name,
                                        size_t name_len)
{
    /* Pseudo-headers are only looked up among the leading block, regular ones after it. */
    bool pseudo = name_len > 0 && name[0] == ':';
    size_t from = pseudo ? 0 : m->n_pseudo;
    size_t to = pseudo ? m->n_pseudo : m->n;
    for (size_t i = from; i < to; i++) {
        if (rs_hstr_eq_nocase(m->entries[i].name, name, name_len))
            return &m->entries[i].value;
    }
    return NULL;
}

const struct rs_hstr *rs_header_map_gets(const struct rs_header_map *m, const char *name)
{
    return rs_header_map_get(m, name, strlen(name));
}

size_t rs_header_map_size(const struct rs_header_map *m)
{
    return m->n;
}

const struct rs_header *rs_header_map_at(const struct rs_header_map *m, size_t i)
{
    return i < m->n ? &m->entries[i] : NULL;
}

size_t rs_header_map_byte_size(const struct rs_header_map *m)
{
    return m->bytes;
}

struct rs_header_map *rs_header_map_clone(const struct rs_header_map *m)
{
    struct rs_header_map *c = rs_header_map_new();
    if (c == NULL)
        return NULL;
    if (reserve(c, m->n) < 0 || (m->bytes > 0 && arena_alloc(c, m->bytes) == NULL)) {
        rs_header_map_free(c);
        return NULL;
    }
    /* One block sized for all live strings: the clone carries none of the original's waste. */
    if (c->arena != NULL)
        c->arena->used = 0;
    for (size_t i = 0; i < m->n; i++) {
        const struct rs_header *h = &m->entries[i];
        if (make_entry(c, h->name.p, h->name.len, h->value.p, h->value.len, &c->entries[i]) < 0) {
            rs_header_map_free(c);
            return NULL;
        }
    }
    c->n = m->n;
    c->n_pseudo = m->n_pseudo;
    c->bytes = m->bytes;
    return c;
}
