#include "proxy/core/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Process-wide and set once at start-up (or from the admin thread): a relaxed atomic is enough,
 * a stale read only logs one line more or less. */
static _Atomic int log_level = RS_LOG_INFO;

static const char *const level_names[] = {"trace", "debug",    "info", "warning",
                                          "error", "critical", "off"};

int rs_log_level_from_name(const char *name)
{
    for (int i = 0; i <= RS_LOG_OFF; i++) {
        if (strcmp(name, level_names[i]) == 0)
            return i;
    }
    if (strcmp(name, "warn") == 0)
        return RS_LOG_WARNING;
    return -1;
}

void rs_log_set_level(enum rs_log_level level)
{
    atomic_store_explicit(&log_level, (int)level, memory_order_relaxed);
}

enum rs_log_level rs_log_get_level(void)
{
    return (enum rs_log_level)atomic_load_explicit(&log_level, memory_order_relaxed);
}

void rs_log_write(enum rs_log_level level, const char *fmt, ...)
{
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "[%04d-%02d-%02d %02d:%02d:%02d.%03ld][%ld][%s] ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, (long)syscall(SYS_gettid), level_names[level]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    line[len++] = '\n';
    /* One write per line so lines from several threads never interleave. */
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}
