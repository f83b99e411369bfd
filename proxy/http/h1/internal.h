/* Shared pieces of the HTTP/1.1 codec; not part of the public API. */
#ifndef RS_HTTP_H1_INTERNAL_H
#define RS_HTTP_H1_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proxy/http/h1/h1.h"

/* Character classes of RFC 9110 5.6 and RFC 9112. */
extern const uint8_t rs_h1_char_class[256];
#define RS_H1_C_TCHAR 0x01  /* token character */
#define RS_H1_C_VALUE 0x02  /* field-vchar, SP or HTAB: allowed in a field value */
#define RS_H1_C_TARGET 0x04 /* visible ASCII: allowed in a request target */
#define RS_H1_C_HEX 0x08

static inline bool rs_h1_is_tchar(unsigned char c)
{
    return rs_h1_char_class[c] & RS_H1_C_TCHAR;
}
static inline bool rs_h1_is_value_char(unsigned char c)
{
    return rs_h1_char_class[c] & RS_H1_C_VALUE;
}
static inline bool rs_h1_is_target_char(unsigned char c)
{
    return rs_h1_char_class[c] & RS_H1_C_TARGET;
}
static inline bool rs_h1_is_ows(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/* ASCII case-insensitive equality of a slice and a lower-case literal. */
bool rs_h1_eq_ci(const char *p, size_t len, const char *lower, size_t lower_len);
/* ASCII case-insensitive equality of two slices. */
bool rs_h1_slice_eq_ci(struct rs_h1_slice a, struct rs_h1_slice b);
#define RS_H1_EQ_LIT(s, lit) rs_h1_eq_ci((s).p, (s).len, lit, sizeof(lit) - 1)

/* The limits with zero fields replaced by defaults. */
struct rs_h1_limits rs_h1_limits_resolve(const struct rs_h1_limits *l);

/* Error details strings (Envoy's Http1ResponseCodeDetails). */
#define RS_H1_D_CODEC "http1.codec_error"
#define RS_H1_D_CHARS "http1.invalid_characters"
#define RS_H1_D_TOO_LARGE "http1.headers_too_large"
#define RS_H1_D_TOO_MANY "http1.too_many_headers"
#define RS_H1_D_CL_AND_TE "http1.content_length_and_chunked_not_allowed"
#define RS_H1_D_BAD_TE "http1.invalid_transfer_encoding"
#define RS_H1_D_TE_NOT_ALLOWED "http1.transfer_encoding_not_allowed"
#define RS_H1_D_CONN_REJECTED "http1.connection_header_rejected"
#define RS_H1_D_CL_NOT_ALLOWED "http1.content_length_not_allowed"

static inline enum rs_h1_status rs_h1_fail(struct rs_h1_error *err, int status, const char *details)
{
    err->status = status;
    err->details = details;
    return RS_H1_ERROR;
}

/* Parses field lines from buf[pos..len) through the empty line that ends them (used for heads and
 * trailer sections). Nothing past limit_end may belong to the section (431). Fields go to
 * out[*count..], at most max_count in all (431). On RS_H1_DONE *end is the offset just past the
 * empty line. bad_status is the status for malformed input (400, or 502 for responses); limit
 * errors use 431 unless bad_status is 502. */
enum rs_h1_status rs_h1_parse_fields(const char *buf, size_t len, size_t pos, size_t limit_end,
                                     size_t max_count, struct rs_h1_header *out, size_t *count,
                                     size_t *end, int bad_status, struct rs_h1_error *err);

/* Finds the end of the line starting at pos: on RS_H1_DONE *eol is the offset of its CR (the line
 * is buf[pos..*eol), the next starts at *eol + 2). A LF without CR is an error. Lines reaching
 * past limit_end fail with 431 (or bad_status when it is 502). */
enum rs_h1_status rs_h1_find_line(const char *buf, size_t len, size_t pos, size_t limit_end,
                                  size_t *eol, int bad_status, struct rs_h1_error *err);

/* Derives framing (Content-Length, chunked, keep-alive, upgrade, 100-continue, hop-by-hop marks)
 * from head->headers and applies Envoy's framing rules. */
enum rs_h1_status rs_h1_derive_framing(struct rs_h1_head *head, bool is_response,
                                       struct rs_h1_error *err);

#endif
