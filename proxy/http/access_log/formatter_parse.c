/* Compiles an Envoy format string into a sequence of literals and operators. The grammar follows
 * Envoy's: %NAME%, %NAME(arg)%, each optionally followed by :N (truncate to N bytes); NAME is
 * upper-case letters, digits and '_'. "%%" is a literal '%'. Anything else after a '%' is a
 * configuration error, as in Envoy, so a typo never silently reaches the logs. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proxy/http/access_log/formatter_internal.h"

enum arg_rule { ARG_NONE, ARG_OPTIONAL, ARG_HEADER };

struct op_def {
    const char *name;
    enum rs_fmt_kind kind;
    enum arg_rule arg;
};

static const struct op_def op_defs[] = {
    {"START_TIME", RS_FMT_START_TIME, ARG_OPTIONAL},
    {"REQ", RS_FMT_REQ, ARG_HEADER},
    {"RESP", RS_FMT_RESP, ARG_HEADER},
    {"TRAILER", RS_FMT_TRAILER, ARG_HEADER},
    /* Envoy's newer spellings of the three above (its default format uses them since 1.3x). */
    {"REQUEST_HEADER", RS_FMT_REQ, ARG_HEADER},
    {"RESPONSE_HEADER", RS_FMT_RESP, ARG_HEADER},
    {"RESPONSE_TRAILER", RS_FMT_TRAILER, ARG_HEADER},
    {"PROTOCOL", RS_FMT_PROTOCOL, ARG_NONE},
    {"RESPONSE_CODE", RS_FMT_RESPONSE_CODE, ARG_NONE},
    {"RESPONSE_CODE_DETAILS", RS_FMT_RESPONSE_CODE_DETAILS, ARG_NONE},
    {"RESPONSE_FLAGS", RS_FMT_RESPONSE_FLAGS, ARG_NONE},
    {"BYTES_RECEIVED", RS_FMT_BYTES_RECEIVED, ARG_NONE},
    {"BYTES_SENT", RS_FMT_BYTES_SENT, ARG_NONE},
    {"DURATION", RS_FMT_DURATION, ARG_NONE},
    {"REQUEST_DURATION", RS_FMT_REQUEST_DURATION, ARG_NONE},
    {"RESPONSE_DURATION", RS_FMT_RESPONSE_DURATION, ARG_NONE},
    {"RESPONSE_TX_DURATION", RS_FMT_RESPONSE_TX_DURATION, ARG_NONE},
    {"UPSTREAM_HOST", RS_FMT_UPSTREAM_HOST, ARG_NONE},
    /* Envoy's newer name for the upstream address; the same value here. */
    {"UPSTREAM_REMOTE_ADDRESS", RS_FMT_UPSTREAM_HOST, ARG_NONE},
    {"UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT", RS_FMT_UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT, ARG_NONE},
    {"UPSTREAM_CLUSTER", RS_FMT_UPSTREAM_CLUSTER, ARG_NONE},
    {"UPSTREAM_TRANSPORT_FAILURE_REASON", RS_FMT_UPSTREAM_TRANSPORT_FAILURE_REASON, ARG_NONE},
    {"DOWNSTREAM_REMOTE_ADDRESS", RS_FMT_DOWNSTREAM_REMOTE_ADDRESS, ARG_NONE},
    {"DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT", RS_FMT_DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT,
     ARG_NONE},
    {"DOWNSTREAM_LOCAL_ADDRESS", RS_FMT_DOWNSTREAM_LOCAL_ADDRESS, ARG_NONE},
    {"DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT", RS_FMT_DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT,
     ARG_NONE},
    {"DOWNSTREAM_REMOTE_PORT", RS_FMT_DOWNSTREAM_REMOTE_PORT, ARG_NONE},
    {"DOWNSTREAM_LOCAL_PORT", RS_FMT_DOWNSTREAM_LOCAL_PORT, ARG_NONE},
    {"UPSTREAM_LOCAL_ADDRESS", RS_FMT_UPSTREAM_LOCAL_ADDRESS, ARG_NONE},
    {"REQUESTED_SERVER_NAME", RS_FMT_REQUESTED_SERVER_NAME, ARG_NONE},
    {"CONNECTION_TERMINATION_DETAILS", RS_FMT_CONNECTION_TERMINATION_DETAILS, ARG_NONE},
    {"DOWNSTREAM_PEER_URI_SAN", RS_FMT_DOWNSTREAM_PEER_URI_SAN, ARG_NONE},
    {"DOWNSTREAM_LOCAL_URI_SAN", RS_FMT_DOWNSTREAM_LOCAL_URI_SAN, ARG_NONE},
    {"UPSTREAM_REQUEST_ATTEMPT_COUNT", RS_FMT_UPSTREAM_REQUEST_ATTEMPT_COUNT, ARG_NONE},
    {"ROUTE_NAME", RS_FMT_ROUTE_NAME, ARG_NONE},
    {"STREAM_ID", RS_FMT_STREAM_ID, ARG_NONE},
    {"HOSTNAME", RS_FMT_HOSTNAME, ARG_NONE},
};

