/* The proto walk: a YAML/JSON node tree into a protobuf-c message through its descriptor.
 *
 * Memory is laid out exactly as protobuf_c_message_unpack() would lay it out (malloc'd messages
 * initialised by their descriptor, malloc'd strings, bytes and arrays, the *_case member of a
 * oneof, has_* flags of proto2 optionals), so protobuf_c_message_free_unpacked(msg, NULL)
 * releases everything. Every value is attached to its parent as soon as it exists and repeated
 * counts grow one element at a time, so that on error freeing the root frees the partial
 * result, with nothing leaked and nothing freed twice. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/codec/codec_internal.h"

struct ctx {
    struct rs_codec_path path;
    rs_codec_type_lookup_fn lookup;
    size_t budget; /* node visits left: aliases let a small document name a huge tree */
    int depth;
};

static ProtobufCMessage *parse_message(struct ctx *c, const ProtobufCMessageDescriptor *desc,
                                       const struct rs_codec_node *node);
static int parse_fields(struct ctx *c, ProtobufCMessage *msg, const struct rs_codec_node *node,
                        int skip_type_key);

static const char *type_name(ProtobufCType t)
{
    static const char *const names[] = {
        [PROTOBUF_C_TYPE_INT32] = "int32",       [PROTOBUF_C_TYPE_SINT32] = "sint32",
        [PROTOBUF_C_TYPE_SFIXED32] = "sfixed32", [PROTOBUF_C_TYPE_INT64] = "int64",
        [PROTOBUF_C_TYPE_SINT64] = "sint64",     [PROTOBUF_C_TYPE_SFIXED64] = "sfixed64",
        [PROTOBUF_C_TYPE_UINT32] = "uint32",     [PROTOBUF_C_TYPE_FIXED32] = "fixed32",
        [PROTOBUF_C_TYPE_UINT64] = "uint64",     [PROTOBUF_C_TYPE_FIXED64] = "fixed64",
        [PROTOBUF_C_TYPE_FLOAT] = "float",       [PROTOBUF_C_TYPE_DOUBLE] = "double",
        [PROTOBUF_C_TYPE_BOOL] = "bool",         [PROTOBUF_C_TYPE_ENUM] = "enum",
        [PROTOBUF_C_TYPE_STRING] = "string",     [PROTOBUF_C_TYPE_BYTES] = "bytes",
        [PROTOBUF_C_TYPE_MESSAGE] = "message",
    };
    return (unsigned)t < sizeof(names) / sizeof(names[0]) && names[t] ? names[t] : "value";
}

/* Fails with `<what> "<node text>"`, the scalar quoted and escaped. */
static int fail_value(struct ctx *c, const char *what, const struct rs_codec_node *node)
{
    char q[160];
    rs_codec_quote(q, sizeof(q), node->text, node->len);
    return rs_codec_fail(&c->path, "%s %s", what, q);
}

static int spend(struct ctx *c)
{
    if (c->budget == 0)
        return rs_codec_fail(&c->path, "document too large after alias expansion");
    c->budget--;
    return 0;
}

static int key_is(const struct rs_codec_node *k, const char *s)
{
    size_t n = strlen(s);
    return k->kind == RS_CODEC_SCALAR && k->len == n && memcmp(k->text, s, n) == 0;
}

/* Fields that take JSON null as a value rather than as "unset". */
static int accepts_null(const ProtobufCFieldDescriptor *f)
{
    if (f->type == PROTOBUF_C_TYPE_MESSAGE)
        return rs_codec_wkt_kind(f->descriptor) == RS_CODEC_WKT_VALUE;
    if (f->type == PROTOBUF_C_TYPE_ENUM)
        return strcmp(((const ProtobufCEnumDescriptor *)f->descriptor)->name,
                      "google.protobuf.NullValue") == 0;
    return 0;
}

static int is_pointer_type(ProtobufCType t)
{
    return t == PROTOBUF_C_TYPE_STRING || t == PROTOBUF_C_TYPE_MESSAGE;
}

