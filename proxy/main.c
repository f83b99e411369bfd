/* ringside-proxy: flags as Envoy's where they apply, then the server. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proxy/core/log.h"
#include "proxy/server.h"
#include "proxy/version.h"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: ringside-proxy -c FILE [options]\n"
            "\n"
            "Ringside's sidecar proxy, configured with an Envoy v3 bootstrap (YAML or JSON).\n"
            "\n"
            "Options:\n"
            "  -c, --config-path FILE   bootstrap file (YAML or JSON)\n"
            "      --config-yaml TEXT   bootstrap given inline (applied when no -c is given)\n"
            "      --concurrency N      worker threads (default: number of CPUs)\n"
            "  -l, --log-level LEVEL    trace, debug, info, warning, error, critical, off\n"
            "                           (default: info)\n"
            "      --drain-time-s S     on SIGTERM or /quitquitquit, how long open connections\n"
            "                           may take to finish before they are closed (default 600)\n"
            "      --service-node ID    node id (overrides node.id)\n"
            "      --service-cluster C  node cluster (overrides node.cluster)\n"
            "      --mode MODE          serve (default), or validate: check the config, print\n"
            "                           the result and exit 0 (valid) or 1 (invalid)\n"
            "      --disable-hot-restart  accepted for compatibility (there is no hot restart)\n"
            "      --version            print the version and exit\n"
            "  -h, --help               this text\n"
            "\n"
            "Example:\n"
            "  ringside-proxy -c deploy/examples/demo.yaml --concurrency 2\n"
            "  curl -s localhost:9901/stats | grep downstream_cx_total\n");
}

enum {
    OPT_CONCURRENCY = 1000,
    OPT_DRAIN,
    OPT_NODE,
    OPT_CLUSTER,
    OPT_MODE,
    OPT_YAML,
    OPT_VERSION,
    OPT_NO_HOT_RESTART
};

static int parse_uint(const char *flag, const char *s, unsigned max, unsigned *out)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v > max) {
        fprintf(stderr, "ringside-proxy: %s: invalid value '%s'\n", flag, s);
        return -1;
    }
    *out = (unsigned)v;
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"config-path", required_argument, NULL, 'c'},
        {"config-yaml", required_argument, NULL, OPT_YAML},
        {"concurrency", required_argument, NULL, OPT_CONCURRENCY},
        {"log-level", required_argument, NULL, 'l'},
        {"drain-time-s", required_argument, NULL, OPT_DRAIN},
        {"service-node", required_argument, NULL, OPT_NODE},
        {"service-cluster", required_argument, NULL, OPT_CLUSTER},
        {"mode", required_argument, NULL, OPT_MODE},
        {"disable-hot-restart", no_argument, NULL, OPT_NO_HOT_RESTART},
        {"version", no_argument, NULL, OPT_VERSION},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct rs_server_options opt = {.drain_time_s = 600};
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    opt.concurrency = cpus > 0 ? (unsigned)cpus : 1;
    int c;
    while ((c = getopt_long(argc, argv, "c:l:h", options, NULL)) != -1) {
        switch (c) {
        case 'c':
            opt.config_path = optarg;
            break;
        case OPT_YAML:
            opt.config_yaml = optarg;
            break;
        case OPT_CONCURRENCY:
            if (parse_uint("--concurrency", optarg, 256, &opt.concurrency) < 0)
                return 1;
            if (opt.concurrency == 0)
                opt.concurrency = 1;
            break;
        case 'l': {
            int level = rs_log_level_from_name(optarg);
            if (level < 0) {
                fprintf(stderr, "ringside-proxy: --log-level: unknown level '%s'\n", optarg);
                return 1;
            }
            rs_log_set_level((enum rs_log_level)level);
            break;
        }
        case OPT_DRAIN:
            if (parse_uint("--drain-time-s", optarg, 86400, &opt.drain_time_s) < 0)
                return 1;
            break;
        case OPT_NODE:
            opt.service_node = optarg;
            break;
        case OPT_CLUSTER:
            opt.service_cluster = optarg;
            break;
        case OPT_MODE:
            if (strcmp(optarg, "validate") == 0) {
                opt.validate_only = true;
            } else if (strcmp(optarg, "serve") != 0) {
                fprintf(stderr, "ringside-proxy: --mode: '%s' is not serve or validate\n", optarg);
                return 1;
            }
            break;
        case OPT_NO_HOT_RESTART:
            break;
        case OPT_VERSION:
            printf("ringside-proxy version %s\n", RS_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ringside-proxy: unexpected argument '%s'\n", argv[optind]);
        return 1;
    }
    if (opt.config_path == NULL && opt.config_yaml == NULL) {
        fprintf(stderr, "ringside-proxy: a configuration is required (-c FILE)\n\n");
        usage(stderr);
        return 1;
    }
    return rs_server_run(&opt);
}
