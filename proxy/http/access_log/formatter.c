/* Public formatter API: text, header-value and JSON formatters over the compiled program. */
#include "proxy/http/access_log/formatter.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "google/protobuf/struct.pb-c.h"
#include "proxy/core/strbuf.h"
#include "proxy/http/access_log/formatter_internal.h"

const char rs_formatter_default_format[] =
    "[%START_TIME%] \"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%\" "
    "%RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% "
    "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% \"%REQ(X-FORWARDED-FOR)%\" \"%REQ(USER-AGENT)%\" "
    "\"%REQ(X-REQUEST-ID)%\" \"%REQ(:AUTHORITY)%\" \"%UPSTREAM_HOST%\"\n";

enum node_kind { NODE_FORMAT, NODE_OBJECT, NODE_LIST, NODE_RAW };

/* A JSON format tree: objects and lists of format strings, or raw JSON copied as configured. */
struct json_node {
    enum node_kind kind;
    char *key_json; /* the member name as a quoted JSON string (inside an object), else NULL */
    struct rs_fmt_seq seq; /* NODE_FORMAT */
    char *raw;             /* NODE_RAW */
    struct json_node *children;
    size_t n_children;
};

enum mode { MODE_TEXT, MODE_HEADER, MODE_JSON };

struct rs_formatter {
    enum mode mode;
    bool omit_empty;
    struct rs_fmt_seq seq; /* text and header */
    struct json_node root; /* json */
};

static struct rs_formatter *new_seq(const char *format, enum mode mode, bool omit_empty, char *err,
                                    size_t err_len)
{
    struct rs_formatter *f = calloc(1, sizeof *f);
    if (f == NULL) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    f->mode = mode;
    f->omit_empty = omit_empty;
    if (rs_fmt_compile(format, &f->seq, err, err_len) != 0) {
        free(f);
        return NULL;
    }
    return f;
}

struct rs_formatter *rs_formatter_new_text(const char *format,
                                           const struct rs_formatter_options *opt, char *err,
                                           size_t err_len)
{
    return new_seq(format ? format : rs_formatter_default_format, MODE_TEXT,
                   opt && opt->omit_empty_values, err, err_len);
}

struct rs_formatter *rs_formatter_new(const char *format, char *err, size_t err_len)
{
    return rs_formatter_new_text(format, NULL, err, err_len);
}

struct rs_formatter *rs_formatter_new_header(const char *value, char *err, size_t err_len)
{
    return new_seq(value ? value : "", MODE_HEADER, true, err, err_len);
}

static void node_free(struct json_node *n)
{
    for (size_t i = 0; i < n->n_children; i++)
        node_free(&n->children[i]);
    free(n->children);
    free(n->key_json);
    free(n->raw);
    rs_fmt_seq_free(&n->seq);
}

static char *json_quote(const char *s)
{
    struct rs_strbuf sb = RS_STRBUF_INIT;
    rs_strbuf_json_string(&sb, s);
    return rs_strbuf_take(&sb);
}

static int build_value(const Google__Protobuf__Value *v, const char *path, bool sort,
                       struct json_node *n, char *err, size_t err_len);

static int cmp_entries(const void *a, const void *b)
{
    const Google__Protobuf__Struct__FieldsEntry *x =
        *(Google__Protobuf__Struct__FieldsEntry *const *)a;
    const Google__Protobuf__Struct__FieldsEntry *y =
        *(Google__Protobuf__Struct__FieldsEntry *const *)b;
    return strcmp(x->key, y->key);
}

