/* Typed spot checks: a few values read through the generated C structs (not the descriptors), so a
 * field under the wrong number or type shows up as a wrong value, and the generated API that the
 * proxy and control plane use is exercised as they use it. */
#ifndef RS_TEST_API_WIRE_CHECKS_H
#define RS_TEST_API_WIRE_CHECKS_H

#include <stdio.h>

#include <protobuf-c/protobuf-c.h>

/* Writes a JSON object {"path": value, ...} for the message's type (empty if it has no checks). */
void checks_write(FILE *out, const ProtobufCMessage *msg);

#endif
