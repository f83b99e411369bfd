/* Well-known types: recognised by descriptor full name (protobuf-c generates them as ordinary
 * messages), and the text forms of Duration and Timestamp. Calendar arithmetic is done here, not
 * with timegm/gmtime, so the result does not depend on the C library's time_t range or TZ. */
#include <stdio.h>
#include <string.h>

#include "api/codec/codec_internal.h"

/* proto3 bounds: +-10000 years for Duration, years 0001..9999 for Timestamp. */
#define DURATION_MAX_SECONDS 315576000000LL
#define TIMESTAMP_MIN_SECONDS -62135596800LL
#define TIMESTAMP_MAX_SECONDS 253402300799LL

static int has_field(const ProtobufCMessageDescriptor *d, const char *name, unsigned id,
                     ProtobufCType type, ProtobufCLabel label)
{
    const ProtobufCFieldDescriptor *f = rs_codec_field_by_name(d, name);
    if (!f || f->id != id || f->type != type)
        return 0;
    if (label == PROTOBUF_C_LABEL_REPEATED)
        return f->label == PROTOBUF_C_LABEL_REPEATED;
    return f->label != PROTOBUF_C_LABEL_REPEATED;
}

static enum rs_codec_wkt wrapper_kind(const ProtobufCMessageDescriptor *d)
{
    static const struct {
        const char *name;
        ProtobufCType type;
    } wrappers[] = {
        {"google.protobuf.DoubleValue", PROTOBUF_C_TYPE_DOUBLE},
        {"google.protobuf.FloatValue", PROTOBUF_C_TYPE_FLOAT},
        {"google.protobuf.Int64Value", PROTOBUF_C_TYPE_INT64},
        {"google.protobuf.UInt64Value", PROTOBUF_C_TYPE_UINT64},
        {"google.protobuf.Int32Value", PROTOBUF_C_TYPE_INT32},
        {"google.protobuf.UInt32Value", PROTOBUF_C_TYPE_UINT32},
        {"google.protobuf.BoolValue", PROTOBUF_C_TYPE_BOOL},
        {"google.protobuf.StringValue", PROTOBUF_C_TYPE_STRING},
        {"google.protobuf.BytesValue", PROTOBUF_C_TYPE_BYTES},
    };
    for (size_t i = 0; i < sizeof(wrappers) / sizeof(wrappers[0]); i++) {
        if (strcmp(d->name, wrappers[i].name) == 0)
            return d->n_fields == 1 &&
                           has_field(d, "value", 1, wrappers[i].type, PROTOBUF_C_LABEL_NONE)
                       ? RS_CODEC_WKT_WRAPPER
                       : RS_CODEC_WKT_NONE;
    }
    return RS_CODEC_WKT_NONE;
}

