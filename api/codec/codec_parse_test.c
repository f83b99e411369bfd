/* Parse side of the codec: every accepted form, every error with its exact message and path,
 * aliases and merge keys, and the memory layout (checked by packing, and by ASan/LSan). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/codec/codec.h"
#include "api/codec/codec_test_util.h"
#include "api/codec/testdata/codec_test.pb-c.h"

typedef Ringside__Codectest__All All;
typedef Ringside__Codectest__Filter Filter;
#define ALL_DESC (&ringside__codectest__all__descriptor)

static char err[512];

static All *parse_ok(const char *yaml)
{
    ProtobufCMessage *m =
        rs_codec_parse_yaml(ALL_DESC, yaml, strlen(yaml), rs_codec_test_lookup, err, sizeof(err));
    if (!m)
        fail_msg("parse failed: %s\ninput:\n%s", err, yaml);
    return (All *)m;
}

static void expect_error(const char *yaml, const char *want)
{
    ProtobufCMessage *m =
        rs_codec_parse_yaml(ALL_DESC, yaml, strlen(yaml), rs_codec_test_lookup, err, sizeof(err));
    if (m) {
        protobuf_c_message_free_unpacked(m, NULL);
        fail_msg("expected error \"%s\" for:\n%s", want, yaml);
    }
    assert_string_equal(err, want);
}

static void free_all(All *m)
{
    protobuf_c_message_free_unpacked(&m->base, NULL);
}

static void test_integers(void **state)
{
    (void)state;
    All *m = parse_ok("i32: -2147483648\n"
                      "i64: \"-9223372036854775808\"\n"
                      "u32: 4294967295\n"
                      "u64: '18446744073709551615'\n"
                      "s32: -5\n"
                      "s64: 1e3\n"
                      "f32: \"7\"\n"
                      "f64: 8.0\n"
                      "sf32: -9\n"
                      "sf64: \"-10\"\n");
    assert_int_equal(m->i32, INT32_MIN);
    assert_true(m->i64 == INT64_MIN);
    assert_int_equal(m->u32, UINT32_MAX);
    assert_true(m->u64 == UINT64_MAX);
    assert_int_equal(m->s32, -5);
    assert_int_equal(m->s64, 1000);
    assert_int_equal(m->f32, 7);
    assert_int_equal(m->f64, 8);
    assert_int_equal(m->sf32, -9);
    assert_int_equal(m->sf64, -10);
    free_all(m);
}

static void test_integer_errors(void **state)
{
    (void)state;
    expect_error("i32: 2147483648", "i32: int32 out of range \"2147483648\"");
    expect_error("u32: -1", "u32: uint32 out of range \"-1\"");
    expect_error("i64: 9223372036854775808", "i64: int64 out of range \"9223372036854775808\"");
    expect_error("u64: 18446744073709551616", "u64: uint64 out of range \"18446744073709551616\"");
    expect_error("i32: 1.5", "i32: invalid int32 \"1.5\"");
    expect_error("sf32: abc", "sf32: invalid sfixed32 \"abc\"");
    expect_error("i32: 0x10", "i32: invalid int32 \"0x10\"");
    expect_error("i32: [1]", "i32: expected int32, got a list");
    expect_error("f64: true", "f64: invalid fixed64 \"true\"");
}

static void test_floats(void **state)
{
    (void)state;
    All *m =
        parse_ok("flt: 1.5\ndbl: \"-2.25e-3\"\nr_dbl: [NaN, Infinity, '-Infinity', .inf, 0.1]\n"
                 "r_flt: [\"NaN\", 3.4028234e38]\n");
    assert_true(m->flt == 1.5f);
    assert_true(m->dbl == -2.25e-3);
    assert_int_equal(m->n_r_dbl, 5);
    assert_true(isnan(m->r_dbl[0]));
    assert_true(isinf(m->r_dbl[1]) && m->r_dbl[1] > 0);
    assert_true(isinf(m->r_dbl[2]) && m->r_dbl[2] < 0);
    assert_true(isinf(m->r_dbl[3]));
    assert_true(m->r_dbl[4] == 0.1);
    assert_true(isnan(m->r_flt[0]));
    assert_true(m->r_flt[1] == 3.4028234e38f);
    free_all(m);
    expect_error("flt: 1e39", "flt: float out of range \"1e39\"");
    expect_error("dbl: 1e400", "dbl: double out of range \"1e400\"");
    expect_error("dbl: abc", "dbl: invalid double \"abc\"");
    expect_error("dbl: inf", "dbl: invalid double \"inf\"");
}

static void test_bools_strings_bytes(void **state)
{
    (void)state;
    All *m = parse_ok("flag: true\nr_bool: [false, True, TRUE]\nstr: héllo \"wörld\"\n"
                      "r_str: [plain, 'single', \"dou\\tble\", 123, \"\"]\n"
                      "raw: aGVsbG8=\nr_bytes: [\"-_-_\", aGVsbG8, '', '+/+/']\n");
    assert_true(m->flag);
    assert_int_equal(m->n_r_bool, 3);
    assert_false(m->r_bool[0]);
    assert_true(m->r_bool[1] && m->r_bool[2]);
    assert_string_equal(m->str, "héllo \"wörld\"");
    assert_int_equal(m->n_r_str, 5);
    assert_string_equal(m->r_str[2], "dou\tble");
    assert_string_equal(m->r_str[3], "123");
    assert_string_equal(m->r_str[4], "");
    assert_int_equal(m->raw.len, 5);
    assert_memory_equal(m->raw.data, "hello", 5);
    assert_int_equal(m->n_r_bytes, 4);
    assert_int_equal(m->r_bytes[0].len, 3);
    assert_memory_equal(m->r_bytes[0].data, "\xfb\xff\xbf", 3);
    assert_memory_equal(m->r_bytes[0].data, m->r_bytes[3].data, 3);
    assert_int_equal(m->r_bytes[1].len, 5);
    assert_int_equal(m->r_bytes[2].len, 0);
    free_all(m);
    expect_error("flag: yes", "flag: invalid bool \"yes\"");
    expect_error("flag: \"true\"", "flag: invalid bool \"true\"");
    expect_error("flag: 1", "flag: invalid bool \"1\"");
    expect_error("raw: \"!!!!\"", "raw: invalid base64 \"!!!!\"");
    expect_error("raw: abcde", "raw: invalid base64 \"abcde\"");
    expect_error("str: \"a\\0b\"", "str: string contains a NUL character");
    expect_error("str: {a: b}", "str: expected string, got a mapping");
}

static void test_enums(void **state)
{
    (void)state;
    All *m = parse_ok("color: BLUE\nr_color: [RED, 2, \"-1\", NEGATIVE, 42]\n");
    assert_int_equal(m->color, RINGSIDE__CODECTEST__COLOR__BLUE);
    assert_int_equal(m->n_r_color, 5);
    assert_int_equal(m->r_color[0], RINGSIDE__CODECTEST__COLOR__RED);
    assert_int_equal(m->r_color[1], RINGSIDE__CODECTEST__COLOR__GREEN);
    assert_int_equal(m->r_color[2], -1);
    assert_int_equal(m->r_color[3], -1);
    assert_int_equal(m->r_color[4], 42); /* proto3 enums are open */
    free_all(m);
    expect_error("color: PURPLE",
                 "color: unknown value \"PURPLE\" for enum ringside.codectest.Color");
    expect_error("color: red", "color: unknown value \"red\" for enum ringside.codectest.Color");
    expect_error("r_color: [RED, 1.5]", "r_color[1]: invalid enum number \"1.5\"");
}

