/* The writer: concurrent workers' lines land intact and unmixed, full buffers drop and count,
 * threshold and timer flushes, reopen after rotation, shared files, open errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "proxy/http/access_log/writer.h"
#include "proxy/stats/stats.h"

static char dir[512];

static int group_setup(void **state)
{
    (void)state;
    const char *t = getenv("TEST_TMPDIR");
    snprintf(dir, sizeof dir, "%s/alogXXXXXX", t ? t : "/tmp");
    return mkdtemp(dir) ? 0 : -1;
}

static void tmp_path(char *out, size_t len, const char *name)
{
    snprintf(out, len, "%s/%s", dir, name);
    unlink(out);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        *len = 0;
        return calloc(1, 1);
    }
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    buf[n] = '\0';
    fclose(fp);
    *len = (size_t)n;
    return buf;
}

static uint64_t counter(struct rs_stats_store *st, const char *name)
{
    rs_stat_id id = rs_stats_find(st, name, NULL);
    assert_int_not_equal(id, RS_STAT_INVALID);
    return rs_stats_counter_value(st, id);
}

/* ---- two workers at once ---- */

#define LINES_PER_WORKER 20000

struct producer {
    struct rs_access_log_file *f;
    unsigned worker;
    uint64_t refused;
};

/* "w<worker> <seq> <filler of seq-dependent length> <seq checksum>\n" lets the reader check
 * that each line is whole and that a worker's lines stay in order. */
static size_t make_line(char *buf, size_t cap, unsigned worker, unsigned seq)
{
    int fill = (int)(seq * 7u % 90u);
    return (size_t)snprintf(buf, cap, "w%u %u %.*s %u\n", worker, seq, fill,
                            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
                            seq * 31u + worker);
}

static void *produce(void *arg)
{
    struct producer *p = arg;
    char line[256];
    for (unsigned seq = 0; seq < LINES_PER_WORKER; seq++) {
        size_t len = make_line(line, sizeof line, p->worker, seq);
        /* Retrying keeps every line for the check below; each refusal must be counted as a
         * drop by the writer. */
        while (!rs_access_log_file_write(p->f, p->worker, line, len)) {
            p->refused++;
            sched_yield();
        }
    }
    return NULL;
}