enum rs_codec_wkt rs_codec_wkt_kind(const ProtobufCMessageDescriptor *d)
{
    const char *n = d->name;
    if (strncmp(n, "google.protobuf.", 16) != 0)
        return RS_CODEC_WKT_NONE;
    if (strcmp(n, "google.protobuf.Any") == 0)
        return has_field(d, "type_url", 1, PROTOBUF_C_TYPE_STRING, PROTOBUF_C_LABEL_NONE) &&
                       has_field(d, "value", 2, PROTOBUF_C_TYPE_BYTES, PROTOBUF_C_LABEL_NONE)
                   ? RS_CODEC_WKT_ANY
                   : RS_CODEC_WKT_NONE;
    if (strcmp(n, "google.protobuf.Duration") == 0 || strcmp(n, "google.protobuf.Timestamp") == 0) {
        if (!has_field(d, "seconds", 1, PROTOBUF_C_TYPE_INT64, PROTOBUF_C_LABEL_NONE) ||
            !has_field(d, "nanos", 2, PROTOBUF_C_TYPE_INT32, PROTOBUF_C_LABEL_NONE))
            return RS_CODEC_WKT_NONE;
        return n[16] == 'D' ? RS_CODEC_WKT_DURATION : RS_CODEC_WKT_TIMESTAMP;
    }
    if (strcmp(n, "google.protobuf.FieldMask") == 0)
        return has_field(d, "paths", 1, PROTOBUF_C_TYPE_STRING, PROTOBUF_C_LABEL_REPEATED)
                   ? RS_CODEC_WKT_FIELD_MASK
                   : RS_CODEC_WKT_NONE;
    if (strcmp(n, "google.protobuf.Struct") == 0) {
        const ProtobufCFieldDescriptor *f = rs_codec_field_by_name(d, "fields");
        return f && rs_codec_field_is_map(d, f) ? RS_CODEC_WKT_STRUCT : RS_CODEC_WKT_NONE;
    }
    if (strcmp(n, "google.protobuf.Value") == 0)
        return has_field(d, "null_value", 1, PROTOBUF_C_TYPE_ENUM, PROTOBUF_C_LABEL_NONE) &&
                       has_field(d, "number_value", 2, PROTOBUF_C_TYPE_DOUBLE,
                                 PROTOBUF_C_LABEL_NONE) &&
                       has_field(d, "string_value", 3, PROTOBUF_C_TYPE_STRING,
                                 PROTOBUF_C_LABEL_NONE) &&
                       has_field(d, "bool_value", 4, PROTOBUF_C_TYPE_BOOL, PROTOBUF_C_LABEL_NONE) &&
                       has_field(d, "struct_value", 5, PROTOBUF_C_TYPE_MESSAGE,
                                 PROTOBUF_C_LABEL_NONE) &&
                       has_field(d, "list_value", 6, PROTOBUF_C_TYPE_MESSAGE,
                                 PROTOBUF_C_LABEL_NONE) &&
                       (rs_codec_field_by_name(d, "null_value")->flags &
                        PROTOBUF_C_FIELD_FLAG_ONEOF)
                   ? RS_CODEC_WKT_VALUE
                   : RS_CODEC_WKT_NONE;
    if (strcmp(n, "google.protobuf.ListValue") == 0)
        return has_field(d, "values", 1, PROTOBUF_C_TYPE_MESSAGE, PROTOBUF_C_LABEL_REPEATED)
                   ? RS_CODEC_WKT_LIST_VALUE
                   : RS_CODEC_WKT_NONE;
    return wrapper_kind(d);
}