static void test_names_unknown_duplicates_null(void **state)
{
    (void)state;
    All *m = parse_ok("rI32: [1, 2]\ncreatedAt: \"1970-01-01T00:00:01Z\"\nwDouble: 2\n"
                      "nested: {name: n, value: 3}\nstr: null\nempty: {}\nrecursive: ~\n");
    assert_int_equal(m->n_r_i32, 2);
    assert_int_equal(m->created_at->seconds, 1);
    assert_true(m->w_double->value == 2);
    assert_string_equal(m->nested->name, "n");
    assert_int_equal(m->nested->value, 3);
    assert_string_equal(m->str, ""); /* null = unset: the default, not an allocation */
    assert_ptr_equal(m->str, protobuf_c_empty_string);
    assert_non_null(m->empty);
    assert_null(m->recursive);
    free_all(m);
    expect_error("foo: 1", "unknown field \"foo\"");
    expect_error("nested: {nope: 1}", "nested: unknown field \"nope\"");
    expect_error("str: a\nstr: b", "duplicate key \"str\"");
    expect_error("r_i32: [1]\nrI32: [2]", "duplicate key \"rI32\"");
    expect_error("RI32: [1]", "unknown field \"RI32\"");
    expect_error("nested: [1]",
                 "nested: expected a mapping for ringside.codectest.Nested, got a list");
    expect_error("? [a]\n: 1", "mapping keys must be scalars");
}

