/* safe_regex through PCRE2. Envoy uses RE2, whose patterns are (for the common subset) PCRE
 * syntax too; the differences that matter are covered here: RE2 matches whole strings for
 * route and string matchers (we anchor at both ends at match time), RE2 rewrite strings use \N
 * (translated to PCRE2's ${N} once, at config time), and RE2 runs in linear time while PCRE2
 * backtracks, so every match runs under a match and depth limit: a pattern from config can
 * never stall a worker. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <stdio.h>
#include <string.h>

#include "api/pbutil/pbutil.h"
#include "proxy/http/route/route_internal.h"

/* Generous for route patterns; small enough that a pathological one fails in milliseconds. */
#define MATCH_LIMIT 100000u
#define DEPTH_LIMIT 1000u

struct rs_route_regex {
    pcre2_code *code;
    pcre2_match_context *mc; /* shared, never modified after build */
    uint32_t captures;
    struct rs_route_regex *next;
};

int rt_regex_init(struct rs_route_config *rc, char *err, size_t err_len)
{
    pcre2_match_context *mc = pcre2_match_context_create(NULL);
    if (mc == NULL)
        return rt_oom(err, err_len);
    pcre2_set_match_limit(mc, MATCH_LIMIT);
    pcre2_set_depth_limit(mc, DEPTH_LIMIT);
    rc->match_ctx = mc;
    return 0;
}

void rt_regex_free_all(struct rs_route_config *rc)
{
    for (struct rs_route_regex *r = rc->regexes; r != NULL; r = r->next)
        pcre2_code_free(r->code);
    rc->regexes = NULL;
    pcre2_match_context_free(rc->match_ctx);
    rc->match_ctx = NULL;
}

static const char *const regex_fields[] = {"regex", NULL};

const struct rs_route_regex *rt_regex_compile(struct rs_route_config *rc,
                                              const Envoy__Type__Matcher__V3__RegexMatcher *pb,
                                              const char *path, char *err, size_t err_len)
{
    if (!rs_pb_check_supported(&pb->base, regex_fields, path, err, err_len))
        return NULL;
    if (pb->regex == NULL || pb->regex[0] == '\0') {
        snprintf(err, err_len, "%s.regex: must not be empty", path);
        return NULL;
    }
    int code;
    PCRE2_SIZE offset;
    /* UTF like RE2; invalid UTF-8 in a request simply does not match instead of erroring. */
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pb->regex, PCRE2_ZERO_TERMINATED,
                                   PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &code, &offset, NULL);
    if (re == NULL) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code, msg, sizeof msg);
        snprintf(err, err_len, "%s.regex: invalid regex '%s': %s at offset %zu", path, pb->regex,
                 (const char *)msg, (size_t)offset);
        return NULL;
    }
    struct rs_route_regex *r = rt_alloc(rc, sizeof *r);
    if (r == NULL) {
        pcre2_code_free(re);
        rt_oom(err, err_len);
        return NULL;
    }
    r->code = re;
    r->mc = rc->match_ctx;
    pcre2_pattern_info(re, PCRE2_INFO_CAPTURECOUNT, &r->captures);
    r->next = rc->regexes;
    rc->regexes = r;
    return r;
}

bool rs_route_regex_match(const struct rs_route_regex *re, const char *s, size_t len)
{
    /* One ovector pair is enough to learn whether it matched (rc 0 means "matched, ovector too
     * small"), and keeps the per-call allocation tiny. */
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    if (md == NULL)
        return false;
    int rc = pcre2_match(re->code, (PCRE2_SPTR)s, len, 0, PCRE2_ANCHORED | PCRE2_ENDANCHORED, md,
                         re->mc);
    pcre2_match_data_free(md);
    return rc >= 0;
}

/* RE2 rewrite syntax: \0..\9 insert groups, \\ is a backslash, anything else is literal except
 * that a lone backslash before another character is an error. PCRE2's substitute syntax uses $,
 * so $ becomes $$ and \N becomes ${N}. */
static char *translate_substitution(struct rs_route_config *rc, const char *s, uint32_t captures,
                                    const char *path, char *err, size_t err_len)
{
    size_t len = strlen(s);
    char *out = rt_alloc(rc, len * 4 + 1);
    if (out == NULL) {
        rt_oom(err, err_len);
        return NULL;
    }
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '$') {
            out[o++] = '$';
            out[o++] = '$';
        } else if (c == '\\') {
            char n = i + 1 < len ? s[i + 1] : '\0';
            if (n == '\\') {
                out[o++] = '\\';
                i++;
            } else if (n >= '0' && n <= '9') {
                if ((uint32_t)(n - '0') > captures) {
                    snprintf(err, err_len,
                             "%s.substitution: \\%c refers to a group the pattern does not have "
                             "(%u groups)",
                             path, n, captures);
                    return NULL;
                }
                out[o++] = '$';
                out[o++] = '{';
                out[o++] = n;
                out[o++] = '}';
                i++;
            } else {
                snprintf(err, err_len,
                         "%s.substitution: invalid rewrite escape at offset %zu (use \\0-\\9 or "
                         "\\\\)",
                         path, i);
                return NULL;
            }
        } else {
            out[o++] = c;
        }
    }
    out[o] = '\0';
    return out;
}

static const char *const rewrite_fields[] = {"pattern", "substitution", NULL};

int rt_regex_rewrite_compile(struct rs_route_config *rc,
                             const Envoy__Type__Matcher__V3__RegexMatchAndSubstitute *pb,
                             const char *path, struct rs_route_path_rewrite *rw, char *err,
                             size_t err_len)
{
    char sub[RT_PATH_MAX];
    if (!rs_pb_check_supported(&pb->base, rewrite_fields, path, err, err_len))
        return -1;
    if (pb->pattern == NULL) {
        snprintf(err, err_len, "%s.pattern: is required", path);
        return -1;
    }
    snprintf(sub, sizeof sub, "%s.pattern", path);
    const struct rs_route_regex *re = rt_regex_compile(rc, pb->pattern, sub, err, err_len);
    if (re == NULL)
        return -1;
    const char *t = translate_substitution(rc, pb->substitution ? pb->substitution : "",
                                           re->captures, path, err, err_len);
    if (t == NULL)
        return -1;
    rw->kind = RS_ROUTE_REWRITE_REGEX;
    rw->regex = re;
    rw->substitution = t;
    return 0;
}

int rt_regex_replace_all(const struct rs_route_regex *re, const char *sub, const char *s,
                         size_t len, char *out, size_t out_cap, size_t *out_len)
{
    if (out_cap == 0)
        return -1;
    PCRE2_SIZE n = out_cap;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re->code, NULL);
    if (md == NULL)
        return -1;
    int rc = pcre2_substitute(re->code, (PCRE2_SPTR)s, len, 0, PCRE2_SUBSTITUTE_GLOBAL, md, re->mc,
                              (PCRE2_SPTR)sub, PCRE2_ZERO_TERMINATED, (PCRE2_UCHAR *)out, &n);
    pcre2_match_data_free(md);
    if (rc < 0)
        return -1;
    *out_len = n;
    return 0;
}
