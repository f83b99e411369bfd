/* libFuzzer target for the configuration codec: any bytes as YAML into the codec test message;
 * when that parses, the message is rendered to JSON and parsed again, and the two messages must
 * pack to identical bytes (the codec's round-trip property) and render identically. Anything
 * else is a crash: abort() makes libFuzzer keep the input.
 *
 * Inputs starting with a NUL byte (never valid YAML) are protobuf wire data instead: decoded
 * with protobuf-c and rendered, which reaches renderer states the parser never produces
 * (invalid UTF-8, out-of-range durations, Values without a kind). Such a rendering may fail with
 * an error, or not read back (duplicate map keys); once it does read back, the result must be a
 * fixed point of render+parse. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/codec/codec.h"
#include "api/codec/codec_test_util.h"
#include "api/codec/testdata/codec_test.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "codec_fuzz: %s: %s\n", what, detail ? detail : "");
    abort();
}

static void check_round_trip(const ProtobufCMessage *m, int pretty)
{
    char err[512];
    size_t len1, len2;
    char *json = rs_codec_to_json(m, pretty, rs_codec_test_lookup, err, sizeof(err));
    if (!json)
        die("to_json failed on a message the parser produced", err);
    ProtobufCMessage *back = rs_codec_parse_yaml(m->descriptor, json, strlen(json),
                                                 rs_codec_test_lookup, err, sizeof(err));
    if (!back) {
        fprintf(stderr, "json: %s\n", json);
        die("the codec's own JSON does not parse", err);
    }
    uint8_t *b1 = rs_codec_test_pack(m, &len1);
    uint8_t *b2 = rs_codec_test_pack(back, &len2);
    if (len1 != len2 || memcmp(b1, b2, len1) != 0) {
        fprintf(stderr, "json: %s\n", json);
        die("round trip changed the message", NULL);
    }
    char *json2 = rs_codec_to_json(back, pretty, rs_codec_test_lookup, err, sizeof(err));
    if (!json2 || strcmp(json, json2) != 0) {
        fprintf(stderr, "json: %s\njson2: %s\n", json, json2 ? json2 : err);
        die("rendering is not a fixed point", NULL);
    }
    free(json2);
    free(b1);
    free(b2);
    protobuf_c_message_free_unpacked(back, NULL);
    free(json);
}

static void fuzz_wire(const uint8_t *data, size_t size)
{
    char err[512];
    ProtobufCMessage *m =
        protobuf_c_message_unpack(&ringside__codectest__all__descriptor, NULL, size, data);
    if (!m)
        return;
    char *json = rs_codec_to_json(m, (int)(size & 1), rs_codec_test_lookup, err, sizeof(err));
    if (!json) {
        if (err[0] == '\0')
            die("to_json failed without an error message", NULL);
    } else {
        ProtobufCMessage *normal = rs_codec_parse_yaml(m->descriptor, json, strlen(json),
                                                       rs_codec_test_lookup, err, sizeof(err));
        if (normal) {
            check_round_trip(normal, (int)(size & 2));
            protobuf_c_message_free_unpacked(normal, NULL);
        }
        free(json);
    }
    protobuf_c_message_free_unpacked(m, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 0 && data[0] == 0) {
        fuzz_wire(data + 1, size - 1);
        return 0;
    }

    char err[256];
    ProtobufCMessage *m =
        rs_codec_parse_yaml(&ringside__codectest__all__descriptor, (const char *)data, size,
                            rs_codec_test_lookup, err, sizeof(err));
    if (!m) {
        if (err[0] == '\0')
            die("parse failed without an error message", NULL);
        return 0;
    }
    check_round_trip(m, (int)(size & 1));
    protobuf_c_message_free_unpacked(m, NULL);
    return 0;
}
