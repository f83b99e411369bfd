/* Descriptor helpers: JSON names, map detection and field lookup. protobuf-c 1.4 descriptors
 * carry neither json_name nor a map flag, so both are derived here the way protoc derives them. */
#include <string.h>

#include "api/codec/codec_internal.h"

/* protoc's default json_name: drop each '_' and upper-case the letter after it. Compared on the
 * fly so that lookups allocate nothing. */
int rs_codec_field_name_matches(const ProtobufCFieldDescriptor *f, const char *key, size_t len)
{
    const char *n = f->name;
    size_t k = 0;
    int upper_next = 0;

    if (strlen(n) == len && memcmp(n, key, len) == 0)
        return 1;
    for (; *n; n++) {
        char c = *n;
        if (c == '_') {
            upper_next = 1;
            continue;
        }
        if (upper_next && c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        upper_next = 0;
        if (k >= len || key[k] != c)
            return 0;
        k++;
    }
    return k == len;
}

/* protoc names the entry message of map field "foo_bar" "FooBarEntry" and nests it in the
 * message that owns the field; a message that merely looks like an entry is not a map. */
int rs_codec_field_is_map(const ProtobufCMessageDescriptor *parent,
                          const ProtobufCFieldDescriptor *f)
{
    const ProtobufCMessageDescriptor *e = f->descriptor;
    char expect[256];
    size_t o = 0, plen;
    int cap_next = 1;

    if (f->label != PROTOBUF_C_LABEL_REPEATED || f->type != PROTOBUF_C_TYPE_MESSAGE || !e)
        return 0;
    if (e->n_fields != 2 || strcmp(e->fields[0].name, "key") != 0 || e->fields[0].id != 1 ||
        strcmp(e->fields[1].name, "value") != 0 || e->fields[1].id != 2 ||
        e->fields[0].label == PROTOBUF_C_LABEL_REPEATED ||
        e->fields[1].label == PROTOBUF_C_LABEL_REPEATED)
        return 0;
    for (const char *n = f->name; *n && o + 7 < sizeof(expect); n++) {
        if (*n == '_') {
            cap_next = 1;
        } else {
            expect[o++] = cap_next && *n >= 'a' && *n <= 'z' ? (char)(*n - 'a' + 'A') : *n;
            cap_next = 0;
        }
    }
    memcpy(expect + o, "Entry", 6);
    if (strcmp(e->short_name, expect) != 0)
        return 0;
    plen = strlen(parent->name);
    return strncmp(e->name, parent->name, plen) == 0 && e->name[plen] == '.' &&
           strcmp(e->name + plen + 1, expect) == 0;
}

const ProtobufCFieldDescriptor *rs_codec_field_by_name(const ProtobufCMessageDescriptor *desc,
                                                       const char *name)
{
    return protobuf_c_message_descriptor_get_field_by_name(desc, name);
}

size_t rs_codec_scalar_size(ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_ENUM:
        return 4;
    case PROTOBUF_C_TYPE_FLOAT:
        return sizeof(float);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return 8;
    case PROTOBUF_C_TYPE_DOUBLE:
        return sizeof(double);
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING:
        return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
    default:
        return sizeof(void *);
    }
}
