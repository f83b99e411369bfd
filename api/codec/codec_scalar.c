/* Scalar text <-> number/bool/bytes conversion for the proto3 JSON mapping. Syntax is checked by
 * hand before calling strtod/strtoll because those accept far more than JSON or YAML do (hex
 * floats, "inf", leading spaces, "+"), and configuration should not depend on libc quirks. The
 * process locale is assumed to be "C" (the proxy never calls setlocale). */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/codec/codec_internal.h"

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* YAML 1.2 core schema float: [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
 * Every JSON number matches it. */
int rs_codec_is_number_text(const char *s, size_t len)
{
    size_t i = 0, digits = 0;
    if (i < len && (s[i] == '-' || s[i] == '+'))
        i++;
    while (i < len && is_digit(s[i]))
        i++, digits++;
    if (i < len && s[i] == '.') {
        i++;
        while (i < len && is_digit(s[i]))
            i++, digits++;
    }
    if (!digits)
        return 0;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        size_t exp_digits = 0;
        i++;
        if (i < len && (s[i] == '-' || s[i] == '+'))
            i++;
        while (i < len && is_digit(s[i]))
            i++, exp_digits++;
        if (!exp_digits)
            return 0;
    }
    return i == len;
}

/* Integers: decimal digits with an optional '-', or a number in float syntax whose value is an
 * exact integer (proto3 JSON parsers accept "1e3" and "5.0" for integer fields). */
static int parse_integral_double(const char *s, size_t len, double *out)
{
    char buf[64];
    double d;
    if (len >= sizeof(buf) || !rs_codec_is_number_text(s, len))
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    d = strtod(buf, NULL);
    if (errno == ERANGE)
        return fabs(d) > 1 ? -2 : -1; /* overflow is a range error, underflow not an integer */
    if (d != floor(d))
        return -1;
    /* Beyond 2^53 a double no longer names one integer: demand plain digits there. */
    if (fabs(d) > 9007199254740992.0)
        return -2;
    *out = d;
    return 0;
}

static int all_digits(const char *s, size_t len)
{
    if (!len)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!is_digit(s[i]))
            return 0;
    return 1;
}

int rs_codec_parse_int64(const char *s, size_t len, int64_t *out)
{
    size_t neg = len && s[0] == '-';
    if (all_digits(s + neg, len - neg)) {
        char buf[32];
        long long v;
        if (len >= sizeof(buf))
            return -2;
        memcpy(buf, s, len);
        buf[len] = '\0';
        errno = 0;
        v = strtoll(buf, NULL, 10);
        if (errno == ERANGE)
            return -2;
        *out = v;
        return 0;
    }
    double d;
    int rc = parse_integral_double(s, len, &d);
    if (rc)
        return rc;
    *out = (int64_t)d;
    return 0;
}

int rs_codec_parse_uint64(const char *s, size_t len, uint64_t *out)
{
    if (all_digits(s, len)) {
        char buf[32];
        unsigned long long v;
        if (len >= sizeof(buf))
            return -2;
        memcpy(buf, s, len);
        buf[len] = '\0';
        errno = 0;
        v = strtoull(buf, NULL, 10);
        if (errno == ERANGE)
            return -2;
        *out = v;
        return 0;
    }
    if (len > 1 && s[0] == '-' && all_digits(s + 1, len - 1))
        return -2;
    double d;
    int rc = parse_integral_double(s, len, &d);
    if (rc)
        return rc;
    if (d < 0)
        return -2;
    *out = (uint64_t)d;
    return 0;
}

static int special_float(const char *s, size_t len, double *out)
{
    static const char *const nan_forms[] = {"NaN", ".nan", ".NaN", ".NAN"};
    static const char *const inf_forms[] = {"Infinity", ".inf", ".Inf", ".INF"};
    char buf[16];
    const char *t = s;
    size_t tl = len;
    double sign = 1;
    for (size_t i = 0; i < sizeof(nan_forms) / sizeof(nan_forms[0]); i++) {
        if (len == strlen(nan_forms[i]) && memcmp(s, nan_forms[i], len) == 0) {
            *out = NAN;
            return 1;
        }
    }
    if (tl && (t[0] == '-' || t[0] == '+')) {
        sign = t[0] == '-' ? -1 : 1;
        t++, tl--;
    }
    if (tl >= sizeof(buf))
        return 0;
    for (size_t i = 0; i < sizeof(inf_forms) / sizeof(inf_forms[0]); i++) {
        if (tl == strlen(inf_forms[i]) && memcmp(t, inf_forms[i], tl) == 0) {
            *out = sign * INFINITY;
            return 1;
        }
    }
    return 0;
}

