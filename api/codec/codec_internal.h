/* Internal interfaces shared by the codec's translation units. Nothing here is public: the
 * symbols carry the rs_codec_ prefix only because they cross file boundaries. */
#ifndef RINGSIDE_API_CODEC_CODEC_INTERNAL_H
#define RINGSIDE_API_CODEC_CODEC_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "api/codec/codec.h"

/* Message nesting limit for both directions; protobuf's own parsers use the same default, and it
 * bounds the C stack used by the recursive walkers. */
#define RS_CODEC_MAX_DEPTH 100

/* ---- YAML document tree (codec_yaml.c) ----
 * libyaml events are turned into this small tree so that aliases become shared pointers (a DAG:
 * an alias may only name a completed node, so there are no cycles) and merge keys are resolved
 * once, before the proto walk. */
enum rs_codec_node_kind { RS_CODEC_SCALAR, RS_CODEC_SEQUENCE, RS_CODEC_MAPPING };

struct rs_codec_node {
    enum rs_codec_node_kind kind;
    /* Scalars: decoded text (NUL-terminated; may also contain NULs, hence len). */
    char *text;
    size_t len;
    /* Quoted (or tagged !!str): always a string, never null/bool/number. */
    int quoted;
    /* Sequences: n items. Mappings: n pairs stored as items[2*i] (key), items[2*i+1] (value). */
    struct rs_codec_node **items;
    size_t n;
    size_t line, column; /* 1-based start position, for tree-level errors */
    struct rs_codec_node *next_alloc;
};

struct rs_codec_tree {
    struct rs_codec_node *root; /* NULL for an empty document */
    struct rs_codec_node *allocs;
    size_t node_count;
};

/* Loads exactly one YAML (or JSON) document. Returns 0, or -1 with a message in err. */
int rs_codec_tree_load(struct rs_codec_tree *tree, const char *text, size_t len, char *err,
                       size_t err_len);
void rs_codec_tree_free(struct rs_codec_tree *tree);
/* Plain null, ~, empty plain scalar: YAML's null, also JSON's. */
int rs_codec_node_is_null(const struct rs_codec_node *node);
const char *rs_codec_node_kind_name(const struct rs_codec_node *node);

/* ---- Field paths for error messages (codec_path.c) ---- */
enum rs_codec_seg_kind { RS_CODEC_SEG_FIELD, RS_CODEC_SEG_INDEX, RS_CODEC_SEG_KEY };

struct rs_codec_seg {
    enum rs_codec_seg_kind kind;
    const char *name; /* field name or map key (not owned) */
    size_t name_len;
    size_t index;
};

struct rs_codec_path {
    struct rs_codec_seg *segs;
    size_t n, cap;
    char *err;
    size_t err_len;
    int failed;
};

void rs_codec_path_init(struct rs_codec_path *p, char *err, size_t err_len);
void rs_codec_path_release(struct rs_codec_path *p);
/* Pushes return -1 (and record an error) only when out of memory. */
int rs_codec_path_push_field(struct rs_codec_path *p, const char *name);
int rs_codec_path_push_index(struct rs_codec_path *p, size_t index);
int rs_codec_path_push_key(struct rs_codec_path *p, const char *key, size_t len);
void rs_codec_path_pop(struct rs_codec_path *p);
/* Records "<path>: <reason>" (just the reason at the root). Only the first error is kept, because
 * it is the cause; later ones are consequences of unwinding. Always returns -1. */
int rs_codec_fail(struct rs_codec_path *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Writes a printable, quoted, length-limited rendition of s into out (for error messages). */
void rs_codec_quote(char *out, size_t out_len, const char *s, size_t len);
/* Formats into a caller buffer without ever overflowing it (errors may be truncated). */
void rs_codec_errf(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- Scalar conversion (codec_scalar.c) ---- */
int rs_codec_parse_int64(const char *s, size_t len, int64_t *out);   /* -1 syntax, -2 range */
int rs_codec_parse_uint64(const char *s, size_t len, uint64_t *out); /* -1 syntax, -2 range */
/* Accepts JSON/YAML numbers, "NaN", "Infinity", "-Infinity" and YAML's .nan/.inf forms.
 * -1 syntax, -2 range (finite text too large for the type). */
int rs_codec_parse_double(const char *s, size_t len, double *out);
int rs_codec_parse_float(const char *s, size_t len, float *out);
/* The YAML 1.2 core-schema float/int syntax (a superset of JSON numbers). */
int rs_codec_is_number_text(const char *s, size_t len);
int rs_codec_parse_bool(const char *s, size_t len, int *out);
/* Standard or URL-safe alphabet, padding optional. Returns malloc'd data (NULL when empty). */
int rs_codec_base64_decode(const char *s, size_t len, uint8_t **out, size_t *out_len);
size_t rs_codec_base64_encoded_len(size_t len);
void rs_codec_base64_encode(const uint8_t *data, size_t len, char *out);
/* Formats a double/float as the shortest JSON number text that reads back to the same value. */
void rs_codec_format_double(double v, char *out, size_t out_len);
void rs_codec_format_float(float v, char *out, size_t out_len);

/* ---- Well-known types (codec_wkt.c) ---- */
enum rs_codec_wkt {
    RS_CODEC_WKT_NONE,
    RS_CODEC_WKT_ANY,
    RS_CODEC_WKT_DURATION,
    RS_CODEC_WKT_TIMESTAMP,
    RS_CODEC_WKT_FIELD_MASK,
    RS_CODEC_WKT_STRUCT,
    RS_CODEC_WKT_VALUE,
    RS_CODEC_WKT_LIST_VALUE,
    RS_CODEC_WKT_WRAPPER,
};

/* Classifies a descriptor by full name; a well-known type whose descriptor does not have the
 * expected fields is treated as an ordinary message so that we never write through a wrong
 * offset. */
enum rs_codec_wkt rs_codec_wkt_kind(const ProtobufCMessageDescriptor *desc);
/* Durations "1.5s"; -1 syntax, -2 range. */
int rs_codec_duration_parse(const char *s, size_t len, int64_t *seconds, int32_t *nanos);
/* out needs 32 bytes. -1 if out of range or with inconsistent signs. */
int rs_codec_duration_format(int64_t seconds, int32_t nanos, char *out, size_t out_len);
/* RFC 3339 timestamps; -1 syntax, -2 range. */
int rs_codec_timestamp_parse(const char *s, size_t len, int64_t *seconds, int32_t *nanos);
/* out needs 40 bytes. -1 if out of range. */
int rs_codec_timestamp_format(int64_t seconds, int32_t nanos, char *out, size_t out_len);

/* ---- Descriptor helpers (codec_parse.c) ---- */
/* Compares a key with a field's proto name or its lowerCamelCase JSON name. */
int rs_codec_field_name_matches(const ProtobufCFieldDescriptor *f, const char *key, size_t len);
/* protobuf-c represents map<K,V> as a repeated nested "<Name>Entry" message with key/value. */
int rs_codec_field_is_map(const ProtobufCMessageDescriptor *parent,
                          const ProtobufCFieldDescriptor *f);
const ProtobufCFieldDescriptor *rs_codec_field_by_name(const ProtobufCMessageDescriptor *desc,
                                                       const char *name);
size_t rs_codec_scalar_size(ProtobufCType type);

#define RS_CODEC_MEMBER(msg, offset) ((void *)((char *)(msg) + (offset)))

#endif