static void test_two_workers_concurrently(void **state)
{
    (void)state;
    char path[600];
    tmp_path(path, sizeof path, "concurrent.log");
    char err[256];
    struct rs_stats_store *st = rs_stats_store_new();
    /* A small buffer forces wrap-around and full-buffer refusals while the writer drains. */
    struct rs_access_log_writer_options opt = {
        .buffer_bytes = 16384, .flush_interval_ms = 5, .flush_bytes = 4096};
    struct rs_access_log_writer *w = rs_access_log_writer_new(2, &opt, st, err, sizeof err);
    assert_non_null(w);
    struct rs_access_log_file *f = rs_access_log_writer_open(w, path, err, sizeof err);
    assert_non_null(f);
    struct producer p[2] = {{f, 0, 0}, {f, 1, 0}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, produce, &p[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    rs_access_log_writer_flush(w);

    size_t len;
    char *data = slurp(path, &len);
    unsigned next[2] = {0, 0};
    size_t lines = 0;
    char *save = NULL;
    assert_true(len > 0 && data[len - 1] == '\n');
    for (char *l = strtok_r(data, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save)) {
        unsigned worker, seq;
        if (sscanf(l, "w%u %u", &worker, &seq) != 2 || worker > 1)
            fail_msg("torn line %zu: '%s'", lines, l);
        char want[256];
        make_line(want, sizeof want, worker, seq);
        want[strlen(want) - 1] = '\0';
        if (strcmp(l, want) != 0)
            fail_msg("line %zu damaged: '%s'", lines, l);
        if (seq != next[worker])
            fail_msg("worker %u: line %u where %u was expected", worker, seq, next[worker]);
        next[worker]++;
        lines++;
    }
    assert_int_equal(next[0], LINES_PER_WORKER);
    assert_int_equal(next[1], LINES_PER_WORKER);
    assert_int_equal(lines, 2 * LINES_PER_WORKER);
    assert_int_equal(rs_access_log_writer_dropped(w), p[0].refused + p[1].refused);
    assert_int_equal(counter(st, "access_log.dropped"), p[0].refused + p[1].refused);
    assert_int_equal(counter(st, "filesystem.write_buffered"), 2 * LINES_PER_WORKER);
    assert_true(counter(st, "filesystem.write_completed") > 0);
    assert_int_equal(counter(st, "filesystem.write_failed"), 0);
    free(data);
    rs_access_log_file_release(f);
    rs_access_log_writer_free(w);
    rs_stats_store_free(st);
}

static void test_full_buffer_drops_and_counts(void **state)
{
    (void)state;
    char path[600];
    tmp_path(path, sizeof path, "full.log");
    char err[256];
    struct rs_stats_store *st = rs_stats_store_new();
    /* Nothing drains on its own: a minute's interval and an unreachable threshold. */
    struct rs_access_log_writer_options opt = {
        .buffer_bytes = 4096, .flush_interval_ms = 60000, .flush_bytes = 1u << 30};
    struct rs_access_log_writer *w = rs_access_log_writer_new(1, &opt, st, err, sizeof err);
    assert_non_null(w);
    struct rs_access_log_file *f = rs_access_log_writer_open(w, path, err, sizeof err);
    assert_non_null(f);
    char line[100];
    memset(line, 'a', sizeof line);
    line[99] = '\n';
    int accepted = 0;
    for (int i = 0; i < 50; i++)
        accepted += rs_access_log_file_write(f, 0, line, sizeof line);
    assert_int_equal(accepted, 40); /* 4096 / 100 */
    /* A line bigger than the whole buffer can never fit: dropped too. */
    static char huge[5000];
    assert_false(rs_access_log_file_write(f, 0, huge, sizeof huge));
    /* An unknown worker index is refused, not a crash. */
    assert_false(rs_access_log_file_write(f, 7, line, sizeof line));
    rs_access_log_writer_flush(w);
    assert_int_equal(rs_access_log_writer_dropped(w), 11);
    assert_int_equal(counter(st, "access_log.dropped"), 11);
    size_t len;
    char *data = slurp(path, &len);
    assert_int_equal(len, 4000);
    free(data);
    /* Drained: room again. */
    assert_true(rs_access_log_file_write(f, 0, line, sizeof line));
    rs_access_log_writer_flush(w);
    data = slurp(path, &len);
    assert_int_equal(len, 4100);
    free(data);
    rs_access_log_file_release(f);
    rs_access_log_writer_free(w);
    rs_stats_store_free(st);
}

/* Waits up to 3 s for path to reach size bytes. */
static bool wait_size(const char *path, off_t size)
{
    for (int i = 0; i < 300; i++) {
        struct stat sb;
        if (stat(path, &sb) == 0 && sb.st_size >= size)
            return true;
        usleep(10000);
    }
    return false;
}

static void test_threshold_wakes_writer(void **state)
{
    (void)state;
    char path[600];
    tmp_path(path, sizeof path, "threshold.log");
    char err[256];
    struct rs_access_log_writer_options opt = {
        .buffer_bytes = 65536, .flush_interval_ms = 60000, .flush_bytes = 1000};
    struct rs_access_log_writer *w = rs_access_log_writer_new(1, &opt, NULL, err, sizeof err);
    struct rs_access_log_file *f = rs_access_log_writer_open(w, path, err, sizeof err);
    assert_non_null(f);
    char line[100];
    memset(line, 'b', sizeof line);
    line[99] = '\n';
    for (int i = 0; i < 9; i++)
        assert_true(rs_access_log_file_write(f, 0, line, sizeof line));
    usleep(50000);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_size, 0); /* below the threshold: still buffered */
    assert_true(rs_access_log_file_write(f, 0, line, sizeof line));
    assert_true(wait_size(path, 1000));
    rs_access_log_file_release(f);
    rs_access_log_writer_free(w);
}

static void test_timer_flush(void **state)
{
    (void)state;
    char path[600];
    tmp_path(path, sizeof path, "timer.log");
    char err[256];
    struct rs_stats_store *st = rs_stats_store_new();
    struct rs_access_log_writer_options opt = {.flush_interval_ms = 20};
    struct rs_access_log_writer *w = rs_access_log_writer_new(3, &opt, st, err, sizeof err);
    struct rs_access_log_file *f = rs_access_log_writer_open(w, path, err, sizeof err);
    assert_true(rs_access_log_file_write(f, 2, "hello\n", 6));
    assert_true(wait_size(path, 6));
    rs_access_log_writer_flush(w);
    assert_true(counter(st, "filesystem.flushed_by_timer") >= 1);
    rs_access_log_file_release(f);
    rs_access_log_writer_free(w);
    rs_stats_store_free(st);
}

static void test_reopen_after_rotation(void **state)
{
    (void)state;
    char path[600], rotated[600];
    tmp_path(path, sizeof path, "rotate.log");
    tmp_path(rotated, sizeof rotated, "rotate.log.1");
    char err[256];
    struct rs_access_log_writer *w = rs_access_log_writer_new(1, NULL, NULL, err, sizeof err);
    struct rs_access_log_file *f = rs_access_log_writer_open(w, path, err, sizeof err);
    assert_true(rs_access_log_file_write(f, 0, "one\n", 4));
    rs_access_log_writer_flush(w);
    assert_int_equal(rename(path, rotated), 0);
    assert_true(rs_access_log_file_write(f, 0, "two\n", 4)); /* before the request: old file */
    rs_access_log_writer_reopen(w);
    rs_access_log_writer_flush(w);
    assert_true(rs_access_log_file_write(f, 0, "three\n", 6));
    rs_access_log_writer_flush(w);
    size_t len;
    char *old = slurp(rotated, &len);
    assert_string_equal(old, "one\ntwo\n");
    char *cur = slurp(path, &len);
    assert_string_equal(cur, "three\n");
    free(old);
    free(cur);
    assert_int_equal(rs_access_log_writer_reopen_failed(w), 0);
    rs_access_log_file_release(f);
    rs_access_log_writer_free(w);
}

static void test_shared_file_and_errors(void **state)
{
    (void)state;
    char path[600];
    tmp_path(path, sizeof path, "shared.log");
    char err[256];
    struct rs_access_log_writer *w = rs_access_log_writer_new(2, NULL, NULL, err, sizeof err);
    struct rs_access_log_file *a = rs_access_log_writer_open(w, path, err, sizeof err);
    struct rs_access_log_file *b = rs_access_log_writer_open(w, path, err, sizeof err);
    assert_non_null(a);
    assert_ptr_equal(a, b);
    assert_true(rs_access_log_file_write(a, 0, "a\n", 2));
    rs_access_log_file_release(a);
    assert_true(rs_access_log_file_write(b, 1, "b\n", 2));
    rs_access_log_file_release(b); /* last reference: flushed, then closed by the writer */
    rs_access_log_writer_flush(w);
    size_t len;
    char *data = slurp(path, &len);
    assert_int_equal(len, 4);
    free(data);

    char bad[700];
    snprintf(bad, sizeof bad, "%s/no/such/dir/x.log", dir);
    assert_null(rs_access_log_writer_open(w, bad, err, sizeof err));
    char want[800];
    snprintf(want, sizeof want, "cannot open '%s': No such file or directory", bad);
    assert_string_equal(err, want);

    struct rs_access_log_file *out = rs_access_log_writer_open(w, "/dev/stderr", err, sizeof err);
    assert_non_null(out);
    rs_access_log_file_release(out);
    assert_null(rs_access_log_writer_new(0, NULL, NULL, err, sizeof err));
    rs_access_log_writer_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_workers_concurrently),
        cmocka_unit_test(test_full_buffer_drops_and_counts),
        cmocka_unit_test(test_threshold_wakes_writer),
        cmocka_unit_test(test_timer_flush),
        cmocka_unit_test(test_reopen_after_rotation),
        cmocka_unit_test(test_shared_file_and_errors),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
