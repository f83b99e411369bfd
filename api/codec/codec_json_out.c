/* protobuf-c message -> JSON, following the proto3 JSON mapping with the original (snake_case)
 * field names, as Envoy's /config_dump prints them.
 *
 * Field presence mirrors protobuf-c's packer exactly (unset proto3 scalars, oneof members that
 * are not selected, NULL submessages are skipped), so that parsing the output again packs to the
 * same bytes. Strings are escaped so that the output is valid JSON and also valid input for
 * libyaml, which rejects raw C1 controls and U+FFFE/U+FFFF. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/codec/codec_internal.h"

struct out {
    char *buf;
    size_t len, cap;
    int oom;
    int pretty;
    int indent;
    int depth;
    rs_codec_type_lookup_fn lookup;
    struct rs_codec_path path;
};

static int write_message(struct out *o, const ProtobufCMessage *msg);

static void put(struct out *o, const char *s, size_t n)
{
    if (o->oom)
        return;
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 256;
        while (cap < o->len + n + 1)
            cap *= 2;
        char *b = realloc(o->buf, cap);
        if (!b) {
            o->oom = 1;
            return;
        }
        o->buf = b;
        o->cap = cap;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
    o->buf[o->len] = '\0';
}

static void puts_(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

static void newline(struct out *o)
{
    if (!o->pretty)
        return;
    put(o, "\n", 1);
    for (int i = 0; i < o->indent; i++)
        put(o, "  ", 2);
}

/* Containers: open, then before each member a separator, then close. */
static void open_(struct out *o, char c)
{
    put(o, &c, 1);
    o->indent++;
}

static void member_sep(struct out *o, int *first)
{
    if (!*first)
        put(o, ",", 1);
    *first = 0;
    newline(o);
}

static void close_(struct out *o, char c, int empty)
{
    o->indent--;
    if (!empty)
        newline(o);
    put(o, &c, 1);
}

/* Decodes one UTF-8 sequence; returns its length, or 0 if it is malformed (overlong forms,
 * surrogates and values past U+10FFFF included). */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    size_t len;
    uint32_t v, min;
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    } else if ((s[0] & 0xe0) == 0xc0) {
        len = 2, v = s[0] & 0x1f, min = 0x80;
    } else if ((s[0] & 0xf0) == 0xe0) {
        len = 3, v = s[0] & 0x0f, min = 0x800;
    } else if ((s[0] & 0xf8) == 0xf0) {
        len = 4, v = s[0] & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

/* Invalid UTF-8 (possible in wire-decoded messages: protobuf-c does not validate) becomes
 * U+FFFD, so the output is always valid JSON. */
static void write_string(struct out *o, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, run = 0;
    char esc[8];
    put(o, "\"", 1);
    while (i < n) {
        uint32_t cp;
        size_t l = utf8_decode(s + i, n - i, &cp);
        const char *rep = NULL;
        if (l == 0) {
            rep = "\\ufffd";
            l = 1;
        } else if (cp == '"') {
            rep = "\\\"";
        } else if (cp == '\\') {
            rep = "\\\\";
        } else if (cp == '\n') {
            rep = "\\n";
        } else if (cp == '\r') {
            rep = "\\r";
        } else if (cp == '\t') {
            rep = "\\t";
        } else if (cp == '\b') {
            rep = "\\b";
        } else if (cp == '\f') {
            rep = "\\f";
        } else if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0xfffe || cp == 0xffff) {
            snprintf(esc, sizeof(esc), "\\u%04x", (unsigned)cp);
            rep = esc;
        }
        if (rep) {
            put(o, str + i - run, run);
            run = 0;
            puts_(o, rep);
        } else {
            run += l;
        }
        i += l;
    }
    put(o, str + i - run, run);
    put(o, "\"", 1);
}

static void write_cstring(struct out *o, const char *s)
{
    write_string(o, s, s ? strlen(s) : 0);
}

static void write_key(struct out *o, int *first, const char *name)
{
    member_sep(o, first);
    write_cstring(o, name);
    puts_(o, o->pretty ? ": " : ":");
}

