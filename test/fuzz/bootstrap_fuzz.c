/* libFuzzer target for the proxy's whole configuration loader: any bytes as a bootstrap (YAML or
 * JSON) into rs_config_load_text, with the environment the server gives it (a real stats store
 * and main-thread shard, a qsbr, two workers), then rs_config_free. Whatever the input, loading
 * must not crash or leak, and a rejection must say why (an empty error is a bug: the operator
 * would see "invalid config: "). An accepted config is also shown the way the admin shows it
 * (/clusters as text and JSON, /config_dump's rendering of the bootstrap), and the JSON must be
 * JSON. Anything else aborts, so libFuzzer keeps the input.
 *
 * main_loop is NULL: it is only read by rs_cluster_manager_start (DNS for STRICT_DNS clusters),
 * which loading never calls, so no io_uring ring is needed per process. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/codec/codec.h"
#include "api/type_registry.h"
#include "proxy/config/config.h"
#include "proxy/core/log.h"
#include "proxy/core/qsbr.h"
#include "proxy/core/strbuf.h"
#include "proxy/net/listener.h"
#include "proxy/stats/stats.h"
#include "proxy/upstream/cluster.h"
#include "proxy/upstream/cluster_manager.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Stats are never unregistered, and every distinct cluster or listener name the fuzzer invents
 * registers a few dozen of them: past this many the store is replaced, which bounds the memory
 * and keeps registration (a table insert) from slowing down as the run goes on. */
#ifndef MAX_STATS_PER_STORE /* overridable, to test the replacement itself */
#define MAX_STATS_PER_STORE (64u * 1024u)
#endif

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "bootstrap_fuzz: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    abort();
}

struct process_env {
    struct rs_stats_store *stats;
    struct rs_stats_shard *main_shard;
    struct rs_qsbr *qsbr;
};

static struct process_env *process_env(void)
{
    static struct process_env pe;
    if (pe.qsbr == NULL) {
        /* Loading logs at info level (e.g. per cluster): noise in a fuzzer's output. */
        rs_log_set_level(RS_LOG_OFF);
        pe.qsbr = rs_qsbr_new();
        if (pe.qsbr == NULL)
            die("cannot create the qsbr", NULL);
    }
    /* Only between inputs: no config (hence no stat id) outlives the input that loaded it. */
    if (pe.stats != NULL && rs_stats_count(pe.stats) > MAX_STATS_PER_STORE) {
        rs_stats_store_free(pe.stats);
        pe.stats = NULL;
    }
    if (pe.stats == NULL) {
        pe.stats = rs_stats_store_new();
        pe.main_shard = pe.stats ? rs_stats_shard_new(pe.stats) : NULL;
        if (pe.main_shard == NULL)
            die("cannot create the stats store", NULL);
    }
    return &pe;
}

static void check_json(const char *what, const char *text, size_t len)
{
    json_error_t jerr;
    /* uint64 values are strings in proto3 JSON, but int64 gauges and doubles are numbers:
     * decoding integers as reals keeps large ones from being refused by jansson itself. */
    json_t *j = json_loadb(text, len, JSON_DECODE_INT_AS_REAL, &jerr);
    if (j == NULL) {
        fprintf(stderr, "%s: %.*s\n", what, (int)(len > 4096 ? 4096 : len), text);
        die("rendered JSON does not parse", jerr.text);
    }
    json_decref(j);
}

static void check_accepted(const struct rs_config *cfg)
{
    if (cfg->bootstrap == NULL || cfg->clusters == NULL || cfg->listeners == NULL)
        die("accepted config is missing a part", NULL);
    for (unsigned i = 0; i < cfg->n_listeners; i++) {
        const struct rs_listener *l = cfg->listeners[i];
        if (l == NULL || l->name == NULL)
            die("accepted listener without a name", NULL);
        if (l->n_chains == 0 && l->default_chain == NULL)
            die("accepted listener without any filter chain", l->name);
    }
    /* Every cluster must be found by its own name: the lookup tcp_proxy relies on. */
    size_t n = rs_cluster_manager_count(cfg->clusters);
    for (size_t i = 0; i < n; i++) {
        struct rs_cluster *c = rs_cluster_manager_at(cfg->clusters, i);
        if (c == NULL || c->name == NULL || rs_config_find_cluster(cfg, c->name) != c)
            die("cluster not found by its name", c && c->name ? c->name : NULL);
    }

    struct rs_strbuf out = RS_STRBUF_INIT;
    rs_cluster_manager_render(cfg->clusters, false, &out);
    rs_strbuf_reset(&out);
    rs_cluster_manager_render(cfg->clusters, true, &out);
    check_json("/clusters?format=json", out.data ? out.data : "", out.len);
    rs_strbuf_free(&out);

    /* /config_dump renders the kept bootstrap; failing to render is answered with "null", so
     * only a successful rendering is checked. */
    char err[256];
    char *json = rs_codec_to_json(&cfg->bootstrap->base, 0, rs_api_find_type_url, err, sizeof err);
    if (json != NULL) {
        check_json("bootstrap rendering", json, strlen(json));
        free(json);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct process_env *pe = process_env();
    struct rs_config_env env = {
        .main_loop = NULL,
        .n_workers = 2,
        .qsbr = pe->qsbr,
        .stats = pe->stats,
        .main_shard = pe->main_shard,
        /* --service-node/--service-cluster on odd sizes: both ways node.* is resolved. */
        .service_node = (size & 1) ? "fuzz-node" : NULL,
        .service_cluster = (size & 1) ? "fuzz-cluster" : NULL,
    };
    char err[512];
    err[0] = '\0';
    struct rs_config *cfg = rs_config_load_text((const char *)data, size, &env, err, sizeof err);
    /* Says what became of each input, for checking that a seed tests what its name says. */
    if (getenv("BOOTSTRAP_FUZZ_VERBOSE") != NULL)
        fprintf(stderr, "bootstrap_fuzz: %s%s\n", cfg ? "accepted" : "rejected: ", cfg ? "" : err);
    if (cfg == NULL) {
        if (err[0] == '\0')
            die("config rejected without an error message", NULL);
        if (memchr(err, '\0', sizeof err) == NULL)
            die("error message is not NUL-terminated", NULL);
    } else {
        check_accepted(cfg);
        rs_config_free(cfg);
    }
    /* No reader is registered: anything retired while loading is freed now, not at exit. */
    rs_qsbr_reclaim(pe->qsbr);
    return 0;
}