static void test_repeated(void **state)
{
    (void)state;
    All *m = parse_ok("r_nested:\n  - name: a\n  - {name: b, children: [{name: c}]}\n"
                      "r_i32: []\nr_str: null\n");
    assert_int_equal(m->n_r_nested, 2);
    assert_string_equal(m->r_nested[1]->children[0]->name, "c");
    assert_int_equal(m->n_r_i32, 0);
    assert_null(m->r_i32);
    assert_int_equal(m->n_r_str, 0);
    free_all(m);
    expect_error("r_i32: 5", "r_i32: expected a list, got a scalar");
    expect_error("r_i32: [1, null]", "r_i32[1]: null is not allowed in a list");
    expect_error("r_nested: [{value: 1}, {value: x}]", "r_nested[1].value: invalid int32 \"x\"");
    expect_error("r_nested: [{children: [{}, {}, {children: [{bad: 1}]}]}]",
                 "r_nested[0].children[2].children[0]: unknown field \"bad\"");
}

static void test_maps(void **state)
{
    (void)state;
    All *m = parse_ok("labels: {app: web, \"tier\": back end}\n"
                      "by_id: {\"1\": {name: one}, 2: {name: two}, -3: {}}\n"
                      "by_flag: {true: yes, \"false\": no}\n"
                      "by_u64: {\"18446744073709551615\": \"-5\"}\n");
    assert_int_equal(m->n_labels, 2);
    assert_string_equal(m->labels[0]->key, "app");
    assert_string_equal(m->labels[0]->value, "web");
    assert_string_equal(m->labels[1]->key, "tier");
    assert_string_equal(m->labels[1]->value, "back end");
    assert_int_equal(m->n_by_id, 3);
    assert_int_equal(m->by_id[0]->key, 1);
    assert_string_equal(m->by_id[1]->value->name, "two");
    assert_int_equal(m->by_id[2]->key, -3);
    assert_non_null(m->by_id[2]->value);
    assert_true(m->by_flag[0]->key);
    assert_string_equal(m->by_flag[0]->value, "yes");
    assert_false(m->by_flag[1]->key);
    assert_true(m->by_u64[0]->key == UINT64_MAX);
    assert_int_equal(m->by_u64[0]->value, -5);
    free_all(m);
    expect_error("labels: {k: {a: b}}", "labels[\"k\"]: expected string, got a mapping");
    expect_error("labels: {k: null}", "labels[\"k\"]: map values cannot be null");
    expect_error("labels: [a]", "labels: expected a mapping, got a list");
    expect_error("labels: {a: x, a: y}", "labels: duplicate key \"a\"");
    expect_error("by_id: {x: {}}", "by_id[\"x\"]: invalid int32 \"x\"");
    expect_error("by_id: {1: {}, 01: {}}", "by_id: duplicate key \"01\"");
    expect_error("by_id: {7: {value: z}}", "by_id[\"7\"].value: invalid int32 \"z\"");
    expect_error("by_flag: {maybe: x}", "by_flag[\"maybe\"]: invalid bool \"maybe\"");
    expect_error("labels: {\"we\\\"ird\": {}}",
                 "labels[\"we\\\"ird\"]: expected string, got a mapping");
}

