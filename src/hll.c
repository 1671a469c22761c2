/* hll — HyperLogLog. See hll.h. */
#include "hll.h"

#include <math.h>

void hll_add(uint8_t *reg, uint64_t hash)
{
    uint32_t idx = (uint32_t)(hash >> (64 - HLL_P));
    uint64_t rest = hash << HLL_P | ((uint64_t)1 << (HLL_P - 1));
    uint8_t rank = (uint8_t)(__builtin_clzll(rest) + 1);
    if (rank > reg[idx])
        reg[idx] = rank;
}

uint64_t hll_count(const uint8_t *reg)
{
    double sum = 0, m = HLL_REGISTERS;
    unsigned zeros = 0;
    for (unsigned i = 0; i < HLL_REGISTERS; i++) {
        sum += ldexp(1.0, -(int)reg[i]);
        zeros += reg[i] == 0;
    }
    double est = 0.7213 / (1 + 1.079 / m) * m * m / sum;
    if (est <= 2.5 * m && zeros)
        est = m * log(m / zeros);
    return (uint64_t)llround(est);
}
