/* sensor — the per-packet pipeline and the state that travels through it.
 *
 * capture → decode → match (countries, route, direction) → flow + classify → bins → report.
 * One struct sensor holds every stage's state (no globals), so replay and live capture
 * drive the same code: sensor_packet for each packet, sensor_tick for wall-clock time
 * without packets, and sensor_finish at the end. Bins closed on the way are reported (JSON
 * lines), added to the totals, fed to the detectors and sent to the Redis sink unless
 * --no-redis. When the clock starts, the detectors are given the bins this sensor id stored
 * in Redis earlier (history.h: a warm restart); the countries found there are made then.
 *
 * Everything is counted per (country, route) pair. A pair is made at its country's first
 * packet on that route (the countries named by --country are made on every route at start:
 * their silence counts from the first bin); a country that never shows up costs nothing per
 * bin. Each country with a pair has its own detector over the routes of the table; the
 * first country made speaks for the sensor (sensor_blind, sensor_ok: country "*").
 * Pairs are kept by country code and route name over reloads, so a reload
 * (reload.h, above this module) that removes a route keeps what it counted; the control
 * series (ctl_pkts, drops) is per route and totalled per route name (an "account"). The
 * caller that stages a reload applies it (reload_apply) when sensor_advance reports that a
 * new bin opened, before the packet that opened it is counted. */
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

/* Cumulative packets, bytes and flows of one pair and protocol label. */
struct proto_count {
    uint64_t pkts, bytes, flows;
};

#define SENSOR_ACCOUNTS_MAX  (2 * ROUTE_MAX) /* route names counted over one run */
#define SENSOR_COUNTRIES_MAX 1024            /* countries counted over one run */
#define SENSOR_NO_ID         0xffffu

/* A country with pairs: its code and its detector (over the routes of the table). */
struct sensor_country {
    char code[RECORD_CC_MAX];
    struct detect *det; /* NULL only when memory ran out at a reload */
    bool watched;       /* in the set in force (a reload may drop it: its pairs stop) */
};

/* A (country, route name) pair: a row of the bins, a set of Redis keys, an account. */
struct sensor_pair {
    uint16_t country; /* index in countries */
    int route;        /* route id in the table in force, -1 once a reload removed the route */
    char route_name[ROUTE_NAME_MAX];
    struct bin_counts total; /* the sum of its closed bins (ctl_pkts, drops: its route's) */
};

struct sensor {
    const struct options *opt;
    struct prefix_set *country; /* the watched countries' addresses */
    struct route_table routes;
    struct bins *bins; /* row p is pair p */
    struct flow_table *flows;
    struct classify *cls;
    struct detect_config dc;
    bool all_countries;   /* --country all: countries are made at their first packet */
    uint16_t *country_id; /* [prefix_ncountries + 1]: set index -> countries, or NO_ID */
    struct sensor_country *countries;
    unsigned ncountries, cap_countries;
    struct sensor_pair *pairs;
    unsigned npairs, cap_pairs;
    uint16_t *pair_of;          /* [SENSOR_COUNTRIES_MAX * ROUTE_MAX]: (country, route id) */
    struct proto_count *protos; /* [pair * nlabels + label] */
    struct ended_flow *ended;   /* flows ended, waiting for their labels, in order (a ring) */
    unsigned ended_first, nended;
    unsigned nlabels;
    int64_t expired_at;      /* packet second of the last flow expiry pass */
    struct report rep;       /* stdout */
    struct report_row *rows; /* the names of the pairs, for report_bin */
    unsigned cap_rows;
    uint64_t packets;
    unsigned decode_flags; /* DECODE_TUNNELS unless --tunnels off */
    uint64_t decode[DECODE_NSTATUS];
    uint64_t refused; /* country packets beyond the pair or country caps (counted as neither) */
    uint64_t decap[DECODE_NENCAP]; /* layers opened, by enum decode_encap */
    unsigned naccounts;
    char account_names[SENSOR_ACCOUNTS_MAX][ROUTE_NAME_MAX];
    struct bin_counts totals[SENSOR_ACCOUNTS_MAX]; /* by route name: pairs summed, control series */
    unsigned account[ROUTE_MAX];                   /* route id -> account */
    uint64_t reloads;                              /* applied */
    uint64_t bins_emitted;
    struct sink *sink; /* NULL with --no-redis */
    bool warmed;       /* the stored bins were read (warm restart), or there is no Redis */
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

/* The pair of a country (index in countries) and route id, made when new (a bins row, a
 * sink pair). Returns its index, or -1 (out of memory, too many rows). */
int sensor_pair(struct sensor *s, unsigned country, unsigned route);

/* The country of a code, made when new (with a detector over the routes in force; the
 * countries named by --country also get a pair on every route). Returns its index, or -1
 * (SENSOR_COUNTRIES_MAX countries, out of memory). */
int sensor_country(struct sensor *s, const char *code);

/* Emits the open bin (partial) at the end of input. */
void sensor_finish(struct sensor *s);

void sensor_free(struct sensor *s);

/* Builds the country map described by the options (--rir files, --geoip, --prefixes, or
 * the built-in sets), watching the --country codes. Returns the map, or NULL with one line
 * in err (nothing is kept of a source that failed half-way). */
struct prefix_set *sensor_load_country(const struct options *o, char *err, size_t errlen);

/* Builds the route table of the options' --route rules. Returns 0, or -1 with one line in
 * err. */
int sensor_build_routes(struct route_table *t, const struct options *o, char *err, size_t errlen);

#endif