static void test_oneof(void **state)
{
    (void)state;
    All *m = parse_ok("choice_str: hi");
    assert_int_equal(m->choice_case, RINGSIDE__CODECTEST__ALL__CHOICE_CHOICE_STR);
    assert_string_equal(m->choice_str, "hi");
    free_all(m);
    m = parse_ok("choiceMsg: {name: x}\nchoice_int: null");
    assert_int_equal(m->choice_case, RINGSIDE__CODECTEST__ALL__CHOICE_CHOICE_MSG);
    assert_string_equal(m->choice_msg->name, "x");
    free_all(m);
    m = parse_ok("choice_value: null");
    assert_int_equal(m->choice_case, RINGSIDE__CODECTEST__ALL__CHOICE_CHOICE_VALUE);
    assert_int_equal(m->choice_value->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE);
    free_all(m);
    m = parse_ok("choice_bytes: ''");
    assert_int_equal(m->choice_case, RINGSIDE__CODECTEST__ALL__CHOICE_CHOICE_BYTES);
    assert_int_equal(m->choice_bytes.len, 0);
    free_all(m);
    expect_error("choice_str: a\nchoice_int: 1",
                 "choice_int: oneof already set by field \"choice_str\"");
    expect_error("choice_msg: {}\nchoice_str: a",
                 "choice_str: oneof already set by field \"choice_msg\"");
}

static void test_duration_timestamp(void **state)
{
    (void)state;
    All *m = parse_ok("timeout: 1.5s\nr_durations: [\"-0.001s\", 300s, 0.000000001s, 0s, -2.5s]\n"
                      "created_at: \"1972-01-01T10:00:20.021Z\"\n");
    assert_int_equal(m->timeout->seconds, 1);
    assert_int_equal(m->timeout->nanos, 500000000);
    assert_int_equal(m->r_durations[0]->seconds, 0);
    assert_int_equal(m->r_durations[0]->nanos, -1000000);
    assert_int_equal(m->r_durations[1]->seconds, 300);
    assert_int_equal(m->r_durations[2]->nanos, 1);
    assert_int_equal(m->r_durations[4]->seconds, -2);
    assert_int_equal(m->r_durations[4]->nanos, -500000000);
    assert_int_equal(m->created_at->seconds, 63108020);
    assert_int_equal(m->created_at->nanos, 21000000);
    free_all(m);
    m = parse_ok("timeout: 0000000000000001.5s");
    assert_int_equal(m->timeout->seconds, 1);
    free_all(m);
    m = parse_ok("created_at: 2017-01-15T01:30:15.01-08:00");
    assert_int_equal(m->created_at->seconds, 1484472615);
    assert_int_equal(m->created_at->nanos, 10000000);
    free_all(m);
    m = parse_ok("created_at: 0001-01-01T00:00:00Z");
    assert_true(m->created_at->seconds == -62135596800LL);
    free_all(m);
    expect_error("timeout: 5 seconds", "timeout: invalid duration \"5 seconds\"");
    expect_error("timeout: 5", "timeout: invalid duration \"5\"");
    expect_error("timeout: 1.0000000001s", "timeout: invalid duration \"1.0000000001s\"");
    expect_error("timeout: +1s", "timeout: invalid duration \"+1s\"");
    expect_error("timeout: 315576000001s", "timeout: duration out of range \"315576000001s\"");
    expect_error("timeout: {seconds: 1}", "timeout: expected a duration string, got a mapping");
    expect_error("created_at: 2017-13-01T00:00:00Z",
                 "created_at: invalid timestamp \"2017-13-01T00:00:00Z\"");
    expect_error("created_at: 2019-02-29T00:00:00Z",
                 "created_at: invalid timestamp \"2019-02-29T00:00:00Z\"");
    expect_error("created_at: 2017-01-01", "created_at: invalid timestamp \"2017-01-01\"");
}