/* The presence bookkeeping that protobuf-c's pack relies on. */
static void mark_present(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        *(uint32_t *)RS_CODEC_MEMBER(msg, f->quantifier_offset) = f->id;
    else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && !is_pointer_type(f->type))
        *(protobuf_c_boolean *)RS_CODEC_MEMBER(msg, f->quantifier_offset) = 1;
}

static int parse_int(struct ctx *c, ProtobufCType t, const struct rs_codec_node *node, void *dst)
{
    char what[48];
    int rc;
    switch (t) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64: {
        int64_t v;
        rc = rs_codec_parse_int64(node->text, node->len, &v);
        if (rc == 0 && rs_codec_scalar_size(t) == 4 && (v < INT32_MIN || v > INT32_MAX))
            rc = -2;
        if (rc == 0) {
            if (rs_codec_scalar_size(t) == 4)
                *(int32_t *)dst = (int32_t)v;
            else
                *(int64_t *)dst = v;
        }
        break;
    }
    default: {
        uint64_t v;
        rc = rs_codec_parse_uint64(node->text, node->len, &v);
        if (rc == 0 && rs_codec_scalar_size(t) == 4 && v > UINT32_MAX)
            rc = -2;
        if (rc == 0) {
            if (rs_codec_scalar_size(t) == 4)
                *(uint32_t *)dst = (uint32_t)v;
            else
                *(uint64_t *)dst = v;
        }
        break;
    }
    }
    if (rc == -2)
        snprintf(what, sizeof(what), "%s out of range", type_name(t));
    else
        snprintf(what, sizeof(what), "invalid %s", type_name(t));
    return rc ? fail_value(c, what, node) : 0;
}

static int parse_enum(struct ctx *c, const ProtobufCEnumDescriptor *ed,
                      const struct rs_codec_node *node, int32_t *dst)
{
    int64_t num;
    if (rs_codec_is_number_text(node->text, node->len)) {
        /* Numbers are accepted as-is: proto3 enums are open. */
        if (rs_codec_parse_int64(node->text, node->len, &num) || num < INT32_MIN || num > INT32_MAX)
            return fail_value(c, "invalid enum number", node);
        *dst = (int32_t)num;
        return 0;
    }
    const ProtobufCEnumValue *v = strlen(node->text) == node->len
                                      ? protobuf_c_enum_descriptor_get_value_by_name(ed, node->text)
                                      : NULL;
    if (!v) {
        char q[160];
        rs_codec_quote(q, sizeof(q), node->text, node->len);
        return rs_codec_fail(&c->path, "unknown value %s for enum %s", q, ed->name);
    }
    *dst = v->value;
    return 0;
}

static char *copy_string(struct ctx *c, const struct rs_codec_node *node)
{
    char *s;
    /* protobuf-c strings are NUL-terminated: an embedded NUL would silently cut the value. */
    if (memchr(node->text, '\0', node->len)) {
        rs_codec_fail(&c->path, "string contains a NUL character");
        return NULL;
    }
    s = malloc(node->len + 1);
    if (!s) {
        rs_codec_fail(&c->path, "out of memory");
        return NULL;
    }
    memcpy(s, node->text, node->len + 1);
    return s;
}

/* One scalar value of type t into dst. `key` relaxes bools for map keys, which JSON can only
 * write as strings. */
