#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "proxy/net/address.h"
#include "proxy/net/listener.h"

static struct rs_address addr(const char *ip, uint16_t port)
{
    struct rs_address a;
    assert_true(rs_address_from_ip(&a, ip, port));
    return a;
}

static void stat_names_follow_envoy(void **state)
{
    (void)state;
    char buf[80];
    struct rs_address a = addr("10.1.2.3", 15001);
    rs_address_stat_name(&a, buf, sizeof buf);
    assert_string_equal(buf, "10.1.2.3_15001");
    a = addr("::1", 80);
    rs_address_stat_name(&a, buf, sizeof buf);
    assert_string_equal(buf, "[__1]_80");
    rs_address_format(&a, buf, sizeof buf);
    assert_string_equal(buf, "[::1]:80");
}

static void cidr_contains(void **state)
{
    (void)state;
    struct rs_cidr c;
    assert_true(rs_cidr_parse(&c, "10.0.0.0", 8));
    struct rs_address in = addr("10.200.1.1", 1), out = addr("11.0.0.1", 1);
    assert_true(rs_cidr_contains(&c, &in));
    assert_false(rs_cidr_contains(&c, &out));
    assert_true(rs_cidr_parse(&c, "10.0.0.0", 12));
    struct rs_address edge = addr("10.15.255.255", 1), past = addr("10.16.0.0", 1);
    assert_true(rs_cidr_contains(&c, &edge));
    assert_false(rs_cidr_contains(&c, &past));
    assert_false(rs_cidr_parse(&c, "10.0.0.0", 33));
    assert_false(rs_cidr_parse(&c, "nope", 8));
    struct rs_address v6 = addr("::1", 1);
    assert_true(rs_cidr_parse(&c, "0.0.0.0", 0));
    assert_false(rs_cidr_contains(&c, &v6)); /* families never mix */
}

static void most_specific_chain_wins(void **state)
{
    (void)state;
    struct rs_filter_chain chains[4];
    memset(chains, 0, sizeof chains);
    struct rs_cidr wide, narrow;
    rs_cidr_parse(&wide, "10.0.0.0", 8);
    rs_cidr_parse(&narrow, "10.1.0.0", 16);
    chains[0].name = "any";
    chains[1].name = "port-8080";
    chains[1].destination_port = 8080;
    chains[2].name = "port-8080-src-wide";
    chains[2].destination_port = 8080;
    chains[2].source_prefix_ranges = &wide;
    chains[2].n_source_prefix_ranges = 1;
    chains[3].name = "port-8080-src-narrow";
    chains[3].destination_port = 8080;
    chains[3].source_prefix_ranges = &narrow;
    chains[3].n_source_prefix_ranges = 1;
    struct rs_listener l;
    memset(&l, 0, sizeof l);
    l.chains = chains;
    l.n_chains = 4;
    struct rs_address local8080 = addr("127.0.0.1", 8080), local9 = addr("127.0.0.1", 9);
    struct rs_address src_narrow = addr("10.1.2.3", 5555), src_wide = addr("10.9.9.9", 5555),
                      src_other = addr("192.0.2.1", 5555);
    assert_string_equal(rs_listener_match_chain(&l, &local8080, &src_narrow)->name,
                        "port-8080-src-narrow");
    assert_string_equal(rs_listener_match_chain(&l, &local8080, &src_wide)->name,
                        "port-8080-src-wide");
    assert_string_equal(rs_listener_match_chain(&l, &local8080, &src_other)->name, "port-8080");
    assert_string_equal(rs_listener_match_chain(&l, &local9, &src_narrow)->name, "any");
    /* Without the catch-all, a non-matching port has no chain (no default either). */
    l.chains = &chains[1];
    l.n_chains = 3;
    assert_null(rs_listener_match_chain(&l, &local9, &src_narrow));
    struct rs_filter_chain dflt;
    memset(&dflt, 0, sizeof dflt);
    dflt.name = "default";
    l.default_chain = &dflt;
    assert_string_equal(rs_listener_match_chain(&l, &local9, &src_narrow)->name, "default");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stat_names_follow_envoy),
        cmocka_unit_test(cidr_contains),
        cmocka_unit_test(most_specific_chain_wins),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