static void test_wrappers(void **state)
{
    (void)state;
    All *m = parse_ok(
        "w_double: 1.5\nw_float: \"NaN\"\nw_int64: \"-123\"\nw_uint64: 18446744073709551615\n"
        "w_int32: 0\nw_uint32: 7\nw_bool: false\nw_string: ''\nw_bytes: AQID\n");
    assert_true(m->w_double->value == 1.5);
    assert_true(isnan(m->w_float->value));
    assert_int_equal(m->w_int64->value, -123);
    assert_true(m->w_uint64->value == UINT64_MAX);
    assert_non_null(m->w_int32); /* present with the default value: that is what wrappers are for */
    assert_int_equal(m->w_int32->value, 0);
    assert_int_equal(m->w_uint32->value, 7);
    assert_non_null(m->w_bool);
    assert_false(m->w_bool->value);
    assert_string_equal(m->w_string->value, "");
    assert_int_equal(m->w_bytes->value.len, 3);
    free_all(m);
    expect_error("w_uint32: -1", "w_uint32: uint32 out of range \"-1\"");
    expect_error("w_bool: {value: true}", "w_bool: expected bool, got a mapping");
}

static void test_struct_value_list(void **state)
{
    (void)state;
    All *m = parse_ok("metadata:\n  num: 1.5\n  flag: true\n  nothing: null\n  text: hello\n"
                      "  quoted: \"12\"\n  list: [1, a, [], {}]\n  obj: {x: {y: z}}\n"
                      "any_value: 5\nlist: [null, false]\nvalues: {a: null}\n");
    Google__Protobuf__Struct *s = m->metadata;
    assert_int_equal(s->n_fields, 7);
    assert_string_equal(s->fields[0]->key, "num");
    assert_int_equal(s->fields[0]->value->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE);
    assert_true(s->fields[0]->value->number_value == 1.5);
    assert_int_equal(s->fields[1]->value->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_BOOL_VALUE);
    assert_int_equal(s->fields[2]->value->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE);
    assert_string_equal(s->fields[3]->value->string_value, "hello");
    assert_int_equal(s->fields[4]->value->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE);
    assert_string_equal(s->fields[4]->value->string_value, "12");
    assert_int_equal(s->fields[5]->value->list_value->n_values, 4);
    assert_int_equal(s->fields[5]->value->list_value->values[3]->kind_case,
                     GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE);
    assert_string_equal(s->fields[6]
                            ->value->struct_value->fields[0]
                            ->value->struct_value->fields[0]
                            ->value->string_value,
                        "z");
    assert_true(m->any_value->number_value == 5);
    assert_int_equal(m->list->n_values, 2);
    assert_int_equal(m->list->values[0]->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE);
    assert_int_equal(m->values[0]->value->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE);
    free_all(m);
    expect_error("metadata: {a: {b: [1, 1e999]}}",
                 "metadata[\"a\"][\"b\"][1]: number out of range \"1e999\"");
    expect_error("metadata: {a: 1, a: 2}", "metadata: duplicate key \"a\"");
    expect_error("metadata: [1]", "metadata: expected a mapping, got a list");
    expect_error("list: {a: 1}", "list: expected a list, got a mapping");
}