static int write_double(struct out *o, double v)
{
    char num[40];
    if (isnan(v))
        puts_(o, "\"NaN\"");
    else if (isinf(v))
        puts_(o, v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    else {
        rs_codec_format_double(v, num, sizeof(num));
        puts_(o, num);
    }
    return 0;
}

static int write_scalar(struct out *o, ProtobufCType t, const void *desc, const void *p)
{
    char num[48];
    switch (t) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        snprintf(num, sizeof(num), "%d", *(const int32_t *)p);
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        snprintf(num, sizeof(num), "%u", *(const uint32_t *)p);
        break;
    /* 64-bit integers are strings in the proto3 mapping: JSON readers often use doubles. */
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        snprintf(num, sizeof(num), "\"%lld\"", (long long)*(const int64_t *)p);
        break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        snprintf(num, sizeof(num), "\"%llu\"", (unsigned long long)*(const uint64_t *)p);
        break;
    case PROTOBUF_C_TYPE_FLOAT: {
        float f = *(const float *)p;
        if (isnan(f) || isinf(f))
            return write_double(o, f);
        rs_codec_format_float(f, num, sizeof(num));
        break;
    }
    case PROTOBUF_C_TYPE_DOUBLE:
        return write_double(o, *(const double *)p);
    case PROTOBUF_C_TYPE_BOOL:
        snprintf(num, sizeof(num), "%s", *(const protobuf_c_boolean *)p ? "true" : "false");
        break;
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumDescriptor *ed = desc;
        int32_t v = *(const int32_t *)p;
        if (strcmp(ed->name, "google.protobuf.NullValue") == 0) {
            puts_(o, "null");
            return 0;
        }
        const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(ed, v);
        if (ev) {
            write_cstring(o, ev->name);
            return 0;
        }
        snprintf(num, sizeof(num), "%d", v); /* open enum: unknown numbers stay numbers */
        break;
    }
    case PROTOBUF_C_TYPE_STRING:
        write_cstring(o, *(char *const *)p);
        return 0;
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *bd = p;
        char *b64 = malloc(rs_codec_base64_encoded_len(bd->len) + 1);
        if (!b64) {
            o->oom = 1;
            return 0;
        }
        rs_codec_base64_encode(bd->data, bd->len, b64);
        write_cstring(o, b64);
        free(b64);
        return 0;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *m = *(ProtobufCMessage *const *)p;
        if (!m) {
            /* Only reachable for map values and required fields: an absent message is empty. */
            puts_(o, "{}");
            return 0;
        }
        return write_message(o, m);
    }
    default:
        return rs_codec_fail(&o->path, "unsupported field type");
    }
    puts_(o, num);
    return 0;
}

/* Same presence rules as protobuf-c's pack (see oneof/optional/unlabeled_field_get_packed_size),
 * so that what is printed is exactly what would be on the wire. */
static int field_present(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
    const void *p = RS_CODEC_MEMBER(msg, f->offset);
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return *(const size_t *)RS_CODEC_MEMBER(msg, f->quantifier_offset) > 0;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        if (*(const uint32_t *)RS_CODEC_MEMBER(msg, f->quantifier_offset) != f->id)
            return 0;
        if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE)
            return *(void *const *)p && *(void *const *)p != f->default_value;
        return 1;
    }
    switch (f->label) {
    case PROTOBUF_C_LABEL_REQUIRED:
        return 1;
    case PROTOBUF_C_LABEL_OPTIONAL:
        if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE)
            return *(void *const *)p && *(void *const *)p != f->default_value;
        return *(const protobuf_c_boolean *)RS_CODEC_MEMBER(msg, f->quantifier_offset);
    default:
        break;
    }
    switch (f->type) {
    case PROTOBUF_C_TYPE_BOOL:
        return *(const protobuf_c_boolean *)p != 0;
    case PROTOBUF_C_TYPE_FLOAT:
        return *(const float *)p != 0;
    case PROTOBUF_C_TYPE_DOUBLE:
        return *(const double *)p != 0;
    case PROTOBUF_C_TYPE_STRING:
        return *(char *const *)p && **(char *const *)p;
    case PROTOBUF_C_TYPE_BYTES:
        return ((const ProtobufCBinaryData *)p)->len != 0;
    case PROTOBUF_C_TYPE_MESSAGE:
        return *(void *const *)p != NULL;
    default:
        return rs_codec_scalar_size(f->type) == 8 ? *(const uint64_t *)p != 0
                                                  : *(const uint32_t *)p != 0;
    }
}

