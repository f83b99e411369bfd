/* A growable byte string for building replies (admin pages, JSON, logs). Not for the data path. */
#ifndef RS_CORE_STRBUF_H
#define RS_CORE_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct rs_strbuf {
    char *data; /* NUL-terminated while non-NULL; owned by the strbuf */
    size_t len;
    size_t cap;
};

#define RS_STRBUF_INIT                                                                             \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

/* All appends abort the process on out-of-memory: these buffers are small and bounded by their
 * callers, so there is no partial state worth recovering. */
void rs_strbuf_append(struct rs_strbuf *sb, const char *data, size_t len);
void rs_strbuf_puts(struct rs_strbuf *sb, const char *s);
void rs_strbuf_printf(struct rs_strbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void rs_strbuf_vprintf(struct rs_strbuf *sb, const char *fmt, va_list ap);
/* Appends s as a JSON string literal, quotes included. */
void rs_strbuf_json_string(struct rs_strbuf *sb, const char *s);
void rs_strbuf_reset(struct rs_strbuf *sb);
/* Hands the data to the caller (who frees it); the strbuf is left empty. */
char *rs_strbuf_take(struct rs_strbuf *sb);
void rs_strbuf_free(struct rs_strbuf *sb);

#endif
