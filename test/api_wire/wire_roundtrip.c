/* wire_roundtrip TYPE IN OUT: decodes IN (binary protobuf of full type name TYPE) with our
 * generated code, writes its re-encoding to OUT, and prints one JSON object on stdout:
 *   {"message": <decoded, by descriptor>, "checks": <typed spot checks>,
 *    "unknown_fields": [paths], "unresolved_any": N}
 * The wire test (wire_test.js) compares all of it with the reference protos. Exit 2 on usage or I/O
 * errors, 1 if IN does not decode. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "api/type_registry.h"
#include "test/api_wire/checks.h"
#include "test/api_wire/json_dump.h"

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    uint8_t *buf = NULL;
    size_t cap = 0;
    *len = 0;
    for (;;) {
        if (*len == cap) {
            cap = cap ? cap * 2 : 4096;
            uint8_t *grown = realloc(buf, cap);
            if (grown == NULL) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = grown;
        }
        size_t n = fread(buf + *len, 1, cap - *len, f);
        *len += n;
        if (n == 0)
            break;
    }
    bool failed = ferror(f);
    fclose(f);
    if (failed) {
        free(buf);
        return NULL;
    }
    return buf;
}

static int write_packed(const char *path, const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(len ? len : 1);
    if (buf == NULL)
        return -1;
    protobuf_c_message_pack(msg, buf);
    FILE *f = fopen(path, "wb");
    int rc = f && fwrite(buf, 1, len, f) == len ? 0 : -1;
    if (f && fclose(f) != 0)
        rc = -1;
    free(buf);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s TYPE IN OUT\n", argv[0]);
        return 2;
    }
    const ProtobufCMessageDescriptor *desc = rs_api_find_type(argv[1]);
    if (desc == NULL) {
        fprintf(stderr, "unknown type %s\n", argv[1]);
        return 2;
    }
    size_t len;
    uint8_t *in = read_file(argv[2], &len);
    if (in == NULL) {
        fprintf(stderr, "cannot read %s\n", argv[2]);
        return 2;
    }
    ProtobufCMessage *msg = protobuf_c_message_unpack(desc, NULL, len, in);
    free(in);
    if (msg == NULL) {
        fprintf(stderr, "%s does not decode as %s\n", argv[2], argv[1]);
        return 1;
    }

    char *unknown = NULL;
    size_t unknown_len = 0;
    struct json_dump d = {.out = stdout, .unknown = open_memstream(&unknown, &unknown_len)};
    fputs("{\"message\":", stdout);
    json_dump_message(&d, msg, desc->short_name);
    fclose(d.unknown);
    fputs(",\"checks\":", stdout);
    checks_write(stdout, msg);
    printf(",\"unknown_fields\":[%s],\"unresolved_any\":%d}\n", unknown, d.n_unresolved_any);
    free(unknown);

    int rc = write_packed(argv[3], msg);
    protobuf_c_message_free_unpacked(msg, NULL);
    if (rc != 0) {
        fprintf(stderr, "cannot write %s\n", argv[3]);
        return 2;
    }
    return 0;
}