struct builder {
    struct rs_fmt_seq *seq;
    size_t cap;
};

static struct rs_fmt_op *push(struct builder *b)
{
    if (b->seq->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 8;
        struct rs_fmt_op *ops = realloc(b->seq->ops, cap * sizeof *ops);
        if (ops == NULL)
            return NULL;
        b->seq->ops = ops;
        b->cap = cap;
    }
    struct rs_fmt_op *op = &b->seq->ops[b->seq->n++];
    memset(op, 0, sizeof *op);
    return op;
}

static char *dup_lower(const char *s, size_t len)
{
    char *d = malloc(len + 1);
    if (d == NULL)
        return NULL;
    for (size_t i = 0; i < len; i++)
        d[i] = (char)tolower((unsigned char)s[i]);
    d[len] = '\0';
    return d;
}

/* Adds literal bytes, merging with a preceding literal so evaluation stays one copy. */
static int add_literal(struct builder *b, const char *s, size_t len)
{
    struct rs_fmt_seq *seq = b->seq;
    if (seq->n > 0 && seq->ops[seq->n - 1].kind == RS_FMT_LITERAL) {
        struct rs_fmt_op *op = &seq->ops[seq->n - 1];
        char *t = realloc(op->text, op->text_len + len + 1);
        if (t == NULL)
            return -1;
        memcpy(t + op->text_len, s, len);
        op->text_len += len;
        t[op->text_len] = '\0';
        op->text = t;
        return 0;
    }
    struct rs_fmt_op *op = push(b);
    if (op == NULL)
        return -1;
    op->kind = RS_FMT_LITERAL;
    op->text = malloc(len + 1);
    if (op->text == NULL)
        return -1;
    memcpy(op->text, s, len);
    op->text[len] = '\0';
    op->text_len = len;
    return 0;
}

static const struct op_def *find_op(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof op_defs / sizeof op_defs[0]; i++) {
        if (strlen(op_defs[i].name) == len && memcmp(op_defs[i].name, name, len) == 0)
            return &op_defs[i];
    }
    return NULL;
}

/* Fills op from a parsed command; arg is NULL when the command had no parentheses. */
static int make_op(struct rs_fmt_op *op, const struct op_def *def, const char *arg, size_t arg_len,
                   char *err, size_t err_len)
{
    op->kind = def->kind;
    if (def->arg == ARG_NONE && arg != NULL) {
        snprintf(err, err_len, "command operator %%%s%% takes no argument", def->name);
        return -1;
    }
    if (def->arg == ARG_HEADER) {
        if (arg == NULL || arg_len == 0) {
            snprintf(err, err_len, "command operator %%%s%% requires a header name: %%%s(X)%%",
                     def->name, def->name);
            return -1;
        }
        const char *q = memchr(arg, '?', arg_len);
        size_t main_len = q ? (size_t)(q - arg) : arg_len;
        if (q != NULL) {
            const char *alt = q + 1;
            size_t alt_len = arg_len - main_len - 1;
            if (memchr(alt, '?', alt_len) != NULL || main_len == 0 || alt_len == 0) {
                snprintf(err, err_len,
                         "command operator %%%s(%.*s)%%: expected X or X?Y (one alternative)",
                         def->name, (int)arg_len, arg);
                return -1;
            }
            op->alt = dup_lower(alt, alt_len);
            op->alt_len = alt_len;
            if (op->alt == NULL)
                goto oom;
        }
        op->text = dup_lower(arg, main_len);
        op->text_len = main_len;
        if (op->text == NULL)
            goto oom;
        return 0;
    }
    if (def->kind == RS_FMT_START_TIME && arg != NULL && arg_len > 0) {
        op->text = strndup(arg, arg_len);
        if (op->text == NULL)
            goto oom;
        op->text_len = arg_len;
    }
    if (def->kind == RS_FMT_HOSTNAME) {
        /* Resolved once: the host name does not change under a running proxy. */
        char host[256];
        if (gethostname(host, sizeof host) != 0)
            host[0] = '\0';
        host[sizeof host - 1] = '\0';
        op->text = strdup(host);
        if (op->text == NULL)
            goto oom;
        op->text_len = strlen(host);
    }
    return 0;
oom:
    snprintf(err, err_len, "out of memory");
    return -1;
}

