/* The compiled program shared by the formatter's files: a sequence of literal pieces and command
 * operators. Not part of the public API. */
#ifndef RS_HTTP_ACCESS_LOG_FORMATTER_INTERNAL_H
#define RS_HTTP_ACCESS_LOG_FORMATTER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct rs_stream_info;
struct rs_strbuf;

enum rs_fmt_kind {
    RS_FMT_LITERAL,
    RS_FMT_START_TIME,
    RS_FMT_REQ,
    RS_FMT_RESP,
    RS_FMT_TRAILER,
    RS_FMT_PROTOCOL,
    RS_FMT_RESPONSE_CODE,
    RS_FMT_RESPONSE_CODE_DETAILS,
    RS_FMT_RESPONSE_FLAGS,
    RS_FMT_BYTES_RECEIVED,
    RS_FMT_BYTES_SENT,
    RS_FMT_DURATION,
    RS_FMT_REQUEST_DURATION,
    RS_FMT_RESPONSE_DURATION,
    RS_FMT_RESPONSE_TX_DURATION,
    RS_FMT_UPSTREAM_HOST,
    RS_FMT_UPSTREAM_CLUSTER,
    RS_FMT_UPSTREAM_TRANSPORT_FAILURE_REASON,
    RS_FMT_DOWNSTREAM_REMOTE_ADDRESS,
    RS_FMT_DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT,
    RS_FMT_DOWNSTREAM_LOCAL_ADDRESS,
    RS_FMT_DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT,
    RS_FMT_UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT,
    RS_FMT_DOWNSTREAM_REMOTE_PORT,
    RS_FMT_DOWNSTREAM_LOCAL_PORT,
    RS_FMT_UPSTREAM_LOCAL_ADDRESS,
    RS_FMT_REQUESTED_SERVER_NAME,
    RS_FMT_CONNECTION_TERMINATION_DETAILS,
    RS_FMT_DOWNSTREAM_PEER_URI_SAN,
    RS_FMT_DOWNSTREAM_LOCAL_URI_SAN,
    RS_FMT_UPSTREAM_REQUEST_ATTEMPT_COUNT,
    RS_FMT_ROUTE_NAME,
    RS_FMT_STREAM_ID,
    RS_FMT_HOSTNAME,
};

struct rs_fmt_op {
    enum rs_fmt_kind kind;
    char *text; /* literal bytes; header name (lower-case); START_TIME spec (NULL: default);
                   HOSTNAME value */
    size_t text_len;
    char *alt; /* REQ/RESP/TRAILER fallback header after '?', or NULL */
    size_t alt_len;
    size_t max_len; /* ":N" truncation; 0 means none */
};

struct rs_fmt_seq {
    struct rs_fmt_op *ops;
    size_t n;
};

/* What an operator produced. */
enum rs_fmt_value { RS_FMT_MISSING, RS_FMT_STRING, RS_FMT_NUMBER };

/* Compiles format into seq. On error returns -1 with a message in err (seq is left empty). */
int rs_fmt_compile(const char *format, struct rs_fmt_seq *seq, char *err, size_t err_len);
void rs_fmt_seq_free(struct rs_fmt_seq *seq);

/* Appends one operator's value to out (nothing when MISSING), truncated to op->max_len. */
enum rs_fmt_value rs_fmt_eval(const struct rs_fmt_op *op, const struct rs_stream_info *si,
                              struct rs_strbuf *out);

/* Evaluates every piece, writing `missing` in place of missing values. */
void rs_fmt_seq_eval(const struct rs_fmt_seq *seq, const struct rs_stream_info *si,
                     const char *missing, struct rs_strbuf *out);

/* START_TIME: spec NULL is Envoy's default (2024-01-02T03:04:05.678Z). Custom specs are strftime
 * in UTC plus %f (9 digits), %1f..%9f (that many digits, truncated), %s (epoch seconds) and
 * %E<n>S (seconds with n fraction digits). */
void rs_fmt_time(const char *spec, const struct timespec *t, struct rs_strbuf *out);

/* Replaces out[start..] (raw bytes) by its JSON string literal, quotes included, in place. */
void rs_fmt_json_quote_tail(struct rs_strbuf *out, size_t start);

#endif