static int write_map(struct out *o, const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
    const ProtobufCMessageDescriptor *ed = f->descriptor;
    const ProtobufCFieldDescriptor *kf = &ed->fields[0], *vf = &ed->fields[1];
    size_t n = *(const size_t *)RS_CODEC_MEMBER(msg, f->quantifier_offset);
    ProtobufCMessage *const *entries =
        *(ProtobufCMessage *const *const *)RS_CODEC_MEMBER(msg, f->offset);
    int first = 1;
    open_(o, '{');
    for (size_t i = 0; i < n; i++) {
        const ProtobufCMessage *e = entries[i];
        const void *k = RS_CODEC_MEMBER(e, kf->offset);
        char key[48];
        const char *ks = key;
        switch (kf->type) {
        case PROTOBUF_C_TYPE_STRING:
            ks = *(char *const *)k ? *(char *const *)k : "";
            break;
        case PROTOBUF_C_TYPE_BOOL:
            ks = *(const protobuf_c_boolean *)k ? "true" : "false";
            break;
        case PROTOBUF_C_TYPE_INT32:
        case PROTOBUF_C_TYPE_SINT32:
        case PROTOBUF_C_TYPE_SFIXED32:
            snprintf(key, sizeof(key), "%d", *(const int32_t *)k);
            break;
        case PROTOBUF_C_TYPE_UINT32:
        case PROTOBUF_C_TYPE_FIXED32:
            snprintf(key, sizeof(key), "%u", *(const uint32_t *)k);
            break;
        case PROTOBUF_C_TYPE_UINT64:
        case PROTOBUF_C_TYPE_FIXED64:
            snprintf(key, sizeof(key), "%llu", (unsigned long long)*(const uint64_t *)k);
            break;
        default:
            snprintf(key, sizeof(key), "%lld", (long long)*(const int64_t *)k);
            break;
        }
        write_key(o, &first, ks);
        if (rs_codec_path_push_key(&o->path, ks, strlen(ks)))
            return -1;
        int rc = write_scalar(o, vf->type, vf->descriptor, RS_CODEC_MEMBER(e, vf->offset));
        rs_codec_path_pop(&o->path);
        if (rc)
            return -1;
    }
    close_(o, '}', first);
    return 0;
}

static int write_repeated(struct out *o, const ProtobufCMessage *msg,
                          const ProtobufCFieldDescriptor *f)
{
    size_t n = *(const size_t *)RS_CODEC_MEMBER(msg, f->quantifier_offset);
    const char *arr = *(const char *const *)RS_CODEC_MEMBER(msg, f->offset);
    size_t esz = rs_codec_scalar_size(f->type);
    int first = 1;
    open_(o, '[');
    for (size_t i = 0; i < n; i++) {
        member_sep(o, &first);
        if (rs_codec_path_push_index(&o->path, i))
            return -1;
        int rc = write_scalar(o, f->type, f->descriptor, arr + i * esz);
        rs_codec_path_pop(&o->path);
        if (rc)
            return -1;
    }
    close_(o, ']', first);
    return 0;
}