static void test_any(void **state)
{
    (void)state;
    All *m =
        parse_ok("typed_config:\n"
                 "  \"@type\": type.googleapis.com/ringside.codectest.Filter\n"
                 "  stat_prefix: ingress\n"
                 "  cluster: {name: backend}\n"
                 "  idleTimeout: 2s\n"
                 "  inner: {\"@type\": type.googleapis.com/google.protobuf.Duration, value: 3s}\n"
                 "typed_list:\n"
                 "  - {\"@type\": type.googleapis.com/google.protobuf.StringValue, value: x}\n"
                 "  - {}\n"
                 "  - {\"@type\": type.googleapis.com/google.protobuf.Empty}\n");
    assert_string_equal(m->typed_config->type_url, "type.googleapis.com/ringside.codectest.Filter");
    Filter *f = ringside__codectest__filter__unpack(NULL, m->typed_config->value.len,
                                                    m->typed_config->value.data);
    assert_non_null(f);
    assert_string_equal(f->stat_prefix, "ingress");
    assert_string_equal(f->cluster->name, "backend");
    assert_int_equal(f->idle_timeout->seconds, 2);
    assert_string_equal(f->inner->type_url, "type.googleapis.com/google.protobuf.Duration");
    Google__Protobuf__Duration *d =
        google__protobuf__duration__unpack(NULL, f->inner->value.len, f->inner->value.data);
    assert_int_equal(d->seconds, 3);
    google__protobuf__duration__free_unpacked(d, NULL);
    ringside__codectest__filter__free_unpacked(f, NULL);
    assert_int_equal(m->n_typed_list, 3);
    Google__Protobuf__StringValue *sv = google__protobuf__string_value__unpack(
        NULL, m->typed_list[0]->value.len, m->typed_list[0]->value.data);
    assert_string_equal(sv->value, "x");
    google__protobuf__string_value__free_unpacked(sv, NULL);
    assert_string_equal(m->typed_list[1]->type_url, "");
    assert_string_equal(m->typed_list[2]->type_url, "type.googleapis.com/google.protobuf.Empty");
    assert_int_equal(m->typed_list[2]->value.len, 0);
    free_all(m);

    expect_error("typed_config: {\"@type\": type.googleapis.com/foo.Bar, x: 1}",
                 "typed_config: unknown Any type \"type.googleapis.com/foo.Bar\"");
    expect_error("typed_config: {stat_prefix: x}", "typed_config: Any is missing \"@type\"");
    expect_error("typed_config: {\"@type\": type.googleapis.com/ringside.codectest.Filter, "
                 "cluster: {value: x}}",
                 "typed_config.cluster.value: invalid int32 \"x\"");
    expect_error("typed_config: {\"@type\": type.googleapis.com/ringside.codectest.Filter, "
                 "headers: {h: [1]}}",
                 "typed_config.headers[\"h\"]: expected string, got a list");
    expect_error("typed_config: {\"@type\": type.googleapis.com/ringside.codectest.Filter, "
                 "inner: {\"@type\": type.googleapis.com/google.protobuf.Duration, value: 3}}",
                 "typed_config.inner.value: invalid duration \"3\"");
    expect_error("typed_config: {\"@type\": type.googleapis.com/google.protobuf.Duration, v: 3s}",
                 "typed_config: unknown field \"v\"");
    expect_error("typed_list: [{}, {\"@type\": type.googleapis.com/ringside.codectest.Filter, "
                 "nope: 1}]",
                 "typed_list[1]: unknown field \"nope\"");

    /* Without a lookup every Any is unknown. */
    const char *y = "typed_config: {\"@type\": type.googleapis.com/ringside.codectest.Filter}";
    assert_null(rs_codec_parse_yaml(ALL_DESC, y, strlen(y), NULL, err, sizeof(err)));
    assert_string_equal(
        err, "typed_config: unknown Any type \"type.googleapis.com/ringside.codectest.Filter\"");
}

