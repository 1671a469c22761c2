/* fuzz_prefix — the country map's parsers: the input as a MaxMind DB (geoip.h) when it holds
 * the metadata marker, else as an RIR delegated-stats file (source.h, every country) when it
 * holds a '|', else as a prefix file ("CIDR [CC]"; lines without a code belong to KP when
 * the first byte is even, else are errors); then prefix_finish ("all") and lookups of
 * addresses taken from the input. The first line also goes to prefix_parse_cidr,
 * cidr_contains and prefix_country_list. (One map per input: its tables are zero pages
 * until written.) */

#include "fuzz.h"
#include "geoip.h"
#include "prefix.h"
#include "source.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet();
    return 0;
}

/* Lookups: fixed addresses at the edges, and addresses made of the input's bytes. */
static void lookups(const struct prefix_set *p, const uint8_t *data, size_t size)
{
    static const uint32_t v4[] = {0, 0xafb0b000, 0xafb0b3ff, 0xafb0b400, 0xd2346d80, 0xffffffff};
    uint8_t a6[16] = {0};

    (void)prefix_v6_ranges(p);
    (void)prefix_v4_addresses(p);
    for (unsigned i = 0; i <= prefix_ncountries(p) + 1; i++)
        (void)prefix_country_find(p, prefix_country_code(p, i));
    for (size_t i = 0; i < sizeof v4 / sizeof v4[0]; i++)
        (void)prefix_has_v4(p, v4[i]);
    for (size_t off = 0; off + 16 <= size && off < 256; off += 16) {
        memcpy(a6, data + off, 16);
        (void)prefix_has_v6(p, a6);
        (void)prefix_has_v4(p, (uint32_t)a6[0] << 24 | (uint32_t)a6[1] << 16 |
                                   (uint32_t)a6[2] << 8 | a6[3]);
    }
    memset(a6, 0xff, sizeof a6);
    (void)prefix_has_v6(p, a6);
}

/* LeakSanitizer's suppressions for this harness: libmaxminddb 1.7.1 (Debian 12) does not free
 * the entry list of a metadata map it fails to read when MMDB_open refuses a database (about
 * 4.6 KB per refusal, all of it the library's: regress/fuzz_prefix/mmdb-metadata-leak). The
 * project's own allocations are still checked here, and a database the project leaves open
 * by test_geoip, which suppresses nothing. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libmaxminddb.so\n";
}

static const char mmdb_marker[] = "\xab\xcd\xefMaxMind.com";

static void one_set(const uint8_t *data, size_t size, const char *path)
{
    char err[512];
    struct prefix_set *p = prefix_new();
    int n;

    if (!p)
        return;
    if (memmem(data, size, mmdb_marker, sizeof mmdb_marker - 1))
        n = geoip_load(p, path, err, sizeof err);
    else if (memchr(data, '|', size))
        n = source_load_rir(p, path, err, sizeof err);
    else
        n = source_load_prefixes(p, path, size && data[0] % 2 == 0 ? "KP" : NULL, err, sizeof err);
    if (n >= 0 && prefix_finish(p, "all", err, sizeof err) == 0)
        lookups(p, data, size);
    prefix_free(p);
}

static void first_line(const uint8_t *data, size_t size)
{
    char line[128], err[256], codes[8][3];
    struct cidr c;
    size_t n = 0;

    while (n < size && n < sizeof line - 1 && data[n] != '\n')
        n++;
    memcpy(line, data, n);
    line[n] = '\0';
    (void)prefix_country_list(line, codes, 8, err, sizeof err);
    (void)prefix_code(line);
    if (prefix_parse_cidr(line, &c, err, sizeof err) < 0)
        return;
    static const uint8_t any6[16] = {0x20, 0x01, 0x0d, 0xb8};
    (void)cidr_contains(&c, 4, 0xafb0b001, any6);
    (void)cidr_contains(&c, 6, 0, any6);
    (void)cidr_contains(&c, c.version, c.first4, c.first6);
    (void)cidr_contains(&c, c.version, c.last4, c.last6);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file(data, size);

    if (!path)
        return 0;
    first_line(data, size);
    one_set(data, size, path);
    return 0;
}
