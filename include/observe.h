/* observe — the sensor's state as Prometheus metrics: what `--metrics ADDR:PORT` serves.
 *
 * Between the sensor (sensor.h) and the endpoint (metrics.h), beside the pipeline. On the
 * packet thread, never per packet: the capture loop calls observe_update once per turn of
 * its loop, replay once per closed bin. A snapshot is built and published when a bin has
 * closed since the last one, and at least every OBSERVE_MAX_MS, so a scrape sees the
 * counters as of the last closed bin (or tick); the Redis writer's figures are read at most
 * every OBSERVE_REDIS_MS (reading them walks the backlog, too much for every bin of a
 * replay that closes thousands a second).
 *
 * What goes in: one row per (country, route) pair with its cumulative totals (the summary's,
 * so a route removed by a reload keeps its counters) and, for the routes in force, the
 * detector's state, expected and observed rates; a row per country as a whole (route "*",
 * state only); the control series per route; packets per decoder status; capture drops per
 * interface (given by the caller); whether the sensor is blind; the Redis writer's
 * connection, backlog and round-trip histogram; the end of the last closed bin. At most
 * OBSERVE_ROWS_MAX rows: more are counted as refused. */
#ifndef BLACKOUT_OBSERVE_H
#define BLACKOUT_OBSERVE_H

#include "config.h"
#include "metrics.h"
#include "sensor.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OBSERVE_MAX_MS   1000 /* the state is published at least this often */
#define OBSERVE_REDIS_MS 100  /* the Redis writer's figures are read at most this often */
#define OBSERVE_ROWS_MAX 4096 /* (country, route) pairs and countries in one snapshot */

/* A capture interface and the frames it lost so far. */
struct observe_iface {
    const char *name;
    uint64_t drops;
};

struct observe;

/* Starts the endpoint when o->metrics is set: binds it and starts its thread (see
 * metrics.h about the signal mask). Returns 0 with *ob NULL when --metrics is not given, 0
 * with *ob set, or -1 with one line in err (the address cannot be bound: exit 1). */
int observe_open(struct observe **ob, const struct options *o, char *err, size_t errlen);

/* Publishes the sensor's state when due (see above), or now when force. ifs: the capture
 * interfaces (NULL, 0 for replay). Nothing when ob is NULL. */
void observe_update(struct observe *ob, const struct sensor *s, const struct observe_iface *ifs,
                    unsigned nifs, bool force);

/* Fills snap from the sensor (what observe_update publishes). last_bin_end: the end of the
 * last closed bin (INT64_MIN: none yet); redis: the writer's figures (NULL without Redis).
 * For tests. */
void observe_fill(struct metrics_snapshot *snap, const struct sensor *s,
                  const struct observe_iface *ifs, unsigned nifs, int64_t last_bin_end,
                  const struct backlog_stats *redis);

/* Stops the endpoint. observe_free(NULL) is safe. */
void observe_free(struct observe *ob);

#endif
