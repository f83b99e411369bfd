#include <stdlib.h>
#include <string.h>

#include "api/codec/codec_test_util.h"
#include "api/codec/testdata/codec_test.pb-c.h"

const ProtobufCMessageDescriptor *rs_codec_test_lookup(const char *type_url)
{
    static const ProtobufCMessageDescriptor *const known[] = {
        &ringside__codectest__all__descriptor,       &ringside__codectest__nested__descriptor,
        &ringside__codectest__filter__descriptor,    &google__protobuf__any__descriptor,
        &google__protobuf__duration__descriptor,     &google__protobuf__timestamp__descriptor,
        &google__protobuf__empty__descriptor,        &google__protobuf__struct__descriptor,
        &google__protobuf__value__descriptor,        &google__protobuf__list_value__descriptor,
        &google__protobuf__field_mask__descriptor,   &google__protobuf__double_value__descriptor,
        &google__protobuf__float_value__descriptor,  &google__protobuf__int64_value__descriptor,
        &google__protobuf__uint64_value__descriptor, &google__protobuf__int32_value__descriptor,
        &google__protobuf__uint32_value__descriptor, &google__protobuf__bool_value__descriptor,
        &google__protobuf__string_value__descriptor, &google__protobuf__bytes_value__descriptor,
    };
    static const char prefix[] = "type.googleapis.com/";
    if (strncmp(type_url, prefix, sizeof(prefix) - 1) != 0)
        return NULL;
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (strcmp(type_url + sizeof(prefix) - 1, known[i]->name) == 0)
            return known[i];
    return NULL;
}

uint8_t *rs_codec_test_pack(const ProtobufCMessage *msg, size_t *len)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        abort();
    *len = protobuf_c_message_pack(msg, buf);
    return buf;
}
