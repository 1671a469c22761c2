/* Unit tests for the replay progress line: the text of a line (known and unknown total, the
 * last line, units, truncation), byte accounting across files, how rarely the clock is
 * read, and that nothing is printed when it is off. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_format_known_total(void **state)
{
    char buf[PROGRESS_LINE_MAX];
    struct progress_view v = {
        .bytes = 256u << 20, .total = 1024u << 20, .packets = 1234567, .elapsed_ms = 2000};
    size_t n = progress_format(buf, sizeof buf, &v);
    assert_int_equal(n, strlen(buf));
    /* a quarter in 2 s: three quarters left take 6 s */
    assert_string_equal(buf, "replay  25%  256.0 MiB of 1.0 GiB  1,234,567 packets  617,284 pkt/s"
                             "  ETA 6 s");
}

static void test_format_unknown_total(void **state)
{
    char buf[PROGRESS_LINE_MAX];
    struct progress_view v = {.bytes = 1500, .packets = 10, .elapsed_ms = 0};
    progress_format(buf, sizeof buf, &v);
    assert_string_equal(buf, "replay  1.5 KiB  10 packets");
    v.elapsed_ms = 500;
    progress_format(buf, sizeof buf, &v);
    assert_string_equal(buf, "replay  1.5 KiB  10 packets  20 pkt/s");
}

static void test_format_done_and_durations(void **state)
{
    char buf[PROGRESS_LINE_MAX];
    struct progress_view v = {.bytes = 100, .total = 100, .packets = 3, .elapsed_ms = 1500};
    v.done = true;
    progress_format(buf, sizeof buf, &v);
    assert_string_equal(buf, "replay 100%  100 B of 100 B  3 packets  2 pkt/s  in 1.5 s");
    /* minutes, then hours */
    v = (struct progress_view){.bytes = 1, .total = 200, .packets = 1, .elapsed_ms = 1000};
    progress_format(buf, sizeof buf, &v);
    assert_non_null(strstr(buf, "ETA 3 min 19 s"));
    v.total = 4000;
    progress_format(buf, sizeof buf, &v);
    assert_non_null(strstr(buf, "ETA 1 h 06 min"));
    /* past the total (a file that grew): 100%, no ETA */
    v.bytes = 5000;
    progress_format(buf, sizeof buf, &v);
    assert_non_null(strstr(buf, "100%"));
    assert_null(strstr(buf, "ETA"));
}

static void test_format_truncates(void **state)
{
    char buf[12];
    struct progress_view v = {.bytes = 1u << 30, .total = 2u << 30, .packets = 999999999};
    size_t n = progress_format(buf, sizeof buf, &v);
    assert_int_equal(n, sizeof buf - 1);
    assert_int_equal(strlen(buf), sizeof buf - 1);
    assert_int_equal(progress_format(buf, 0, &v), 0);
}

/* Bytes come from the reader's offset when it knows it, else from the records counted. */
static void test_bytes_across_files(void **state)
{
    struct progress p;
    progress_init(&p, false, stderr, 0);
    for (int i = 0; i < 10; i++)
        progress_packet(&p, 84); /* 100 bytes per record with its header */
    progress_file_done(&p, 0);
    assert_int_equal(p.bytes_files, 1000);
    progress_packet(&p, 84);
    progress_file_done(&p, 5000); /* the reader knew its position */
    assert_int_equal(p.bytes_files, 6000);
    assert_int_equal(p.packets, 11);
}

static void test_off_is_silent_and_never_due(void **state)
{
    char out[256] = "";
    FILE *f = fmemopen(out, sizeof out, "w");
    assert_non_null(f);
    struct progress p;
    progress_init(&p, false, f, 1000);
    for (int i = 0; i < 200000; i++)
        assert_false(progress_packet(&p, 60));
    progress_check(&p, 0);
    progress_finish(&p, 0);
    fclose(f);
    assert_string_equal(out, "");
}

/* When on, the clock is read once per step packets, not per packet; the last line starts
 * with '\r' and ends with a newline. */
static void test_on_checks_rarely_and_finishes_line(void **state)
{
    static char out[65536];
    FILE *f = fmemopen(out, sizeof out, "w");
    assert_non_null(f);
    struct progress p;
    progress_init(&p, true, f, 0);
    unsigned due = 0;
    for (int i = 0; i < 100000; i++)
        if (progress_packet(&p, 60)) {
            due++;
            progress_check(&p, 0);
        }
    assert_true(due <= 100000 / PROGRESS_STEP_MIN);
    assert_true(p.step >= PROGRESS_STEP_MIN && p.step <= PROGRESS_STEP_MAX);
    progress_finish(&p, 0);
    fclose(f);
    size_t n = strlen(out);
    assert_true(n > 2);
    assert_int_equal(out[n - 1], '\n');
    const char *last = strrchr(out, '\r');
    assert_non_null(last);
    assert_non_null(strstr(last, "100,000 packets"));
    assert_non_null(strstr(last, "in "));
}

static void test_total_of_files(void **state)
{
    char path[] = "/tmp/blackout-progress-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "0123456789", 10), 10);
    close(fd);
    char *two[] = {path, path};
    assert_int_equal(progress_total(two, 2), 20);
    char *with_stdin[] = {path, (char *)"-"};
    assert_int_equal(progress_total(with_stdin, 2), 0);
    char *not_regular[] = {(char *)"/dev/null"};
    assert_int_equal(progress_total(not_regular, 1), 0);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_known_total),
        cmocka_unit_test(test_format_unknown_total),
        cmocka_unit_test(test_format_done_and_durations),
        cmocka_unit_test(test_format_truncates),
        cmocka_unit_test(test_bytes_across_files),
        cmocka_unit_test(test_off_is_silent_and_never_due),
        cmocka_unit_test(test_on_checks_rarely_and_finishes_line),
        cmocka_unit_test(test_total_of_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
