/* A byte queue made of slices, each either a range of a loop receive buffer (shared by reference
 * count, so bytes move from one connection to another without a copy) or a block of heap memory
 * (serialized HTTP heads, local replies, bytes that had to be copied). HTTP bodies travel through
 * filters as rs_buffers; moving one moves slices, never bytes.
 *
 * Owned by one thread (the worker whose loop the buffer slices belong to). */
#ifndef RS_CORE_BUFFER_H
#define RS_CORE_BUFFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct rs_loop;

struct rs_slice {
    uint8_t *data; /* first byte */
    uint32_t len;
    int32_t bid;   /* loop buffer id holding a reference, or -1 for heap memory */
    uint8_t *heap; /* heap block to free with the slice (bid == -1), NULL otherwise */
};

struct rs_buffer {
    struct rs_loop *loop;
    struct rs_slice *slices; /* ring of cap entries */
    uint32_t head, count, cap;
    size_t len;
};

void rs_buffer_init(struct rs_buffer *b, struct rs_loop *loop);
/* Releases every slice (buffer references dropped, heap blocks freed). */
void rs_buffer_clear(struct rs_buffer *b);
static inline size_t rs_buffer_len(const struct rs_buffer *b)
{
    return b->len;
}

/* Appends bytes [off, off+len) of loop buffer bid, taking a new reference on it. */
int rs_buffer_add_loop(struct rs_buffer *b, uint16_t bid, uint32_t off, uint32_t len);
/* Same, adopting the caller's reference instead of taking a new one (a receive handing its buffer
 * on). */
int rs_buffer_adopt_loop(struct rs_buffer *b, uint16_t bid, uint32_t off, uint32_t len);
/* Appends a heap block the buffer now owns (freed when its last byte is drained). */
int rs_buffer_add_owned(struct rs_buffer *b, uint8_t *block, size_t len);
/* Appends a copy of data. */
int rs_buffer_add_copy(struct rs_buffer *b, const void *data, size_t len);
/* Moves up to n bytes from the front of src to the end of dst (slices split as needed; a split
 * loop slice takes one more reference, a split heap slice is copied). Returns bytes moved or -1. */
long rs_buffer_move(struct rs_buffer *dst, struct rs_buffer *src, size_t n);
/* Drops n bytes from the front. */
void rs_buffer_drain(struct rs_buffer *b, size_t n);
/* Copies up to n bytes from offset off into out (no draining); returns the count copied. */
size_t rs_buffer_copy_out(const struct rs_buffer *b, size_t off, void *out, size_t n);
/* Fills up to max iovecs with the front slices; returns how many. */
unsigned rs_buffer_iov(const struct rs_buffer *b, struct iovec *iov, unsigned max);

#endif
