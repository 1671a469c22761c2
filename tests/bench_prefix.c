/* Micro-benchmark of the country test: nanoseconds per IPv4 lookup for the built-in KP set
 * and for sets of thousands of random prefixes (a mix of /8../32), over random addresses
 * and over addresses inside the set. Run by make bench. */
#include "prefix.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint32_t next32(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* ns per lookup over n addresses (best of 3), and how many were inside. */
static double run(const struct prefix_set *p, const uint32_t *addr, size_t n, size_t *hits)
{
    double best = 1e18;
    for (int k = 0; k < 3; k++) {
        size_t h = 0;
        double t0 = now_ns();
        for (size_t i = 0; i < n; i++)
            h += prefix_has_v4(p, addr[i]);
        double dt = now_ns() - t0;
        best = dt < best ? dt : best;
        *hits = h;
    }
    return best / (double)n;
}

static void report(const char *name, const struct prefix_set *p, const uint32_t *inside)
{
    enum { N = 10000000 };
    uint32_t *addr = malloc(N * sizeof *addr);
    size_t hits;
    for (size_t i = 0; i < N; i++)
        addr[i] = next32();
    double r = run(p, addr, N, &hits);
    printf("%-34s random addresses: %5.2f ns/lookup (%zu inside)\n", name, r, hits);
    if (inside) {
        for (size_t i = 0; i < N; i++)
            addr[i] = inside[i % 4096] + (next32() & 0xff);
        r = run(p, addr, N, &hits);
        printf("%-34s near set members: %5.2f ns/lookup (%zu inside)\n", name, r, hits);
    }
    free(addr);
}

int main(void)
{
    char err[200];
    static uint32_t inside[4096];

    struct prefix_set *kp = prefix_new();
    prefix_load_builtin(kp, "KP", err, sizeof err);
    prefix_finish(kp);
    report("built-in KP (3 prefixes)", kp, NULL);
    prefix_free(kp);

    for (unsigned n = 1000; n <= 100000; n *= 10) {
        struct prefix_set *p = prefix_new();
        for (unsigned i = 0; i < n; i++) {
            unsigned len = 8 + next32() % 25; /* /8 .. /32 */
            uint32_t mask = len ? ~(uint32_t)0 << (32 - len) : 0;
            uint32_t first = next32() & mask;
            if (prefix_add_v4_range(p, first, first | ~mask, err, sizeof err) < 0) {
                fprintf(stderr, "bench_prefix: %s\n", err);
                return 1;
            }
            if (i < 4096)
                inside[i] = first & ~0xffu;
        }
        prefix_finish(p);
        char name[64];
        snprintf(name, sizeof name, "%u random prefixes", n);
        report(name, p, inside);
        prefix_free(p);
    }
    return 0;
}