static int parse_scalar(struct ctx *c, ProtobufCType t, const void *enum_desc,
                        const struct rs_codec_node *node, void *dst, int key)
{
    int rc;
    if (node->kind != RS_CODEC_SCALAR || rs_codec_node_is_null(node)) {
        if (node->kind == RS_CODEC_SCALAR && t == PROTOBUF_C_TYPE_ENUM &&
            strcmp(((const ProtobufCEnumDescriptor *)enum_desc)->name,
                   "google.protobuf.NullValue") == 0) {
            *(int32_t *)dst = 0;
            return 0;
        }
        return rs_codec_fail(&c->path, "expected %s, got %s", type_name(t),
                             rs_codec_node_kind_name(node));
    }
    switch (t) {
    case PROTOBUF_C_TYPE_FLOAT:
        rc = rs_codec_parse_float(node->text, node->len, dst);
        if (rc)
            return fail_value(c, rc == -2 ? "float out of range" : "invalid float", node);
        return 0;
    case PROTOBUF_C_TYPE_DOUBLE:
        rc = rs_codec_parse_double(node->text, node->len, dst);
        if (rc)
            return fail_value(c, rc == -2 ? "double out of range" : "invalid double", node);
        return 0;
    case PROTOBUF_C_TYPE_BOOL: {
        int b;
        if ((node->quoted && !key) || rs_codec_parse_bool(node->text, node->len, &b))
            return fail_value(c, "invalid bool", node);
        *(protobuf_c_boolean *)dst = b;
        return 0;
    }
    case PROTOBUF_C_TYPE_ENUM:
        return parse_enum(c, enum_desc, node, dst);
    case PROTOBUF_C_TYPE_STRING: {
        char *s = copy_string(c, node);
        if (!s)
            return -1;
        *(char **)dst = s;
        return 0;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        ProtobufCBinaryData *bd = dst;
        if (rs_codec_base64_decode(node->text, node->len, &bd->data, &bd->len))
            return fail_value(c, "invalid base64", node);
        return 0;
    }
    case PROTOBUF_C_TYPE_MESSAGE:
        return rs_codec_fail(&c->path, "expected a message");
    default:
        return parse_int(c, t, node, dst);
    }
}

/* A singular value or one element of a repeated field. */
static int parse_single(struct ctx *c, const ProtobufCFieldDescriptor *f,
                        const struct rs_codec_node *node, void *dst)
{
    if (spend(c))
        return -1;
    if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
        ProtobufCMessage *m = parse_message(c, f->descriptor, node);
        if (!m)
            return -1;
        *(ProtobufCMessage **)dst = m;
        return 0;
    }
    return parse_scalar(c, f->type, f->descriptor, node, dst, 0);
}

static int parse_repeated(struct ctx *c, ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f,
                          const struct rs_codec_node *node)
{
    size_t esz = rs_codec_scalar_size(f->type);
    size_t *count = RS_CODEC_MEMBER(msg, f->quantifier_offset);
    char *arr;
    if (node->kind != RS_CODEC_SEQUENCE)
        return rs_codec_fail(&c->path, "expected a list, got %s", rs_codec_node_kind_name(node));
    if (node->n == 0)
        return 0;
    arr = calloc(node->n, esz);
    if (!arr)
        return rs_codec_fail(&c->path, "out of memory");
    *(void **)RS_CODEC_MEMBER(msg, f->offset) = arr;
    *count = 0;
    for (size_t i = 0; i < node->n; i++) {
        const struct rs_codec_node *item = node->items[i];
        int rc;
        if (rs_codec_path_push_index(&c->path, i))
            return -1;
        if (rs_codec_node_is_null(item) && !accepts_null(f))
            rc = rs_codec_fail(&c->path, "null is not allowed in a list");
        else
            rc = parse_single(c, f, item, arr + i * esz);
        rs_codec_path_pop(&c->path);
        if (rc)
            return -1;
        (*count)++;
    }
    return 0;
}

static int cmp_text(const struct rs_codec_node *a, const struct rs_codec_node *b)
{
    size_t n = a->len < b->len ? a->len : b->len;
    int r = memcmp(a->text, b->text, n);
    if (r)
        return r;
    return a->len < b->len ? -1 : a->len > b->len;
}

static int cmp_key_nodes(const void *a, const void *b)
{
    return cmp_text(*(const struct rs_codec_node *const *)a,
                    *(const struct rs_codec_node *const *)b);
}

