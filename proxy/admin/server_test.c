/* The admin server end to end: a loop thread runs it on 127.0.0.1:0, the test talks to it with
 * plain blocking sockets. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "proxy/admin/admin.h"
#include "proxy/core/loop.h"
#include "proxy/core/strbuf.h"
#include "proxy/stats/stats.h"

/* ---- the server thread ---- */

struct server {
    pthread_t thread;
    struct rs_loop *loop;
    struct rs_admin *admin;
    struct rs_stats_store *store;
    int port;
    unsigned idle_ms;
    atomic_int quit_calls;
    atomic_bool stopped;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool ready;
};

static enum rs_server_state live(void *ctx)
{
    (void)ctx;
    return RS_SERVER_LIVE;
}
static void quit(void *ctx)
{
    atomic_fetch_add(&((struct server *)ctx)->quit_calls, 1);
}
static void stopped(void *ctx)
{
    struct server *s = ctx;
    atomic_store(&s->stopped, true);
    rs_loop_stop(s->loop);
}

static void *server_main(void *arg)
{
    struct server *s = arg;
    char err[256];
    /* The loop belongs to this thread (io_uring single issuer). */
    struct rs_loop_options opt = {.buf_count = 0, .name = "admin-test"};
    s->loop = rs_loop_new(&opt, err, sizeof(err));
    if (s->loop == NULL) {
        fprintf(stderr, "rs_loop_new: %s\n", err);
        abort();
    }
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct rs_admin_hooks hooks = {
        .ctx = s, .server_state = live, .quit = quit, .stopped = stopped};
    s->admin = rs_admin_start(s->loop, (struct sockaddr *)&addr, sizeof(addr), s->store, &hooks,
                              err, sizeof(err));
    if (s->admin == NULL) {
        fprintf(stderr, "rs_admin_start: %s\n", err);
        abort();
    }
    if (s->idle_ms)
        rs_admin_set_idle_timeout(s->admin, s->idle_ms);
    pthread_mutex_lock(&s->mu);
    s->port = rs_admin_port(s->admin);
    s->ready = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    rs_loop_run(s->loop);
    rs_loop_free(s->loop);
    return NULL;
}

static void stop_on_loop(struct rs_loop *loop, void *arg)
{
    (void)loop;
    rs_admin_stop(((struct server *)arg)->admin);
}

static struct server *server_start(unsigned idle_ms)
{
    struct server *s = calloc(1, sizeof(*s));
    s->store = rs_stats_store_new();
    s->idle_ms = idle_ms;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    pthread_create(&s->thread, NULL, server_main, s);
    pthread_mutex_lock(&s->mu);
    while (!s->ready)
        pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    return s;
}

static void server_stop(struct server *s)
{
    assert_int_equal(rs_loop_post(NULL, s->loop, stop_on_loop, s), 0);
    pthread_join(s->thread, NULL);
    assert_true(atomic_load(&s->stopped));
    rs_stats_store_free(s->store);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

/* ---- blocking client helpers ---- */

static int dial(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

static void send_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n <= 0)
            return; /* the server may have answered and closed already */
        data += n;
        len -= (size_t)n;
    }
}

struct reply {
    int status;
    char head[2048];
    char *body; /* malloc'ed */
    size_t body_len;
};

/* Reads one response (head, then content-length bytes). Returns false on EOF/error before a
 * full response. Keeps any extra bytes for the next call in *carry. */
static bool read_reply(int fd, struct reply *r, struct rs_strbuf *carry)
{
    memset(r, 0, sizeof(*r));
    char buf[8192];
    for (;;) {
        char *end = carry->data ? strstr(carry->data, "\r\n\r\n") : NULL;
        if (end != NULL) {
            size_t head_len = (size_t)(end - carry->data) + 4;
            const char *cl = strcasestr(carry->data, "content-length:");
            if (cl == NULL || cl > end)
                return false;
            size_t body_len = strtoul(cl + 15, NULL, 10);
            if (carry->len >= head_len + body_len) {
                snprintf(r->head, sizeof(r->head), "%.*s", (int)head_len, carry->data);
                sscanf(carry->data, "HTTP/1.1 %d", &r->status);
                r->body = malloc(body_len + 1);
                memcpy(r->body, carry->data + head_len, body_len);
                r->body[body_len] = '\0';
                r->body_len = body_len;
                size_t rest = carry->len - head_len - body_len;
                char *tmp = malloc(rest + 1);
                memcpy(tmp, carry->data + head_len + body_len, rest);
                rs_strbuf_reset(carry);
                rs_strbuf_append(carry, tmp, rest);
                free(tmp);
                return true;
            }
        }
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n <= 0)
            return false;
        rs_strbuf_append(carry, buf, (size_t)n);
    }
}

