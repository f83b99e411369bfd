/* The writer thread and the file registry (see writer.h for the design). The registry lock is
 * shared by the config thread (open) and the writer thread (drain, reopen, close) only; workers
 * never take it. */
#include "proxy/http/access_log/writer.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include "proxy/core/strbuf.h"
#include "proxy/http/access_log/ring.h"
#include "proxy/stats/stats.h"

#define DEFAULT_BUFFER_BYTES (256u * 1024u)
#define MIN_BUFFER_BYTES 4096u
#define DEFAULT_FLUSH_INTERVAL_MS 100u
#define DEFAULT_FLUSH_BYTES (64u * 1024u)

struct rs_access_log_file {
    struct rs_access_log_writer *w;
    char *path;
    int fd;
    bool owned_fd; /* false for the process's stdout/stderr: never closed or reopened */
    _Atomic(int) refs;
    struct rs_alog_ring *rings; /* one per worker */
    struct iovec *iov;          /* writer thread's scratch: two per worker */
    struct rs_access_log_file *next;
};

struct rs_access_log_writer {
    unsigned n_workers;
    size_t ring_bytes;
    size_t flush_bytes;
    int flush_interval_ms;
    int efd;
    pthread_t thread;
    _Atomic(bool) stop;
    _Atomic(unsigned) reopen_req;
    unsigned reopen_seen; /* writer thread only */

    pthread_mutex_t lock; /* the file list */
    struct rs_access_log_file *files;

    pthread_mutex_t sync_lock; /* flush requests from non-worker threads */
    pthread_cond_t sync_cond;
    uint64_t flush_req, flush_done;

    struct rs_strbuf *scratch; /* one per worker */

    _Atomic(uint64_t) dropped, write_failed, reopen_failed; /* published by the writer thread */
    struct rs_stats_store *stats;
    struct rs_stats_shard *shard; /* the writer thread's */
    rs_stat_id st_dropped, st_buffered, st_completed, st_failed, st_by_timer, st_reopen_failed,
        st_total_buffered;
};

static size_t round_pow2(size_t n)
{
    size_t p = MIN_BUFFER_BYTES;
    while (p < n && p < ((size_t)1 << 40))
        p <<= 1;
    return p;
}

static void count(struct rs_access_log_writer *w, rs_stat_id id, uint64_t n)
{
    if (w->shard != NULL && n > 0)
        rs_stats_add(w->shard, id, n);
}

static void add_total(_Atomic(uint64_t) *v, uint64_t n)
{
    atomic_fetch_add_explicit(v, n, memory_order_relaxed);
}

static void wake(struct rs_access_log_writer *w)
{
    uint64_t one = 1;
    /* The eventfd counter cannot overflow in practice; a failed write only delays the flush to
     * the next interval. */
    ssize_t n = write(w->efd, &one, sizeof one);
    (void)n;
}

/* Writes every iovec, resuming after short writes. */
static int writev_all(int fd, struct iovec *iov, int cnt)
{
    while (cnt > 0 && iov->iov_len == 0) {
        iov++;
        cnt--;
    }
    while (cnt > 0) {
        ssize_t n = writev(fd, iov, cnt > IOV_MAX ? IOV_MAX : cnt);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        while (cnt > 0 && (size_t)n >= iov->iov_len) {
            n -= (ssize_t)iov->iov_len;
            iov++;
            cnt--;
        }
        if (cnt > 0 && n > 0) {
            iov->iov_base = (char *)iov->iov_base + n;
            iov->iov_len -= (size_t)n;
        }
        while (cnt > 0 && iov->iov_len == 0) {
            iov++;
            cnt--;
        }
    }
    return 0;
}