/* Duplicate keys of a map or Struct, by text: O(n log n) so large maps stay cheap. */
static int check_duplicate_keys(struct ctx *c, const struct rs_codec_node *node)
{
    const struct rs_codec_node **keys;
    size_t n = 0;
    int rc = 0;
    if (node->n < 2)
        return 0;
    keys = malloc(node->n * sizeof(*keys));
    if (!keys)
        return rs_codec_fail(&c->path, "out of memory");
    for (size_t i = 0; i < node->n; i++)
        if (node->items[2 * i]->kind == RS_CODEC_SCALAR)
            keys[n++] = node->items[2 * i];
    qsort(keys, n, sizeof(*keys), cmp_key_nodes);
    for (size_t i = 1; i < n; i++) {
        if (cmp_text(keys[i - 1], keys[i]) == 0) {
            rc = fail_value(c, "duplicate key", keys[i]);
            break;
        }
    }
    free(keys);
    return rc;
}

struct conv_key {
    uint64_t bits;
    size_t index;
};

static int cmp_conv_key(const void *a, const void *b)
{
    const struct conv_key *x = a, *y = b;
    if (x->bits != y->bits)
        return x->bits < y->bits ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Non-string keys can differ in text but not in value ("1" and "01"); the wire keeps only the
 * last, so such input is as ambiguous as a textual duplicate. */
static int check_converted_keys(struct ctx *c, ProtobufCMessage **entries, size_t n,
                                const ProtobufCFieldDescriptor *kf,
                                const struct rs_codec_node *node)
{
    struct conv_key *keys;
    int rc = 0;
    if (kf->type == PROTOBUF_C_TYPE_STRING || n < 2)
        return 0;
    keys = malloc(n * sizeof(*keys));
    if (!keys)
        return rs_codec_fail(&c->path, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const void *p = RS_CODEC_MEMBER(entries[i], kf->offset);
        size_t sz = rs_codec_scalar_size(kf->type);
        keys[i].bits = sz == 8 ? *(const uint64_t *)p : *(const uint32_t *)p;
        keys[i].index = i;
    }
    qsort(keys, n, sizeof(*keys), cmp_conv_key);
    for (size_t i = 1; i < n; i++) {
        if (keys[i - 1].bits == keys[i].bits) {
            rc = fail_value(c, "duplicate key", node->items[2 * keys[i].index]);
            break;
        }
    }
    free(keys);
    return rc;
}

/* map<K,V>, stored by protobuf-c as a repeated entry message; also Struct.fields. */
static int parse_map(struct ctx *c, ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f,
                     const struct rs_codec_node *node)
{
    const ProtobufCMessageDescriptor *ed = f->descriptor;
    const ProtobufCFieldDescriptor *kf = &ed->fields[0], *vf = &ed->fields[1];
    size_t *count = RS_CODEC_MEMBER(msg, f->quantifier_offset);
    ProtobufCMessage **arr;

    if (node->kind != RS_CODEC_MAPPING)
        return rs_codec_fail(&c->path, "expected a mapping, got %s", rs_codec_node_kind_name(node));
    if (node->n == 0)
        return 0;
    if (check_duplicate_keys(c, node))
        return -1;
    arr = calloc(node->n, sizeof(*arr));
    if (!arr)
        return rs_codec_fail(&c->path, "out of memory");
    *(void **)RS_CODEC_MEMBER(msg, f->offset) = arr;
    *count = 0;
    for (size_t i = 0; i < node->n; i++) {
        const struct rs_codec_node *k = node->items[2 * i], *v = node->items[2 * i + 1];
        ProtobufCMessage *entry;
        int rc;
        if (k->kind != RS_CODEC_SCALAR)
            return rs_codec_fail(&c->path, "mapping keys must be scalars");
        if (spend(c) || rs_codec_path_push_key(&c->path, k->text, k->len))
            return -1;
        entry = malloc(ed->sizeof_message);
        if (!entry)
            return rs_codec_fail(&c->path, "out of memory");
        protobuf_c_message_init(ed, entry);
        arr[(*count)++] = entry;
        rc = parse_scalar(c, kf->type, kf->descriptor, k, RS_CODEC_MEMBER(entry, kf->offset), 1);
        if (rc == 0) {
            mark_present(entry, kf);
            if (rs_codec_node_is_null(v) && !accepts_null(vf))
                rc = rs_codec_fail(&c->path, "map values cannot be null");
            else
                rc = parse_single(c, vf, v, RS_CODEC_MEMBER(entry, vf->offset));
            if (rc == 0)
                mark_present(entry, vf);
        }
        rs_codec_path_pop(&c->path);
        if (rc)
            return -1;
    }
    return check_converted_keys(c, arr, *count, kf, node);
}

static int set_field(struct ctx *c, ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f,
                     const struct rs_codec_node *node)
{
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        if (rs_codec_node_is_null(node))
            return 0;
        if (rs_codec_field_is_map(msg->descriptor, f))
            return parse_map(c, msg, f, node);
        return parse_repeated(c, msg, f, node);
    }
    if (rs_codec_node_is_null(node) && !accepts_null(f))
        return 0;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        uint32_t set = *(uint32_t *)RS_CODEC_MEMBER(msg, f->quantifier_offset);
        if (set != 0 && set != f->id) {
            const ProtobufCFieldDescriptor *other =
                protobuf_c_message_descriptor_get_field(msg->descriptor, set);
            return rs_codec_fail(&c->path, "oneof already set by field \"%s\"",
                                 other ? other->name : "?");
        }
    }
    if (parse_single(c, f, node, RS_CODEC_MEMBER(msg, f->offset)))
        return -1;
    mark_present(msg, f);
    return 0;
}

