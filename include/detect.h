/* detect — the rate-drop detector: closed bins in, events out. Pure: no I/O, no clock.
 *
 * Pipeline stage 6, after bins, in replay and capture alike (and in `blackout detect` over
 * bins read back from Redis). Per route and direction it learns how often conversations
 * start (flows whose first packet in that direction falls in a bin) and decides that a run
 * of bins without a single packet in that direction is an outage once the run is longer
 * than chance allows:
 *
 *   For conversations arriving at rate λ, a silence of t seconds has probability e^(−λt).
 *   The run is declared down when t ≥ ln(1/α) / (ρ·λ), where α is the false-alarm
 *   probability allowed per bin (the configured false alarms per route per 30 days spread
 *   over every bin tested) and ρ < 1 a margin for ordinary drops (a diurnal trough, a
 *   partial drop) that the baseline has not caught up with yet.
 *
 * λ is estimated robustly to bursts: from the share of bins in which at least one
 * conversation started (−ln(1−q)/L), capped by the mean count, and the lower of a fast and
 * a slow moving average is used. Bins of an undecided silent run are held back and folded
 * into the baseline only if traffic returns without a decision; the baseline is frozen
 * while a route is down and skips inbound surges. Recovery needs two bins with traffic in
 * the direction that went silent (hysteresis).
 *
 * A route's silence counts only while the sensor sees other traffic; when everything goes
 * quiet (or capture drops spike) the sensor is blind: `sensor_blind`, and no route or
 * country decision is taken until it sees again. `country_down` is raised when every route
 * that was up is down, with the cause: `attack` (an inbound surge shortly before),
 * `internal` (the routes went silent within a few bins of each other), `upstream` (one by
 * one), `unknown`. */
#ifndef BLACKOUT_DETECT_H
#define BLACKOUT_DETECT_H

#include "records.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DETECT_ROUTES_MAX 32
#define DETECT_PENDING    720 /* bins of an undecided silent run held back from the baseline */

struct detect_config {
    unsigned bin;            /* seconds */
    unsigned warmup;         /* seconds of traffic before a route leaves `learning` */
    unsigned horizon;        /* a route that could not be decided within this is `unknown` */
    double alarms_per_month; /* false down alarms allowed per route per 30 days */
    double margin;           /* ρ: tolerated drop before the baseline catches up (0..1) */
    double surge;            /* inbound packets/s above surge × baseline is a surge */
    unsigned coincide;       /* routes silent within this many bins fell "at once" */
    unsigned surge_window;   /* seconds before a silence in which a surge counts */
    double blind_drops;      /* drop share of a bin that makes the sensor blind */
};

/* One route's counters for one closed bin. */
struct detect_route_bin {
    uint64_t pkts[2];   /* [0] toward the country, [1] from it */
    uint64_t starts[2]; /* flows whose first packet in that direction fell in the bin */
    uint64_t ctl_pkts;  /* non-country packets routed here */
    uint64_t drops;     /* capture drops attributed here */
};

struct detect_bin {
    int64_t start;
    unsigned len;
    bool partial;    /* cut short by the end of input: never evidence of silence */
    bool after_jump; /* follows a gap in time that was not filled */
    unsigned nroutes;
    const struct detect_route_bin *routes;
};

enum detect_state { DS_LEARNING, DS_UP, DS_DOWN, DS_UNKNOWN, DS_BLIND };

/* A route's state for status displays. */
struct detect_route_status {
    enum detect_state state;
    int64_t since;              /* when the state began (packet time) */
    double baseline_pps;        /* packets/s, both directions, as learned */
    double observed_pps;        /* packets/s in the last bin */
    double threshold_s;         /* silence that would be declared an outage now */
    double lambda;              /* conversation starts per second from the country, as learned */
    int64_t last_active;        /* end of the last bin with country traffic (0: none yet) */
    double baseline_dir_pps[2]; /* baseline_pps toward [0] and from [1] the country */
    double observed_dir_pps[2]; /* observed_pps the same way */
    /* While the route is down (its own state DS_DOWN, even when the sensor is blind): */
    int64_t down_since;      /* when its silence began */
    double down_lambda;      /* conversation rate of the direction that went silent */
    double down_base_pps[2]; /* baseline packets/s toward [0] and from [1] the country */
    double down_obs_pps[2];  /* packets/s seen during the silent run */
    bool surge_before;       /* an inbound surge shortly before the silence */
    bool one_way;            /* traffic toward the country went on, nothing came back */
};