static int build_object(const Google__Protobuf__Struct *s, const char *path, bool sort,
                        struct json_node *n, char *err, size_t err_len)
{
    n->kind = NODE_OBJECT;
    if (s == NULL || s->n_fields == 0)
        return 0;
    Google__Protobuf__Struct__FieldsEntry **entries = malloc(s->n_fields * sizeof *entries);
    n->children = calloc(s->n_fields, sizeof *n->children);
    if (entries == NULL || n->children == NULL) {
        free(entries);
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    memcpy(entries, s->fields, s->n_fields * sizeof *entries);
    if (sort)
        qsort(entries, s->n_fields, sizeof *entries, cmp_entries);
    int rc = 0;
    for (size_t i = 0; i < s->n_fields && rc == 0; i++) {
        char sub[512];
        snprintf(sub, sizeof sub, "%s.%s", path, entries[i]->key);
        struct json_node *c = &n->children[n->n_children++];
        rc = build_value(entries[i]->value, sub, sort, c, err, err_len);
        if (rc == 0 && (c->key_json = json_quote(entries[i]->key)) == NULL)
            rc = -1;
    }
    free(entries);
    return rc;
}

static int build_value(const Google__Protobuf__Value *v, const char *path, bool sort,
                       struct json_node *n, char *err, size_t err_len)
{
    char buf[256];
    switch (v ? v->kind_case : GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE) {
    case GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE:
        n->kind = NODE_FORMAT;
        if (rs_fmt_compile(v->string_value, &n->seq, buf, sizeof buf) != 0) {
            snprintf(err, err_len, "%s: %s", path, buf);
            return -1;
        }
        return 0;
    case GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE:
        return build_object(v->struct_value, path, sort, n, err, err_len);
    case GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE: {
        n->kind = NODE_LIST;
        size_t count = v->list_value ? v->list_value->n_values : 0;
        if (count == 0)
            return 0;
        n->children = calloc(count, sizeof *n->children);
        if (n->children == NULL) {
            snprintf(err, err_len, "out of memory");
            return -1;
        }
        for (size_t i = 0; i < count; i++) {
            char sub[512];
            snprintf(sub, sizeof sub, "%s[%zu]", path, i);
            n->n_children++;
            if (build_value(v->list_value->values[i], sub, sort, &n->children[i], err, err_len) !=
                0)
                return -1;
        }
        return 0;
    }
    case GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE:
        n->kind = NODE_RAW;
        if (!isfinite(v->number_value)) {
            snprintf(err, err_len, "%s: number is not finite", path);
            return -1;
        }
        if (v->number_value == floor(v->number_value) && fabs(v->number_value) < 1e15)
            snprintf(buf, sizeof buf, "%.0f", v->number_value);
        else
            snprintf(buf, sizeof buf, "%.17g", v->number_value);
        n->raw = strdup(buf);
        break;
    case GOOGLE__PROTOBUF__VALUE__KIND_BOOL_VALUE:
        n->kind = NODE_RAW;
        n->raw = strdup(v->bool_value ? "true" : "false");
        break;
    default:
        n->kind = NODE_RAW;
        n->raw = strdup("null");
        break;
    }
    if (n->raw == NULL) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    return 0;
}

struct rs_formatter *rs_formatter_new_json(const struct Google__Protobuf__Struct *format,
                                           const struct rs_formatter_options *opt, char *err,
                                           size_t err_len)
{
    struct rs_formatter *f = calloc(1, sizeof *f);
    if (f == NULL) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    f->mode = MODE_JSON;
    f->omit_empty = opt && opt->omit_empty_values;
    if (build_object(format, "json_format", opt && opt->sort_properties, &f->root, err, err_len) !=
        0) {
        rs_formatter_free(f);
        return NULL;
    }
    return f;
}

/* Appends one value; returns false (and appends nothing) when it is to be omitted. */
static bool format_node(const struct rs_formatter *f, const struct json_node *n,
                        const struct rs_stream_info *si, struct rs_strbuf *out);

static void format_children(const struct rs_formatter *f, const struct json_node *n,
                            const struct rs_stream_info *si, struct rs_strbuf *out)
{
    bool object = n->kind == NODE_OBJECT;
    rs_strbuf_append(out, object ? "{" : "[", 1);
    size_t count = 0;
    for (size_t i = 0; i < n->n_children; i++) {
        const struct json_node *c = &n->children[i];
        size_t mark = out->len;
        if (count > 0)
            rs_strbuf_append(out, ",", 1);
        if (object) {
            rs_strbuf_puts(out, c->key_json);
            rs_strbuf_append(out, ":", 1);
        }
        if (format_node(f, c, si, out)) {
            count++;
        } else {
            out->len = mark;
            out->data[mark] = '\0';
        }
    }
    rs_strbuf_append(out, object ? "}" : "]", 1);
}

static bool format_node(const struct rs_formatter *f, const struct json_node *n,
                        const struct rs_stream_info *si, struct rs_strbuf *out)
{
    switch (n->kind) {
    case NODE_RAW:
        rs_strbuf_puts(out, n->raw);
        return true;
    case NODE_OBJECT:
    case NODE_LIST:
        format_children(f, n, si, out);
        return true;
    case NODE_FORMAT:
        break;
    }
    size_t start = out->len;
    /* A value made of exactly one operator keeps the operator's type, as Envoy's; anything
     * with more pieces is a string. */
    if (n->seq.n == 1 && n->seq.ops[0].kind != RS_FMT_LITERAL) {
        switch (rs_fmt_eval(&n->seq.ops[0], si, out)) {
        case RS_FMT_MISSING:
            if (f->omit_empty)
                return false;
            rs_strbuf_puts(out, "null");
            return true;
        case RS_FMT_NUMBER:
            return true;
        case RS_FMT_STRING:
            break;
        }
    } else {
        rs_fmt_seq_eval(&n->seq, si, f->omit_empty ? "" : "-", out);
    }
    rs_fmt_json_quote_tail(out, start);
    return true;
}

void rs_formatter_format(const struct rs_formatter *f, const struct rs_stream_info *si,
                         struct rs_strbuf *out)
{
    switch (f->mode) {
    case MODE_TEXT:
        rs_fmt_seq_eval(&f->seq, si, f->omit_empty ? "" : "-", out);
        break;
    case MODE_HEADER:
        rs_fmt_seq_eval(&f->seq, si, "", out);
        break;
    case MODE_JSON:
        format_children(f, &f->root, si, out);
        rs_strbuf_append(out, "\n", 1);
        break;
    }
}

bool rs_formatter_is_constant(const struct rs_formatter *f)
{
    if (f->mode == MODE_JSON)
        return false;
    for (size_t i = 0; i < f->seq.n; i++) {
        if (f->seq.ops[i].kind != RS_FMT_LITERAL)
            return false;
    }
    return true;
}

void rs_formatter_free(struct rs_formatter *f)
{
    if (f == NULL)
        return;
    rs_fmt_seq_free(&f->seq);
    node_free(&f->root);
    free(f);
}
