#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "proxy/core/decimal.h"

static void matches_printf_at_the_edges(void **state)
{
    (void)state;
    const uint64_t values[] = {0, 1, 9, 10, 99, 100, 200, 503, 4294967295ull, UINT64_MAX};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        char want[RS_DECIMAL_MAX], got[RS_DECIMAL_MAX];
        int n = snprintf(want, sizeof want, "%llu", (unsigned long long)values[i]);
        assert_int_equal(rs_decimal(got, values[i]), (size_t)n);
        assert_string_equal(got, want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(matches_printf_at_the_edges)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