static void test_aliases_and_merge(void **state)
{
    (void)state;
    All *m = parse_ok("nested: &n {name: shared, value: 7}\n"
                      "r_nested: [*n, *n, {<<: *n, value: 8}]\n"
                      "labels: &l {a: '1', b: '2'}\n"
                      "by_id:\n"
                      "  1: &base {name: base, color: RED}\n"
                      "  2:\n"
                      "    <<: [*base, {value: 9, name: other}]\n"
                      "    color: BLUE\n"
                      "str: &s text\n"
                      "r_str: [*s, *s]\n");
    assert_string_equal(m->nested->name, "shared");
    assert_int_equal(m->n_r_nested, 3);
    assert_ptr_not_equal(m->r_nested[0], m->r_nested[1]); /* aliases are copied, not shared */
    assert_int_equal(m->r_nested[1]->value, 7);
    assert_string_equal(m->r_nested[2]->name, "shared");
    assert_int_equal(m->r_nested[2]->value, 8);
    assert_string_equal(m->by_id[1]->value->name, "base"); /* first merged mapping wins */
    assert_int_equal(m->by_id[1]->value->value, 9);
    assert_int_equal(m->by_id[1]->value->color, RINGSIDE__CODECTEST__COLOR__BLUE);
    assert_string_equal(m->r_str[1], "text");
    free_all(m);
    expect_error("nested: &a {children: [*a]}", "yaml: line 1, column 24: recursive alias *a");
    expect_error("nested: *nope", "yaml: line 1, column 9: unknown anchor *nope");
    expect_error("nested: {<<: 5}", "yaml: line 1, column 14: merge key (<<) value must be a "
                                    "mapping or a sequence of mappings");
    expect_error("nested: {\"<<\": {name: a}}", "nested: unknown field \"<<\"");
    expect_error("a: &x {name: n}\nnested: {<<: *x, value: q}", "unknown field \"a\"");
}

static void test_yaml_level_errors(void **state)
{
    (void)state;
    expect_error("str: a\n---\nstr: b\n",
                 "yaml: line 2, column 1: multiple YAML documents are not supported");
    expect_error("", "empty document");
    expect_error("# only a comment\n", "empty document");
    expect_error("- a\n- b\n", "expected a mapping for ringside.codectest.All, got a list");
    expect_error("str: [unclosed",
                 "yaml: line 2, column 1: did not find expected ',' or ']' while parsing a flow "
                 "sequence");
    expect_error("str: a\n  bad: indent\n",
                 "yaml: line 2, column 6: mapping values are not allowed in this context");
}

static void test_json_input(void **state)
{
    (void)state;
    All *m =
        parse_ok("{\n  \"i32\": 5,\n  \"rStr\": [\"a\", \"b\"],\n  \"nested\": {\"name\": \"x\"},\n"
                 "  \"str\": \"esc\\u00e9\\n\\\"\",\n  \"flag\": false,\n  \"u64\": \"12\",\n"
                 "  \"metadata\": {\"k\": [1, \"2\", null, true]}\n}\n");
    assert_int_equal(m->i32, 5);
    assert_int_equal(m->n_r_str, 2);
    assert_string_equal(m->nested->name, "x");
    assert_string_equal(m->str, "esc\xc3\xa9\n\"");
    assert_int_equal(m->u64, 12);
    assert_int_equal(m->metadata->fields[0]->value->list_value->values[1]->kind_case,
                     GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE);
    free_all(m);
}

static void test_limits(void **state)
{
    (void)state;
    /* 150 levels of nesting: over the limit, rejected without blowing the stack. */
    char *deep = malloc(150 * 14 + 16);
    size_t o = 0;
    for (int i = 0; i < 150; i++)
        o += (size_t)sprintf(deep + o, "{recursive: ");
    o += (size_t)sprintf(deep + o, "{}");
    for (int i = 0; i < 150; i++)
        deep[o++] = '}';
    deep[o] = '\0';
    ProtobufCMessage *m =
        rs_codec_parse_yaml(ALL_DESC, deep, o, rs_codec_test_lookup, err, sizeof(err));
    assert_null(m);
    assert_non_null(strstr(err, "nesting deeper than 100 levels"));
    assert_int_equal(strncmp(err, "recursive.recursive.recursive.", 30), 0);
    free(deep);

    /* "Billion laughs": nine levels of ten aliases each would be 10^9 values. */
    const char *laughs = "metadata:\n"
                         "  a: &a [x, x, x, x, x, x, x, x, x, x]\n"
                         "  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                         "  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                         "  d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                         "  e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                         "  f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
                         "  g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
                         "  h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
                         "  i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]\n";
    m = rs_codec_parse_yaml(ALL_DESC, laughs, strlen(laughs), rs_codec_test_lookup, err,
                            sizeof(err));
    assert_null(m);
    assert_non_null(strstr(err, "document too large after alias expansion"));

    /* A tiny error buffer truncates but never overflows; NULL err is allowed. */
    char small[8];
    memset(small, 'x', sizeof(small));
    assert_null(rs_codec_parse_yaml(ALL_DESC, "foo: 1", 6, NULL, small, 5));
    assert_string_equal(small, "unkn");
    assert_int_equal(small[5], 'x');
    assert_null(rs_codec_parse_yaml(ALL_DESC, "foo: 1", 6, NULL, NULL, 0));
}

