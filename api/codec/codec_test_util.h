/* Shared by the codec unit tests and the codec fuzz target. */
#ifndef RINGSIDE_API_CODEC_CODEC_TEST_UTIL_H
#define RINGSIDE_API_CODEC_CODEC_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/* Resolves "type.googleapis.com/<full name>" for every message of the test schema and the
 * well-known types it imports; NULL otherwise. */
const ProtobufCMessageDescriptor *rs_codec_test_lookup(const char *type_url);

/* Packs msg into a malloc'd buffer (never NULL, even when empty). */
uint8_t *rs_codec_test_pack(const ProtobufCMessage *msg, size_t *len);

#endif
