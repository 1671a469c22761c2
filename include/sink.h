/* sink — closed bins, flow records, detector events and route states → Redis.
 *
 * Pipeline stage after bins (and later the flow table and the detector). The key schema
 * of DESIGN.md section 7 lives here. Everything one closed bin brings (every route's
 * counters and totals increments, per-protocol increments, the bin's country hosts for a
 * HyperLogLog, flow records, events, route states, the heartbeat) is encoded into one
 * flush unit: a single EVALSHA of the flush script with binary-safe arguments. The unit
 * goes to the backlog, whose writer thread applies it exactly once (see backlog.h). So a
 * bin costs one command on the wire for all routes, never one per packet.
 *
 * Keys (P = prefix, S = sensor id, R = route):
 *   P{S}:totals:R      hash  pkts_in pkts_out bytes_in bytes_out flows (cumulative)
 *   P{S}:proto:R       hash  protocol name -> packets (cumulative)
 *   P{S}:bins:R        zset  score = bin start, member = "start:len:pkts_in:pkts_out:
 *                            bytes_in:bytes_out:flows_new:hosts:ctl_pkts:drops:flags:
 *                            starts_in:starts_out" (flags: 1 partial, 2 after a time
 *                            jump; starts: flows whose first packet that way fell in the
 *                            bin, for the detector; members of older versions end at
 *                            flags); one member per bin
 *                            start; members older than the retention (packet time) are
 *                            trimmed, the key expires after the retention (wall time)
 *   P{S}:hosts:R:START hll   the bin's country-side addresses (16-byte form), TTL retention
 *   P{S}:flows         stream finished flows, MAXLEN ~ stream-maxlen
 *   P{S}:heartbeat     string wall-clock seconds of the last flush, TTL
 *   P{S}:routes        set   route names;  Psensors: set of sensor ids
 *   P{S}:state:R       hash  state since baseline_pps observed_pps updated (status)
 *   P{S}:run:RUNID     string last sequence applied by one sensor run (TTL 30 days)
 *   Palerts            stream event route sensor since detected cause json, MAXLEN ~
 *   Pevents            channel the event's JSON
 *   Pstate             hash  "S/R", and "S/" + "*" for the country -> learning up down
 *                            unknown blind
 *
 * Redis Cluster: a script may only touch keys of its own slot, so the keys every sensor
 * shares are split per sensor, in the sensor's slot (sink_shared_key): Palerts becomes
 * P{S}:alerts, Pstate P{S}:states (same fields), Psensors P{S}:sensors (the sensor's own id);
 * the index Psensors lists the sensors and is written by the writer after each connection
 * and every 10 minutes (SADD, outside the script: it is idempotent; backlog.h). Readers take
 * the sensors from Psensors and read each one's keys. Pevents stays: PUBLISH reaches every
 * node's subscribers.
 *
 * Records added with sink_proto, sink_flow, sink_event and sink_route_state go out with
 * the next sink_bin, with sink_send, or with sink_close. */
#ifndef BLACKOUT_SINK_H
#define BLACKOUT_SINK_H

#include "backlog.h"
#include "bins.h"
#include "records.h"
#include "redis.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SINK_PROTO_MAX  256 /* distinct protocol names per route in one unit */
#define SINK_ROUTES_MAX 32  /* routes of one sensor */

struct sink_config {
    struct redis_url url;
    unsigned timeout_ms;
    const char *prefix, *sensor;
    unsigned nroutes;
    const char *const *route_names; /* [nroutes], copied */
    unsigned backlog;               /* bins */
    size_t backlog_bytes;
    bool wait_when_full; /* replay */
    uint64_t retention;  /* seconds */
    uint64_t stream_maxlen, alerts_maxlen;
    uint64_t heartbeat_ttl; /* seconds */
    unsigned min_replicas;  /* WAIT for this many replicas per round trip (backlog.h) */
};

struct sink;

