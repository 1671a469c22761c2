/* sink — closed bins, flow records, detector events and states → Redis.
 *
 * Pipeline stage after bins (and later the flow table and the detector). The key schema
 * of the README (Keys) lives here. Everything one closed bin brings (every (country, route)
 * pair's counters and totals increments, per-protocol increments, the bin's country hosts
 * for the hour's HyperLogLog, flow records, events, states, the heartbeat) is encoded into
 * one flush unit: a single EVALSHA of the flush script with binary-safe arguments. The unit
 * goes to the backlog, whose writer thread applies it exactly once (see backlog.h). So a
 * bin costs one command on the wire for all pairs, never one per packet, and the commands
 * inside it grow with the pairs that carried traffic, not with the countries loaded.
 *
 * Keys (P = prefix, S = sensor id, CC = country code, R = route; one hash tag {S} per sensor,
 * so a flush is one atomic call in one cluster slot):
 *   P{S}:totals:CC:R   hash  pkts_in pkts_out bytes_in bytes_out flows (cumulative)
 *   P{S}:proto:CC:R    hash  protocol name -> packets (cumulative)
 *   P{S}:bins:CC:R     zset  score = bin start, member = "start:len:pkts_in:pkts_out:
 *                            bytes_in:bytes_out:flows_new:hosts:ctl_pkts:drops:flags:
 *                            starts_in:starts_out" (see the bins member below); one member
 *                            per bin start; members older than the retention (packet
 *                            time) are trimmed, the key expires after the retention (wall
 *                            time)
 *   P{S}:hosts:CC:R:H  hll   the country-side addresses (16-byte form) of the hour starting
 *                            at H (packet time, a multiple of 3600): distinct hosts over any
 *                            span of whole hours is PFCOUNT of its hours; TTL retention
 *   P{S}:flows         stream finished flows, MAXLEN ~ stream-maxlen
 *   P{S}:heartbeat     string wall-clock seconds of the last flush, TTL
 *   P{S}:pairs         set   "CC/R" of every pair with bins;  Psensors: set of sensor ids
 *   P{S}:state:CC:R    hash  state since baseline_pps observed_pps updated (status); R "*"
 *                            for the country
 *   P{S}:run:RUNID     string last sequence applied by one sensor run (TTL 30 days)
 *   Palerts            stream event country route sensor since detected cause json, MAXLEN ~
 *   Pevents            channel the event's JSON
 *   Pstate             hash  "S/CC/R"; "S/CC/" + "*" for a country; "S/" + "*" for the sensor:
 *                            learning up down unknown blind
 *
 * Redis Cluster: a script may only touch keys of its own slot, so the keys every sensor
 * shares are split per sensor, in the sensor's slot (sink_shared_key): Palerts becomes
 * P{S}:alerts, Pstate P{S}:states (same fields), Psensors P{S}:sensors (the sensor's own id);
 * the index Psensors lists the sensors and is written by the writer after each connection
 * and every 10 minutes (SADD, outside the script: it is idempotent; backlog.h). Readers take
 * the sensors from Psensors and read each one's keys. Pevents stays: PUBLISH reaches every
 * node's subscribers.
 *
 * Pairs are registered with sink_pair (numbered as the rows of the bins the sink is given).
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

#define SINK_PROTO_MAX  256 /* distinct protocol names per pair in one unit */
#define SINK_PAIRS_MAX  BINS_ROWS_MAX
#define SINK_HOSTS_HOUR 3600 /* seconds of one hosts sketch */

