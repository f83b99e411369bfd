/* The access log writer: file writes never block a worker.
 *
 * Each open file has one bounded ring per worker (ring.h). A worker formats a line and appends it
 * to its own ring for that file: no lock, no syscall, no cache line written by another worker.
 * When a ring is full the line is dropped and counted. One writer thread per process (shared by
 * every file) drains all rings every flush interval, or sooner when a worker's ring passes the
 * flush threshold (the worker then writes once to an eventfd), and writes each file's data with
 * writev. Only the writer thread writes to files, and it only takes whole lines, so lines are
 * never torn or interleaved. Files are reopened on request (log rotation).
 *
 * Stats (when a store is given; the store must outlive the writer), named after Envoy's
 * filesystem stats where Envoy has one:
 *   access_log.dropped              lines dropped because a worker's buffer was full (ours)
 *   filesystem.write_buffered       lines accepted into a worker's buffer
 *   filesystem.write_completed      successful writes to a file
 *   filesystem.write_failed         failed writes (the data is discarded)
 *   filesystem.flushed_by_timer     flushes started by the flush interval
 *   filesystem.reopen_failed        reopen requests that failed for a file (the old file is kept)
 *   filesystem.write_total_buffered gauge: bytes waiting in buffers at the last flush */
#ifndef RS_HTTP_ACCESS_LOG_WRITER_H
#define RS_HTTP_ACCESS_LOG_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rs_access_log_writer;
struct rs_access_log_file;
struct rs_stats_store;
struct rs_strbuf;

struct rs_access_log_writer_options {
    size_t buffer_bytes;        /* per worker per file; rounded up to a power of two (256 KiB) */
    unsigned flush_interval_ms; /* 100 */
    size_t flush_bytes;         /* a worker's buffer past this wakes the writer (64 KiB) */
};

/* Starts the writer thread. n_workers: how many threads may write (indexes 0..n_workers-1; give
 * the main thread an index too if it logs). opt and stats may be NULL. */
struct rs_access_log_writer *
rs_access_log_writer_new(unsigned n_workers, const struct rs_access_log_writer_options *opt,
                         struct rs_stats_store *stats, char *err, size_t err_len);
/* Writes everything buffered, stops the thread, closes the files. Every file must have been
 * released and no worker may write any more. */
void rs_access_log_writer_free(struct rs_access_log_writer *w);

/* Config thread: finds or opens the file at path (shared by every logger naming the same path),
 * with a reference. "/dev/stdout" and "/dev/stderr" write to the process's fds 1 and 2. Returns
 * NULL with err ("cannot open '<path>': <reason>"). */
struct rs_access_log_file *rs_access_log_writer_open(struct rs_access_log_writer *w,
                                                     const char *path, char *err, size_t err_len);
/* Drops a reference; the last one lets the writer flush and close the file. */
void rs_access_log_file_release(struct rs_access_log_file *f);

/* Worker `worker` appends one line (the caller includes any newline). Never blocks. Returns false
 * if the line was dropped because that worker's buffer for the file is full. */
bool rs_access_log_file_write(struct rs_access_log_file *f, unsigned worker, const char *line,
                              size_t len);

/* A formatting buffer owned by worker `worker` (reused line after line, so logging does not
 * allocate once warm). */
struct rs_strbuf *rs_access_log_writer_scratch(struct rs_access_log_writer *w, unsigned worker);
unsigned rs_access_log_writer_workers(const struct rs_access_log_writer *w);

/* Any thread but a worker: asks the writer to reopen every file (after rotation, SIGUSR1-style),
 * without waiting. Data buffered before the call goes to the old file. */
void rs_access_log_writer_reopen(struct rs_access_log_writer *w);
/* Any thread but a worker: waits until everything appended before the call is written. */
void rs_access_log_writer_flush(struct rs_access_log_writer *w);

/* Totals over all files and workers, as last published by the writer thread (call
 * rs_access_log_writer_flush first for exact values). */
uint64_t rs_access_log_writer_dropped(struct rs_access_log_writer *w);
uint64_t rs_access_log_writer_write_failed(struct rs_access_log_writer *w);
uint64_t rs_access_log_writer_reopen_failed(struct rs_access_log_writer *w);

#endif
