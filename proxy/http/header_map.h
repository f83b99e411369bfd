/* The protocol-independent header map every HTTP layer shares (codecs fill it, filters and the
 * router read and edit it, codecs serialize it).
 *
 * Names are lower-case (codecs lower-case HTTP/1.1 names on the way in); pseudo-headers
 * (":method", ":path", ":authority", ":scheme", ":status", ":protocol") are ordinary entries whose
 * names start with ':' and are kept first. Order of regular headers is preserved; a name may occur
 * several times. Strings are copied into the map's own arena, so a map never points into a
 * connection's receive buffers and outlives them. A map is owned by one stream on one worker. */
#ifndef RS_HTTP_HEADER_MAP_H
#define RS_HTTP_HEADER_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rs_hstr {
    const char *p; /* not NUL-terminated in general */
    size_t len;
};

struct rs_header {
    struct rs_hstr name;
    struct rs_hstr value;
};

struct rs_header_map;

struct rs_header_map *rs_header_map_new(void);
void rs_header_map_free(struct rs_header_map *m);
/* Deep copy (for retries and mirrors). NULL on allocation failure. */
struct rs_header_map *rs_header_map_clone(const struct rs_header_map *m);

/* Appends name: value (name is lower-cased on copy; pseudo-headers go before regular ones).
 * Returns 0, or -1 on allocation failure. */
int rs_header_map_add(struct rs_header_map *m, const char *name, size_t name_len, const char *value,
                      size_t value_len);
/* Replaces every entry of name by one with value (adds it if absent). */
int rs_header_map_set(struct rs_header_map *m, const char *name, size_t name_len, const char *value,
                      size_t value_len);
/* Removes every entry of name; returns how many were removed. */
size_t rs_header_map_remove(struct rs_header_map *m, const char *name, size_t name_len);

/* First value of name (name must be lower-case), or NULL. */
const struct rs_hstr *rs_header_map_get(const struct rs_header_map *m, const char *name,
                                        size_t name_len);
/* Convenience for NUL-terminated lower-case names. */
const struct rs_hstr *rs_header_map_gets(const struct rs_header_map *m, const char *name);

/* Iteration in order: i from 0 to rs_header_map_size(m) - 1. */
size_t rs_header_map_size(const struct rs_header_map *m);
const struct rs_header *rs_header_map_at(const struct rs_header_map *m, size_t i);
/* Total bytes of names and values (for max_request_headers_kb accounting). */
size_t rs_header_map_byte_size(const struct rs_header_map *m);

/* True if a and b are equal ignoring ASCII case. */
bool rs_hstr_eq_nocase(struct rs_hstr a, const char *b, size_t b_len);

#endif