struct sink_config {
    struct redis_url url;
    unsigned timeout_ms;
    const char *prefix, *sensor;
    unsigned backlog; /* bins */
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
 * line in err: the server refused us (wrong password, bad database), or out of memory. */
struct sink *sink_new(const struct sink_config *c, char *err, size_t errlen);

/* A sink without Redis that hands every unit to fn. Returns NULL when out of memory. */
struct sink *sink_new_offline(const struct sink_config *c, sink_commit_fn fn, void *ctx);

/* Registers pair number `pair` (the next one: pairs are numbered 0, 1, ... as bins rows)
 * as country cc, route name route; it is live (its bins are written). Returns 0, or -1 (not
 * the next number, too many, out of memory). */
int sink_pair(struct sink *s, unsigned pair, const char *cc, const char *route);

/* A reload removed (live false) or brought back a pair's route: a pair that is not live
 * writes no bins; protocol counts still added to it go out. */
void sink_pair_live(struct sink *s, unsigned pair, bool live);

/* Adds the closed bin of every live pair (row r of v is pair r) and sends the unit. */
void sink_bin(struct sink *s, const struct bin_view *v);

/* Adds pkts packets of protocol name on a pair to the current unit. */
void sink_proto(struct sink *s, unsigned pair, const char *name, uint64_t pkts);

/* Adds a finished flow; an event (also Palerts, Pevents, Pstate); a detector state (country
 * cc and route name, route "*" for the country: Pstate and P{S}:state:CC:R). Returns 0, or
 * -1 when the unit cannot grow (counted as an error). */
int sink_flow(struct sink *s, const struct flow_record *r);
int sink_event(struct sink *s, const struct event *e);
int sink_route_state(struct sink *s, const char *cc, const char *route, const char *state,
                     int64_t since, double baseline_pps, double observed_pps);

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

/* A pair's key: "P{S}:kind:CC:ROUTE". Returns its length, or -1 when it does not fit. */
int sink_pair_key(char *buf, size_t size, const char *prefix, const char *sensor, const char *kind,
                  const char *cc, const char *route);

/* The field of Pstate for a sensor's pair ("S/CC/R"), for a country (route "*", the field
 * "S/CC/" followed by "*") or for the sensor itself (cc "*": "S/" and "*"). Returns its
 * length, or -1 when it does not fit. */
int sink_state_field(char *buf, size_t size, const char *sensor, const char *cc, const char *route);

/* The keys every sensor shares, laid out for the mode (see above). */
enum sink_shared { SINK_ALERTS, SINK_STATE, SINK_SENSORS };

/* "Palerts" (one server, Sentinel) or "P{S}:alerts" (cluster), and so on. Returns its length,
 * or -1 when it does not fit. */
int sink_shared_key(char *buf, size_t size, const char *prefix, const char *sensor,
                    enum sink_shared which, bool cluster);

/* The flush script (Lua, with a #!lua shebang so Redis refuses it whole under OOM). */
extern const char sink_script[];

/* ---- the bins member: "start:len:" then the counters of BIN_COUNTERS (bins.h) in order,
 * with the flags (1 partial, 2 after a time jump) after the eighth, where the first version
 * ended; counters added since are appended at the end, so every version's members stay
 * readable: 11 fields (the first version, without starts_in/starts_out), or 13 up to
 * SINK_BIN_FIELDS (missing trailing counters read as 0). ---- */
#define SINK_BIN_FLAGS_AT     10 /* field index of the flags */
#define SINK_BIN_FIELDS       (3 + BIN_NCOUNTERS)
#define SINK_BIN_FIELDS_OLD   11 /* members written before starts_in and starts_out */
#define SINK_BIN_FIELDS_START 13 /* the first version with them */
#define SINK_BIN_MEMBER_MAX   (SINK_BIN_FIELDS * 21)

/* Writes the member of one bin. Returns its length (it always fits SINK_BIN_MEMBER_MAX). */
size_t sink_format_bin(char *buf, size_t size, int64_t start, uint64_t len, uint64_t flags,
                       const struct bin_counts *c);

struct sink_bin_row {
    int64_t start;
    uint64_t len, flags;
    struct bin_counts c; /* starts_in/starts_out 0 when !has_starts */
    bool has_starts;     /* false for an 11-field member */
};

/* Parses a bins member. Returns 0, or -1 when it is not one. */
int sink_parse_bin(const char *s, size_t n, struct sink_bin_row *row);

/* ---- the flush script's positional protocol: one table each, the Lua side reads them by
 * name (the script declares the same lists) and the C side fills them by index ----
 *
 * KEYS: the fixed keys, then SINK_SECTION_KEYS per section, then one state hash per state.
 * ARGV: the header, then per section SINK_SECTION_ARGS followed by ntotals (field, value)
 * pairs and nprotos (protocol, packets) pairs; per flow the number of field pairs and the
 * pairs; per event SINK_EVENT_ARGS; per state SINK_STATE_ARGS. */
#define SINK_FIXED_KEYS(X)                                                                         \
    X(run)                                                                                         \
    X(heartbeat)                                                                                   \
    X(flows)                                                                                       \
    X(alerts)                                                                                      \
    X(state)                                                                                       \
    X(sensors)                                                                                     \
    X(pairs)
#define SINK_HEADER(X)                                                                             \
    X(seq)                                                                                         \
    X(prev)                                                                                        \
    X(first)                                                                                       \
    X(now)                                                                                         \
    X(heartbeat_ttl)                                                                               \
    X(retention)                                                                                   \
    X(marker_ttl)                                                                                  \
    X(flows_maxlen)                                                                                \
    X(alerts_maxlen)                                                                               \
    X(sensor)                                                                                      \
    X(channel)                                                                                     \
    X(nsections)                                                                                   \
    X(nflows)                                                                                      \
    X(nevents)                                                                                     \
    X(nstates)
#define SINK_SECTION_KEYS(X)                                                                       \
    X(totals)                                                                                      \
    X(proto)                                                                                       \
    X(bins)                                                                                        \
    X(hosts)
#define SINK_SECTION_ARGS(X)                                                                       \
    X(name)                                                                                        \
    X(start)                                                                                       \
    X(member)                                                                                      \
    X(hosts)                                                                                       \
    X(ntotals)                                                                                     \
    X(nprotos)
#define SINK_EVENT_ARGS(X)                                                                         \
    X(event)                                                                                       \
    X(country)                                                                                     \
    X(route)                                                                                       \
    X(sensor)                                                                                      \
    X(since)                                                                                       \
    X(detected)                                                                                    \
    X(cause)                                                                                       \
    X(json)                                                                                        \
    X(field)                                                                                       \
    X(state)
#define SINK_STATE_ARGS(X)                                                                         \
    X(field)                                                                                       \
    X(state)                                                                                       \
    X(since)                                                                                       \
    X(baseline_pps)                                                                                \
    X(observed_pps)

#define SINK_ENUM_FK(n)  SINK_FK_##n,
#define SINK_ENUM_HDR(n) SINK_HDR_##n,
#define SINK_ENUM_SK(n)  SINK_SK_##n,
#define SINK_ENUM_SA(n)  SINK_SA_##n,
#define SINK_ENUM_EA(n)  SINK_EA_##n,
#define SINK_ENUM_ST(n)  SINK_ST_##n,
enum { SINK_FIXED_KEYS(SINK_ENUM_FK) SINK_NFIXED_KEYS };
enum { SINK_HEADER(SINK_ENUM_HDR) SINK_NHEADER };
enum { SINK_SECTION_KEYS(SINK_ENUM_SK) SINK_NSECTION_KEYS };
enum { SINK_SECTION_ARGS(SINK_ENUM_SA) SINK_NSECTION_ARGS };
enum { SINK_EVENT_ARGS(SINK_ENUM_EA) SINK_NEVENT_ARGS };
enum { SINK_STATE_ARGS(SINK_ENUM_ST) SINK_NSTATE_ARGS };

/* The names of each list, in order, as the script declares them (for tests). */
extern const char *const sink_fixed_key_names[], *const sink_header_names[],
                                                     *const sink_section_key_names[],
                                                         *const sink_section_arg_names[],
                                                             *const sink_event_arg_names[],
                                                                 *const sink_state_arg_names[];

#endif
