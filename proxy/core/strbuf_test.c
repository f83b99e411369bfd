#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "proxy/core/strbuf.h"

static void appends_and_formats(void **state)
{
    (void)state;
    struct rs_strbuf sb = RS_STRBUF_INIT;
    rs_strbuf_puts(&sb, "a");
    rs_strbuf_printf(&sb, "%d-%s", 42, "x");
    assert_string_equal(sb.data, "a42-x");
    assert_int_equal(sb.len, 5);
    for (int i = 0; i < 1000; i++)
        rs_strbuf_puts(&sb, "0123456789");
    assert_int_equal(sb.len, 10005);
    rs_strbuf_reset(&sb);
    assert_string_equal(sb.data, "");
    rs_strbuf_free(&sb);
}

static void json_escapes(void **state)
{
    (void)state;
    struct rs_strbuf sb = RS_STRBUF_INIT;
    rs_strbuf_json_string(&sb, "q\"b\\n\n\x01\xc3\xa9");
    assert_string_equal(sb.data, "\"q\\\"b\\\\n\\n\\u0001\xc3\xa9\"");
    char *taken = rs_strbuf_take(&sb);
    assert_null(sb.data);
    free(taken);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(appends_and_formats),
        cmocka_unit_test(json_escapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
