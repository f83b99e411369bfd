/* Header map: lower-casing, pseudo-header ordering, set/remove/get semantics, clone, accounting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "proxy/http/header_map.h"

static int add(struct rs_header_map *m, const char *n, const char *v)
{
    return rs_header_map_add(m, n, strlen(n), v, strlen(v));
}

static void assert_hstr(const struct rs_hstr *s, const char *want)
{
    assert_non_null(s);
    assert_int_equal(s->len, strlen(want));
    assert_memory_equal(s->p, want, s->len);
}

static void assert_entry(const struct rs_header_map *m, size_t i, const char *name,
                         const char *value)
{
    const struct rs_header *h = rs_header_map_at(m, i);
    assert_non_null(h);
    assert_hstr(&h->name, name);
    assert_hstr(&h->value, value);
}

static void lower_cases_names_and_keeps_values(void **state)
{
    (void)state;
    struct rs_header_map *m = rs_header_map_new();
    assert_int_equal(add(m, "Content-TYPE", "Text/HTML"), 0);
    assert_entry(m, 0, "content-type", "Text/HTML");
    assert_hstr(rs_header_map_gets(m, "content-type"), "Text/HTML");
    /* Lookups are case-insensitive even when the caller passes mixed case. */
    assert_hstr(rs_header_map_gets(m, "Content-Type"), "Text/HTML");
    assert_null(rs_header_map_gets(m, "content-length"));
    assert_null(rs_header_map_gets(m, "content-typ"));
    rs_header_map_free(m);
}

static void pseudo_headers_first_in_order(void **state)
{
    (void)state;
    struct rs_header_map *m = rs_header_map_new();
    add(m, "host", "a");
    add(m, ":method", "GET");
    add(m, "x-b", "1");
    add(m, ":path", "/p");
    add(m, ":authority", "h");
    assert_int_equal(rs_header_map_size(m), 5);
    assert_entry(m, 0, ":method", "GET");
    assert_entry(m, 1, ":path", "/p");
    assert_entry(m, 2, ":authority", "h");
    assert_entry(m, 3, "host", "a");
    assert_entry(m, 4, "x-b", "1");
    assert_null(rs_header_map_at(m, 5));
    assert_hstr(rs_header_map_gets(m, ":path"), "/p");
    rs_header_map_remove(m, ":method", 7);
    add(m, ":scheme", "http");
    assert_entry(m, 0, ":path", "/p");
    assert_entry(m, 1, ":authority", "h");
    assert_entry(m, 2, ":scheme", "http");
    assert_entry(m, 3, "host", "a");
    rs_header_map_free(m);
}

static void repeated_names_keep_order(void **state)
{
    (void)state;
    struct rs_header_map *m = rs_header_map_new();
    add(m, "set-cookie", "a=1");
    add(m, "x", "y");
    add(m, "Set-Cookie", "b=2");
    assert_hstr(rs_header_map_gets(m, "set-cookie"), "a=1");
    assert_entry(m, 2, "set-cookie", "b=2");
    rs_header_map_free(m);
}

static void remove_all_occurrences(void **state)
{
    (void)state;
    struct rs_header_map *m = rs_header_map_new();
    add(m, "a", "1");
    add(m, "b", "2");
    add(m, "A", "3");
    add(m, "c", "4");
    assert_int_equal(rs_header_map_byte_size(m), 8);
    assert_int_equal(rs_header_map_remove(m, "A", 1), 2);
    assert_int_equal(rs_header_map_size(m), 2);
    assert_entry(m, 0, "b", "2");
    assert_entry(m, 1, "c", "4");
    assert_int_equal(rs_header_map_byte_size(m), 4);
    assert_int_equal(rs_header_map_remove(m, "zz", 2), 0);
    rs_header_map_free(m);
}