/* Writer thread: takes what every worker has appended to f and writes it in one writev. */
static size_t drain_file(struct rs_access_log_writer *w, struct rs_access_log_file *f)
{
    size_t total = 0;
    int cnt = 0;
    size_t *take = NULL;
    size_t take_stack[64];
    take = w->n_workers <= 64 ? take_stack : calloc(w->n_workers, sizeof *take);
    if (take == NULL)
        return 0; /* retried next pass */
    for (unsigned i = 0; i < w->n_workers; i++) {
        struct rs_alog_ring *r = &f->rings[i];
        if (atomic_load_explicit(&r->wake_sent, memory_order_relaxed))
            atomic_store_explicit(&r->wake_sent, false, memory_order_relaxed);
        size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
        size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
        size_t n = tail - head;
        take[i] = n;
        if (n == 0)
            continue;
        size_t off = head & (r->cap - 1);
        size_t first = r->cap - off < n ? r->cap - off : n;
        f->iov[cnt++] = (struct iovec){r->data + off, first};
        if (n > first)
            f->iov[cnt++] = (struct iovec){r->data, n - first};
        total += n;
    }
    if (cnt > 0) {
        if (writev_all(f->fd, f->iov, cnt) == 0) {
            count(w, w->st_completed, 1);
        } else {
            /* The data is discarded: keeping it would only fill the buffers and drop newer
             * lines instead. */
            add_total(&w->write_failed, 1);
            count(w, w->st_failed, 1);
        }
    }
    for (unsigned i = 0; i < w->n_workers; i++) {
        struct rs_alog_ring *r = &f->rings[i];
        if (take[i] > 0)
            atomic_store_explicit(&r->head,
                                  atomic_load_explicit(&r->head, memory_order_relaxed) + take[i],
                                  memory_order_release);
        uint64_t lines = atomic_load_explicit(&r->lines, memory_order_relaxed);
        uint64_t dropped = atomic_load_explicit(&r->dropped, memory_order_relaxed);
        count(w, w->st_buffered, lines - r->lines_seen);
        count(w, w->st_dropped, dropped - r->dropped_seen);
        add_total(&w->dropped, dropped - r->dropped_seen);
        r->lines_seen = lines;
        r->dropped_seen = dropped;
    }
    if (take != take_stack)
        free(take);
    return total;
}

