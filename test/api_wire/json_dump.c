#include "test/api_wire/json_dump.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/type_registry.h"
#include "google/protobuf/any.pb-c.h"

void json_dump_string(FILE *out, const char *s, size_t len)
{
    fputc('"', out);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

static void dump_base64(FILE *out, const uint8_t *p, size_t len)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    fputc('"', out);
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < len)
            v |= p[i + 2];
        fputc(tbl[(v >> 18) & 63], out);
        fputc(tbl[(v >> 12) & 63], out);
        fputc(i + 1 < len ? tbl[(v >> 6) & 63] : '=', out);
        fputc(i + 2 < len ? tbl[v & 63] : '=', out);
    }
    fputc('"', out);
}

static size_t element_size(ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(void *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    default: /* 32-bit ints, float, bool (protobuf_c_boolean is an int), enum */
        return 4;
    }
}

static void dump_value(struct json_dump *d, const ProtobufCFieldDescriptor *f, const void *p,
                       const char *path)
{
    FILE *out = d->out;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        fprintf(out, "%" PRId32, *(const int32_t *)p);
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        fprintf(out, "%" PRIu32, *(const uint32_t *)p);
        break;
    /* 64-bit integers are strings, as with longs: String on the reference side. */
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        fprintf(out, "\"%" PRId64 "\"", *(const int64_t *)p);
        break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        fprintf(out, "\"%" PRIu64 "\"", *(const uint64_t *)p);
        break;
    case PROTOBUF_C_TYPE_FLOAT:
        fprintf(out, "%.17g", (double)*(const float *)p);
        break;
    case PROTOBUF_C_TYPE_DOUBLE:
        fprintf(out, "%.17g", *(const double *)p);
        break;
    case PROTOBUF_C_TYPE_BOOL:
        fputs(*(const protobuf_c_boolean *)p ? "true" : "false", out);
        break;
    case PROTOBUF_C_TYPE_ENUM: {
        int v = *(const int *)p;
        const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(f->descriptor, v);
        if (ev)
            json_dump_string(out, ev->name, strlen(ev->name));
        else
            fprintf(out, "%d", v);
        break;
    }
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)p;
        json_dump_string(out, s, strlen(s));
        break;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *b = p;
        dump_base64(out, b->data, b->len);
        break;
    }
    case PROTOBUF_C_TYPE_MESSAGE:
        json_dump_message(d, *(ProtobufCMessage *const *)p, path);
        break;
    }
}

/* Scalars without presence are on the wire, and so in the reference object, only when non-default.
 */
static bool is_default(const ProtobufCFieldDescriptor *f, const void *p)
{
    switch (element_size(f->type)) {
    case 8:
        if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE)
            break;
        return *(const uint64_t *)p == 0;
    case 4:
        return *(const uint32_t *)p == 0;
    default:
        break;
    }
    if (f->type == PROTOBUF_C_TYPE_STRING)
        return **(char *const *)p == '\0';
    if (f->type == PROTOBUF_C_TYPE_MESSAGE)
        return *(void *const *)p == NULL;
    return ((const ProtobufCBinaryData *)p)->len == 0;
}

/* protoc-c turns map<K, V> into a repeated nested "<Name>Entry" message with key = 1, value = 2;
 * the reference renders maps as objects keyed by the key's text. */
static bool is_map(const ProtobufCFieldDescriptor *f)
{
    if (f->label != PROTOBUF_C_LABEL_REPEATED || f->type != PROTOBUF_C_TYPE_MESSAGE)
        return false;
    const ProtobufCMessageDescriptor *m = f->descriptor;
    size_t n = strlen(m->name);
    return m->n_fields == 2 && n > 5 && strcmp(m->name + n - 5, "Entry") == 0 &&
           strcmp(m->fields[0].name, "key") == 0 && strcmp(m->fields[1].name, "value") == 0;
}

