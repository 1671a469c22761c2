/* Unit tests for the receive-offload helpers that need no interface of their own (the veth
 * test tests/it_live_encap.sh turns GRO off and on for real). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "offload.h"

#include <string.h>

static void ethtool_arguments(void **state)
{
    char buf[32];

    assert_string_equal(offload_args(OFFLOAD_GRO, false, buf, sizeof buf), "gro off");
    assert_string_equal(offload_args(OFFLOAD_LRO, true, buf, sizeof buf), "lro on");
    assert_string_equal(offload_args(OFFLOAD_GRO | OFFLOAD_LRO, false, buf, sizeof buf),
                        "gro off lro off");
    assert_string_equal(offload_args(0, true, buf, sizeof buf), "");
}

/* An interface that does not exist has no offloads to warn about; changing them fails
 * with one line naming it. */
static void missing_interface(void **state)
{
    char err[256] = "";
    unsigned on = 99;

    assert_int_equal(offload_get("blackout-nosuch0", &on, err, sizeof err), 0);
    assert_int_equal(on, 0);
    assert_int_equal(offload_set("blackout-nosuch0", OFFLOAD_GRO, false, err, sizeof err), -1);
    assert_non_null(strstr(err, "blackout-nosuch0: cannot turn gro off: "));
    assert_null(strchr(err, '\n'));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ethtool_arguments),
        cmocka_unit_test(missing_interface),
    };
    return cmocka_run_group_tests_name("offload", tests, NULL, NULL);
}
