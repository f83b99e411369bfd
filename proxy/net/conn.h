/* A TCP connection driven by io_uring: multishot receive into the loop's provided buffers, a
 * bounded queue of buffers to send (gathered into one sendmsg), connect with a linked timeout,
 * half-close, and close that waits for every in-flight operation before telling its owner.
 *
 * Bytes move without copies: a buffer received on one connection is queued as-is on another
 * (rs_conn_send_buf) and returned to the ring once sent. TLS will slot in here later. */
#ifndef RS_NET_CONN_H
#define RS_NET_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "proxy/core/buffer.h"
#include "proxy/core/loop.h"

struct rs_conn;

/* Every callback receives the owner's pointer given at init. The owner reacts; it never frees the
 * rs_conn before on_closed. */
struct rs_conn_callbacks {
    /* Ownership of loop buffer `bid` (len bytes at rs_loop_buf(bid)) passes to the owner. */
    void (*on_data)(struct rs_conn *c, void *owner, uint16_t bid, uint32_t len);
    /* The peer half-closed (read side ended). */
    void (*on_eof)(struct rs_conn *c, void *owner);
    /* A receive or send failed (reset, broken pipe...): res is -errno. */
    void (*on_error)(struct rs_conn *c, void *owner, int res);
    /* Connect finished: 0, or -errno (-ETIMEDOUT when connect_timeout fired). */
    void (*on_connected)(struct rs_conn *c, void *owner, int res);
    /* The send queue fell to or below the low watermark (half the limit). */
    void (*on_send_drained)(struct rs_conn *c, void *owner);
    /* Every operation has completed after rs_conn_close: the owner may free the memory. Always
     * called from the loop (deferred), never from inside another rs_conn call or callback. */
    void (*on_closed)(struct rs_conn *c, void *owner);
};

/* Past this many queued buffers the queue counts as over its limit, whatever their size: many
 * small reads cost as much bookkeeping as a few large ones. */
#define RS_CONN_MAX_CHUNKS 128

struct rs_conn {
    struct rs_loop *loop;
    int fd;
    const struct rs_conn_callbacks *cb;
    void *owner;

    struct rs_io recv_io, send_io, connect_io, timeout_io, shutdown_io, cancel_io;
    unsigned inflight; /* operations submitted and not yet finally completed */

    bool reading;     /* a multishot receive is armed */
    bool read_paused; /* the owner asked us not to read (backpressure) */
    bool read_eof;    /* the peer half-closed or the receive side ended for good */
    bool sending;     /* a sendmsg is in flight */
    bool shutdown_wanted, shutdown_done;
    bool closing, reset_on_close, closed_reported;
    bool connecting;
    struct rs_buf_waiter buf_waiter; /* re-arms reading when buffers come back */
    struct rs_deferred closed_call;  /* on_closed runs deferred, never under a caller */

    /* Send queue: slices of receive buffers and heap blocks, sent with one sendmsg per turn. Its
     * slice array is freed whenever it empties. */
    struct rs_buffer out;
    size_t limit; /* per_connection_buffer_limit_bytes: past it the peer stops reading */

    uint64_t rx_bytes, tx_bytes;
    /* Send queue and scratch, allocated while there is something to send or connect and freed
     * when idle, so that an idle connection holds no memory beyond this struct. Owned. */
    struct rs_conn_ext *ext;
};

/* Adopts an accepted or freshly created socket (fd < 0: none yet, see rs_conn_connect). */
void rs_conn_init(struct rs_conn *c, struct rs_loop *loop, int fd, size_t limit,
                  const struct rs_conn_callbacks *cb, void *owner);

/* Creates a non-blocking TCP socket and connects it, failing with -ETIMEDOUT after timeout_ms.
 * Returns 0 (result comes through on_connected) or -errno if the socket could not be made. */
int rs_conn_connect(struct rs_conn *c, const struct sockaddr *addr, socklen_t addr_len,
                    uint64_t timeout_ms);

void rs_conn_read_start(struct rs_conn *c);
/* Stops delivering data (the armed receive is cancelled). */
void rs_conn_read_pause(struct rs_conn *c);

/* Queues loop buffer bid (the caller's reference passes to the connection, released once sent or
 * on close). */
void rs_conn_send_buf(struct rs_conn *c, uint16_t bid, uint32_t off, uint32_t len);
/* Queues everything in data (moved: data is left empty). */
void rs_conn_send(struct rs_conn *c, struct rs_buffer *data);
static inline bool rs_conn_over_limit(const struct rs_conn *c)
{
    return rs_buffer_len(&c->out) > c->limit || c->out.count >= RS_CONN_MAX_CHUNKS - 1;
}
static inline size_t rs_conn_queued(const struct rs_conn *c)
{
    return rs_buffer_len(&c->out);
}

/* Half-closes our sending side once the queue is flushed. */
void rs_conn_shutdown_write(struct rs_conn *c);

/* Closes: cancels in-flight operations, drops unsent data, closes the socket (reset = RST via
 * SO_LINGER 0). on_closed follows once nothing is in flight. Idempotent. */
void rs_conn_close(struct rs_conn *c, bool reset);

#endif