static bool is_name_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

int rs_fmt_compile(const char *format, struct rs_fmt_seq *seq, char *err, size_t err_len)
{
    struct builder b = {seq, 0};
    seq->ops = NULL;
    seq->n = 0;
    size_t len = strlen(format);
    size_t i = 0;
    while (i < len) {
        const char *pct = memchr(format + i, '%', len - i);
        size_t lit_end = pct ? (size_t)(pct - format) : len;
        if (lit_end > i && add_literal(&b, format + i, lit_end - i) != 0)
            goto oom;
        if (pct == NULL)
            break;
        size_t start = lit_end;
        size_t p = start + 1;
        if (p < len && format[p] == '%') {
            if (add_literal(&b, "%", 1) != 0)
                goto oom;
            i = p + 1;
            continue;
        }
        size_t name_start = p;
        while (p < len && is_name_char(format[p]))
            p++;
        size_t name_len = p - name_start;
        const char *arg = NULL;
        size_t arg_len = 0;
        if (name_len > 0 && p < len && format[p] == '(') {
            const char *close = memchr(format + p + 1, ')', len - p - 1);
            if (close == NULL) {
                snprintf(err, err_len, "command operator at position %zu: missing ')'", start);
                goto fail;
            }
            arg = format + p + 1;
            arg_len = (size_t)(close - arg);
            p = (size_t)(close - format) + 1;
        }
        if (name_len == 0 || p >= len || format[p] != '%') {
            snprintf(err, err_len,
                     "invalid command operator at position %zu (a literal '%%' is written '%%%%')",
                     start);
            goto fail;
        }
        p++;
        const struct op_def *def = find_op(format + name_start, name_len);
        if (def == NULL) {
            snprintf(err, err_len, "unknown command operator %%%.*s%%", (int)name_len,
                     format + name_start);
            goto fail;
        }
        struct rs_fmt_op *op = push(&b);
        if (op == NULL)
            goto oom;
        if (make_op(op, def, arg, arg_len, err, err_len) != 0)
            goto fail;
        /* ":N" truncation only when digits follow, so "%PROTOCOL%:x" keeps ":x" literal. */
        if (p + 1 < len && format[p] == ':' && isdigit((unsigned char)format[p + 1])) {
            size_t n = 0;
            p++;
            while (p < len && isdigit((unsigned char)format[p])) {
                if (n > 100000000) {
                    snprintf(err, err_len, "command operator %%%s%%: length too large", def->name);
                    goto fail;
                }
                n = n * 10 + (size_t)(format[p] - '0');
                p++;
            }
            if (n == 0) {
                snprintf(err, err_len, "command operator %%%s%%: length must be at least 1",
                         def->name);
                goto fail;
            }
            op->max_len = n;
        }
        i = p;
    }
    return 0;
oom:
    snprintf(err, err_len, "out of memory");
fail:
    rs_fmt_seq_free(seq);
    return -1;
}

void rs_fmt_seq_free(struct rs_fmt_seq *seq)
{
    for (size_t i = 0; i < seq->n; i++) {
        free(seq->ops[i].text);
        free(seq->ops[i].alt);
    }
    free(seq->ops);
    seq->ops = NULL;
    seq->n = 0;
}