static const ProtobufCFieldDescriptor *find_field(const ProtobufCMessageDescriptor *desc,
                                                  const struct rs_codec_node *key)
{
    if (strlen(key->text) != key->len)
        return NULL;
    const ProtobufCFieldDescriptor *f = rs_codec_field_by_name(desc, key->text);
    if (f)
        return f;
    for (unsigned i = 0; i < desc->n_fields; i++)
        if (rs_codec_field_name_matches(&desc->fields[i], key->text, key->len))
            return &desc->fields[i];
    return NULL;
}

static int parse_fields(struct ctx *c, ProtobufCMessage *msg, const struct rs_codec_node *node,
                        int skip_type_key)
{
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    unsigned char *seen;
    int rc = 0;

    if (node->kind != RS_CODEC_MAPPING)
        return rs_codec_fail(&c->path, "expected a mapping for %s, got %s", desc->name,
                             rs_codec_node_kind_name(node));
    seen = calloc(desc->n_fields + 1, 1);
    if (!seen)
        return rs_codec_fail(&c->path, "out of memory");
    for (size_t i = 0; i < node->n && rc == 0; i++) {
        const struct rs_codec_node *k = node->items[2 * i], *v = node->items[2 * i + 1];
        const ProtobufCFieldDescriptor *f;
        if (k->kind != RS_CODEC_SCALAR) {
            rc = rs_codec_fail(&c->path, "mapping keys must be scalars");
            break;
        }
        if (skip_type_key && key_is(k, "@type"))
            continue;
        f = find_field(desc, k);
        if (!f) {
            rc = fail_value(c, "unknown field", k);
            break;
        }
        if (seen[f - desc->fields]) {
            rc = fail_value(c, "duplicate key", k);
            break;
        }
        seen[f - desc->fields] = 1;
        if (rs_codec_path_push_field(&c->path, f->name)) {
            rc = -1;
            break;
        }
        rc = set_field(c, msg, f, v);
        rs_codec_path_pop(&c->path);
    }
    free(seen);
    return rc;
}

/* ---- well-known types ---- */

static int scalar_text(struct ctx *c, const struct rs_codec_node *node, const char *what)
{
    if (node->kind != RS_CODEC_SCALAR || rs_codec_node_is_null(node))
        return rs_codec_fail(&c->path, "expected a %s string, got %s", what,
                             rs_codec_node_kind_name(node));
    return 0;
}