static int open_path(const char *path)
{
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

static void reopen_file(struct rs_access_log_writer *w, struct rs_access_log_file *f)
{
    if (!f->owned_fd)
        return;
    int fd = open_path(f->path);
    if (fd < 0) {
        add_total(&w->reopen_failed, 1);
        count(w, w->st_reopen_failed, 1);
        return;
    }
    close(f->fd);
    f->fd = fd;
}

static void file_free(struct rs_access_log_file *f)
{
    if (f->owned_fd && f->fd >= 0)
        close(f->fd);
    if (f->rings != NULL) {
        for (unsigned i = 0; i < f->w->n_workers; i++)
            free(f->rings[i].data);
    }
    free(f->rings);
    free(f->iov);
    free(f->path);
    free(f);
}

/* One pass: drain every file, close released ones, reopen if asked. Returns bytes written. */
static size_t writer_pass(struct rs_access_log_writer *w)
{
    size_t written = 0, pending = 0;
    unsigned reopen = atomic_load_explicit(&w->reopen_req, memory_order_acquire);
    pthread_mutex_lock(&w->lock);
    struct rs_access_log_file **link = &w->files;
    while (*link != NULL) {
        struct rs_access_log_file *f = *link;
        for (unsigned i = 0; i < w->n_workers; i++)
            pending += atomic_load_explicit(&f->rings[i].tail, memory_order_relaxed) -
                       atomic_load_explicit(&f->rings[i].head, memory_order_relaxed);
        written += drain_file(w, f);
        if (atomic_load_explicit(&f->refs, memory_order_acquire) == 0) {
            *link = f->next;
            file_free(f);
            continue;
        }
        if (reopen != w->reopen_seen)
            reopen_file(w, f);
        link = &f->next;
    }
    w->reopen_seen = reopen;
    pthread_mutex_unlock(&w->lock);
    if (w->shard != NULL)
        rs_stats_gauge_set(w->shard, w->st_total_buffered, (int64_t)pending);
    return written;
}

static void *writer_main(void *arg)
{
    struct rs_access_log_writer *w = arg;
    if (w->stats != NULL)
        w->shard = rs_stats_shard_new(w->stats);
    for (;;) {
        struct pollfd pfd = {.fd = w->efd, .events = POLLIN};
        int rc = poll(&pfd, 1, w->flush_interval_ms);
        if (rc > 0) {
            uint64_t v;
            ssize_t n = read(w->efd, &v, sizeof v);
            (void)n;
        }
        bool stop = atomic_load_explicit(&w->stop, memory_order_acquire);
        /* Read the flush target before draining: everything appended before the request was
         * made is then in this pass. */
        pthread_mutex_lock(&w->sync_lock);
        uint64_t target = w->flush_req;
        pthread_mutex_unlock(&w->sync_lock);
        size_t written = writer_pass(w);
        if (rc == 0 && written > 0)
            count(w, w->st_by_timer, 1);
        pthread_mutex_lock(&w->sync_lock);
        w->flush_done = target;
        pthread_cond_broadcast(&w->sync_cond);
        pthread_mutex_unlock(&w->sync_lock);
        if (stop)
            break;
    }
    return NULL;
}

struct rs_access_log_writer *
rs_access_log_writer_new(unsigned n_workers, const struct rs_access_log_writer_options *opt,
                         struct rs_stats_store *stats, char *err, size_t err_len)
{
    if (n_workers == 0) {
        snprintf(err, err_len, "access log writer: at least one worker is required");
        return NULL;
    }
    struct rs_access_log_writer *w = calloc(1, sizeof *w);
    if (w == NULL) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    w->n_workers = n_workers;
    w->ring_bytes = round_pow2(opt && opt->buffer_bytes ? opt->buffer_bytes : DEFAULT_BUFFER_BYTES);
    w->flush_bytes = opt && opt->flush_bytes ? opt->flush_bytes : DEFAULT_FLUSH_BYTES;
    w->flush_interval_ms =
        (int)(opt && opt->flush_interval_ms ? opt->flush_interval_ms : DEFAULT_FLUSH_INTERVAL_MS);
    w->stats = stats;
    if (stats != NULL) {
        w->st_dropped = rs_stats_counter(stats, "access_log.dropped");
        w->st_buffered = rs_stats_counter(stats, "filesystem.write_buffered");
        w->st_completed = rs_stats_counter(stats, "filesystem.write_completed");
        w->st_failed = rs_stats_counter(stats, "filesystem.write_failed");
        w->st_by_timer = rs_stats_counter(stats, "filesystem.flushed_by_timer");
        w->st_reopen_failed = rs_stats_counter(stats, "filesystem.reopen_failed");
        w->st_total_buffered = rs_stats_gauge(stats, "filesystem.write_total_buffered");
    }
    w->scratch = calloc(n_workers, sizeof *w->scratch);
    w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (w->scratch == NULL || w->efd < 0) {
        snprintf(err, err_len, "access log writer: %s", strerror(errno ? errno : ENOMEM));
        goto fail;
    }
    pthread_mutex_init(&w->lock, NULL);
    pthread_mutex_init(&w->sync_lock, NULL);
    pthread_cond_init(&w->sync_cond, NULL);
    int rc = pthread_create(&w->thread, NULL, writer_main, w);
    if (rc != 0) {
        snprintf(err, err_len, "access log writer: cannot start thread: %s", strerror(rc));
        pthread_mutex_destroy(&w->lock);
        pthread_mutex_destroy(&w->sync_lock);
        pthread_cond_destroy(&w->sync_cond);
        goto fail;
    }
    return w;
fail:
    if (w->efd >= 0)
        close(w->efd);
    free(w->scratch);
    free(w);
    return NULL;
}

void rs_access_log_writer_free(struct rs_access_log_writer *w)
{
    if (w == NULL)
        return;
    atomic_store_explicit(&w->stop, true, memory_order_release);
    wake(w);
    pthread_join(w->thread, NULL);
    /* The last pass wrote everything; files still referenced are closed anyway. */
    while (w->files != NULL) {
        struct rs_access_log_file *f = w->files;
        w->files = f->next;
        file_free(f);
    }
    for (unsigned i = 0; i < w->n_workers; i++)
        rs_strbuf_free(&w->scratch[i]);
    free(w->scratch);
    close(w->efd);
    pthread_mutex_destroy(&w->lock);
    pthread_mutex_destroy(&w->sync_lock);
    pthread_cond_destroy(&w->sync_cond);
    free(w);
}

static struct rs_access_log_file *file_new(struct rs_access_log_writer *w, const char *path,
                                           char *err, size_t err_len)
{
    struct rs_access_log_file *f = calloc(1, sizeof *f);
    if (f == NULL)
        goto oom;
    f->w = w;
    f->fd = -1;
    f->path = strdup(path);
    f->iov = calloc(2 * (size_t)w->n_workers, sizeof *f->iov);
    size_t rings_size = w->n_workers * sizeof *f->rings;
    f->rings = aligned_alloc(_Alignof(struct rs_alog_ring), rings_size);
    if (f->rings != NULL)
        memset(f->rings, 0, rings_size);
    if (f->path == NULL || f->iov == NULL || f->rings == NULL)
        goto oom;
    for (unsigned i = 0; i < w->n_workers; i++) {
        f->rings[i].cap = w->ring_bytes;
        /* Untouched pages of a large buffer are never made resident, so an idle worker's
         * buffer costs address space, not memory. */
        f->rings[i].data = malloc(w->ring_bytes);
        if (f->rings[i].data == NULL)
            goto oom;
    }
    if (strcmp(path, "/dev/stdout") == 0) {
        f->fd = STDOUT_FILENO;
    } else if (strcmp(path, "/dev/stderr") == 0) {
        f->fd = STDERR_FILENO;
    } else {
        f->owned_fd = true;
        f->fd = open_path(path);
        if (f->fd < 0) {
            snprintf(err, err_len, "cannot open '%s': %s", path, strerror(errno));
            file_free(f);
            return NULL;
        }
    }
    atomic_init(&f->refs, 1);
    return f;
oom:
    snprintf(err, err_len, "out of memory");
    if (f != NULL)
        file_free(f);
    return NULL;
}

struct rs_access_log_file *rs_access_log_writer_open(struct rs_access_log_writer *w,
                                                     const char *path, char *err, size_t err_len)
{
    pthread_mutex_lock(&w->lock);
    for (struct rs_access_log_file *f = w->files; f != NULL; f = f->next) {
        if (strcmp(f->path, path) == 0) {
            /* A file released but not yet closed by the writer is simply taken back. */
            atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
            pthread_mutex_unlock(&w->lock);
            return f;
        }
    }
    struct rs_access_log_file *f = file_new(w, path, err, err_len);
    if (f != NULL) {
        f->next = w->files;
        w->files = f;
    }
    pthread_mutex_unlock(&w->lock);
    return f;
}

void rs_access_log_file_release(struct rs_access_log_file *f)
{
    if (f == NULL)
        return;
    if (atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) == 1)
        wake(f->w); /* lets the writer close it soon rather than at the next interval */
}

