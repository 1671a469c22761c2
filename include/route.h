/* route — which route a packet took and in which direction it went.
 *
 * Pipeline stage 3 (match), after decode: a packet is country traffic when either address
 * is in a watched country; its direction is `in` (toward the country: destination inside) or
 * `out` (from it; also when both ends are inside the same country). A packet between two
 * watched countries counts for both: `out` for the country it comes from, `in` for the one
 * it goes to (two hits). Each hit's route is the first --route rule that matches (outermost
 * VLAN id of the frame, source or destination MAC, capture interface, a prefix holding the
 * country-side address, the ERSPAN session id or the VXLAN/GENEVE VNI of the mirror
 * transport the frame came in), else `other`; with no rules at all every packet is on route
 * `all`. Non-country packets are routed the same way for the control series, by the rule
 * forms that can tell without a country side (all but prefix).
 *
 * The table is built from the option strings and then read-only; a reload builds a new one. */
#ifndef BLACKOUT_ROUTE_H
#define BLACKOUT_ROUTE_H

#include "decode.h"
#include "prefix.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ROUTE_MAX       32 /* routes, `other` included */
#define ROUTE_NAME_MAX  32 /* bytes of a route name, terminator included */
#define ROUTE_RULE_MAX  64 /* --route options */
#define ROUTE_MATCH_MAX 16 /* alternatives joined with ',' in one option */
#define ROUTE_IFACE_MAX 16 /* interface names bound by the capture */

enum route_dir { DIR_IN = 0, DIR_OUT = 1 };

enum route_match_kind { MATCH_VLAN, MATCH_MAC, MATCH_IFACE, MATCH_PREFIX, MATCH_ERSPAN, MATCH_VNI };

struct route_match {
    uint8_t kind; /* enum route_match_kind */
    uint16_t vlan;
    uint32_t session; /* ERSPAN session id or VNI */
    uint8_t mac[6];
    int iface; /* index bound by route_bind_ifaces, -1 until then */
    char iface_name[32];
    struct cidr prefix;
};

struct route_rule {
    unsigned route; /* route id */
    unsigned nmatch;
    struct route_match match[ROUTE_MATCH_MAX];
};

struct route_table {
    unsigned nroutes;
    char names[ROUTE_MAX][ROUTE_NAME_MAX];
    unsigned nrules;
    struct route_rule rules[ROUTE_RULE_MAX];
    unsigned fallback; /* `other`, or `all` when there are no rules */
};

/* One country a packet counts for. */
struct route_hit {
    unsigned country;     /* the country's index in the set (prefix.h), >= 1 */
    uint8_t dir;          /* enum route_dir, for that country */
    unsigned route;       /* route id */
    const uint8_t *chost; /* that country's address, 16-byte form */
};

/* What the match stage found out about one packet. */
struct route_verdict {
    unsigned nhits; /* 0: a control packet; 1; 2: hit[0] out of one country, hit[1]
                       into another */
    struct route_hit hit[2];
    unsigned route; /* a control packet's route (nhits 0), by the rules that need no country */
};

/* Starts an empty table. */
void route_init(struct route_table *t);

/* Adds one "NAME=MATCH[,MATCH...]" rule (MATCH: vlan:ID, mac:AA:BB:CC:DD:EE:FF, iface:NAME,
 * prefix:CIDR, erspan:ID, vni:ID). A repeated NAME adds alternatives to the same route. Returns 0,
 * or -1 with the problem in err. */
int route_add(struct route_table *t, const char *spec, char *err, size_t errlen);

/* Adds the fallback route (`other`, or `all` without rules); call after the last route_add.
 * Returns 0 or -1 (err) when there are too many routes. */
int route_finish(struct route_table *t, char *err, size_t errlen);

/* Resolves iface: rules against the capture's interface names (index = position).
 * Returns 0, or -1 with err naming an iface: rule whose interface is not captured. */
int route_bind_ifaces(struct route_table *t, const char *const *names, unsigned n, char *err,
                      size_t errlen);

/* The route of frames captured on interface iface when nothing else is known of them
 * (capture drops): the first rule with an iface: alternative bound to it, else the
 * fallback route. */
unsigned route_of_iface(const struct route_table *t, int iface);

/* Decides countries, directions and routes for a decoded packet (d->has_ip may be 0: then it
 * is a control packet routed by its link marks). iface is the capture interface index, or
 * -1. */
void route_match(const struct route_table *t, const struct prefix_set *country,
                 const struct decoded *d, int iface, struct route_verdict *v);

/* Route id of a name, or -1. */
int route_find(const struct route_table *t, const char *name);

#endif
