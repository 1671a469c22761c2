/* hll — HyperLogLog distinct counting (precision 14: 16 KiB of registers, about 0.8%
 * standard error). The caller owns the HLL_REGISTERS register bytes (zeroed to start) and
 * feeds well-mixed 64-bit hashes. Used where exact counting would need unbounded memory:
 * country hosts past the per-bin cap, flows the full flow table refused. */
#ifndef BLACKOUT_HLL_H
#define BLACKOUT_HLL_H

#include <stdint.h>

#define HLL_P         14
#define HLL_REGISTERS (1u << HLL_P)

void hll_add(uint8_t *reg, uint64_t hash);

/* The estimate, with the small-range (linear counting) correction. */
uint64_t hll_count(const uint8_t *reg);

#endif
