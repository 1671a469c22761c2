/* sensor — the per-packet pipeline and the state that travels through it.
 *
 * capture → decode → match (country, route, direction) → flow + classify → bins → report.
 * Finished flows are labelled and added to per-route protocol counters. One struct sensor
 * holds every stage's state (no globals), so replay and live capture drive the same code:
 * sensor_packet for each packet, sensor_tick for wall-clock time without packets, and
 * sensor_finish at the end. Bins closed on the way are reported (JSON lines) and added to
 * the per-route totals, and sent to the Redis sink unless --no-redis.
 *
 * Cumulative totals and protocol counts are kept per route name (an "account"), so that a
 * reload (reload.h, above this module) that removes a route keeps what it counted in the
 * summary. The caller that stages a reload applies it when sensor_advance reports that a new
 * bin opened, before the packet that opened it is counted. */
#ifndef BLACKOUT_SENSOR_H
#define BLACKOUT_SENSOR_H

#include "bins.h"
#include "capture.h"
#include "classify.h"
#include "config.h"
#include "decode.h"
#include "detect.h"
#include "flow.h"
#include "prefix.h"
#include "report.h"
#include "route.h"
#include "sink.h"

#include <stdbool.h>
#include <stdint.h>

/* Cumulative packets, bytes and flows of one route and protocol label. */
struct proto_count {
    uint64_t pkts, bytes, flows;
};

#define SENSOR_ACCOUNTS_MAX (2 * ROUTE_MAX) /* route names counted over one run */

struct sensor {
    const struct options *opt;
    struct prefix_set *country;
    struct route_table routes;
    struct bins *bins;
    struct flow_table *flows;
    struct classify *cls;
    struct proto_count *protos; /* [account * nlabels + label] */
    unsigned nlabels;
    int64_t expired_at; /* packet second of the last flow expiry pass */
    struct report rep;  /* stdout */
    uint64_t packets;
    uint64_t decode[DECODE_NSTATUS];
    unsigned naccounts;
    char account_names[SENSOR_ACCOUNTS_MAX][ROUTE_NAME_MAX];
    struct bin_counts totals[SENSOR_ACCOUNTS_MAX]; /* by account: the sum of closed bins */
    unsigned account[ROUTE_MAX];                   /* route id -> account */
    uint64_t reloads;                              /* applied */
    uint64_t bins_emitted;
    struct sink *sink; /* NULL with --no-redis */
    struct detect *det;
    uint64_t events;
    const char *route_names[ROUTE_MAX];
    bool stop; /* the sink failed for good: stop reading */
};

/* Builds the country set and route table from the options and starts the stages. Returns 0,
 * or -1 with one line in err (a configuration problem: exit 2). */
int sensor_init(struct sensor *s, const struct options *o, char *err, size_t errlen);

/* Starts the Redis sink unless --no-redis: connects (waiting for the first attempt) and
 * starts its writer. Returns 0, or -1 with one line in err (the server refused us: exit
 * 1). */
int sensor_start_sink(struct sensor *s, char *err, size_t errlen);

/* At the end of input: waits up to timeout_ms for the sink to write everything. Returns
 * 0, or -1 with one line in err saying what was not written and why. */
int sensor_close_sink(struct sensor *s, uint64_t timeout_ms, char *err, size_t errlen);

/* Moves packet time to ts (seconds): closes every bin that ended at or before ts (the first
 * call starts the clock). Returns true when the open bin changed (a new bin opened and holds
 * no packet yet: the moment to apply a staged reload). sensor_packet calls it itself. */
bool sensor_advance(struct sensor *s, int64_t ts);

/* The per-packet path. */
void sensor_packet(struct sensor *s, const struct packet *p);

/* Wall-clock time ts (seconds) without a packet, from the live tick: closes every bin that
 * ended at or before ts (starting the clock if no packet came yet) and expires idle flows.
 * A ts before the open bin's end changes nothing. Returns true when the open bin changed, as
 * sensor_advance. */
bool sensor_tick(struct sensor *s, int64_t ts);

/* n frames of capture interface iface lost before the sensor saw them: counted as drops of
 * the open bin, on the route of the interface's iface: rule, else the fallback route. */
void sensor_drops(struct sensor *s, int iface, uint64_t n);

/* The account of a route name, added when new. Returns its index, or -1 when
 * SENSOR_ACCOUNTS_MAX names are taken. */
int sensor_account(struct sensor *s, const char *name);

/* Emits the open bin (partial) at the end of input. */
void sensor_finish(struct sensor *s);

void sensor_free(struct sensor *s);

/* Builds the country set described by the options (--prefixes, --rir, or the built-in set
 * of --country). Returns the set, or NULL with one line in err. */
struct prefix_set *sensor_load_country(const struct options *o, char *err, size_t errlen);

/* Builds the route table of the options' --route rules. Returns 0, or -1 with one line in
 * err. */
int sensor_build_routes(struct route_table *t, const struct options *o, char *err, size_t errlen);

#endif
