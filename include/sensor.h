/* sensor — the per-packet pipeline and the state that travels through it.
 *
 * capture → decode → match (country, route, direction) → flow + classify → bins → report.
 * Finished flows are labelled and added to per-route protocol counters. One struct sensor
 * holds every stage's state (no globals), so replay and live capture drive the same code:
 * sensor_packet for each packet, sensor_tick for wall-clock time without packets, and
 * sensor_finish at the end. Bins closed on the way are reported (JSON lines) and added to
 * the per-route totals, and sent to the Redis sink unless --no-redis. Before its first bin,
 * the detector is given the bins this sensor id stored in Redis earlier (history.h).
 *
 * Cumulative totals and protocol counts are kept per route name (an "account"), so that a
 * reload (reload.h) that removes a route keeps what it counted in the summary. */
#ifndef BLACKOUT_SENSOR_H
#define BLACKOUT_SENSOR_H

#include "bins.h"
#include "capture.h"
#include "classify.h"
#include "config.h"
#include "decode.h"
#include "detect.h"
#include "flow.h"
#include "json.h"
#include "prefix.h"
#include "route.h"
#include "sink.h"

#include <stdbool.h>
#include <stdint.h>

/* Cumulative packets, bytes and flows of one route and protocol label. */
struct proto_count {
    uint64_t pkts, bytes, flows;
};

/* Cumulative per-route counters (the sum of every closed bin). */
struct route_total {
    uint64_t pkts_in, pkts_out, bytes_in, bytes_out, flows, ctl_pkts, drops;
};

#define SENSOR_ACCOUNTS_MAX (2 * ROUTE_MAX) /* route names counted over one run */

struct reload;

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
    struct json json;   /* reused output buffer */
    uint64_t packets;
    uint64_t decode[DECODE_NSTATUS];
    unsigned naccounts;
    char account_names[SENSOR_ACCOUNTS_MAX][ROUTE_NAME_MAX];
    struct route_total totals[SENSOR_ACCOUNTS_MAX]; /* by account */
    unsigned account[ROUTE_MAX];                    /* route id -> account */
    struct reload *reload;                          /* staged, applied when a bin closes */
    uint64_t reloads;                               /* applied */
    uint64_t bins_emitted;
    bool output_failed; /* stdout could not be written */
    struct sink *sink;  /* NULL with --no-redis */
    struct detect *det;
    bool warmed; /* the detector was given the bins stored in Redis (warm restart) */
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

/* The per-packet path. */
void sensor_packet(struct sensor *s, const struct packet *p);

/* Wall-clock time ts (seconds) without a packet, from the live tick: closes every bin that
 * ended at or before ts (starting the clock if no packet came yet) and expires idle flows.
 * A ts before the open bin's end changes nothing. */
void sensor_tick(struct sensor *s, int64_t ts);

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
