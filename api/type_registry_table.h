/* The generated table behind type_registry.c (written at build time by bazel/gen_type_registry.py).
 */
#ifndef RS_API_TYPE_REGISTRY_TABLE_H
#define RS_API_TYPE_REGISTRY_TABLE_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

struct rs_api_type {
    const char *full_name;
    const ProtobufCMessageDescriptor *descriptor;
};

/* Sorted by full_name in strcmp order. */
extern const struct rs_api_type rs_api_types[];
extern const size_t rs_api_types_len;

#endif
