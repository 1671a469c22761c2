/* gen_sched — the generator's clock. Arrival streams (country and
 * background conversations per route, SYN floods, the proto sequence) and
 * live conversations wait in one min-heap ordered by time; popping it
 * yields every frame in time order. Arrivals form a non-homogeneous Poisson
 * process by thinning; windows from the options (outages, one-way silence,
 * failover, blind periods, rate scaling) decide what is created and what is
 * written. Each frame goes to the pcap writer and to the expect counters. */
#ifndef GEN_SCHED_H
#define GEN_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "gen_expect.h"
#include "gen_opt.h"
#include "gen_pcap.h"

/* Generate the whole capture. *end_s receives the scenario's end (seconds
 * since the epoch; when a packet or flow cap ended it, the second after the
 * last packet).
 * Returns 0, or -1 with err filled (out of memory, write error). */
int gen_sched_run(const struct gen_opt *o, struct gen_pcap *out, struct gen_expect *exp,
                  uint64_t *end_s, char *err, size_t errlen);

#endif
