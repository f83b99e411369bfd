/* Generic helpers over protobuf-c messages, used by every config consumer. */
#ifndef RS_API_PBUTIL_H
#define RS_API_PBUTIL_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>

/* True if field f of msg holds a non-default value (set oneof member, non-empty repeated,
 * present submessage, non-zero scalar, non-empty string/bytes). */
bool rs_pb_field_is_set(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f);

/* Rejects fields Ringside parses but does not implement: if any field of msg is set and its name
 * is not in `supported` (a NULL-terminated list of proto field names), writes
 * "<path>.<field>: field is not supported by ringside" into err and returns false. `path` names msg
 * in the config ("static_resources.clusters[0]"). */
bool rs_pb_check_supported(const ProtobufCMessage *msg, const char *const *supported,
                           const char *path, char *err, size_t err_len);

/* Looks a field up by name; NULL if the message has no such field. */
const ProtobufCFieldDescriptor *rs_pb_field(const ProtobufCMessage *msg, const char *name);

/* google.protobuf.Duration (seconds, nanos) to milliseconds, rounding up so that a non-zero
 * duration never becomes 0; `fallback` when d is NULL. */
struct Google__Protobuf__Duration;
unsigned long long rs_pb_duration_ms(const struct Google__Protobuf__Duration *d,
                                     unsigned long long fallback);

#endif
