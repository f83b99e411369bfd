#include "api/pbutil/pbutil.h"

#include <stdio.h>
#include <string.h>

#include "google/protobuf/duration.pb-c.h"

static const void *field_ptr(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
    return (const char *)msg + f->offset;
}

static bool scalar_is_set(const ProtobufCFieldDescriptor *f, const void *p)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_ENUM:
        return *(const uint32_t *)p != 0;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return *(const uint64_t *)p != 0;
    case PROTOBUF_C_TYPE_FLOAT:
        return *(const float *)p != 0.0f;
    case PROTOBUF_C_TYPE_DOUBLE:
        return *(const double *)p != 0.0;
    case PROTOBUF_C_TYPE_BOOL:
        return *(const protobuf_c_boolean *)p != 0;
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(const char *const *)p;
        return s != NULL && s[0] != '\0';
    }
    case PROTOBUF_C_TYPE_BYTES:
        return ((const ProtobufCBinaryData *)p)->len != 0;
    case PROTOBUF_C_TYPE_MESSAGE:
        return *(const void *const *)p != NULL;
    }
    return false;
}

bool rs_pb_field_is_set(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return *(const size_t *)((const char *)msg + f->quantifier_offset) != 0;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        uint32_t which = *(const uint32_t *)((const char *)msg + f->quantifier_offset);
        return which == f->id;
    }
    if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset != 0 &&
        f->type != PROTOBUF_C_TYPE_MESSAGE && f->type != PROTOBUF_C_TYPE_STRING)
        return *(const protobuf_c_boolean *)((const char *)msg + f->quantifier_offset) != 0;
    return scalar_is_set(f, field_ptr(msg, f));
}

bool rs_pb_check_supported(const ProtobufCMessage *msg, const char *const *supported,
                           const char *path, char *err, size_t err_len)
{
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (!rs_pb_field_is_set(msg, f))
            continue;
        bool ok = false;
        for (const char *const *s = supported; *s != NULL; s++) {
            if (strcmp(*s, f->name) == 0) {
                ok = true;
                break;
            }
        }
        if (!ok) {
            snprintf(err, err_len, "%s%s%s: field is not supported by ringside", path,
                     path[0] ? "." : "", f->name);
            return false;
        }
    }
    return true;
}

const ProtobufCFieldDescriptor *rs_pb_field(const ProtobufCMessage *msg, const char *name)
{
    return protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, name);
}

unsigned long long rs_pb_duration_ms(const struct Google__Protobuf__Duration *d,
                                     unsigned long long fallback)
{
    if (d == NULL)
        return fallback;
    if (d->seconds < 0 || (d->seconds == 0 && d->nanos <= 0))
        return 0;
    unsigned long long ms = (unsigned long long)d->seconds * 1000ull;
    ms += ((unsigned long long)d->nanos + 999999ull) / 1000000ull;
    return ms;
}