static int parse_time(struct ctx *c, ProtobufCMessage *msg, const struct rs_codec_node *node,
                      int duration)
{
    const char *what = duration ? "duration" : "timestamp";
    char reason[48];
    int64_t secs = 0;
    int32_t nanos = 0;
    int rc;
    if (scalar_text(c, node, what))
        return -1;
    rc = duration ? rs_codec_duration_parse(node->text, node->len, &secs, &nanos)
                  : rs_codec_timestamp_parse(node->text, node->len, &secs, &nanos);
    if (rc) {
        snprintf(reason, sizeof(reason), rc == -2 ? "%s out of range" : "invalid %s", what);
        return fail_value(c, reason, node);
    }
    *(int64_t *)RS_CODEC_MEMBER(msg, rs_codec_field_by_name(msg->descriptor, "seconds")->offset) =
        secs;
    *(int32_t *)RS_CODEC_MEMBER(msg, rs_codec_field_by_name(msg->descriptor, "nanos")->offset) =
        nanos;
    return 0;
}

/* "fooBar,baz.quxQuux" -> ["foo_bar", "baz.qux_quux"]. */
static int parse_field_mask(struct ctx *c, ProtobufCMessage *msg, const struct rs_codec_node *node)
{
    const ProtobufCFieldDescriptor *f = rs_codec_field_by_name(msg->descriptor, "paths");
    size_t *count = RS_CODEC_MEMBER(msg, f->quantifier_offset);
    size_t n = 1;
    char **arr;
    if (scalar_text(c, node, "field mask"))
        return -1;
    if (memchr(node->text, '\0', node->len))
        return rs_codec_fail(&c->path, "string contains a NUL character");
    if (node->len == 0)
        return 0;
    /* JSON paths are lowerCamelCase; an underscore could not be written back unambiguously. */
    if (memchr(node->text, '_', node->len))
        return fail_value(c, "invalid field mask (paths must be lowerCamelCase)", node);
    for (size_t i = 0; i < node->len; i++)
        n += node->text[i] == ',';
    arr = calloc(n, sizeof(*arr));
    if (!arr)
        return rs_codec_fail(&c->path, "out of memory");
    *(char ***)RS_CODEC_MEMBER(msg, f->offset) = arr;
    *count = 0;
    for (const char *p = node->text;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p), o = 0;
        char *s = malloc(len * 2 + 1);
        if (!s)
            return rs_codec_fail(&c->path, "out of memory");
        for (size_t i = 0; i < len; i++) {
            if (p[i] >= 'A' && p[i] <= 'Z') {
                s[o++] = '_';
                s[o++] = (char)(p[i] - 'A' + 'a');
            } else {
                s[o++] = p[i];
            }
        }
        s[o] = '\0';
        arr[(*count)++] = s;
        if (!end)
            break;
        p = end + 1;
    }
    return 0;
}

/* google.protobuf.Value from any node: null, bool, number, string, mapping, list. */
static int parse_value(struct ctx *c, ProtobufCMessage *msg, const struct rs_codec_node *node)
{
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    const ProtobufCFieldDescriptor *f;
    int b;
    if (rs_codec_node_is_null(node)) {
        f = rs_codec_field_by_name(d, "null_value");
        *(int32_t *)RS_CODEC_MEMBER(msg, f->offset) = 0;
    } else if (node->kind == RS_CODEC_MAPPING) {
        f = rs_codec_field_by_name(d, "struct_value");
        if (parse_single(c, f, node, RS_CODEC_MEMBER(msg, f->offset)))
            return -1;
    } else if (node->kind == RS_CODEC_SEQUENCE) {
        f = rs_codec_field_by_name(d, "list_value");
        if (parse_single(c, f, node, RS_CODEC_MEMBER(msg, f->offset)))
            return -1;
    } else if (!node->quoted && rs_codec_parse_bool(node->text, node->len, &b) == 0) {
        f = rs_codec_field_by_name(d, "bool_value");
        *(protobuf_c_boolean *)RS_CODEC_MEMBER(msg, f->offset) = b;
    } else if (!node->quoted && rs_codec_is_number_text(node->text, node->len)) {
        f = rs_codec_field_by_name(d, "number_value");
        if (rs_codec_parse_double(node->text, node->len, RS_CODEC_MEMBER(msg, f->offset)))
            return fail_value(c, "number out of range", node);
    } else {
        /* Plain text that is not a number or bool is a string, as YAML users expect. */
        f = rs_codec_field_by_name(d, "string_value");
        char *s = copy_string(c, node);
        if (!s)
            return -1;
        *(char **)RS_CODEC_MEMBER(msg, f->offset) = s;
    }
    mark_present(msg, f);
    return 0;
}