static void test_field_mask_and_null_enum(void **state)
{
    (void)state;
    All *m = parse_ok("mask: \"fooBar,baz.quxQuux\"\nnull_field: null\n");
    assert_int_equal(m->mask->n_paths, 2);
    assert_string_equal(m->mask->paths[0], "foo_bar");
    assert_string_equal(m->mask->paths[1], "baz.qux_quux");
    assert_int_equal(m->null_field, 0);
    free_all(m);
    expect_error("mask: foo_bar",
                 "mask: invalid field mask (paths must be lowerCamelCase) \"foo_bar\"");
    expect_error("mask: [a]", "mask: expected a field mask string, got a list");
}

/* The parsed message must pack to the same bytes as the same message built by hand. */
static void test_wire_layout(void **state)
{
    (void)state;
    All *m = parse_ok("i32: -1\nstr: s\nraw: AQ==\nnested: {name: n}\nr_i32: [1, 2]\n"
                      "labels: {k: v}\nchoice_str: c\ntimeout: 1.5s\nw_bool: false\n");
    All want = RINGSIDE__CODECTEST__ALL__INIT;
    Ringside__Codectest__Nested nested = RINGSIDE__CODECTEST__NESTED__INIT;
    Ringside__Codectest__All__LabelsEntry label = RINGSIDE__CODECTEST__ALL__LABELS_ENTRY__INIT;
    Ringside__Codectest__All__LabelsEntry *labels[] = {&label};
    Google__Protobuf__Duration timeout = GOOGLE__PROTOBUF__DURATION__INIT;
    Google__Protobuf__BoolValue wbool = GOOGLE__PROTOBUF__BOOL_VALUE__INIT;
    int32_t ints[] = {1, 2};
    uint8_t one = 1;
    want.i32 = -1;
    want.str = "s";
    want.raw.len = 1;
    want.raw.data = &one;
    nested.name = "n";
    want.nested = &nested;
    want.n_r_i32 = 2;
    want.r_i32 = ints;
    label.key = "k";
    label.value = "v";
    want.n_labels = 1;
    want.labels = labels;
    want.choice_case = RINGSIDE__CODECTEST__ALL__CHOICE_CHOICE_STR;
    want.choice_str = "c";
    timeout.seconds = 1;
    timeout.nanos = 500000000;
    want.timeout = &timeout;
    want.w_bool = &wbool;
    size_t got_len, want_len;
    uint8_t *got_buf = rs_codec_test_pack(&m->base, &got_len);
    uint8_t *want_buf = rs_codec_test_pack(&want.base, &want_len);
    assert_int_equal(got_len, want_len);
    assert_memory_equal(got_buf, want_buf, want_len);
    free(got_buf);
    free(want_buf);
    free_all(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_integer_errors),
        cmocka_unit_test(test_floats),
        cmocka_unit_test(test_bools_strings_bytes),
        cmocka_unit_test(test_enums),
        cmocka_unit_test(test_names_unknown_duplicates_null),
        cmocka_unit_test(test_repeated),
        cmocka_unit_test(test_maps),
        cmocka_unit_test(test_oneof),
        cmocka_unit_test(test_duration_timestamp),
        cmocka_unit_test(test_wrappers),
        cmocka_unit_test(test_struct_value_list),
        cmocka_unit_test(test_any),
        cmocka_unit_test(test_aliases_and_merge),
        cmocka_unit_test(test_yaml_level_errors),
        cmocka_unit_test(test_json_input),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_field_mask_and_null_enum),
        cmocka_unit_test(test_wire_layout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
