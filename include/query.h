/* query — the subcommands that read the sink's keys back from Redis.
 *
 * `blackout export --from T --to T [--route R] [--csv|--json]` prints the per-bin
 * counters (P{S}:bins:R) of every sensor (or --sensor) as CSV with a header line or as
 * the JSON lines of DESIGN.md section 6. `blackout status [--json]` prints, per sensor and
 * route, the detector state (Pstate), its baseline, the current packets/s (the last full
 * bin) and since when. Both use plain synchronous commands: they run once and exit. */
#ifndef BLACKOUT_QUERY_H
#define BLACKOUT_QUERY_H

#include "config.h"

#include <stdint.h>

/* Return the process exit status: 0, 1 (Redis unreachable or refused us), 2 (usage). */
int query_export(const struct options *o);
int query_status(const struct options *o);

/* Parses a time: epoch seconds, 2025-06-07T10:00:00Z (or without the Z: still UTC) or
 * 2025-06-07. Returns 0, or -1. */
int query_parse_time(const char *s, int64_t *t);

#endif