static void set_replaces_all_or_adds(void **state)
{
    (void)state;
    struct rs_header_map *m = rs_header_map_new();
    add(m, "x", "1");
    add(m, "y", "2");
    add(m, "x", "3");
    assert_int_equal(rs_header_map_set(m, "X", 1, "new", 3), 0);
    assert_int_equal(rs_header_map_size(m), 2);
    assert_entry(m, 0, "x", "new");
    assert_entry(m, 1, "y", "2");
    assert_int_equal(rs_header_map_byte_size(m), 6);
    assert_int_equal(rs_header_map_set(m, "Z", 1, "", 0), 0);
    assert_entry(m, 2, "z", "");
    assert_int_equal(rs_header_map_set(m, ":status", 7, "200", 3), 0);
    assert_entry(m, 0, ":status", "200");
    assert_int_equal(rs_header_map_set(m, ":status", 7, "404", 3), 0);
    assert_entry(m, 0, ":status", "404");
    assert_int_equal(rs_header_map_size(m), 4);
    rs_header_map_free(m);
}

static void clone_is_deep(void **state)
{
    (void)state;
    struct rs_header_map *m = rs_header_map_new();
    add(m, "x", "1");
    add(m, ":path", "/");
    add(m, "y", "2");
    rs_header_map_remove(m, "y", 1);
    struct rs_header_map *c = rs_header_map_clone(m);
    assert_non_null(c);
    rs_header_map_set(m, "x", 1, "changed", 7);
    rs_header_map_free(m);
    assert_int_equal(rs_header_map_size(c), 2);
    assert_entry(c, 0, ":path", "/");
    assert_entry(c, 1, "x", "1");
    assert_int_equal(rs_header_map_byte_size(c), 8);
    /* The clone keeps its pseudo-header block. */
    add(c, ":method", "GET");
    assert_entry(c, 1, ":method", "GET");
    rs_header_map_free(c);

    struct rs_header_map *e = rs_header_map_new();
    struct rs_header_map *ec = rs_header_map_clone(e);
    assert_non_null(ec);
    assert_int_equal(rs_header_map_size(ec), 0);
    add(ec, "a", "b");
    assert_entry(ec, 0, "a", "b");
    rs_header_map_free(e);
    rs_header_map_free(ec);
}

static void many_and_large_headers(void **state)
{
    (void)state;
    struct rs_header_map *m = rs_header_map_new();
    char name[32], big[5000];
    memset(big, 'v', sizeof big);
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof name, "X-H%d", i);
        assert_int_equal(rs_header_map_add(m, name, strlen(name), big, (size_t)(i * 16)), 0);
    }
    assert_int_equal(rs_header_map_size(m), 300);
    const struct rs_hstr *v = rs_header_map_gets(m, "x-h299");
    assert_non_null(v);
    assert_int_equal(v->len, 299 * 16);
    assert_int_equal(rs_header_map_add(m, "big", 3, big, sizeof big), 0);
    assert_int_equal(rs_header_map_gets(m, "big")->len, sizeof big);
    struct rs_header_map *c = rs_header_map_clone(m);
    assert_int_equal(rs_header_map_byte_size(c), rs_header_map_byte_size(m));
    assert_int_equal(rs_header_map_gets(c, "x-h150")->len, 150 * 16);
    rs_header_map_free(c);
    rs_header_map_free(m);
}

static void hstr_eq_nocase(void **state)
{
    (void)state;
    struct rs_hstr s = {"Hello", 5};
    assert_true(rs_hstr_eq_nocase(s, "hELLO", 5));
    assert_false(rs_hstr_eq_nocase(s, "hell", 4));
    assert_false(rs_hstr_eq_nocase(s, "hellp", 5));
    struct rs_hstr e = {"", 0};
    assert_true(rs_hstr_eq_nocase(e, "", 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lower_cases_names_and_keeps_values),
        cmocka_unit_test(pseudo_headers_first_in_order),
        cmocka_unit_test(repeated_names_keep_order),
        cmocka_unit_test(remove_all_occurrences),
        cmocka_unit_test(set_replaces_all_or_adds),
        cmocka_unit_test(clone_is_deep),
        cmocka_unit_test(many_and_large_headers),
        cmocka_unit_test(hstr_eq_nocase),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