static void dump_map(struct json_dump *d, const ProtobufCFieldDescriptor *f, size_t n,
                     ProtobufCMessage *const *entries, const char *path)
{
    fputc('{', d->out);
    for (size_t i = 0; i < n; i++) {
        const ProtobufCMessageDescriptor *m = f->descriptor;
        const char *base = (const char *)entries[i];
        if (i)
            fputc(',', d->out);
        if (m->fields[0].type == PROTOBUF_C_TYPE_STRING) {
            const char *k = *(char *const *)(base + m->fields[0].offset);
            json_dump_string(d->out, k, strlen(k));
        } else {
            /* Non-string keys render as their text, which dump_value prints bare for 32-bit ints.
             */
            fputc('"', d->out);
            dump_value(d, &m->fields[0], base + m->fields[0].offset, path);
            fputc('"', d->out);
        }
        fputc(':', d->out);
        dump_value(d, &m->fields[1], base + m->fields[1].offset, path);
    }
    fputc('}', d->out);
}

/* An Any whose type we know renders as its payload's fields plus "@type", as the reference does. */
static bool dump_any(struct json_dump *d, const ProtobufCMessage *msg, const char *path)
{
    const Google__Protobuf__Any *any = (const Google__Protobuf__Any *)msg;
    if (any->type_url[0] == '\0')
        return false;
    const ProtobufCMessageDescriptor *desc = rs_api_find_type_url(any->type_url);
    if (desc == NULL) {
        d->n_unresolved_any++;
        return false;
    }
    ProtobufCMessage *inner =
        protobuf_c_message_unpack(desc, NULL, any->value.len, any->value.data);
    if (inner == NULL)
        return false;
    char sub[512];
    snprintf(sub, sizeof(sub), "%s<%s>", path, desc->name);
    FILE *out = d->out;
    fputs("{\"@type\":", out);
    json_dump_string(out, any->type_url, strlen(any->type_url));
    /* The payload's object is spliced in after "@type": render it, then drop its opening brace. */
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    d->out = mem;
    json_dump_message(d, inner, sub);
    d->out = out;
    fclose(mem);
    if (len > 2)
        fprintf(out, ",%s", buf + 1);
    else
        fputc('}', out);
    free(buf);
    protobuf_c_message_free_unpacked(inner, NULL);
    return true;
}

void json_dump_message(struct json_dump *d, const ProtobufCMessage *msg, const char *path)
{
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    if (desc == &google__protobuf__any__descriptor && dump_any(d, msg, path))
        return;

    for (unsigned i = 0; i < msg->n_unknown_fields; i++) {
        fprintf(d->unknown, "%s\"%s #%" PRIu32 "\"", d->n_unknown ? "," : "", path,
                msg->unknown_fields[i].tag);
        d->n_unknown++;
    }

    const char *base = (const char *)msg;
    bool first = true;
    fputc('{', d->out);
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        const void *p = base + f->offset;
        char sub[512];
        snprintf(sub, sizeof(sub), "%s.%s", path, f->name);
        size_t n = 0;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            n = *(const size_t *)(base + f->quantifier_offset);
            if (n == 0)
                continue;
        } else if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            if (*(const uint32_t *)(base + f->quantifier_offset) != f->id)
                continue;
        } else if (is_default(f, p)) {
            continue;
        }
        fprintf(d->out, "%s\"%s\":", first ? "" : ",", f->name);
        first = false;
        if (f->label != PROTOBUF_C_LABEL_REPEATED) {
            dump_value(d, f, p, sub);
            continue;
        }
        const char *elems = *(const char *const *)p;
        if (is_map(f)) {
            dump_map(d, f, n, (ProtobufCMessage *const *)elems, sub);
            continue;
        }
        fputc('[', d->out);
        for (size_t j = 0; j < n; j++) {
            if (j)
                fputc(',', d->out);
            snprintf(sub, sizeof(sub), "%s.%s[%zu]", path, f->name, j);
            dump_value(d, f, elems + j * element_size(f->type), sub);
        }
        fputc(']', d->out);
    }
    fputc('}', d->out);
}