/* Any: "@type" names the packed message; its fields sit beside "@type", or under "value" when
 * the packed type has a special JSON form (Duration, Struct, wrappers, Any...). */
static int parse_any(struct ctx *c, ProtobufCMessage *msg, const struct rs_codec_node *node)
{
    const ProtobufCFieldDescriptor *tf = rs_codec_field_by_name(msg->descriptor, "type_url");
    const ProtobufCFieldDescriptor *vf = rs_codec_field_by_name(msg->descriptor, "value");
    const struct rs_codec_node *type_node = NULL, *value_node = NULL;
    const ProtobufCMessageDescriptor *inner_desc;
    ProtobufCMessage *inner;
    ProtobufCBinaryData *bd;
    size_t size;
    char *url;

    if (node->kind != RS_CODEC_MAPPING)
        return rs_codec_fail(&c->path, "expected a mapping for google.protobuf.Any, got %s",
                             rs_codec_node_kind_name(node));
    if (node->n == 0)
        return 0;
    for (size_t i = 0; i < node->n; i++) {
        const struct rs_codec_node *k = node->items[2 * i];
        if (!key_is(k, "@type"))
            continue;
        if (type_node)
            return fail_value(c, "duplicate key", k);
        type_node = node->items[2 * i + 1];
    }
    if (!type_node)
        return rs_codec_fail(&c->path, "Any is missing \"@type\"");
    if (type_node->kind != RS_CODEC_SCALAR || rs_codec_node_is_null(type_node) ||
        memchr(type_node->text, '\0', type_node->len))
        return rs_codec_fail(&c->path, "\"@type\" must be a type URL string");
    inner_desc = c->lookup ? c->lookup(type_node->text) : NULL;
    if (!inner_desc)
        return fail_value(c, "unknown Any type", type_node);

    if (rs_codec_wkt_kind(inner_desc) != RS_CODEC_WKT_NONE) {
        for (size_t i = 0; i < node->n; i++) {
            const struct rs_codec_node *k = node->items[2 * i];
            if (key_is(k, "@type"))
                continue;
            if (!key_is(k, "value"))
                return fail_value(c, "unknown field", k);
            if (value_node)
                return fail_value(c, "duplicate key", k);
            value_node = node->items[2 * i + 1];
        }
        if (!value_node)
            return rs_codec_fail(&c->path, "Any of type %s needs a \"value\"", inner_desc->name);
        if (rs_codec_path_push_field(&c->path, "value"))
            return -1;
        inner = parse_message(c, inner_desc, value_node);
        rs_codec_path_pop(&c->path);
        if (!inner)
            return -1;
    } else {
        /* The packed message's fields continue the path: typed_config.stat_prefix. */
        if (++c->depth > RS_CODEC_MAX_DEPTH)
            return rs_codec_fail(&c->path, "nesting deeper than %d levels", RS_CODEC_MAX_DEPTH);
        inner = malloc(inner_desc->sizeof_message);
        if (!inner)
            return rs_codec_fail(&c->path, "out of memory");
        protobuf_c_message_init(inner_desc, inner);
        if (parse_fields(c, inner, node, 1)) {
            protobuf_c_message_free_unpacked(inner, NULL);
            return -1;
        }
        c->depth--;
    }

    url = copy_string(c, type_node);
    size = protobuf_c_message_get_packed_size(inner);
    bd = RS_CODEC_MEMBER(msg, vf->offset);
    bd->data = size ? malloc(size) : NULL;
    if (!url || (size && !bd->data)) {
        free(url);
        protobuf_c_message_free_unpacked(inner, NULL);
        return rs_codec_fail(&c->path, "out of memory");
    }
    bd->len = protobuf_c_message_pack(inner, bd->data);
    protobuf_c_message_free_unpacked(inner, NULL);
    *(char **)RS_CODEC_MEMBER(msg, tf->offset) = url;
    return 0;
}

