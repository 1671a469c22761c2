/* Unit tests for the classic-pcap reader: both byte orders, nanosecond timestamps, records
 * across block boundaries, a header cut short, corrupt lengths, and what goes to libpcap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pcapfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char errbuf[256];

static void put32(FILE *f, uint32_t v, bool swap)
{
    if (swap)
        v = __builtin_bswap32(v);
    fwrite(&v, 4, 1, f);
}

/* Writes a pcap file of n records of `size` bytes each; returns its path. */
static char *make_file(uint32_t magic, bool swap, uint32_t linktype, unsigned n, uint32_t size)
{
    char *path = strdup("/tmp/blackout-pcapfile-XXXXXX");
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "wb");
    uint8_t *data = calloc(1, size ? size : 1);
    put32(f, magic, swap);
    put32(f, 2 | 4u << 16, swap); /* version, written as one word */
    put32(f, 0, swap);
    put32(f, 0, swap);
    put32(f, 262144, swap);
    put32(f, linktype, swap);
    for (unsigned i = 0; i < n; i++) {
        put32(f, 1749254400 + i, swap);
        put32(f, magic == 0xa1b23c4du ? 123456789u : 123456u, swap);
        put32(f, size, swap);
        put32(f, size + 4, swap);
        data[0] = (uint8_t)i;
        fwrite(data, 1, size, f);
    }
    fclose(f);
    free(data);
    return path;
}

static void read_all(const char *path, unsigned want, uint32_t size, uint32_t usec)
{
    struct pcapfile_record r;
    uint32_t lt;
    bool other;
    struct pcapfile *f = pcapfile_open(path, &lt, &other, errbuf, sizeof errbuf);
    assert_non_null(f);
    assert_int_equal(lt, 1);
    for (unsigned i = 0; i < want; i++) {
        assert_int_equal(pcapfile_next(f, &r, errbuf, sizeof errbuf), 1);
        assert_int_equal(r.ts_sec, 1749254400 + i);
        assert_int_equal(r.ts_usec, usec);
        assert_int_equal(r.caplen, size);
        assert_int_equal(r.len, size + 4);
        assert_int_equal(r.data[0], (uint8_t)i);
    }
    assert_int_equal(pcapfile_next(f, &r, errbuf, sizeof errbuf), 0);
    assert_int_equal(pcapfile_offset(f), pcapfile_size(f));
    pcapfile_close(f);
}

static void byte_orders_and_precision(void **state)
{
    char *a = make_file(0xa1b2c3d4u, false, 1, 5, 60);
    char *b = make_file(0xa1b2c3d4u, true, 1, 5, 60);
    char *c = make_file(0xa1b23c4du, false, 1, 5, 60);
    read_all(a, 5, 60, 123456);
    read_all(b, 5, 60, 123456);
    read_all(c, 5, 60, 123456); /* nanoseconds down to microseconds */
    unlink(a);
    unlink(b);
    unlink(c);
    free(a);
    free(b);
    free(c);
}

/* 40 records of 200 KiB: many reads of 128 KiB and refills of the 512 KiB buffer, records
 * across every boundary. */
static void records_across_blocks(void **state)
{
    char *p = make_file(0xa1b2c3d4u, false, 1, 40, 200 * 1024);
    read_all(p, 40, 200 * 1024, 123456);
    unlink(p);
    free(p);
}

/* Records of the largest capture length, each longer than two reads and more than half the
 * buffer: every one is gathered whole. */
static void largest_records(void **state)
{
    char *p = make_file(0xa1b2c3d4u, false, 1, 9, PCAPFILE_MAX_CAPLEN);
    read_all(p, 9, PCAPFILE_MAX_CAPLEN, 123456);
    unlink(p);
    free(p);
}

static void cut_and_corrupt(void **state)
{
    struct pcapfile_record r;
    uint32_t lt;
    bool other;
    char *p = make_file(0xa1b2c3d4u, false, 1, 3, 100);

    assert_int_equal(truncate(p, 24 + 116 + 116 + 10), 0); /* third header cut short */
    struct pcapfile *f = pcapfile_open(p, &lt, &other, errbuf, sizeof errbuf);
    assert_int_equal(pcapfile_next(f, &r, errbuf, sizeof errbuf), 1);
    assert_int_equal(pcapfile_next(f, &r, errbuf, sizeof errbuf), 1);
    assert_int_equal(pcapfile_next(f, &r, errbuf, sizeof errbuf), -1);
    assert_non_null(strstr(errbuf, "truncated dump file: record 3 header cut short"));
    pcapfile_close(f);

    assert_int_equal(truncate(p, 24 + 116 + 50), 0); /* second record's data cut short */
    f = pcapfile_open(p, &lt, &other, errbuf, sizeof errbuf);
    assert_int_equal(pcapfile_next(f, &r, errbuf, sizeof errbuf), 1);
    assert_int_equal(pcapfile_next(f, &r, errbuf, sizeof errbuf), -1);
    assert_non_null(strstr(errbuf, "record 2 at offset 140 needs 100 bytes, 34 left"));
    pcapfile_close(f);
    unlink(p);
    free(p);

    p = make_file(0xa1b2c3d4u, false, 1, 1, PCAPFILE_MAX_CAPLEN + 1);
    f = pcapfile_open(p, &lt, &other, errbuf, sizeof errbuf);
    assert_int_equal(pcapfile_next(f, &r, errbuf, sizeof errbuf), -1);
    assert_non_null(strstr(errbuf, "corrupt record 1 at offset 24: captured length 262145"));
    pcapfile_close(f);
    unlink(p);
    free(p);
}

static void others_go_to_libpcap(void **state)
{
    uint32_t lt;
    bool other = false;
    assert_null(pcapfile_open("-", &lt, &other, errbuf, sizeof errbuf));
    assert_true(other);
    assert_null(pcapfile_open("/nonexistent.pcap", &lt, &other, errbuf, sizeof errbuf));
    assert_true(other);
    char *p = make_file(0x0a0d0d0au, false, 1, 0, 0); /* a pcapng section header block */
    assert_null(pcapfile_open(p, &lt, &other, errbuf, sizeof errbuf));
    assert_true(other);
    unlink(p);
    free(p);
    pcapfile_close(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(byte_orders_and_precision), cmocka_unit_test(records_across_blocks),
        cmocka_unit_test(largest_records),           cmocka_unit_test(cut_and_corrupt),
        cmocka_unit_test(others_go_to_libpcap),
    };
    return cmocka_run_group_tests_name("pcapfile", tests, NULL, NULL);
}