/* Copies number text into a NUL-terminated buffer; numbers longer than this are not useful. */
static int number_buf(const char *s, size_t len, char *buf, size_t buf_len)
{
    if (len >= buf_len || !rs_codec_is_number_text(s, len))
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    return 0;
}

int rs_codec_parse_double(const char *s, size_t len, double *out)
{
    char buf[512];
    double d;
    if (special_float(s, len, out))
        return 0;
    if (number_buf(s, len, buf, sizeof(buf)))
        return -1;
    errno = 0;
    d = strtod(buf, NULL);
    if (errno == ERANGE && isinf(d))
        return -2;
    *out = d;
    return 0;
}

int rs_codec_parse_float(const char *s, size_t len, float *out)
{
    char buf[512];
    double d;
    float f;
    if (special_float(s, len, &d)) {
        *out = (float)d;
        return 0;
    }
    if (number_buf(s, len, buf, sizeof(buf)))
        return -1;
    /* strtof rounds once; (float)strtod() would round twice and can be off by one ulp. Text just
     * above FLT_MAX that still rounds to it (as printed for FLT_MAX) is in range. */
    f = strtof(buf, NULL);
    if (isinf(f))
        return -2;
    *out = f;
    return 0;
}

/* YAML 1.2 core schema booleans; the YAML 1.1 forms (yes/no/on/off) are rejected on purpose, as
 * the proto3 JSON mapping only knows true and false. */
int rs_codec_parse_bool(const char *s, size_t len, int *out)
{
    if ((len == 4) && (!memcmp(s, "true", 4) || !memcmp(s, "True", 4) || !memcmp(s, "TRUE", 4))) {
        *out = 1;
        return 0;
    }
    if ((len == 5) &&
        (!memcmp(s, "false", 5) || !memcmp(s, "False", 5) || !memcmp(s, "FALSE", 5))) {
        *out = 0;
        return 0;
    }
    return -1;
}

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

int rs_codec_base64_decode(const char *s, size_t len, uint8_t **out, size_t *out_len)
{
    size_t pad = 0, n, o = 0;
    uint32_t acc = 0;
    int bits = 0;
    uint8_t *buf;

    while (pad < 2 && len > pad && s[len - 1 - pad] == '=')
        pad++;
    if (pad && len % 4)
        return -1; /* padding is only meaningful on a full final quantum */
    n = len - pad;
    if (n % 4 == 1)
        return -1;
    *out = NULL;
    *out_len = 0;
    if (n == 0)
        return 0;
    buf = malloc(n * 3 / 4 + 1);
    if (!buf)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int v = b64_value((unsigned char)s[i]);
        if (v < 0) {
            free(buf);
            return -1;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[o++] = (uint8_t)(acc >> bits);
        }
    }
    *out = buf;
    *out_len = o;
    return 0;
}

size_t rs_codec_base64_encoded_len(size_t len)
{
    return (len + 2) / 3 * 4;
}

void rs_codec_base64_encode(const uint8_t *data, size_t len, char *out)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i, o = 0;
    for (i = 0; i + 2 < len; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8 | data[i + 2];
        out[o++] = tbl[v >> 18];
        out[o++] = tbl[(v >> 12) & 63];
        out[o++] = tbl[(v >> 6) & 63];
        out[o++] = tbl[v & 63];
    }
    if (i < len) {
        uint32_t v = (uint32_t)data[i] << 16 | (i + 1 < len ? (uint32_t)data[i + 1] << 8 : 0);
        out[o++] = tbl[v >> 18];
        out[o++] = tbl[(v >> 12) & 63];
        out[o++] = i + 1 < len ? tbl[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
}

/* Shortest text that reads back to the same value: config dumps stay readable (0.1, not
 * 0.10000000000000001) and parse(to_json(m)) still packs to identical bytes. */
void rs_codec_format_double(double v, char *out, size_t out_len)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, out_len, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            return;
    }
}

void rs_codec_format_float(float v, char *out, size_t out_len)
{
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(out, out_len, "%.*g", prec, (double)v);
        if (strtof(out, NULL) == v)
            return;
    }
}
