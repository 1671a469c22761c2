/* fuzz_prefix — the input as an RIR delegated-stats file (country KP) when it holds a '|',
 * else as a prefix file; then prefix_finish and lookups of addresses taken from the input.
 * The first line also goes to prefix_parse_cidr and cidr_contains. (One set per input: a
 * new set costs two 2 MiB maps.) */

#include "fuzz.h"
#include "prefix.h"

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

    (void)prefix_v6_ranges(p); /* prefix_v4_addresses scans 2 MiB: too slow per input */
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

static void one_set(const uint8_t *data, size_t size, const char *path, bool rir)
{
    char err[512];
    struct prefix_set *p = prefix_new();

    if (!p)
        return;
    int n = rir ? prefix_load_rir(p, path, "KP", err, sizeof err)
                : prefix_load_file(p, path, err, sizeof err);
    if (n >= 0) {
        prefix_finish(p);
        lookups(p, data, size);
    }
    prefix_free(p);
}

static void first_line(const uint8_t *data, size_t size)
{
    char line[128], err[256];
    struct cidr c;
    size_t n = 0;

    while (n < size && n < sizeof line - 1 && data[n] != '\n')
        n++;
    memcpy(line, data, n);
    line[n] = '\0';
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
    one_set(data, size, path, memchr(data, '|', size) != NULL);
    return 0;
}