/* Units go here instead of to Redis (unit tests); the function takes ownership. */
typedef void (*sink_commit_fn)(void *ctx, struct backlog_unit *u);

/* Connects (waiting for the first attempt) and starts the writer. Returns NULL with one
 * line in err: the server refused us (wrong password, bad database), more than
 * SINK_ROUTES_MAX routes, or out of memory. */
struct sink *sink_new(const struct sink_config *c, char *err, size_t errlen);

/* A sink without Redis that hands every unit to fn. Returns NULL when out of memory. */
struct sink *sink_new_offline(const struct sink_config *c, sink_commit_fn fn, void *ctx);

/* The sensor's routes changed (a reload): route indexes from now on are those of names.
 * Protocol counts added since the last bin go out first under the old names. Returns 0, or
 * -1 when there are more than SINK_ROUTES_MAX routes (nothing changed). */
int sink_set_routes(struct sink *s, unsigned nroutes, const char *const *names);

/* Adds the closed bin of every route and sends the unit. */
void sink_bin(struct sink *s, const struct bin_view *v);

/* Adds pkts packets of protocol name on route (an index) to the current unit. */
void sink_proto(struct sink *s, unsigned route, const char *name, uint64_t pkts);

/* Adds a finished flow; an event (also Palerts, Pevents, Pstate); a route's detector
 * state (route name, or "*" for the country: Pstate and P{S}:state:R). Returns 0, or -1 when the
 * unit cannot grow (counted as an error). */
int sink_flow(struct sink *s, const struct flow_record *r);
int sink_event(struct sink *s, const struct event *e);
int sink_route_state(struct sink *s, const char *route, const char *state, int64_t since,
                     double baseline_pps, double observed_pps);

/* Sends the records added since the last unit (events, states, flows) as a unit of their own
 * now, without a bin (`blackout detect`, which writes no bins). Nothing when none. */
void sink_send(struct sink *s);

/* Sends what is pending, then waits up to timeout_ms for every unit to be written.
 * Returns the units not written. */
uint64_t sink_close(struct sink *s, uint64_t timeout_ms);

/* True when the writer stopped for good (the server refused us), with the reason. */
bool sink_failed(struct sink *s, char *err, size_t errlen);

void sink_stats(struct sink *s, struct backlog_stats *st);
void sink_free(struct sink *s);

/* Where the sink writes, for messages (no secrets). */
const char *sink_where(const struct sink *s, char *buf, size_t size);

/* A key of the schema: "P{S}:kind" or "P{S}:kind:route". Returns its length, or -1 when it
 * does not fit. */
int sink_key(char *buf, size_t size, const char *prefix, const char *sensor, const char *kind,
             const char *route);

/* The keys every sensor shares, laid out for the mode (see above). */
enum sink_shared { SINK_ALERTS, SINK_STATE, SINK_SENSORS };

/* "Palerts" (one server, Sentinel) or "P{S}:alerts" (cluster), and so on. Returns its length,
 * or -1 when it does not fit. */
int sink_shared_key(char *buf, size_t size, const char *prefix, const char *sensor,
                    enum sink_shared which, bool cluster);

/* The flush script (Lua, with a #!lua shebang so Redis refuses it whole under OOM). */
extern const char sink_script[];

#define SINK_BIN_FIELDS     13 /* fields of a bins member */
#define SINK_BIN_FIELDS_OLD 11 /* members written before starts_in and starts_out */

/* Parses a bins member (13 fields, or the 11 of older versions). Returns 0, or -1 when it
 * is not one. */
struct sink_bin_row {
    int64_t start;
    uint64_t len, flags;
    uint64_t c[8];      /* pkts_in pkts_out bytes_in bytes_out flows_new hosts ctl_pkts drops */
    uint64_t starts[2]; /* starts_in starts_out; 0 when !has_starts */
    bool has_starts;    /* false for an 11-field member */
};
int sink_parse_bin(const char *s, size_t n, struct sink_bin_row *row);

#endif
