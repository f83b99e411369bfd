/* Unsigned decimal formatting without printf, for values written on every request (status codes,
 * durations, lengths). */
#ifndef RS_CORE_DECIMAL_H
#define RS_CORE_DECIMAL_H

#include <stddef.h>
#include <stdint.h>

#define RS_DECIMAL_MAX 21 /* 20 digits of UINT64_MAX and a NUL */

/* Writes v and a NUL into out (RS_DECIMAL_MAX bytes); returns the number of digits. */
static inline size_t rs_decimal(char *out, uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '\0';
    return n;
}

#endif
