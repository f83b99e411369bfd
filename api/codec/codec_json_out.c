#include <stdlib.h>

#include "api/codec/codec_internal.h"

char *rs_codec_to_json(const ProtobufCMessage *msg, int pretty, rs_codec_type_lookup_fn lookup,
                       char *err, size_t err_len)
{
    (void)msg;
    (void)pretty;
    (void)lookup;
    rs_codec_errf(err, err_len, "not implemented");
    return NULL;
}