static ProtobufCMessage *parse_message(struct ctx *c, const ProtobufCMessageDescriptor *desc,
                                       const struct rs_codec_node *node)
{
    ProtobufCMessage *msg;
    int rc;

    if (c->depth >= RS_CODEC_MAX_DEPTH) {
        rs_codec_fail(&c->path, "nesting deeper than %d levels", RS_CODEC_MAX_DEPTH);
        return NULL;
    }
    msg = malloc(desc->sizeof_message);
    if (!msg) {
        rs_codec_fail(&c->path, "out of memory");
        return NULL;
    }
    protobuf_c_message_init(desc, msg);
    c->depth++;
    switch (rs_codec_wkt_kind(desc)) {
    case RS_CODEC_WKT_ANY:
        rc = parse_any(c, msg, node);
        break;
    case RS_CODEC_WKT_DURATION:
        rc = parse_time(c, msg, node, 1);
        break;
    case RS_CODEC_WKT_TIMESTAMP:
        rc = parse_time(c, msg, node, 0);
        break;
    case RS_CODEC_WKT_FIELD_MASK:
        rc = parse_field_mask(c, msg, node);
        break;
    case RS_CODEC_WKT_STRUCT:
        rc = parse_map(c, msg, rs_codec_field_by_name(desc, "fields"), node);
        break;
    case RS_CODEC_WKT_VALUE:
        rc = parse_value(c, msg, node);
        break;
    case RS_CODEC_WKT_LIST_VALUE:
        rc = parse_repeated(c, msg, rs_codec_field_by_name(desc, "values"), node);
        break;
    case RS_CODEC_WKT_WRAPPER:
        rc = parse_scalar(c, desc->fields[0].type, NULL, node,
                          RS_CODEC_MEMBER(msg, desc->fields[0].offset), 0);
        break;
    default:
        rc = parse_fields(c, msg, node, 0);
        break;
    }
    c->depth--;
    if (rc) {
        protobuf_c_message_free_unpacked(msg, NULL);
        return NULL;
    }
    return msg;
}

ProtobufCMessage *rs_codec_parse_yaml(const ProtobufCMessageDescriptor *desc, const char *text,
                                      size_t len, rs_codec_type_lookup_fn lookup, char *err,
                                      size_t err_len)
{
    struct rs_codec_tree tree;
    struct ctx c = {.lookup = lookup};
    ProtobufCMessage *msg;

    if (err && err_len)
        err[0] = '\0';
    if (!desc || (!text && len)) {
        rs_codec_errf(err, err_len, "invalid arguments");
        return NULL;
    }
    if (rs_codec_tree_load(&tree, text ? text : "", len, err, err_len))
        return NULL;
    if (!tree.root) {
        rs_codec_tree_free(&tree);
        rs_codec_errf(err, err_len, "empty document");
        return NULL;
    }
    rs_codec_path_init(&c.path, err, err_len);
    /* Generous for real configs (each alias may be used many times), small enough that a
     * "billion laughs" document fails fast instead of exhausting memory. */
    c.budget = 64 * tree.node_count + 10000;
    msg = parse_message(&c, desc, tree.root);
    if (!msg && !c.path.failed)
        rs_codec_errf(err, err_len, "parse failed");
    rs_codec_path_release(&c.path);
    rs_codec_tree_free(&tree);
    return msg;
}
