/* records — what leaves the pipeline: finished-flow records and detector events.
 *
 * The flow table produces flow records, the detector produces events; the report module
 * prints them, the Redis sink stores them, the alert module publishes events. Their JSON
 * form (README, JSON lines) is built here, in one place. */
#ifndef BLACKOUT_RECORDS_H
#define BLACKOUT_RECORDS_H

#include "json.h"

#include <stdbool.h>
#include <stdint.h>

#define RECORD_NAME_MAX   32  /* route and protocol names */
#define RECORD_HOST_MAX   128 /* host names from packets are cut to this many bytes */
#define RECORD_SENSOR_MAX 64
#define RECORD_CC_MAX     4 /* a country code ("KP"), or "*" for the sensor's own events */

/* Why a flow record was written. */
enum flow_end { FLOW_END_IDLE, FLOW_END_FIN, FLOW_END_ACTIVE, FLOW_END_EXIT, FLOW_END_EVICT };

/* One finished country flow. Addresses in 16-byte form (IPv4 as ::ffff:a.b.c.d); src is the
 * host that sent the flow's first packet. in/out are relative to the country. */
struct flow_record {
    uint8_t ip_version, l4_proto, end;
    uint16_t vlan; /* 0xffff when untagged */
    uint8_t src[16], dst[16];
    uint16_t sport, dport;
    char country[RECORD_CC_MAX]; /* the country the record speaks for: in/out are its */
    char route[RECORD_NAME_MAX];
    char proto[RECORD_NAME_MAX]; /* nDPI label, "Unknown" when none */
    char host[RECORD_HOST_MAX];  /* TLS SNI, HTTP Host, DNS query name; "" when none */
    uint64_t pkts_in, pkts_out, bytes_in, bytes_out;
    int64_t first_us, last_us; /* packet time, microseconds since the epoch */
};

enum event_kind {
    EVENT_ROUTE_DOWN,
    EVENT_ROUTE_UP,
    EVENT_COUNTRY_DOWN,
    EVENT_COUNTRY_UP,
    EVENT_SENSOR_BLIND,
    EVENT_SENSOR_OK,
};

enum event_cause { CAUSE_NONE, CAUSE_INTERNAL, CAUSE_ATTACK, CAUSE_UPSTREAM, CAUSE_UNKNOWN };

/* What a down was: no packet at all that way, or traffic fallen below its share. */
enum event_down_kind { DOWN_KIND_NONE, DOWN_KIND_SILENT, DOWN_KIND_COLLAPSE };

/* One route named by a country_down: when it went down, how much was left, and how. */
#define EVENT_ROUTES_MAX 32
struct event_route {
    char name[RECORD_NAME_MAX];
    int64_t since;
    double residual_in, residual_out; /* conversations observed / expected, each way */
    uint8_t kind;                     /* enum event_down_kind */
};

struct event_evidence {
    unsigned routes_silent, routes_total;
    double in_ratio, out_ratio; /* observed / baseline per direction over the silent stretch */
    bool surge_before;          /* an inbound surge preceded the silence */
    double ctl_ratio;           /* control series observed / baseline (sensor_blind) */
    uint64_t drops;             /* capture drops in the deciding bins */
    bool one_way;               /* traffic toward the country went on, nothing came back */
    /* `blackout detect` (events combined over sensors; 0 otherwise): the sensors that judged
     * the route (or, for the country, any route), and those of them that saw it silent */
    unsigned sensors_silent, sensors_total;
    /* *_down: conversation starts observed / expected per direction over the silent or
     * collapsed stretch, and what it was (kind 0 on other events: not written) */
    double residual_in, residual_out;
    uint8_t kind; /* enum event_down_kind */
    /* country_down: its routes (JSON "routes": {"cn": {...}, ...}) */
    unsigned nroutes;
    struct event_route routes[EVENT_ROUTES_MAX];
};

struct event {
    uint8_t kind;                /* enum event_kind */
    uint8_t cause;               /* enum event_cause, country_down only */
    char country[RECORD_CC_MAX]; /* country code, "*" for sensor events */
    char route[RECORD_NAME_MAX]; /* route name, "*" for country and sensor events */
    char sensor[RECORD_SENSOR_MAX];
    int64_t since;    /* packet time the silence (or recovery) began, to within one bin */
    int64_t detected; /* end of the bin at which the detector decided */
    double baseline_pps, observed_pps;
    int64_t duration; /* *_up: seconds since the matching down; -1 otherwise */
    struct event_evidence evidence;
};

const char *event_kind_name(enum event_kind k);
const char *event_cause_name(enum event_cause c);
const char *event_down_kind_name(enum event_down_kind k);
/* True for route_down, country_down and sensor_blind. */
bool event_is_down(enum event_kind k);

/* The event as one JSON object (the contract line of the README, JSON lines). */
void event_json(const struct event *e, struct json *j);

/* Reads an event back from its JSON object (as event_json wrote it; unknown keys are
 * ignored, missing ones left at zero, duration -1). Returns 0, or -1 when the text is not
 * JSON or not an event of a known kind. */
int event_from_json(const char *s, size_t n, struct event *e);

/* One readable line for a person (no newline), columns aligned:
 *   2025-06-07 01:00:10Z  route_down    KP/cn     sensor s1        since 01:00:00Z (10 s
 *   to detect)      was 4.1 pkt/s, now in 0% out 0%
 * (one line: the time it was detected, the event, country/route (the route alone for the
 * sensor's own events), sensor, when it began and how long the decision took, then what
 * the evidence says). Returns buf. */
const char *event_text(const struct event *e, char *buf, size_t size);

/* The flow record as one JSON object: {"type":"flow",...}. */
void flow_record_json(const struct flow_record *r, const char *sensor, struct json *j);

/* Text form of a 16-byte address ("175.45.176.1" for IPv4-mapped). Returns buf. */
const char *record_addr(const uint8_t a[16], char *buf, size_t size);

#endif
