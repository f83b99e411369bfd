/* Quiescent-state-based reclamation: how the main thread frees objects that workers may still be
 * reading without workers taking locks or touching shared reference counts on every read.
 *
 * A worker reads a published pointer (config snapshot, host set) only within one loop turn; the
 * loop reports a quiescent state between turns and goes "offline" while it sleeps. The main thread
 * retires an object after unpublishing it; it is freed once every reader has passed a quiescent
 * state (or been offline) since then. */
#ifndef RS_CORE_QSBR_H
#define RS_CORE_QSBR_H

#include <stdint.h>

struct rs_qsbr;
struct rs_qsbr_reader;

struct rs_qsbr *rs_qsbr_new(void);
/* Frees everything still retired (call after all readers are gone). */
void rs_qsbr_free(struct rs_qsbr *q);

/* Reader side (one per worker thread; the loop calls these when given a qsbr). */
struct rs_qsbr_reader *rs_qsbr_register(struct rs_qsbr *q);
void rs_qsbr_unregister(struct rs_qsbr_reader *r);
void rs_qsbr_quiescent(struct rs_qsbr_reader *r);
void rs_qsbr_offline(struct rs_qsbr_reader *r);
void rs_qsbr_online(struct rs_qsbr_reader *r);

/* Writer side. retire: free_fn(ptr) runs later, on the thread calling rs_qsbr_reclaim.
 * reclaim returns how many objects are still waiting. */
void rs_qsbr_retire(struct rs_qsbr *q, void *ptr, void (*free_fn)(void *ptr));
unsigned rs_qsbr_reclaim(struct rs_qsbr *q);

#endif
