/* history — a sensor's stored bins read back from Redis, for a warm restart.
 *
 * A sensor (replay or capture) that starts with Redis holding bins of its own sensor id, and
 * `blackout detect --from T`, feed their detector the stored bins that come before the first
 * bin they decide on, so that its expected levels (time-of-day slots, level, burstiness) and
 * its states are those of a detector that never stopped: it decides from its first bin instead
 * of learning for --warmup. Without stored bins it learns as before.
 *
 * history_read is the one place that reads a bins key (sink.h: P{S}:bins:R, members parsed by
 * sink_parse_bin) back for this; callers build the keys. history_warm reads every route of a
 * detector a few hours at a time and feeds them in time order, the events discarded. Uses
 * the caller's synchronous connection (query.h). */
#ifndef BLACKOUT_HISTORY_H
#define BLACKOUT_HISTORY_H

#include "detect.h"
#include "sink.h"

#include <stddef.h>
#include <stdint.h>

#define HISTORY_SPAN  ((int64_t)DETECT_DAYS * 86400) /* seconds of history a detector uses */
#define HISTORY_CHUNK 4096                           /* members per read */

struct redis;

typedef void (*history_fn)(void *ctx, const struct sink_bin_row *row);

/* Calls fn for every member of the bins key `key` that starts in [from, to), in time order,
 * HISTORY_CHUNK members per ZRANGEBYSCORE. Members that do not parse are skipped. Returns the
 * members passed to fn, or -1 with one line in err (Redis unreachable, an error reply, a key
 * of another type). */
long history_read(struct redis *r, const char *key, int64_t from, int64_t to, history_fn fn,
                  void *ctx, char *err, size_t errlen);

/* A stored member as the detector's counters of one route; members of older versions carry
 * no conversation starts: their new flows stand in for both directions. */
void history_route_bin(const struct sink_bin_row *b, struct detect_route_bin *rb);

struct history_stats {
    uint64_t bins;      /* bins fed */
    int64_t first;      /* start of the first (INT64_MIN: none) */
    uint64_t other_len; /* members of another bin length, left out */
};

/* Feeds d the stored bins of its routes, keys[i] holding route i's, that start in
 * [before - HISTORY_SPAN, before) and have d's bin length. Returns 0 with *st, or -1 with one
 * line in err (d then holds what was fed before the error). */
int history_warm(struct detect *d, struct redis *r, const char *const *keys, int64_t before,
                 struct history_stats *st, char *err, size_t errlen);

#endif
