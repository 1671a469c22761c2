/* Micro-benchmark of the country map (make bench): nanoseconds per lookup, IPv4 and IPv6,
 * for the built-in KP set and with the real delegated files of four registries loaded
 * (../shared/data/rir, every country: skipped with a message when absent), over random
 * addresses and over addresses drawn from allocated space; the load time and the memory
 * the map takes (allocated bytes and resident growth). Best of 3 runs of 10 M lookups.
 *   build/bench-prefix [RIR-FILE...]    (default: the four files of ../shared/data/rir)
 *   build/bench-prefix --geoip FILE.mmdb   (a country database instead) */
#include "geoip.h"
#include "prefix.h"
#include "source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { N = 10000000 };

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint64_t next64(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static long resident_kib(void)
{
    long pages = 0, res = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &res) != 2) /* fscanf: not a banned scanf */
            res = 0;
        fclose(f);
    }
    return res * (sysconf(_SC_PAGESIZE) / 1024);
}

/* ns per IPv4 lookup over addr (best of 3), and how many were in a watched country. */
static double run4(const struct prefix_set *p, const uint32_t *addr, size_t *hits)
{
    double best = 1e18;
    for (int k = 0; k < 3; k++) {
        size_t h = 0;
        double t0 = now_ns();
        for (size_t i = 0; i < N; i++)
            h += prefix_country_v4(p, addr[i]) != 0;
        double dt = now_ns() - t0;
        best = dt < best ? dt : best;
        *hits = h;
    }
    return best / N;
}

static double run6(const struct prefix_set *p, const uint8_t (*addr)[16], size_t *hits)
{
    double best = 1e18;
    for (int k = 0; k < 3; k++) {
        size_t h = 0;
        double t0 = now_ns();
        for (size_t i = 0; i < N; i++)
            h += prefix_country_v6(p, addr[i]) != 0;
        double dt = now_ns() - t0;
        best = dt < best ? dt : best;
        *hits = h;
    }
    return best / N;
}

static void put64(uint8_t *b, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        b[i] = (uint8_t)v;
}

static void bench_v4(const char *name, const struct prefix_set *p, uint32_t *addr)
{
    size_t hits, n = 0;

    for (size_t i = 0; i < N; i++)
        addr[i] = (uint32_t)(next64() >> 32);
    double r = run4(p, addr, &hits);
    printf("%-26s IPv4 random:            %5.2f ns/lookup (%4.1f%% in a country)\n", name, r,
           100.0 * hits / N);
    /* Addresses of allocated space: a random watched /24, a random host of it. */
    uint32_t *nets = malloc((1u << 24) * sizeof *nets);
    if (!nets)
        exit(1);
    for (uint32_t net = 0; net < 1u << 24; net++)
        if (p->v4[net])
            nets[n++] = net;
    for (size_t i = 0; i < N && n; i++)
        addr[i] = nets[next64() % n] << 8 | (uint32_t)(next64() & 255);
    if (n == 0) {
        free(nets);
        return;
    }
    r = run4(p, addr, &hits);
    printf("%-26s IPv4 allocated space:   %5.2f ns/lookup\n", name, r);
    /* A sensor's working set: 1,024 watched /24s (a random host each time). */
    for (size_t i = 0; i < 1024; i++)
        nets[i] = nets[next64() % n];
    for (size_t i = 0; i < N; i++)
        addr[i] = nets[next64() % 1024] << 8 | (uint32_t)(next64() & 255);
    free(nets);
    r = run4(p, addr, &hits);
    printf("%-26s IPv4 1,024 busy /24s:   %5.2f ns/lookup\n", name, r);
}

