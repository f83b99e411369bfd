/* Parsing one HTTP/1.1 request from the bytes a connection has buffered: pure, no sockets, so it
 * is tested (and fuzzed) on its own. Strict: CRLF line endings, token methods and header names,
 * no obsolete line folding, Host required in HTTP/1.1, no transfer codings. */
#ifndef RS_ADMIN_REQUEST_H
#define RS_ADMIN_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#define RS_ADMIN_MAX_PARAMS 32

enum rs_admin_parse {
    RS_ADMIN_PARSE_INCOMPLETE, /* need more bytes (the buffer is below the size limits) */
    RS_ADMIN_PARSE_OK,         /* req is filled; req->consumed bytes belong to it */
    RS_ADMIN_PARSE_ERROR,      /* req->error_status says which 4xx/5xx to answer, then close */
};

struct rs_admin_param {
    const char *name;  /* percent-decoded, NUL-terminated */
    const char *value; /* percent-decoded; "" when the parameter has no '=' */
};

struct rs_admin_request {
    const char *method; /* e.g. "GET" */
    const char *path;   /* the target up to '?', as sent */
    struct rs_admin_param params[RS_ADMIN_MAX_PARAMS];
    size_t nparams;
    int version_minor; /* HTTP/1.<minor>: 0 or 1 */
    bool keep_alive;   /* by version and Connection header */
    size_t content_length;
    size_t consumed;          /* head + body */
    int error_status;         /* RS_ADMIN_PARSE_ERROR: 400, 413, 431, 501 or 505 */
    const char *error_reason; /* static text for logs and the error body */
    char *scratch;            /* owned: the strings above point into it */
};

/* Parses the request at the start of buf. limit: the most bytes a request (head + body) may take.
 * On OK the caller must rs_admin_request_free(req); on other results req holds nothing to free. */
enum rs_admin_parse rs_admin_request_parse(const char *buf, size_t len, size_t limit,
                                           struct rs_admin_request *req);
void rs_admin_request_free(struct rs_admin_request *req);

/* The decoded value of the first parameter called name, "" if it has no value, NULL if absent. */
const char *rs_admin_request_param(const struct rs_admin_request *req, const char *name);

/* Percent-decodes src[0, len) into dst (room for len + 1), NUL-terminated. Invalid escapes are
 * kept as they are; '+' stays '+' (admin filters are regexes, where '+' matters). Returns the
 * decoded length. */
size_t rs_admin_percent_decode(const char *src, size_t len, char *dst);

#endif