static int digits(const char *s, size_t n, int64_t *out)
{
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* Reads ".d{1,9}" at s[*i] into nanoseconds, if present. */
static int fraction(const char *s, size_t len, size_t *i, int32_t *nanos)
{
    int32_t v = 0, scale = 100000000;
    size_t n = 0;
    *nanos = 0;
    if (*i >= len || s[*i] != '.')
        return 0;
    (*i)++;
    while (*i < len && s[*i] >= '0' && s[*i] <= '9') {
        if (++n > 9)
            return -1;
        v += (s[*i] - '0') * scale;
        scale /= 10;
        (*i)++;
    }
    if (n == 0)
        return -1;
    *nanos = v;
    return 0;
}

int rs_codec_duration_parse(const char *s, size_t len, int64_t *seconds, int32_t *nanos)
{
    size_t i = 0, start;
    int neg = 0;
    int64_t secs = 0;
    int32_t ns = 0;
    if (i < len && s[i] == '-')
        neg = 1, i++;
    if (i >= len || s[i] < '0' || s[i] > '9')
        return -1;
    while (i + 1 < len && s[i] == '0' && s[i + 1] >= '0' && s[i + 1] <= '9')
        i++; /* leading zeros do not count towards the 12 significant digits */
    start = i;
    while (i < len && s[i] >= '0' && s[i] <= '9')
        i++;
    if (i - start > 12) {
        /* Still syntax-check the rest so "99999999999999999999s" reads as out of range. */
        size_t j = i;
        if (fraction(s, len, &j, &ns) || j + 1 != len || s[j] != 's')
            return -1;
        return -2;
    }
    digits(s + start, i - start, &secs);
    if (fraction(s, len, &i, &ns))
        return -1;
    if (i + 1 != len || s[i] != 's')
        return -1;
    if (secs > DURATION_MAX_SECONDS)
        return -2;
    *seconds = neg ? -secs : secs;
    *nanos = neg ? -ns : ns;
    return 0;
}

/* Fractions are printed with 0, 3, 6 or 9 digits, as the proto3 JSON mapping specifies. */
static void format_fraction(int32_t nanos, char *out, size_t out_len)
{
    if (nanos == 0)
        out[0] = '\0';
    else if (nanos % 1000000 == 0)
        snprintf(out, out_len, ".%03d", nanos / 1000000);
    else if (nanos % 1000 == 0)
        snprintf(out, out_len, ".%06d", nanos / 1000);
    else
        snprintf(out, out_len, ".%09d", nanos);
}

int rs_codec_duration_format(int64_t seconds, int32_t nanos, char *out, size_t out_len)
{
    char frac[16];
    if (seconds > DURATION_MAX_SECONDS || seconds < -DURATION_MAX_SECONDS)
        return -1;
    if (nanos <= -1000000000 || nanos >= 1000000000)
        return -1;
    if ((seconds > 0 && nanos < 0) || (seconds < 0 && nanos > 0))
        return -1;
    int neg = seconds < 0 || nanos < 0;
    format_fraction(nanos < 0 ? -nanos : nanos, frac, sizeof(frac));
    snprintf(out, out_len, "%s%lld%ss", neg ? "-" : "",
             (long long)(seconds < 0 ? -seconds : seconds), frac);
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int64_t *m, int64_t *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yoe + era * 400 + (*m <= 2);
}

static int days_in_month(int64_t y, int64_t m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* Reads a fixed-width decimal field followed by an expected separator (0 for none). */
static int field(const char *s, size_t len, size_t *i, size_t width, char sep, int64_t *out)
{
    if (*i + width > len || digits(s + *i, width, out))
        return -1;
    *i += width;
    if (sep) {
        if (*i >= len || s[*i] != sep)
            return -1;
        (*i)++;
    }
    return 0;
}

int rs_codec_timestamp_parse(const char *s, size_t len, int64_t *seconds, int32_t *nanos)
{
    int64_t y, mo, d, h, mi, sec, oh = 0, om = 0, off = 0;
    int32_t ns;
    size_t i = 0;
    if (field(s, len, &i, 4, '-', &y) || field(s, len, &i, 2, '-', &mo) ||
        field(s, len, &i, 2, 0, &d))
        return -1;
    if (i >= len || (s[i] != 'T' && s[i] != 't'))
        return -1;
    i++;
    if (field(s, len, &i, 2, ':', &h) || field(s, len, &i, 2, ':', &mi) ||
        field(s, len, &i, 2, 0, &sec) || fraction(s, len, &i, &ns))
        return -1;
    if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i < len && (s[i] == '+' || s[i] == '-')) {
        int sign = s[i] == '-' ? -1 : 1;
        i++;
        if (field(s, len, &i, 2, ':', &oh) || field(s, len, &i, 2, 0, &om) || oh > 23 || om > 59)
            return -1;
        off = sign * (oh * 3600 + om * 60);
    } else {
        return -1;
    }
    if (i != len)
        return -1;
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 ||
        sec > 59)
        return -1;
    int64_t t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off;
    if (t < TIMESTAMP_MIN_SECONDS || t > TIMESTAMP_MAX_SECONDS)
        return -2;
    *seconds = t;
    *nanos = ns;
    return 0;
}

int rs_codec_timestamp_format(int64_t seconds, int32_t nanos, char *out, size_t out_len)
{
    char frac[16];
    int64_t days, rem, y, m, d;
    if (seconds < TIMESTAMP_MIN_SECONDS || seconds > TIMESTAMP_MAX_SECONDS || nanos < 0 ||
        nanos > 999999999)
        return -1;
    days = seconds / 86400;
    rem = seconds % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    civil_from_days(days, &y, &m, &d);
    format_fraction(nanos, frac, sizeof(frac));
    snprintf(out, out_len, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld%sZ", (long long)y,
             (long long)m, (long long)d, (long long)(rem / 3600), (long long)(rem % 3600 / 60),
             (long long)(rem % 60), frac);
    return 0;
}
