/* Generic YAML/JSON <-> protobuf-c codec following the proto3 JSON mapping, as Envoy accepts
 * configuration. The codec works on any message through protobuf-c descriptors, so it has no
 * dependency on the generated Envoy API: types named by an Any's "@type" are resolved through a
 * caller-supplied lookup callback. */
#ifndef RINGSIDE_API_CODEC_CODEC_H
#define RINGSIDE_API_CODEC_CODEC_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Finds a message type by Any type URL ("type.googleapis.com/pkg.Msg"); NULL if unknown. */
typedef const ProtobufCMessageDescriptor *(*rs_codec_type_lookup_fn)(const char *type_url);

/* Parses YAML or JSON text into a new message of type `desc`. Returns NULL on error and writes
 * "<field path>: <reason>" into err, e.g.
 * `static_resources.clusters[2].connect_timeout: invalid duration "5 seconds"`
 * (map entries as `a.b["key"]`; YAML syntax errors as "yaml: line L, column C: ...").
 * The caller owns the result: protobuf_c_message_free_unpacked(msg, NULL). `lookup` may be NULL,
 * in which case every Any is an error. `err` may be NULL when err_len is 0.
 *
 * Exactly one document is accepted (empty input and multi-document streams are errors). Anchors,
 * aliases and `<<` merge keys are supported. Limits: messages nest at most 100 deep, and alias
 * expansion is bounded (64 visits per node of the document, plus 10000), so a hostile document
 * fails fast instead of exhausting memory. */
ProtobufCMessage *rs_codec_parse_yaml(const ProtobufCMessageDescriptor *desc, const char *text,
                                      size_t len, rs_codec_type_lookup_fn lookup, char *err,
                                      size_t err_len);

/* Renders msg as JSON (proto3 JSON mapping with original snake_case field names, as Envoy's admin
 * /config_dump does; default-valued scalars omitted; Any rendered with "@type" first and its
 * unpacked fields). Returns a malloc'd NUL-terminated string (caller frees) or NULL with err set
 * (e.g. Any of unknown type). `pretty` selects 2-space indentation. */
char *rs_codec_to_json(const ProtobufCMessage *msg, int pretty, rs_codec_type_lookup_fn lookup,
                       char *err, size_t err_len);

#ifdef __cplusplus
}
#endif

#endif
