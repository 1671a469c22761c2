/* gen_rng — xoshiro256** with splitmix64 seeding. See gen_rng.h. */
#include "gen_rng.h"

#include <math.h>
#include <string.h>

uint64_t gen_mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

void gen_rng_seed(struct gen_rng *r, uint64_t seed)
{
    uint64_t x = seed;

    for (int i = 0; i < 4; i++) {
        x += 0x9e3779b97f4a7c15ULL;
        r->s[i] = gen_mix64(x);
    }
}

static uint64_t rng_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t gen_rng_next(struct gen_rng *r)
{
    uint64_t *s = r->s;
    uint64_t out = rng_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rng_rotl(s[3], 45);
    return out;
}

uint32_t gen_rng_below(struct gen_rng *r, uint32_t n)
{
    return (uint32_t)(((gen_rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

uint32_t gen_rng_range(struct gen_rng *r, uint32_t lo, uint32_t hi)
{
    return lo + gen_rng_below(r, hi - lo + 1);
}

double gen_rng_unit(struct gen_rng *r)
{
    return (double)(gen_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

double gen_rng_exp(struct gen_rng *r, double mean)
{
    return -log1p(-gen_rng_unit(r)) * mean;
}

void gen_rng_fill(struct gen_rng *r, uint8_t *p, size_t n)
{
    size_t i = 0;

    /* Little-endian byte order on every host, so the output is the same. */
    for (; i + 8 <= n; i += 8) {
        uint64_t v = gen_rng_next(r);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        memcpy(p + i, &v, 8);
#else
        for (int k = 0; k < 8; k++)
            p[i + k] = (uint8_t)(v >> (8 * k));
#endif
    }
    if (i < n) {
        uint64_t v = gen_rng_next(r);
        for (; i < n; i++, v >>= 8)
            p[i] = (uint8_t)v;
    }
}

void gen_rng_split(struct gen_rng *r, struct gen_rng *child)
{
    gen_rng_seed(child, gen_rng_next(r));
}
