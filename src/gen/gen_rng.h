/* gen_rng — deterministic pseudo-random numbers for blackout-gen.
 *
 * xoshiro256** seeded through splitmix64. Every random choice the generator
 * makes comes from a struct gen_rng owned by the caller (one per arrival
 * stream, one per conversation), so adding a stream never perturbs another
 * one. No rand(), no time(): the same seed gives the same bytes. */
#ifndef GEN_RNG_H
#define GEN_RNG_H

#include <stddef.h>
#include <stdint.h>

struct gen_rng {
    uint64_t s[4];
};

/* splitmix64 finaliser: a good 64-bit mixing function. */
uint64_t gen_mix64(uint64_t x);

/* Seed from a 64-bit value (any value, 0 included, is fine). */
void gen_rng_seed(struct gen_rng *r, uint64_t seed);

/* Next 64 random bits. */
uint64_t gen_rng_next(struct gen_rng *r);

/* Uniform integer in [0, n); n == 0 returns 0. */
uint32_t gen_rng_below(struct gen_rng *r, uint32_t n);

/* Uniform integer in [lo, hi] (lo <= hi). */
uint32_t gen_rng_range(struct gen_rng *r, uint32_t lo, uint32_t hi);

/* Uniform double in [0, 1). */
double gen_rng_unit(struct gen_rng *r);

/* Exponential variate with the given mean (> 0). */
double gen_rng_exp(struct gen_rng *r, double mean);

/* Fill n bytes with random data. */
void gen_rng_fill(struct gen_rng *r, uint8_t *p, size_t n);

/* Derive a new independent generator from this one (consumes one draw). */
void gen_rng_split(struct gen_rng *r, struct gen_rng *child);

#endif