static int write_fields(struct out *o, const ProtobufCMessage *msg, int *first)
{
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        int rc;
        if (!field_present(msg, f))
            continue;
        write_key(o, first, f->name);
        if (rs_codec_path_push_field(&o->path, f->name))
            return -1;
        if (f->label == PROTOBUF_C_LABEL_REPEATED && rs_codec_field_is_map(d, f))
            rc = write_map(o, msg, f);
        else if (f->label == PROTOBUF_C_LABEL_REPEATED)
            rc = write_repeated(o, msg, f);
        else
            rc = write_scalar(o, f->type, f->descriptor, RS_CODEC_MEMBER(msg, f->offset));
        rs_codec_path_pop(&o->path);
        if (rc)
            return -1;
    }
    return 0;
}

static int write_any(struct out *o, const ProtobufCMessage *msg)
{
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    const char *url =
        *(char *const *)RS_CODEC_MEMBER(msg, rs_codec_field_by_name(d, "type_url")->offset);
    const ProtobufCBinaryData *bd =
        RS_CODEC_MEMBER(msg, rs_codec_field_by_name(d, "value")->offset);
    const ProtobufCMessageDescriptor *inner_desc;
    ProtobufCMessage *inner;
    int first = 1, rc;

    if ((!url || !*url) && bd->len == 0) {
        puts_(o, "{}");
        return 0;
    }
    inner_desc = url && o->lookup ? o->lookup(url) : NULL;
    if (!inner_desc) {
        char q[160];
        rs_codec_quote(q, sizeof(q), url ? url : "", url ? strlen(url) : 0);
        return rs_codec_fail(&o->path, "unknown Any type %s", q);
    }
    inner = protobuf_c_message_unpack(inner_desc, NULL, bd->len, bd->data);
    if (!inner)
        return rs_codec_fail(&o->path, "cannot decode Any value of type %s", inner_desc->name);
    open_(o, '{');
    write_key(o, &first, "@type");
    write_cstring(o, url);
    if (rs_codec_wkt_kind(inner_desc) != RS_CODEC_WKT_NONE) {
        write_key(o, &first, "value");
        rc = rs_codec_path_push_field(&o->path, "value");
        if (rc == 0) {
            rc = write_message(o, inner);
            rs_codec_path_pop(&o->path);
        }
    } else {
        o->depth++;
        rc = o->depth > RS_CODEC_MAX_DEPTH
                 ? rs_codec_fail(&o->path, "nesting deeper than %d levels", RS_CODEC_MAX_DEPTH)
                 : write_fields(o, inner, &first);
        o->depth--;
    }
    protobuf_c_message_free_unpacked(inner, NULL);
    close_(o, '}', 0);
    return rc;
}

static int write_value(struct out *o, const ProtobufCMessage *msg)
{
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    uint32_t kind = *(const uint32_t *)RS_CODEC_MEMBER(
        msg, rs_codec_field_by_name(d, "null_value")->quantifier_offset);
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(d, kind);
    if (!f)
        return rs_codec_fail(&o->path, "google.protobuf.Value has no kind set");
    const void *p = RS_CODEC_MEMBER(msg, f->offset);
    switch (kind) {
    case 1:
        puts_(o, "null");
        return 0;
    case 2: {
        double v = *(const double *)p;
        if (isnan(v) || isinf(v))
            return rs_codec_fail(&o->path, "google.protobuf.Value cannot hold NaN or Infinity");
        return write_double(o, v);
    }
    case 5:
        if (!*(void *const *)p) {
            puts_(o, "{}");
            return 0;
        }
        return write_message(o, *(ProtobufCMessage *const *)p);
    case 6:
        if (!*(void *const *)p) {
            puts_(o, "[]");
            return 0;
        }
        return write_message(o, *(ProtobufCMessage *const *)p);
    default:
        return write_scalar(o, f->type, f->descriptor, p);
    }
}

/* paths ["foo_bar", "a.b_c"] -> "fooBar,a.bC"; paths that would not read back the same are
 * refused, as the proto3 mapping requires. */