static void bench_v6(const char *name, const struct prefix_set *p, uint8_t (*addr)[16])
{
    size_t hits;

    /* Random addresses of 2000::/3, the global unicast space. */
    for (size_t i = 0; i < N; i++) {
        put64(addr[i], (next64() >> 3) | (uint64_t)1 << 61);
        put64(addr[i] + 8, next64());
    }
    double r = run6(p, (const uint8_t(*)[16])addr, &hits);
    printf("%-26s IPv6 random in 2000::/3: %5.2f ns/lookup (%4.1f%% in a country)\n", name, r,
           100.0 * hits / N);
    if (prefix_v6_ranges(p) == 0)
        return;
    /* Addresses inside the watched runs: a random run, a random address of its first /64;
     * then a working set of 1,024 runs. */
    static size_t busy[1024];
    for (size_t i = 0; i < 1024; i++) {
        do
            busy[i] = next64() % p->nv6;
        while (!p->v6_cc[busy[i]]);
    }
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < N; i++) {
            size_t k = pass ? busy[next64() % 1024] : next64() % p->nv6;
            while (!p->v6_cc[k])
                k = next64() % p->nv6;
            put64(addr[i], p->v6_hi[k]);
            put64(addr[i] + 8, p->v6_lo[k] | (next64() & 0xffff));
        }
        r = run6(p, (const uint8_t(*)[16])addr, &hits);
        printf("%-26s IPv6 %s %5.2f ns/lookup\n", name,
               pass ? "1,024 busy runs:  " : "allocated space:  ", r);
    }
}

/* Loads the registry files, or with geoip the one MaxMind DB files[0] (every country), and
 * reports load time and memory; NULL when a file is missing. */
static struct prefix_set *load(char *const *files, int nfiles, bool geoip)
{
    char err[512];
    long before = resident_kib();
    double t0 = now_ns();
    struct prefix_set *p = prefix_new();

    for (int i = 0; i < nfiles; i++) {
        if (access(files[i], R_OK) != 0) {
            printf("# skip the registry figures: %s is absent\n", files[i]);
            prefix_free(p);
            return NULL;
        }
        if ((geoip ? geoip_load(p, files[i], err, sizeof err)
                   : source_load_rir(p, files[i], err, sizeof err)) < 0) {
            fprintf(stderr, "bench-prefix: %s\n", err);
            exit(1);
        }
    }
    struct prefix_stats st = prefix_stats(p);
    if (prefix_finish(p, "all", err, sizeof err) < 0) {
        fprintf(stderr, "bench-prefix: %s\n", err);
        exit(1);
    }
    double ms = (now_ns() - t0) / 1e6;
    printf("%d %s: %llu prefixes, %u countries, %llu IPv4 addresses, %zu IPv6 "
           "runs, %zu split /24s\n",
           nfiles, geoip ? "MaxMind DB" : "registry files", (unsigned long long)st.entries,
           prefix_ncountries(p), (unsigned long long)prefix_v4_addresses(p), prefix_v6_ranges(p),
           p->nsplit);
    printf("load and build: %.0f ms; map: %zu bytes allocated (%.1f MiB), resident growth "
           "%.1f MiB\n",
           ms, prefix_bytes(p), prefix_bytes(p) / 1048576.0, (resident_kib() - before) / 1024.0);
    return p;
}

int main(int argc, char **argv)
{
    static char rir_files[4][64] = {"../shared/data/rir/delegated-afrinic-20140630.txt",
                                    "../shared/data/rir/delegated-apnic-20140630.txt",
                                    "../shared/data/rir/delegated-lacnic-20140630.txt",
                                    "../shared/data/rir/delegated-ripencc-20140630.txt"};
    char *const rir[] = {rir_files[0], rir_files[1], rir_files[2], rir_files[3]};
    char err[200];
    uint32_t *a4 = malloc(N * sizeof *a4);
    uint8_t(*a6)[16] = malloc(N * sizeof *a6);

    if (!a4 || !a6)
        return 1;
    struct prefix_set *kp = prefix_new();
    if (!kp || prefix_load_builtin(kp, "KP", err, sizeof err) < 0 ||
        prefix_finish(kp, "KP", err, sizeof err) < 0)
        return 1;
    bench_v4("built-in KP (3 prefixes)", kp, a4);
    prefix_free(kp);

    bool geoip = argc == 3 && strcmp(argv[1], "--geoip") == 0;
    struct prefix_set *p = geoip      ? load(argv + 2, 1, true)
                           : argc > 1 ? load(argv + 1, argc - 1, false)
                                      : load(rir, 4, false);
    const char *name = geoip ? "MaxMind DB, every country" : "registries, every country";
    if (p) {
        bench_v4(name, p, a4);
        bench_v6(name, p, a6);
        prefix_free(p);
    }
    free(a6);
    free(a4);
    return 0;
}
