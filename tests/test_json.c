/* Unit tests for the JSON reader: every scalar with its path, escapes and UTF-8, the number
 * grammar, limits, and text that is not JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct seen {
    char text[2048];
    size_t len;
};

/* Records "path=type:value;" per scalar. */
static void visit(void *ctx, const char *path, enum json_type t, const char *val, size_t len)
{
    static const char types[] = "snTFz";
    struct seen *s = ctx;
    int n = snprintf(s->text + s->len, sizeof s->text - s->len, "%s=%c:", path, types[t]);
    assert_true(n > 0 && s->len + (size_t)n + len + 1 < sizeof s->text);
    s->len += (size_t)n;
    memcpy(s->text + s->len, val, len);
    s->len += len;
    s->text[s->len++] = ';';
    s->text[s->len] = '\0';
}

static void count(void *ctx, const char *path, enum json_type t, const char *val, size_t len)
{
    *(size_t *)ctx += len;
}

static int walk(const char *doc, struct seen *s)
{
    memset(s, 0, sizeof *s);
    return json_walk(doc, strlen(doc), visit, s);
}

static void paths_and_values(void **state)
{
    struct seen s;
    assert_int_equal(walk(" {\"type\":\"event\", \"since\": 1749258000, \"r\": -0.5e+2,"
                          "\"evidence\": {\"routes_silent\": 2, \"one_way\": false, \"x\": null,"
                          "\"deep\": {\"a\": true}}, \"list\": [1, \"two\", {\"k\": 3}], "
                          "\"empty\": {}, \"none\": []}\n",
                          &s),
                     0);
    assert_string_equal(s.text, "type=s:event;since=n:1749258000;r=n:-0.5e+2;"
                                "evidence.routes_silent=n:2;evidence.one_way=F:false;"
                                "evidence.x=z:null;evidence.deep.a=T:true;list=n:1;list=s:two;"
                                "list.k=n:3;");
    assert_int_equal(walk("42", &s), 0);
    assert_string_equal(s.text, "=n:42;");
}

static void escapes(void **state)
{
    struct seen s;
    assert_int_equal(
        walk("{\"a\\\"b\":\"q\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\u20ac\\ud83d\\ude00\"}", &s), 0);
    assert_string_equal(s.text, "a\"b=s:q\"\\/\b\f\n\r\t\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80;");
    static const char nul[] = "{\"k\":\"a\\u0000b\"}";
    assert_int_equal(walk(nul, &s), 0);
    assert_int_equal(s.len, strlen("k=s:") + 3 + 1);
}

/* Host names from packets: every byte that could break a line, a terminal or the JSON is
 * escaped; valid UTF-8 passes. */
static void hostile_strings(void **state)
{
    static const char in[] =
        "a\"b\\c\n\r\x1b[31m\x7f\xff\xc0\xaf\xe2\x80\xa8\xe2\x80\xa9\xc3\xa9.kp";
    struct json j;

    json_init(&j);
    json_strn(&j, in, sizeof in - 1);
    assert_true(json_ok(&j));
    assert_string_equal(j.buf, "\"a\\\"b\\\\c\\u000a\\u000d\\u001b[31m\\u007f\\u00ff\\u00c0\\u00af"
                               "\\u2028\\u2029\xc3\xa9.kp\"");
    json_free(&j);
}

static void not_json(void **state)
{
    struct seen s;
    static const char *const bad[] = {
        "",
        "{",
        "{\"a\"}",
        "{\"a\":}",
        "{\"a\":1,}",
        "[1,]",
        "{'a':1}",
        "{\"a\":01}",
        "{\"a\":1.}",
        "{\"a\":.5}",
        "{\"a\":-}",
        "{\"a\":1e}",
        "{\"a\":tru}",
        "{\"a\":\"x}",
        "{\"a\":\"\\x\"}",
        "{\"a\":1} x",
        "\"a\tb\"",
        "\"\\ud83d\"",
        "\"\\ude00\"",
        "\"\\u12g4\"",
        "{\"a\" 1}",
        "nul",
        "[1 2]",
        "{\"a\":1 \"b\":2}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (walk(bad[i], &s) != -1)
            fail_msg("accepted: %s", bad[i]);
}

static void limits(void **state)
{
    struct seen s;
    char deep[64] = "", *p = deep;
    for (int i = 0; i < JSON_DEPTH_MAX; i++)
        *p++ = '[';
    for (int i = 0; i < JSON_DEPTH_MAX; i++)
        *p++ = ']';
    assert_int_equal(walk(deep, &s), 0);
    memmove(deep + 1, deep, strlen(deep) + 1);
    deep[0] = '[';
    memcpy(deep + strlen(deep), "]", 2);
    assert_int_equal(walk(deep, &s), -1);
    char *big = malloc(JSON_STR_MAX + 8);
    assert_non_null(big);
    memset(big, 'x', JSON_STR_MAX + 7);
    big[0] = '"';
    big[JSON_STR_MAX + 6] = '"';
    big[JSON_STR_MAX + 7] = '\0';
    size_t got = 0;
    assert_int_equal(json_walk(big, strlen(big), count, &got), -1);
    big[JSON_STR_MAX] = '"'; /* JSON_STR_MAX - 1 bytes and the terminator */
    assert_int_equal(json_walk(big, JSON_STR_MAX + 1, count, &got), 0);
    assert_int_equal(got, JSON_STR_MAX - 1);
    free(big);
    /* the text is not terminated: nothing is read past n */
    static const char cut[] = "{\"a\":12345}";
    memset(&s, 0, sizeof s);
    assert_int_equal(json_walk(cut, 7, visit, &s), -1);
}

/* What the builder writes, the reader reads. */
static void round_trip(void **state)
{
    struct json j;
    struct seen s;
    json_init(&j);
    json_obj_open(&j);
    json_kstr(&j, "host", "a\"b\\c\x01\xff");
    json_kdouble(&j, "pps", 8.9);
    json_obj_close(&j);
    assert_true(json_ok(&j));
    memset(&s, 0, sizeof s);
    assert_int_equal(json_walk(j.buf, j.len, visit, &s), 0);
    assert_non_null(strstr(s.text, "pps=n:8.9;"));
    assert_non_null(strstr(s.text, "host=s:a\"b\\c\x01"));
    json_free(&j);
}

/* A byte that is not UTF-8 is written as \u00XX and reads back as two bytes, so the
 * writer's escaped string of n such bytes reads back only while 2n fits JSON_STR_MAX (as
 * in tests/fuzz/regress/fuzz_json/escaped-past-str-max, 2403 bytes mostly 0xbf and 0xf0). */
static void escaped_bytes_and_the_limit(void **state)
{
    const size_t fits = JSON_STR_MAX / 2 - 1, over = 2403;
    char *raw = malloc(over);
    struct json j;
    size_t got;

    assert_non_null(raw);
    memset(raw, 0xbf, over);
    for (size_t n = fits; n <= over; n += over - fits) {
        json_init(&j);
        json_strn(&j, raw, n);
        assert_true(json_ok(&j));
        got = 0;
        assert_int_equal(json_walk(j.buf, j.len, count, &got), n == fits ? 0 : -1);
        assert_int_equal(got, n == fits ? 2 * n : 0);
        json_free(&j);
    }
    free(raw);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(paths_and_values),
        cmocka_unit_test(escapes),
        cmocka_unit_test(hostile_strings),
        cmocka_unit_test(not_json),
        cmocka_unit_test(limits),
        cmocka_unit_test(round_trip),
        cmocka_unit_test(escaped_bytes_and_the_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