bool rs_access_log_file_write(struct rs_access_log_file *f, unsigned worker, const char *line,
                              size_t len)
{
    struct rs_access_log_writer *w = f->w;
    if (worker >= w->n_workers)
        return false;
    struct rs_alog_ring *r = &f->rings[worker];
    size_t used = rs_alog_ring_push(r, line, len);
    if (used == 0)
        return false;
    if (used >= w->flush_bytes && !atomic_load_explicit(&r->wake_sent, memory_order_relaxed)) {
        atomic_store_explicit(&r->wake_sent, true, memory_order_relaxed);
        wake(w);
    }
    return true;
}

struct rs_strbuf *rs_access_log_writer_scratch(struct rs_access_log_writer *w, unsigned worker)
{
    return worker < w->n_workers ? &w->scratch[worker] : NULL;
}

unsigned rs_access_log_writer_workers(const struct rs_access_log_writer *w)
{
    return w->n_workers;
}

void rs_access_log_writer_reopen(struct rs_access_log_writer *w)
{
    atomic_fetch_add_explicit(&w->reopen_req, 1, memory_order_release);
    wake(w);
}

void rs_access_log_writer_flush(struct rs_access_log_writer *w)
{
    pthread_mutex_lock(&w->sync_lock);
    uint64_t target = ++w->flush_req;
    pthread_mutex_unlock(&w->sync_lock);
    wake(w);
    pthread_mutex_lock(&w->sync_lock);
    while (w->flush_done < target)
        pthread_cond_wait(&w->sync_cond, &w->sync_lock);
    pthread_mutex_unlock(&w->sync_lock);
}

uint64_t rs_access_log_writer_dropped(struct rs_access_log_writer *w)
{
    return atomic_load_explicit(&w->dropped, memory_order_relaxed);
}

uint64_t rs_access_log_writer_write_failed(struct rs_access_log_writer *w)
{
    return atomic_load_explicit(&w->write_failed, memory_order_relaxed);
}

uint64_t rs_access_log_writer_reopen_failed(struct rs_access_log_writer *w)
{
    return atomic_load_explicit(&w->reopen_failed, memory_order_relaxed);
}
