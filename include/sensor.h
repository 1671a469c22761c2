/* sensor — the per-packet pipeline and the state that travels through it.
 *
 * capture → decode → match (country, route, direction) → flow + classify → bins → report.
 * Finished flows are labelled and added to per-route protocol counters. One struct sensor
 * holds every stage's state (no globals), so replay and live capture drive the same code:
 * sensor_packet for each packet, sensor_tick for wall-clock time without packets, and
 * sensor_finish at the end. Bins closed on the way are reported (JSON lines) and added to
 * the per-route totals, and sent to the Redis sink unless --no-redis. */
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

struct sensor {
    const struct options *opt;
    struct prefix_set *country;
    struct route_table routes;
    struct bins *bins;
    struct flow_table *flows;
    struct classify *cls;
    struct proto_count *protos; /* [route * nlabels + label] */
    unsigned nlabels;
    int64_t expired_at; /* packet second of the last flow expiry pass */
    struct json json;   /* reused output buffer */
    uint64_t packets;
    uint64_t decode[DECODE_NSTATUS];
    struct route_total totals[ROUTE_MAX];
    uint64_t bins_emitted;
    bool output_failed; /* stdout could not be written */
    struct sink *sink;  /* NULL with --no-redis */
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

/* The per-packet path. */
void sensor_packet(struct sensor *s, const struct packet *p);

/* Emits the open bin (partial) at the end of input. */
void sensor_finish(struct sensor *s);

void sensor_free(struct sensor *s);

/* Builds the country set described by the options (--prefixes, --rir, or the built-in set
 * of --country). Returns the set, or NULL with one line in err. */
struct prefix_set *sensor_load_country(const struct options *o, char *err, size_t errlen);

#endif
