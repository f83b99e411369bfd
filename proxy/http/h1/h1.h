/* A strict, zero-copy HTTP/1.1 codec (RFC 9112): head parser, body decoder, serializer.
 *
 * Pure functions over caller-owned memory: no sockets, no allocation while parsing. Every slice the
 * parser returns points into the caller's input buffer, so the caller must keep those bytes alive
 * (and unmoved) until it has copied what it needs (a later layer copies into a header map).
 *
 * Strictness follows Envoy's HTTP/1 codec: anything that could let two parsers disagree about
 * where a message ends (request smuggling) is refused with the status Envoy would answer and its
 * response-code-details string. Errors on the response side carry 502, since the proxy answers a
 * bad upstream response with 502 (UPE). */
#ifndef RS_HTTP_H1_H
#define RS_HTTP_H1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum rs_h1_status {
    RS_H1_ERROR = -1,
    /* The input ends before the element does: present the unconsumed bytes again, followed by
     * more input. */
    RS_H1_NEED_MORE = 0,
    RS_H1_DONE = 1,
};

struct rs_h1_slice {
    const char *p; /* into the caller's buffer; not NUL-terminated */
    size_t len;
};

struct rs_h1_header {
    struct rs_h1_slice name;  /* as received (case preserved) */
    struct rs_h1_slice value; /* surrounding SP/HTAB trimmed */
    /* Connection-specific (RFC 9110 7.6.1): Connection, Keep-Alive, Proxy-Connection, TE,
     * Transfer-Encoding, Upgrade, and every name listed in Connection. A proxy drops these.
     * Framing comes from the head's derived fields, never from what is forwarded, so a
     * nominated Content-Length cannot change where this message ends. */
    bool hop_by_hop;
};

struct rs_h1_error {
    int status;          /* HTTP status to answer with: 400, 413, 431, 501, 502 (response side) */
    const char *details; /* Envoy's response code details, e.g. "http1.codec_error" */
};

#define RS_H1_DEFAULT_MAX_HEADERS_BYTES (60 * 1024)
#define RS_H1_DEFAULT_MAX_HEADERS_COUNT 100
#define RS_H1_DEFAULT_MAX_CHUNK_LINE_BYTES 4096

/* Zero fields take the defaults (Envoy's max_request_headers_kb = 60 and max_headers_count =
 * 100). A NULL limits pointer means all defaults. */
struct rs_h1_limits {
    /* Bytes of a head (start line + fields + empty line) or of a trailer section. Over it: 431
     * "http1.headers_too_large". Covers an oversize request line or field line too. */
    size_t max_headers_bytes;
    /* Fields of a head or of a trailer section. Over it: 431 "http1.too_many_headers". */
    size_t max_headers_count;
    /* A chunk-size line including extensions. Over it: 400 "http1.codec_error". */
    size_t max_chunk_line_bytes;
};

enum rs_h1_body_kind {
    RS_H1_BODY_NONE,        /* no body: the message ends with its head */
    RS_H1_BODY_LENGTH,      /* Content-Length bytes */
    RS_H1_BODY_CHUNKED,     /* Transfer-Encoding: chunked, maybe with trailers */
    RS_H1_BODY_UNTIL_CLOSE, /* responses only: everything until the connection closes */
};

struct rs_h1_head {
    /* Requests */
    struct rs_h1_slice method;
    struct rs_h1_slice target;
    /* Responses */
    int status_code;
    struct rs_h1_slice reason; /* may be empty */
    /* Both */
    int version_minor; /* HTTP/1.<version_minor>: 0 or 1 */

    /* Fields, in order, in caller-provided storage (see rs_h1_head_init). */
    struct rs_h1_header *headers;
    size_t headers_cap;
    size_t num_headers;

    /* Framing derived from the fields. */
    bool has_content_length;
    uint64_t content_length;
    bool chunked;    /* Transfer-Encoding: chunked (the only coding accepted) */
    bool keep_alive; /* per version and Connection close / keep-alive */
    bool upgrade;    /* Connection lists "upgrade" and an Upgrade field is present */
    struct rs_h1_slice upgrade_protocol; /* the Upgrade field's value when upgrade is set */
    bool expect_100_continue;            /* HTTP/1.1 request with Expect: 100-continue */
    /* TE lists "trailers". TE itself is hop-by-hop; a proxy that forwards trailers sends
     * "te: trailers" on, as Envoy does, and drops other TE codings. */
    bool te_trailers;
    bool connect; /* request method CONNECT */
};

/* Points head at storage for up to cap fields and clears it. The effective field limit is the
 * smaller of cap and limits->max_headers_count. */
void rs_h1_head_init(struct rs_h1_head *head, struct rs_h1_header *storage, size_t cap);

/* Parses a request head from buf[0..len). Leading empty lines (CRLF) are skipped, as RFC 9112 2.2
 * allows. On RS_H1_DONE, *consumed is the length of the head (the body or the next pipelined
 * message starts at buf + *consumed) and head is filled. On RS_H1_NEED_MORE, *consumed counts the
 * empty lines skipped so far (usually 0), which the caller may drop: call again with
 * buf[*consumed..len) followed by more input. On RS_H1_ERROR, *err says what to answer. The parser
 * keeps no state between calls: each call looks at the whole buffer. A NEED_MORE answer can only
 * change once a line completes, so a caller need not call again until a newly received byte is a LF
 * or the buffer has grown past limits->max_headers_bytes: with the field-count limit that bounds
 * the work per head to about (max_headers_count + 2) passes, even against one-byte reads. */
