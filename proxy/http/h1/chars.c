/* Character tables: one lookup per byte on the hot path instead of chains of comparisons. */
#include <string.h>

#include "proxy/http/h1/internal.h"

#define T RS_H1_C_TCHAR
#define V RS_H1_C_VALUE
#define G RS_H1_C_TARGET
#define H RS_H1_C_HEX

/* Range designators keep the table readable; gcc and clang both accept them. Everything not
 * listed (CTLs, DEL) is 0: never allowed anywhere. */
const uint8_t rs_h1_char_class[256] = {
    ['\t'] = V,
    [' '] = V,
    ['!'] = T | V | G,
    ['"'] = V | G,
    ['#'] = T | V | G,
    ['$'] = T | V | G,
    ['%'] = T | V | G,
    ['&'] = T | V | G,
    ['\''] = T | V | G,
    ['('] = V | G,
    [')'] = V | G,
    ['*'] = T | V | G,
    ['+'] = T | V | G,
    [','] = V | G,
    ['-'] = T | V | G,
    ['.'] = T | V | G,
    ['/'] = V | G,
    ['0' ... '9'] = T | V | G | H,
    [':' ... '@'] = V | G,
    ['A' ... 'F'] = T | V | G | H,
    ['G' ... 'Z'] = T | V | G,
    ['['] = V | G,
    ['\\'] = V | G,
    [']'] = V | G,
    ['^'] = T | V | G,
    ['_'] = T | V | G,
    ['`'] = T | V | G,
    ['a' ... 'f'] = T | V | G | H,
    ['g' ... 'z'] = T | V | G,
    ['{'] = V | G,
    ['|'] = T | V | G,
    ['}'] = V | G,
    ['~'] = T | V | G,
    /* obs-text is allowed in field values (RFC 9110 5.5), never in tokens or targets. */
    [0x80 ... 0xff] = V,
};

bool rs_h1_eq_ci(const char *p, size_t len, const char *lower, size_t lower_len)
{
    if (len != lower_len)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c + ('a' - 'A'));
        if (c != (unsigned char)lower[i])
            return false;
    }
    return true;
}

static inline unsigned char lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

bool rs_h1_slice_eq_ci(struct rs_h1_slice a, struct rs_h1_slice b)
{
    if (a.len != b.len)
        return false;
    for (size_t i = 0; i < a.len; i++) {
        if (lower((unsigned char)a.p[i]) != lower((unsigned char)b.p[i]))
            return false;
    }
    return true;
}

struct rs_h1_limits rs_h1_limits_resolve(const struct rs_h1_limits *l)
{
    struct rs_h1_limits r = {0};
    if (l)
        r = *l;
    if (!r.max_headers_bytes)
        r.max_headers_bytes = RS_H1_DEFAULT_MAX_HEADERS_BYTES;
    if (!r.max_headers_count)
        r.max_headers_count = RS_H1_DEFAULT_MAX_HEADERS_COUNT;
    if (!r.max_chunk_line_bytes)
        r.max_chunk_line_bytes = RS_H1_DEFAULT_MAX_CHUNK_LINE_BYTES;
    return r;
}