static int write_field_mask(struct out *o, const ProtobufCMessage *msg)
{
    const ProtobufCFieldDescriptor *f = rs_codec_field_by_name(msg->descriptor, "paths");
    size_t n = *(const size_t *)RS_CODEC_MEMBER(msg, f->quantifier_offset);
    char *const *paths = *(char *const *const *)RS_CODEC_MEMBER(msg, f->offset);
    size_t total = 1;
    for (size_t i = 0; i < n; i++)
        total += strlen(paths[i]) + 1;
    char *s = malloc(total), *w = s;
    if (!s) {
        o->oom = 1;
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        const char *p = paths[i];
        if (i)
            *w++ = ',';
        for (; *p; p++) {
            if (*p == '_' && p[1] >= 'a' && p[1] <= 'z') {
                *w++ = (char)(p[1] - 'a' + 'A');
                p++;
            } else if (*p == '_' || *p == ',' || (*p >= 'A' && *p <= 'Z')) {
                char q[160];
                rs_codec_quote(q, sizeof(q), paths[i], strlen(paths[i]));
                free(s);
                return rs_codec_fail(&o->path, "field mask path %s cannot be written in JSON", q);
            } else {
                *w++ = *p;
            }
        }
    }
    *w = '\0';
    write_cstring(o, s);
    free(s);
    return 0;
}

static int write_message(struct out *o, const ProtobufCMessage *msg)
{
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    char text[48];
    int first = 1, rc = 0;
    if (o->depth >= RS_CODEC_MAX_DEPTH)
        return rs_codec_fail(&o->path, "nesting deeper than %d levels", RS_CODEC_MAX_DEPTH);
    o->depth++;
    switch (rs_codec_wkt_kind(d)) {
    case RS_CODEC_WKT_ANY:
        rc = write_any(o, msg);
        break;
    case RS_CODEC_WKT_DURATION:
    case RS_CODEC_WKT_TIMESTAMP: {
        int duration = rs_codec_wkt_kind(d) == RS_CODEC_WKT_DURATION;
        int64_t s =
            *(const int64_t *)RS_CODEC_MEMBER(msg, rs_codec_field_by_name(d, "seconds")->offset);
        int32_t ns =
            *(const int32_t *)RS_CODEC_MEMBER(msg, rs_codec_field_by_name(d, "nanos")->offset);
        if (duration ? rs_codec_duration_format(s, ns, text, sizeof(text))
                     : rs_codec_timestamp_format(s, ns, text, sizeof(text))) {
            rc = rs_codec_fail(&o->path, "%s is out of range", d->name);
            break;
        }
        write_cstring(o, text);
        break;
    }
    case RS_CODEC_WKT_FIELD_MASK:
        rc = write_field_mask(o, msg);
        break;
    case RS_CODEC_WKT_STRUCT:
        rc = write_map(o, msg, rs_codec_field_by_name(d, "fields"));
        break;
    case RS_CODEC_WKT_VALUE:
        rc = write_value(o, msg);
        break;
    case RS_CODEC_WKT_LIST_VALUE:
        rc = write_repeated(o, msg, rs_codec_field_by_name(d, "values"));
        break;
    case RS_CODEC_WKT_WRAPPER:
        rc = write_scalar(o, d->fields[0].type, d->fields[0].descriptor,
                          RS_CODEC_MEMBER(msg, d->fields[0].offset));
        break;
    default:
        open_(o, '{');
        rc = write_fields(o, msg, &first);
        close_(o, '}', first);
        break;
    }
    o->depth--;
    return rc;
}

char *rs_codec_to_json(const ProtobufCMessage *msg, int pretty, rs_codec_type_lookup_fn lookup,
                       char *err, size_t err_len)
{
    struct out o = {.pretty = pretty, .lookup = lookup};
    int rc;
    if (err && err_len)
        err[0] = '\0';
    if (!msg || !msg->descriptor ||
        msg->descriptor->magic != PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC) {
        rs_codec_errf(err, err_len, "invalid message");
        return NULL;
    }
    rs_codec_path_init(&o.path, err, err_len);
    rc = write_message(&o, msg);
    rs_codec_path_release(&o.path);
    if (rc == 0 && o.oom)
        rs_codec_errf(err, err_len, "out of memory");
    if (rc || o.oom) {
        free(o.buf);
        return NULL;
    }
    return o.buf;
}