enum rs_h1_status rs_h1_parse_request_head(const char *buf, size_t len,
                                           const struct rs_h1_limits *limits,
                                           struct rs_h1_head *head, size_t *consumed,
                                           struct rs_h1_error *err);

/* The same for a response head ("HTTP/1.x NNN reason"). Errors carry status 502. */
enum rs_h1_status rs_h1_parse_response_head(const char *buf, size_t len,
                                            const struct rs_h1_limits *limits,
                                            struct rs_h1_head *head, size_t *consumed,
                                            struct rs_h1_error *err);

/* How a parsed request's body is framed: chunked, Content-Length (0 means none) or none. */
enum rs_h1_body_kind rs_h1_request_body_kind(const struct rs_h1_head *req);

/* How a parsed response's body is framed, given the request's method (RFC 9112 6.3): none for
 * HEAD, 1xx, 204, 304 and a 2xx answer to CONNECT; else chunked, Content-Length or until close.
 * A response read until close cannot be kept alive, whatever its Connection field says. */
enum rs_h1_body_kind rs_h1_response_body_kind(const struct rs_h1_head *resp,
                                              struct rs_h1_slice request_method);

/* Writes the indexes of the hop-by-hop fields (in order) to out, at most cap of them, and
 * returns how many there are in all (which may exceed cap). */
size_t rs_h1_head_hop_by_hop(const struct rs_h1_head *head, size_t *out, size_t cap);

/* Index of the first field named name (case-insensitive), or -1. */
long rs_h1_head_find(const struct rs_h1_head *head, const char *name, size_t name_len);

/* ---- body decoder ---- */

struct rs_h1_body_decoder {
    enum rs_h1_body_kind kind;
    int state;          /* private */
    uint64_t remaining; /* bytes left of the Content-Length body or of the current chunk */
    bool is_response;   /* errors carry 502 instead of 400 */
    struct rs_h1_limits limits;
    /* Trailers of a chunked body, in caller-provided storage; valid after RS_H1_DONE and pointing
     * into the buffer passed to the call that returned it. */
    struct rs_h1_header *trailers;
    size_t trailers_cap;
    size_t num_trailers;
};

/* Prepares a decoder for one message body. content_length is used for RS_H1_BODY_LENGTH.
 * trailer_storage may be NULL with cap 0: then any trailer field is refused with 431. */
void rs_h1_body_decoder_init(struct rs_h1_body_decoder *d, enum rs_h1_body_kind kind,
                             uint64_t content_length, bool is_response,
                             const struct rs_h1_limits *limits,
                             struct rs_h1_header *trailer_storage, size_t trailer_cap);

/* Decodes from buf[0..len). Yields at most one data slice per call, pointing into buf.
 *  - RS_H1_DONE: the body ended; *consumed is where it ended (a pipelined message may follow);
 *    *data may hold the last bytes; trailers (if any) are in d->trailers.
 *  - RS_H1_NEED_MORE: if data->len > 0 and *consumed < len, call again at buf + *consumed at once;
 *    otherwise keep buf[*consumed..len) (an incomplete chunk-size line or trailer section) and
 *    call again with it followed by more input.
 *  - RS_H1_ERROR: *err set; the connection must not be reused. */
enum rs_h1_status rs_h1_body_decode(struct rs_h1_body_decoder *d, const char *buf, size_t len,
                                    size_t *consumed, struct rs_h1_slice *data,
                                    struct rs_h1_error *err);

/* The peer closed the connection: RS_H1_DONE if that ends the body (until-close, or already
 * done), else RS_H1_ERROR (a truncated message). */
enum rs_h1_status rs_h1_body_eof(struct rs_h1_body_decoder *d, struct rs_h1_error *err);

bool rs_h1_body_done(const struct rs_h1_body_decoder *d);

/* ---- serializer ---- */

/* A growable output buffer owned by the caller (start it zeroed; free data with free()). */
struct rs_h1_buf {
    char *data;
    size_t len;
    size_t cap;
};

/* All serializers append to out and return 0, -EINVAL for a field that would break the framing
 * (a name that is not a token, a value or reason with CR, LF or NUL, a method or target that is
 * not well-formed), or -ENOMEM. On error out->len is unchanged. */
int rs_h1_serialize_request_head(struct rs_h1_buf *out, struct rs_h1_slice method,
                                 struct rs_h1_slice target, int version_minor,
                                 const struct rs_h1_header *headers, size_t num_headers);
/* reason may be empty: then the standard phrase for status is used. */
int rs_h1_serialize_response_head(struct rs_h1_buf *out, int version_minor, int status,
                                  struct rs_h1_slice reason, const struct rs_h1_header *headers,
                                  size_t num_headers);
/* "<hex size>\r\n"; size must be > 0 (a zero size is the last chunk). */
int rs_h1_serialize_chunk_header(struct rs_h1_buf *out, size_t size);
/* "\r\n" after a chunk's data. */
int rs_h1_serialize_chunk_end(struct rs_h1_buf *out);
/* "0\r\n" + trailer fields + "\r\n". */
int rs_h1_serialize_last_chunk(struct rs_h1_buf *out, const struct rs_h1_header *trailers,
                               size_t num_trailers);

/* For writev with the data in place: writes "<hex size>\r\n" to out (at least
 * RS_H1_CHUNK_HEADER_MAX bytes) and returns its length, 0 for size 0. */
#define RS_H1_CHUNK_HEADER_MAX 20
size_t rs_h1_chunk_header(char *out, size_t size);

/* Standard reason phrase, or "Unknown". */
const char *rs_h1_reason_phrase(int status);

#endif