/* One request on a fresh connection. */
static struct reply request(int port, const char *raw)
{
    int fd = dial(port);
    send_all(fd, raw, strlen(raw));
    struct reply r;
    struct rs_strbuf carry = RS_STRBUF_INIT;
    if (!read_reply(fd, &r, &carry))
        r.status = -1;
    rs_strbuf_free(&carry);
    close(fd);
    return r;
}

static bool at_eof(int fd)
{
    char c;
    return recv(fd, &c, 1, 0) <= 0;
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static uint64_t counter(struct server *s, const char *name)
{
    return rs_stats_counter_value(s->store, rs_stats_find(s->store, name, NULL));
}

/* Stats the server counts when an answer has been sent may lag the client's read a little. */
static uint64_t wait_counter(struct server *s, const char *name, uint64_t want)
{
    uint64_t v = counter(s, name);
    for (int i = 0; i < 200 && v != want; i++) {
        sleep_ms(5);
        v = counter(s, name);
    }
    return v;
}

/* ---- tests ---- */

static void ready_is_live(void **state)
{
    (void)state;
    struct server *s = server_start(0);
    struct reply r = request(s->port, "GET /ready HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "LIVE\n");
    assert_non_null(strcasestr(r.head, "content-type: text/plain; charset=UTF-8\r\n"));
    assert_non_null(strcasestr(r.head, "content-length: 5\r\n"));
    free(r.body);
    /* HEAD: same head, no body. */
    int fd = dial(s->port);
    const char *head = "HEAD /ready HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    send_all(fd, head, strlen(head));
    char buf[1024];
    size_t got = 0;
    ssize_t n;
    while ((n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0)) > 0)
        got += (size_t)n;
    buf[got] = '\0';
    assert_non_null(strstr(buf, "content-length: 5\r\n"));
    assert_non_null(strstr(buf, "\r\n\r\n"));
    assert_string_equal(strstr(buf, "\r\n\r\n"), "\r\n\r\n");
    close(fd);
    server_stop(s);
}

static void quitquitquit_needs_post(void **state)
{
    (void)state;
    struct server *s = server_start(0);
    struct reply r = request(s->port, "GET /quitquitquit HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(r.status, 405);
    assert_string_equal(r.body, "Method GET not allowed, POST required.\n");
    free(r.body);
    assert_int_equal(atomic_load(&s->quit_calls), 0);

    r = request(s->port, "POST /quitquitquit HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "OK\n");
    free(r.body);
    /* Called once the answer is out: give the loop a moment to see the send complete. */
    for (int i = 0; i < 200 && atomic_load(&s->quit_calls) == 0; i++)
        sleep_ms(5);
    assert_int_equal(atomic_load(&s->quit_calls), 1);
    server_stop(s);
}

static void malformed_and_oversized(void **state)
{
    (void)state;
    struct server *s = server_start(0);
    int fd = dial(s->port);
    send_all(fd, "this is not http\r\n\r\n", 20);
    struct reply r;
    struct rs_strbuf carry = RS_STRBUF_INIT;
    assert_true(read_reply(fd, &r, &carry));
    assert_int_equal(r.status, 400);
    assert_non_null(strcasestr(r.head, "connection: close\r\n"));
    free(r.body);
    assert_true(at_eof(fd)); /* and the connection is closed */
    close(fd);

    /* A head past 64 KiB: 431, even though the client is still sending. */
    size_t big_len = 70 * 1024;
    char *big = malloc(big_len + 64);
    int off = sprintf(big, "GET /ready HTTP/1.1\r\nHost: t\r\nX-Big: ");
    memset(big + off, 'a', big_len - (size_t)off);
    strcpy(big + big_len, "\r\n\r\n");
    fd = dial(s->port);
    send_all(fd, big, strlen(big));
    rs_strbuf_reset(&carry);
    assert_true(read_reply(fd, &r, &carry));
    assert_int_equal(r.status, 431);
    free(r.body);
    close(fd);
    free(big);

    /* A declared body past 64 KiB: 413 before any of it is sent. */
    r = request(s->port, "POST /healthcheck/fail HTTP/1.1\r\nHost: t\r\nContent-Length: "
                         "100000\r\n\r\n");
    assert_int_equal(r.status, 413);
    free(r.body);
    rs_strbuf_free(&carry);

    assert_int_equal(wait_counter(s, "http.admin.downstream_rq_4xx", 3), 3);
    assert_int_equal(wait_counter(s, "http.admin.downstream_cx_protocol_error", 3), 3);
    server_stop(s);
}

static void prometheus_over_http(void **state)
{
    (void)state;
    struct server *s = server_start(0);
    struct reply r = request(s->port, "GET /ready HTTP/1.1\r\nHost: t\r\n\r\n");
    free(r.body);
    assert_int_equal(wait_counter(s, "http.admin.downstream_rq_2xx", 1), 1);
    r = request(s->port, "GET /stats/prometheus HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "# TYPE envoy_http_downstream_rq_total counter\n"
                                   "envoy_http_downstream_rq_total{envoy_http_conn_manager_"
                                   "prefix=\"admin\"} "));
    assert_non_null(strstr(r.body, "# TYPE envoy_http_downstream_rq_xx counter\n"
                                   "envoy_http_downstream_rq_xx{envoy_response_code_class=\"1\","
                                   "envoy_http_conn_manager_prefix=\"admin\"} 0\n"
                                   "envoy_http_downstream_rq_xx{envoy_response_code_class=\"2\","
                                   "envoy_http_conn_manager_prefix=\"admin\"} 1\n"));
    assert_non_null(strstr(r.body, "# TYPE envoy_listener_admin_downstream_cx_active gauge\n"));
    assert_non_null(strstr(r.body, "# TYPE envoy_http_downstream_rq_time histogram\n"));
    free(r.body);
    assert_int_equal(wait_counter(s, "http.admin.downstream_rq_2xx", 2), 2);
    r = request(s->port, "GET /stats?filter=%5Ehttp%5C.admin%5C.downstream_rq_2xx%24 "
                         "HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_string_equal(r.body, "http.admin.downstream_rq_2xx: 2\n");
    free(r.body);
    server_stop(s);
}

static void keep_alive_and_pipelining(void **state)
{
    (void)state;
    struct server *s = server_start(0);
    int fd = dial(s->port);
    struct rs_strbuf carry = RS_STRBUF_INIT;
    struct reply r;
    const char *rq = "GET /ready HTTP/1.1\r\nHost: t\r\n\r\n";
    for (int i = 0; i < 2; i++) {
        send_all(fd, rq, strlen(rq));
        assert_true(read_reply(fd, &r, &carry));
        assert_int_equal(r.status, 200);
        assert_null(strcasestr(r.head, "connection: close"));
        free(r.body);
    }
    /* Two requests in one write: answered in order, one at a time. */
    const char *two = "GET /ready HTTP/1.1\r\nHost: t\r\n\r\nGET /nope HTTP/1.1\r\nHost: t\r\n\r\n";
    send_all(fd, two, strlen(two));
    assert_true(read_reply(fd, &r, &carry));
    assert_int_equal(r.status, 200);
    free(r.body);
    assert_true(read_reply(fd, &r, &carry));
    assert_int_equal(r.status, 404);
    free(r.body);
    rs_strbuf_free(&carry);
    close(fd);
    assert_int_equal(counter(s, "http.admin.downstream_cx_total"), 1);
    assert_int_equal(counter(s, "http.admin.downstream_rq_total"), 4);
    server_stop(s);
}

static void idle_connections_are_closed(void **state)
{
    (void)state;
    struct server *s = server_start(200);
    int fd = dial(s->port);
    struct timeval tv = {.tv_sec = 3};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    /* A request that never finishes counts as idle too. */
    send_all(fd, "GET /ready HTTP/1.1\r\n", 21);
    assert_true(at_eof(fd));
    close(fd);
    for (int i = 0; i < 100 && counter(s, "http.admin.downstream_cx_idle_timeout") == 0; i++)
        sleep_ms(10);
    assert_int_equal(counter(s, "http.admin.downstream_cx_idle_timeout"), 1);
    server_stop(s);
}

static void many_connections_no_fd_leak(void **state)
{
    (void)state;
    struct server *s = server_start(0);
    int baseline = count_fds();
    enum { N = 300 };
    int fds[N];
    for (int i = 0; i < N; i++)
        fds[i] = dial(s->port);
    const char *rq = "GET /ready HTTP/1.1\r\nHost: t\r\n\r\n";
    for (int i = 0; i < N; i++)
        send_all(fds[i], rq, strlen(rq));
    int ok = 0, refused = 0;
    for (int i = 0; i < N; i++) {
        struct reply r;
        struct rs_strbuf carry = RS_STRBUF_INIT;
        if (read_reply(fds[i], &r, &carry)) {
            assert_int_equal(r.status, 200);
            free(r.body);
            ok++;
        } else {
            refused++;
        }
        rs_strbuf_free(&carry);
    }
    /* Connections past the cap are closed on accept; the others all got their answer. */
    assert_int_equal(ok, RS_ADMIN_MAX_CONNECTIONS);
    assert_int_equal(refused, N - (int)RS_ADMIN_MAX_CONNECTIONS);
    assert_int_equal(counter(s, "listener.admin.downstream_cx_overflow"),
                     N - RS_ADMIN_MAX_CONNECTIONS);
    for (int i = 0; i < N; i++)
        close(fds[i]);
    /* The server closes its ends once it sees each EOF. */
    int now = count_fds();
    for (int i = 0; i < 300 && now != baseline; i++) {
        sleep_ms(10);
        now = count_fds();
    }
    assert_int_equal(now, baseline);
    rs_stat_id active = rs_stats_find(s->store, "http.admin.downstream_cx_active", NULL);
    for (int i = 0; i < 200 && rs_stats_gauge_value(s->store, active) != 0; i++)
        sleep_ms(5);
    assert_int_equal(rs_stats_gauge_value(s->store, active), 0);

    /* Connections still open at stop are closed by it: no fd survives the server. */
    for (int i = 0; i < 10; i++)
        fds[i] = dial(s->port);
    struct reply r = request(s->port, "GET /ready HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(r.status, 200);
    free(r.body);
    server_stop(s);
    for (int i = 0; i < 10; i++) {
        assert_true(at_eof(fds[i]));
        close(fds[i]);
    }
}

static void fds_return_to_start(void **state)
{
    (void)state;
    int before = count_fds();
    struct server *s = server_start(0);
    int fd = dial(s->port);
    const char *rq = "GET /ready HTTP/1.1\r\nHost: t\r\n\r\n";
    send_all(fd, rq, strlen(rq));
    struct reply r;
    struct rs_strbuf carry = RS_STRBUF_INIT;
    assert_true(read_reply(fd, &r, &carry));
    free(r.body);
    rs_strbuf_free(&carry);
    server_stop(s); /* with the connection still open */
    assert_true(at_eof(fd));
    close(fd);
    assert_int_equal(count_fds(), before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ready_is_live),
        cmocka_unit_test(quitquitquit_needs_post),
        cmocka_unit_test(malformed_and_oversized),
        cmocka_unit_test(prometheus_over_http),
        cmocka_unit_test(keep_alive_and_pipelining),
        cmocka_unit_test(idle_connections_are_closed),
        cmocka_unit_test(many_connections_no_fd_leak),
        cmocka_unit_test(fds_return_to_start),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
