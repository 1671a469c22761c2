/* gen_window — the time windows that shape a scenario: outages, one-way
 * silence, failovers, blind periods, rate scaling and SYN floods. Parses
 * their command-line form ("3600:5400:cn,ru"), answers what is in force on
 * a route at a time (for the scheduler), and lists the events a detector
 * should raise because of them (for the expect file). Also names routes.
 * Pure: no I/O, no allocation. */
#ifndef GEN_WINDOW_H
#define GEN_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#define GEN_MAX_ROUTES 8
#define GEN_MAX_WIN    16
#define GEN_ROUTE_NAME 16
#define GEN_MAX_EVENTS (GEN_MAX_WIN * 2 * GEN_MAX_ROUTES)

enum gen_win_kind {
    GEN_WIN_OUTAGE,   /* no country packets either way on the routes */
    GEN_WIN_ONEWAY,   /* no country packets in the out direction */
    GEN_WIN_FAILOVER, /* country conversations of route `from` go to route `to` */
    GEN_WIN_BLIND,    /* no packets at all (sensor blind) */
    GEN_WIN_SCALE,    /* country rate multiplied by value */
    GEN_WIN_SYNFLOOD, /* value spoofed SYN/s toward the country, per route */
    GEN_WIN_RAMP,     /* country rate falls linearly to value over start..end, then stays */
    GEN_WIN_NKINDS
};

struct gen_window {
    enum gen_win_kind kind;
    uint32_t start, end; /* seconds after the scenario start, end exclusive */
    uint32_t routes;     /* bit mask of the routes concerned */
    int from, to;        /* failover */
    double value;        /* scale factor (ramp: the final one), or SYN/s per route */
};

struct gen_windows {
    int n;
    struct gen_window w[GEN_MAX_WIN];
};

/* One expected detector event. */
struct gen_event {
    uint32_t since;     /* seconds after the scenario start */
    uint32_t duration;  /* *_up and sensor_ok: length of the outage, else 0 */
    const char *event;  /* "country_down", "route_up", ... */
    int route;          /* route index, or -1 for "*" */
    const char *cause;  /* country_down: "internal" or "attack", else NULL */
    const char *silent; /* *_down: "both" or "out" (one-way), else NULL */
};

/* Route i's name: cn, ru, r3 .. r8. */
void gen_window_route_name(int i, char *buf, size_t len);

/* Option name of a kind ("outage", "syn-flood", ...). */
const char *gen_window_kind_name(enum gen_win_kind kind);

/* The share of its usual level below which a ramp's traffic counts as down
 * (the detector's default --down-below): the ground truth of a ramp. */
#define GEN_DOWN_BELOW 0.25

/* Parse spec for kind with `routes` routes and append it to ws. Forms:
 * S:E[:ROUTES] (outage, oneway), S:E:FROM:TO (failover), S:E (blind),
 * S:E:F[:ROUTES] (scale, ramp), S:E:PPS[:ROUTES] (syn-flood). Returns 0, or -1
 * with one line in err. */
int gen_window_parse(struct gen_windows *ws, enum gen_win_kind kind, const char *spec, int routes,
                     char *err, size_t errlen);

/* Is a window of kind in force on route at rel_us (microseconds after the
 * start)? Failover windows count for their `from` route. */
int gen_window_active(const struct gen_windows *ws, enum gen_win_kind kind, int route,
                      uint64_t rel_us);

/* The route a country conversation of route goes to at rel_us. */
int gen_window_failover(const struct gen_windows *ws, int route, uint64_t rel_us);

/* Product of the scale windows in force on route at rel_us and of the ramps
 * begun by then (1 if none), and an upper bound of it over all times. */
double gen_window_scale(const struct gen_windows *ws, int route, uint64_t rel_us);
double gen_window_max_scale(const struct gen_windows *ws);

/* The events these windows imply for a scenario of `duration` seconds on
 * `routes` routes, in time order, into ev (room for GEN_MAX_EVENTS): down and
 * up for outages, one-way silences, failovers and blind spells; a down where
 * a ramp crosses GEN_DOWN_BELOW (none when it ends above), never an up.
 * Scale windows imply nothing. Returns how many. */
int gen_window_events(const struct gen_windows *ws, int routes, uint32_t duration,
                      struct gen_event *ev);

#endif
