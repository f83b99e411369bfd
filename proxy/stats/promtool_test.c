/* Feeds the Prometheus rendering of a store shaped like a proxy's to `promtool check metrics`.
 * Lint findings caused by Envoy's names (no HELP, counters without _total) are accepted; parse
 * errors are not. Skipped when promtool is not installed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "proxy/core/strbuf.h"
#include "proxy/stats/stats.h"

static char promtool[512];

static bool find_promtool(void)
{
    const char *path = getenv("PATH");
    char dirs[4096];
    snprintf(dirs, sizeof(dirs), "%s:/usr/bin:/usr/local/bin", path ? path : "");
    for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        snprintf(promtool, sizeof(promtool), "%s/promtool", d);
        if (access(promtool, X_OK) == 0)
            return true;
    }
    return false;
}

/* Lint findings that come from Envoy's naming, not from a malformed exposition. */
static bool acceptable_lint(const char *line)
{
    static const char *const ok[] = {
        "no help text",
        "counter metrics should have \"_total\" suffix",
        "use base unit",
        "metric names should not contain abbreviated units",
        "non-histogram and non-summary metrics should not have",
        "metric names should be written in 'snake_case' not 'camelCase'",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (strstr(line, ok[i]))
            return true;
    return false;
}

static void fill(struct rs_stats_store *st)
{
    struct rs_stats_shard *s = rs_stats_shard_new(st);
    const char *clusters[] = {"backend", "xds-grpc", "outbound|80||svc.ns.svc.cluster.local"};
    for (int c = 0; c < 3; c++) {
        rs_stats_inc(s, rs_stats_counterf(st, "cluster.%s.upstream_cx_total", clusters[c]));
        rs_stats_inc(s, rs_stats_counterf(st, "cluster.%s.upstream_rq_200", clusters[c]));
        rs_stats_inc(s, rs_stats_counterf(st, "cluster.%s.upstream_rq_503", clusters[c]));
        rs_stats_inc(s, rs_stats_counterf(st, "cluster.%s.upstream_rq_2xx", clusters[c]));
        rs_stats_inc(s, rs_stats_counterf(st, "cluster.%s.upstream_rq_5xx", clusters[c]));
        rs_stats_gauge_add(s, rs_stats_gaugef(st, "cluster.%s.upstream_cx_active", clusters[c]), 2);
        rs_stats_gauge_set(s, rs_stats_gaugef(st, "cluster.%s.membership_healthy", clusters[c]), 3);
        rs_stat_id h = rs_stats_histogramf(st, "cluster.%s.upstream_rq_time", clusters[c]);
        for (uint64_t v = 0; v < 5000; v += 37)
            rs_stats_histogram_record(s, h, v);
        rs_stats_histogramf(st, "cluster.%s.upstream_cx_length_ms", clusters[c]);
    }
    const char *listeners[] = {"0.0.0.0_15001", "0.0.0.0_15006", "[__1]_8080", "admin"};
    for (int l = 0; l < 4; l++) {
        rs_stats_inc(s, rs_stats_counterf(st, "listener.%s.downstream_cx_total", listeners[l]));
        rs_stats_gauge_add(s, rs_stats_gaugef(st, "listener.%s.downstream_cx_active", listeners[l]),
                           1);
        rs_stats_histogramf(st, "listener.%s.downstream_cx_length_ms", listeners[l]);
        rs_stats_inc(
            s, rs_stats_counterf(st, "listener.%s.http.inbound.downstream_rq_2xx", listeners[l]));
    }
    const char *prefixes[] = {"admin", "inbound_0.0.0.0_15006", "outbound"};
    for (int p = 0; p < 3; p++) {
        for (int cls = 1; cls <= 5; cls++)
            rs_stats_add(s, rs_stats_counterf(st, "http.%s.downstream_rq_%dxx", prefixes[p], cls),
                         (uint64_t)cls);
        rs_stats_inc(s, rs_stats_counterf(st, "http.%s.downstream_rq_total", prefixes[p]));
        rs_stats_histogram_record(
            s, rs_stats_histogramf(st, "http.%s.downstream_rq_time", prefixes[p]), 12);
    }
    rs_stats_inc(s, rs_stats_counter(st, "tcp.inbound_tcp.downstream_cx_total"));
    rs_stats_gauge_set(s, rs_stats_gauge(st, "server.live"), 1);
    rs_stats_gauge_set(s, rs_stats_gauge(st, "server.uptime"), 42);
    rs_stats_gauge_set(s, rs_stats_gauge(st, "server.state"), 0);
    rs_stats_gauge_set(s, rs_stats_gauge(st, "listener_manager.total_listeners_active"), 3);
    rs_stats_inc(s, rs_stats_counter(st, "listener_manager.listener_added"));
    rs_stats_gauge_set(s, rs_stats_gauge(st, "cluster_manager.active_clusters"), 3);
    rs_stats_inc(s, rs_stats_counter(st, "cluster_manager.cds.update_success"));
    rs_stats_gauge_add(s, rs_stats_gauge(st, "listener_manager.worker_0.dispatcher.x"), -7);
    /* Characters the exposition format forbids in names and must escape in labels. */
    rs_stats_inc(s, rs_stats_counter(st, "cluster.we\"ird\\name.upstream_cx_total"));
    rs_stats_inc(s, rs_stats_counter(st, "weird-name.with:colon.and space"));
}

static void promtool_accepts_output(void **state)
{
    (void)state;
    if (!find_promtool()) {
        print_message("promtool not on PATH: skipping the exposition check\n");
        skip();
    }
    struct rs_stats_store *st = rs_stats_store_new();
    fill(st);
    struct rs_strbuf sb = RS_STRBUF_INIT;
    assert_int_equal(rs_stats_render_prometheus(st, NULL, &sb), 0);

    char in[] = "/tmp/rs_stats_promXXXXXX";
    int fd = mkstemp(in);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, sb.data, sb.len), (ssize_t)sb.len);
    close(fd);
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "'%s' check metrics < %s 2>&1", promtool, in);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char line[1024];
    int bad = 0;
    while (fgets(line, sizeof(line), p)) {
        if (!acceptable_lint(line)) {
            print_error("promtool: %s", line);
            bad++;
        }
    }
    int status = pclose(p);
    unlink(in);
    assert_true(WIFEXITED(status));
    /* 0: clean; 3: lint findings only (all acceptable, checked above); 1: parse error. */
    if (WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 3)
        fail_msg("promtool exited %d on:\n%s", WEXITSTATUS(status), sb.data);
    assert_int_equal(bad, 0);
    rs_strbuf_free(&sb);
    rs_stats_store_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(promtool_accepts_output),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
