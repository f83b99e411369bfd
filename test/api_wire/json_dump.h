/* Descriptor-driven JSON rendering of a decoded protobuf-c message, shaped like protobufjs's
 * toObject({keepCase, longs: String, enums: String, bytes: String, json: true}) so the wire test
 * can compare what our generated code decoded, field by field and by name, with what the reference
 * protos decode from the same bytes. */
#ifndef RS_TEST_API_WIRE_JSON_DUMP_H
#define RS_TEST_API_WIRE_JSON_DUMP_H

#include <stdio.h>

#include <protobuf-c/protobuf-c.h>

struct json_dump {
    FILE *out;
    /* Unknown fields are counted and their paths printed to `unknown` (a JSON array body): any
     * unknown field means our .proto lacks a field the reference has, or has it under another
     * number. */
    FILE *unknown;
    int n_unknown;
    /* google.protobuf.Any payloads whose type is not in the registry. */
    int n_unresolved_any;
};

/* Writes `msg` as a JSON object; `path` names it in unknown-field reports. */
void json_dump_message(struct json_dump *d, const ProtobufCMessage *msg, const char *path);

/* Writes `s` as a JSON string literal. */
void json_dump_string(FILE *out, const char *s, size_t len);

#endif