struct detect;

/* Returns a detector for nroutes named routes, or NULL (bad config, out of memory). The
 * names and the sensor id are copied. */
struct detect *detect_new(const struct detect_config *c, unsigned nroutes, const char *const *names,
                          const char *sensor);
void detect_free(struct detect *d);

/* Carries src's state into dst, a new detector with the same configuration whose routes
 * may differ (a reload): dst's route r continues src's route from[r] (its baseline, state
 * and silent runs; the name stays dst's), or starts learning when from[r] < 0. The
 * country's and the sensor's state carry over whole. Returns 0, or -1 when the bin lengths
 * differ (nothing carried). */
int detect_take_over(struct detect *dst, const struct detect *src, const int *from);

/* Fills in the defaults for a bin length. */
void detect_defaults(struct detect_config *c, unsigned bin);

/* Feeds one closed bin for every route. Writes at most max events into out and returns how
 * many were written. */
unsigned detect_feed(struct detect *d, const struct detect_bin *b, struct event *out, unsigned max);

void detect_route_status(const struct detect *d, unsigned route, struct detect_route_status *st);
const struct detect_config *detect_config_of(const struct detect *d);
/* The country's state ("*"), and the sensor's (blind or not). */
void detect_country_status(const struct detect *d, struct detect_route_status *st);

const char *detect_state_name(enum detect_state s);

/* The cause of a country outage whose routes went silent between first and last (their
 * `since`): `attack` after an inbound surge, `unknown` when a route that could not be judged
 * carried traffic, `internal` when they fell within coincide_s of each other (or, for sparse
 * traffic at conversation rate lambda, within a natural gap ln(100)/λ), else `upstream`. */
enum event_cause detect_cause(double coincide_s, int64_t first, int64_t last, double lambda,
                              bool surge, bool unsure);

/* The country rule over its routes (state, since, down_since and last_active of each):
 * from `learning` to `up` when a route is up; from `up` to `down` when no route is up, one is
 * down, and no route that cannot be judged (learning, unknown) carried traffic after the
 * first one went silent; from `down` back to `up` when a route is up. Returns the next state
 * of the country and fills in t: the routes up and down (0 down when vetoed) and the earliest
 * `since` of those up. */
struct detect_country_tally {
    unsigned up, down;
    int64_t back;
};
enum detect_state detect_country_next(enum detect_state now, const struct detect_route_status *rs,
                                      unsigned n, struct detect_country_tally *t);

/* The routes whose route_down went out as an event of its own (not folded into a
 * country_down): their route_up must go out too, or a consumer would see them down for ever. */
#define DETECT_TOLD_MAX 64
struct detect_told {
    unsigned n;
    char route[DETECT_TOLD_MAX][RECORD_NAME_MAX];
};

/* A country event says it all for the routes that changed with it: drops the route_down
 * (route_up) events of a batch that holds a country_down (country_up), so one incident is
 * one alert, except the route_up of a route in `told` (its route_down was an alert of its
 * own, e.g. the first route of an outage decided a few bins before the country). Keeps
 * `told` up to date: a route_down kept joins it, a route_up leaves it. Returns the events
 * kept, in order. */
unsigned detect_subsume(struct event *ev, unsigned n, struct detect_told *told);

/* Seconds of silence after which a route with conversation rate lambda (per second) would
 * be declared down with this configuration: ln(1/α)/(ρ·λ). */
double detect_threshold(const struct detect_config *c, double lambda);
/* The bound t* = ln(1/α)/λ for the same α. */
double detect_tstar(const struct detect_config *c, double lambda);

#endif
