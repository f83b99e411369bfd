/* Envoy's default tag extractors, hand-matched: several of Envoy's patterns use look-ahead and
 * lazy quantifiers that POSIX regexes lack, and a direct scan is cheaper on every scrape. Each
 * matcher documents the pattern it reproduces (in Envoy's notation: (captured and removed),
 * <variable>). */
#include <stdbool.h>
#include <string.h>

#include "proxy/stats/tags.h"

struct match {
    size_t rm_start, rm_end;   /* removed from the name */
    size_t val_start, val_end; /* the tag's value */
};

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}
static bool is_word(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* "<value>.<word>" running from `start` to the end of the name: the value reaches the last dot
 * and the rest is one non-empty word, as in Envoy's "((.*?)\.)\w+?$". */
static bool value_then_word_tail(const char *s, size_t n, size_t start, struct match *m)
{
    const char *dot = strrchr(s, '.');
    if (dot == NULL || (size_t)(dot - s) < start)
        return false;
    size_t d = (size_t)(dot - s);
    if (d + 1 >= n)
        return false;
    for (size_t i = d + 1; i < n; i++)
        if (!is_word(s[i]))
            return false;
    *m = (struct match){start, d + 1, start, d};
    return true;
}

/* "<value>." from `start`: the value is the next segment, as in "((.*?)\.)". */
static bool next_segment(const char *s, size_t start, struct match *m)
{
    const char *dot = strchr(s + start, '.');
    if (dot == NULL)
        return false;
    size_t d = (size_t)(dot - s);
    *m = (struct match){start, d + 1, start, d};
    return true;
}

/* "<root>.[<anything>]<infix>" where infix starts and ends with a dot: the position just after
 * the first infix found at or after the root's dot, or 0. */
static size_t after_infix(const char *s, const char *root, const char *infix)
{
    size_t rl = strlen(root);
    if (strncmp(s, root, rl) != 0 || s[rl] != '.')
        return 0;
    const char *hit = strstr(s + rl, infix);
    return hit ? (size_t)(hit - s) + strlen(infix) : 0;
}

/* *_rq(_<response_code>) */
static bool response_code(const char *s, size_t n, struct match *m)
{
    if (n < 7 || memcmp(s + n - 7, "_rq_", 4) != 0)
        return false;
    for (size_t i = n - 3; i < n; i++)
        if (!is_digit(s[i]))
            return false;
    *m = (struct match){n - 4, n, n - 3, n};
    return true;
}

/* *_rq_(<response_code_class>)xx */
static bool response_code_class(const char *s, size_t n, struct match *m)
{
    if (n < 7 || memcmp(s + n - 7, "_rq_", 4) != 0 || !is_digit(s[n - 3]) ||
        memcmp(s + n - 2, "xx", 2) != 0)
        return false;
    *m = (struct match){n - 3, n - 2, n - 3, n - 2};
    return true;
}

/* http.[<stat_prefix>.]user_agent.(<user_agent>.)<base_stat> */
static bool http_user_agent(const char *s, size_t n, struct match *m)
{
    size_t p = after_infix(s, "http", ".user_agent.");
    return p && value_then_word_tail(s, n, p, m);
}

/* vhost.[<virtual host name>.]vcluster.(<virtual_cluster_name>.)<base_stat> */
static bool virtual_cluster(const char *s, size_t n, struct match *m)
{
    size_t p = after_infix(s, "vhost", ".vcluster.");
    return p && value_then_word_tail(s, n, p, m);
}

/* http.[<stat_prefix>.]fault.(<downstream_cluster>.)<base_stat> */
static bool fault_downstream_cluster(const char *s, size_t n, struct match *m)
{
    size_t p = after_infix(s, "http", ".fault.");
    return p && value_then_word_tail(s, n, p, m);
}

/* <root>.[<name>.]ssl.<word>(.<cipher>): the cipher runs to the end of the name */
static bool cipher_tail(const char *s, size_t n, const char *root, const char *infix,
                        struct match *m)
{
    size_t p = after_infix(s, root, infix);
    if (!p)
        return false;
    *m = (struct match){p - 1, n, p, n};
    return true;
}

/* listener.[<address>.]ssl.cipher(.<cipher>) */
static bool ssl_cipher(const char *s, size_t n, struct match *m)
{
    return cipher_tail(s, n, "listener", ".ssl.cipher.", m);
}

/* cluster.[<cluster_name>.]ssl.ciphers(.<cipher>) */
static bool ssl_cipher_suite(const char *s, size_t n, struct match *m)
{
    return cipher_tail(s, n, "cluster", ".ssl.ciphers.", m);
}

/* tcp.(<stat_prefix>.)<base_stat> */
static bool tcp_prefix(const char *s, size_t n, struct match *m)
{
    return starts_with(s, "tcp.") && value_then_word_tail(s, n, 4, m);
}

/* udp.(<stat_prefix>.)<base_stat> */
static bool udp_prefix(const char *s, size_t n, struct match *m)
{
    return starts_with(s, "udp.") && value_then_word_tail(s, n, 4, m);
}

/* ratelimit.(<stat_prefix>.)<base_stat> */
static bool ratelimit_prefix(const char *s, size_t n, struct match *m)
{
    return starts_with(s, "ratelimit.") && value_then_word_tail(s, n, 10, m);
}

/* cluster.(<cluster_name>.)* */
static bool cluster_name(const char *s, size_t n, struct match *m)
{
    (void)n;
    return starts_with(s, "cluster.") && next_segment(s, 8, m);
}

/* http.(<stat_prefix>.)* or listener.[<address>.]http.(<stat_prefix>.)* */
static bool http_conn_manager_prefix(const char *s, size_t n, struct match *m)
{
    (void)n;
    if (starts_with(s, "http."))
        return next_segment(s, 5, m);
    size_t p = after_infix(s, "listener", ".http.");
    return p && next_segment(s, p, m);
}

/* listener.(<address>.)*, where the address is made of digits, dots and underscores (IPv4,
 * "0.0.0.0_15001"), or else of hex digits, brackets and underscores (IPv6, "[__1]_15001") */
static bool listener_address(const char *s, size_t n, struct match *m)
{
    (void)n;
    if (!starts_with(s, "listener."))
        return false;
    size_t start = 9, i = start, last_dot = 0;
    for (; is_digit(s[i]) || s[i] == '_' || s[i] == '.'; i++)
        if (s[i] == '.')
            last_dot = i;
    if (last_dot) {
        *m = (struct match){start, last_dot + 1, start, last_dot};
        return true;
    }
    for (i = start; is_digit(s[i]) || s[i] == '_' || s[i] == '[' || s[i] == ']' ||
                    (s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F');
         i++)
        ;
    if (s[i] != '.')
        return false;
    *m = (struct match){start, i + 1, start, i};
    return true;
}

/* vhost.(<virtual host name>.)* */
static bool virtual_host(const char *s, size_t n, struct match *m)
{
    (void)n;
    return starts_with(s, "vhost.") && next_segment(s, 6, m);
}

/* http.[<stat_prefix>.]rds.(<route_config_name>.)<base_stat> */
static bool rds_route_config(const char *s, size_t n, struct match *m)
{
    size_t p = after_infix(s, "http", ".rds.");
    return p && value_then_word_tail(s, n, p, m);
}

/* listener_manager.(worker_<id>.)* */
static bool worker_id(const char *s, size_t n, struct match *m)
{
    (void)n;
    if (!starts_with(s, "listener_manager.worker_"))
        return false;
    size_t i = strlen("listener_manager.worker_");
    if (!is_digit(s[i]))
        return false;
    while (is_digit(s[i]))
        i++;
    if (s[i] != '.')
        return false;
    size_t start = strlen("listener_manager.");
    *m = (struct match){start, i + 1, start, i};
    return true;
}

static const struct extractor {
    const char *tag;
    bool (*match)(const char *s, size_t n, struct match *m);
} extractors[] = {
    {"envoy.response_code", response_code},
    {"envoy.response_code_class", response_code_class},
    {"envoy.http_user_agent", http_user_agent},
    {"envoy.virtual_cluster", virtual_cluster},
    {"envoy.fault_downstream_cluster", fault_downstream_cluster},
    {"envoy.ssl_cipher", ssl_cipher},
    {"envoy.ssl_cipher_suite", ssl_cipher_suite},
    {"envoy.tcp_prefix", tcp_prefix},
    {"envoy.udp_prefix", udp_prefix},
    {"envoy.ratelimit_prefix", ratelimit_prefix},
    {"envoy.cluster_name", cluster_name},
    {"envoy.http_conn_manager_prefix", http_conn_manager_prefix},
    {"envoy.listener_address", listener_address},
    {"envoy.virtual_host", virtual_host},
    {"envoy.rds_route_config", rds_route_config},
    {"envoy.worker_id", worker_id},
};
_Static_assert(sizeof(extractors) / sizeof(extractors[0]) <= RS_STATS_MAX_TAGS, "tag room");

size_t rs_stats_extract_tags(const char *name, char *extracted, struct rs_stats_tag *tags)
{
    size_t n = strlen(name), ntags = 0;
    struct match removed[RS_STATS_MAX_TAGS];
    for (size_t e = 0; e < sizeof(extractors) / sizeof(extractors[0]); e++) {
        struct match m;
        if (!extractors[e].match(name, n, &m))
            continue;
        removed[ntags] = m;
        tags[ntags] =
            (struct rs_stats_tag){extractors[e].tag, m.val_start, m.val_end - m.val_start};
        ntags++;
    }
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        bool drop = false;
        for (size_t t = 0; t < ntags && !drop; t++)
            drop = i >= removed[t].rm_start && i < removed[t].rm_end;
        if (!drop)
            extracted[out++] = name[i];
    }
    extracted[out] = '\0';
    return ntags;
}
