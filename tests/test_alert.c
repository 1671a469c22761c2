/* Unit tests for the alerts consumer's pure parts: where --since starts reading, and the
 * environment of an --exec command. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "alert.h"

#include <stdlib.h>
#include <string.h>

static const char *start(const char *since)
{
    static char id[ALERT_ID_MAX];
    if (alert_start_id(since, id, sizeof id) < 0)
        return NULL;
    return id;
}

static void since_to_start_id(void **state)
{
    assert_string_equal(start(NULL), "0-0");
    assert_string_equal(start(""), "0-0");
    assert_string_equal(start("$"), "$");
    /* an entry ID: read from it on, so start just before it */
    assert_string_equal(start("1749254400000-5"), "1749254400000-4");
    assert_string_equal(start("1749254400000-0"), "1749254399999-18446744073709551615");
    assert_string_equal(start("0-0"), "0-0");
    assert_string_equal(start("18446744073709551615-18446744073709551615"),
                        "18446744073709551615-18446744073709551614");
    /* a time: the entries written from its first millisecond on */
    assert_string_equal(start("1749254400"), "1749254399999-18446744073709551615");
    assert_string_equal(start("2025-06-07T00:00:00Z"), "1749254399999-18446744073709551615");
    assert_string_equal(start("0"), "0-0");
    static const char *const bad[] = {
        "yesterday", "-1", "1-", "-5", "1-2-3", "1749254400000-x", "1e3", "18446744073709551616-0"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (start(bad[i]))
            fail_msg("accepted --since %s", bad[i]);
}

static void exec_environment(void **state)
{
    char e0[] = "PATH=/bin", e1[] = "BLACKOUT_EVENT=stale", e2[] = "BLACKOUT_EVENTS=kept",
         e3[] = "HOME=/";
    char *env[] = {e0, e1, e2, e3, NULL};
    const char *const pairs[][2] = {
        {"BLACKOUT_EVENT", "country_down"},
        {"BLACKOUT_ROUTE", "*"},
        {"BLACKOUT_CAUSE", NULL}, /* absent: not set */
    };
    char **out = alert_env(env, pairs, 3);
    assert_non_null(out);
    const char *want[] = {"PATH=/bin",        "BLACKOUT_EVENTS=kept",
                          "HOME=/",           "BLACKOUT_EVENT=country_down",
                          "BLACKOUT_ROUTE=*", NULL};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        if (!want[i]) {
            assert_null(out[i]);
            break;
        }
        assert_string_equal(out[i], want[i]);
    }
    free(out);
    out = alert_env(NULL, pairs, 1);
    assert_non_null(out);
    assert_string_equal(out[0], "BLACKOUT_EVENT=country_down");
    assert_null(out[1]);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(since_to_start_id),
        cmocka_unit_test(exec_environment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
