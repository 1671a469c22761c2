/* query — the subcommands that read the sink's keys back from Redis.
 *
 * `blackout export --from T --to T [--route R] [--csv|--json]` prints the per-bin
 * counters (P{S}:bins:R) of every sensor (or --sensor) as CSV with a header line or as
 * the JSON lines of the README. `blackout status [--json]` prints, per sensor and
 * route, the detector state (Pstate), its baseline, the current packets/s (the last full
 * bin; for the country row "*", the sum of its routes') and since when, as a table whose
 * columns fit their longest entry (in a Redis Cluster the states come from each sensor's
 * share, P{S}:states: sink.h). Both use plain synchronous commands: they run once and
 * exit. */
#ifndef BLACKOUT_QUERY_H
#define BLACKOUT_QUERY_H

#include "config.h"
#include "records.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Return the process exit status: 0, 1 (Redis unreachable or refused us), 2 (usage). */
int query_export(const struct options *o);
int query_status(const struct options *o);

/* Parses a time: epoch seconds, 2025-06-07T10:00:00Z (or without the Z: still UTC) or
 * 2025-06-07. Returns 0, or -1. */
int query_parse_time(const char *s, int64_t *t);

/* "2025-06-07T10:00:00Z", "-" for INT64_MIN. Returns buf. */
const char *query_iso_time(int64_t t, char *buf, size_t size);

/* ---- helpers for the subcommands that read Redis (detect, alerts) ---- */

/* Does the --country filter take country code cc (case-insensitive)? Every country when
 * none was given or "all"; the sensors' own events (cc "*") and entries without a country
 * (written by earlier versions) pass every filter. */
bool query_country_wanted(const struct options *o, const char *cc);

struct redis;
struct redis_reply;

#define QUERY_NAME_MAX 256
#define QUERY_ARGS_MAX 16

/* Connects to --redis as client `client` (AUTH, SELECT). Returns the connection, or NULL with
 * one line in err (the caller exits 1). */
struct redis *query_open(const struct options *o, const char *client, char *err, size_t errlen);

/* Runs one command given as at most QUERY_ARGS_MAX strings. Returns BO_REDIS_OK with *out, else
 * BO_REDIS_EIO or BO_REDIS_EREPLY with err. */
int query_run(struct redis *r, struct redis_reply **out, char *err, size_t errlen, int argc,
              const char *const *argv);

/* --follow: the connection was lost (err says how). Reconnects with backoff (100 ms to
 * 5 s, one line per 10 s through lim) until Redis is back (BO_REDIS_OK), refuses us
 * (BO_REDIS_EFATAL, err) or a stop is requested (BO_REDIS_EIO). */
struct log_limit;
int query_reconnect(struct redis *r, struct log_limit *lim, char *err, size_t errlen);

/* A string reply copied into buf (cut to size-1 bytes); "" for nil or NULL. */
void query_reply_copy(const struct redis_reply *x, char *buf, size_t size);

/* The members of a set, sorted (SORT ALPHA), at most 4096 of them. Returns 0 with out->v to
 * free, or -1 with err. */
struct query_names {
    size_t n;
    char (*v)[QUERY_NAME_MAX];
};
int query_set_members(struct redis *r, const char *key, struct query_names *out, char *err,
                      size_t errlen);

/* A sensor's (country, route) pairs (P{S}:pairs, members "CC/R"), sorted by country then
 * route, those of the countries --country takes. Returns 0 with out->v to free, or -1 with
 * err. Members that are not "CC/R" are left out. */
struct query_pair {
    char cc[RECORD_CC_MAX];
    char route[QUERY_NAME_MAX];
};
struct query_pairs {
    size_t n;
    struct query_pair *v;
};
int query_sensor_pairs(struct redis *r, const struct options *o, const char *sensor,
                       struct query_pairs *out, char *err, size_t errlen);

#endif
