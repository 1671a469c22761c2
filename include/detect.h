/* detect — the rate-drop detector: closed bins in, events out. Pure: no I/O, no clock.
 *
 * Pipeline stage 6, after bins, in replay and capture alike (and in `blackout detect` over
 * bins read back from Redis). A detector is made for one set of routes (detect_new) and fed
 * one closed bin of all its routes at a time (detect_feed). Per route and direction d it
 * counts conversation starts x_t (flows whose first packet that way fell in bin t) and
 * decides that the route is down when its traffic has fallen to at most c = down_below of
 * its expected level E_t, or gone silent, at the false-alarm probability α per bin (the
 * configured false alarms per route per 30 days spread over both directions of every bin).
 * Write h = ln(1/α) (15.5 for the defaults at 10 s bins).
 *
 * Expected level. E_t = A·P(t), starts per bin:
 *   P(t)  the time-of-day shape: per slot of 30 min, the median over the last 7 days of the
 *         slot's mean starts per bin (days whose slot was mostly down, suspect or blind are
 *         left out), interpolated between slot centres and divided by the day's mean, so it
 *         averages 1; P = 1 until every slot has a day of history.
 *   A     the level: a moving average of x_t/P(t) over the bins learned (bins where P < 0.05
 *         tell too little and are left out), a plain mean while young, then with a time
 *         constant of 3 h while P = 1 (the level follows the diurnal swing itself on the
 *         first day: a night at 15% of the peak stays above 45% of it) and of 12 h once the
 *         shape is known (a rollout over one to two hours then moves it by 8-15%). Bins of
 *         an undecided suspicion are held back and learned only if it clears (or after 2 h),
 *         bins of an outage never.
 * Burstiness. Conversations come in clusters (sessions): φ = m/ν ≥ 1 is the mean starts per
 * independent cluster within a bin, from the mean m and the clusters ν per bin estimated
 * robustly to bursts (the larger of −ln(1−q), q the share of bins with any start, and
 * m²/variance; the larger φ of a 10 min and a 1 h average). Sessions spread over minutes make
 * sums over minutes vary more still: D, the index of dispersion of the starts summed over
 * blocks of 5 min, from the second difference of three consecutive blocks' ratios r = Σx/ΣE
 * ((r − 2r' + r'')²/(1/ΣE + 4/ΣE' + 1/ΣE''), so that an error or a trend of the expected level
 * cancels out), averaged over a day, starting from 1 as if six blocks had shown it, each
 * sample counted up to 4(D + 1) (a step of the level, a failover, is not burstiness). In the
 * CUSUMs a count weighs as x/Φ independent events, Φ = max(φ, D).
 *
 * Down, two tests per direction, each deciding at h:
 *   silent    a run of bins without a packet that way, when Σ u·λ_t ≥ h over the run:
 *             silence is improbable (e^−h) even for traffic at u = up_above of expected;
 *             λ_t = min(E_t, the last 10 min's clusters)/φ per bin. A busy route is down at
 *             the end of its first silent bin.
 *   collapse  the CUSUM S ← max(0, S + ln2·(c·E_t − x_t)/Φ) ≥ h: the log-likelihood ratio of
 *             traffic at c·ln2 against 2c·ln2 of expected (a factor 2 apart, neutral at c),
 *             i.e. the running deficit of conversations below c·E_t, in independent
 *             clusters, times ln 2. Traffic at 40% of expected drifts S down by 0.10·E/Φ
 *             per bin; at 10% it climbs by 0.10·E/Φ.
 * `since` is the start of the run (the change point of the CUSUM: where S last left 0).
 * Evidence: residual_in, residual_out = Σx/ΣE per direction over the run, kind silent when
 * no packet went that way over the run, else collapse (a silence at the end of a collapse
 * already under way is that collapse, since its start).
 *
 * Up (hysteresis): on the direction that went down, U ← max(0, U + (x·ln(θ/c) −
 * (θ − c)·E)/Φ) ≥ h, a CUSUM of traffic back at θ against traffic still at c, with θ such
 * that traffic at u (up_above) is neutral ((θ − c)/ln(θ/c) = u; θ = 0.88 for the
 * defaults). A residual below c drifts U down: it never comes back up; `since` is where U
 * left 0, `duration` from the down's `since`. The expected level is not learned while down.
 *
 * The country: `country_down` when every route that was up is down, or when the sum over the
 * routes that are up or down has collapsed, a CUSUM of the summed deficits Σ_r ln2·(c·E_rt −
 * x_rt)/Φ_r ≥ h per direction, unless a route that is up still carried at least u of its
 * expected traffic over that run; the routes still up then go down with it. Its cause:
 * `attack` (an inbound surge shortly before), `internal` (the routes fell within a few bins of
 * each other, or, for collapses, within the time a route's evidence took: their change points
 * are known no better), `upstream` (one by one), `unknown`; its evidence names every route down.
 * The route events of the bin in which the country changes are folded into the country event, and
 * so is the route_up of a route that went down with the country and comes back within `coincide`
 * bins after the country_up (they came back together).
 *
 * A route's silence counts only while the sensor sees other traffic; when everything goes
 * quiet (or capture drops spike) the sensor is blind: `sensor_blind`, and no route or country
 * decision is taken until it sees again.
 *
 * Cost: O(1) per route and bin (a slot's median is recomputed once per slot). State: 4,160
 * bytes per route, most of it the 7 × 48 slot values of each direction (detect_route_bytes).
 * A warm restart feeds the bins stored in Redis before the first new one (history.h). */
#ifndef BLACKOUT_DETECT_H
#define BLACKOUT_DETECT_H

#include "records.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DETECT_ROUTES_MAX 32
#define DETECT_SLOTS      48 /* time-of-day slots of the expected level (30 min) */
#define DETECT_DAYS       7  /* days of history behind each slot's median */

struct detect_config {
    unsigned bin;            /* seconds */
    unsigned warmup;         /* seconds of traffic before a route leaves `learning` */
    unsigned horizon;        /* a route that could not be decided within this is `unknown` */
    double alarms_per_month; /* false down alarms allowed per route per 30 days */
    double down_below;       /* c: down at or below this share of the expected level */
    double up_above;         /* u: back up above this share (down_below < u <= 1) */
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
    double expected[2];         /* expected conversation starts per second, each way */
    /* While the route is down (its own state DS_DOWN, even when the sensor is blind): */
    int64_t down_since;      /* when its silence or collapse began */
    int64_t down_at;         /* when it was decided */
    double down_lambda;      /* conversation rate of the direction that went down */
    double down_base_pps[2]; /* baseline packets/s toward [0] and from [1] the country */
    double down_obs_pps[2];  /* packets/s seen during the silent run */
    double down_starts[2];   /* conversation starts seen over the run, each way */
    double down_expected[2]; /* and expected */
    enum event_down_kind down_kind;
    bool surge_before; /* an inbound surge shortly before the silence */
    bool one_way;      /* traffic toward the country went on, nothing came back */
};

struct detect;

/* Returns a detector for nroutes named routes, or NULL (bad config, out of memory). The
 * names and the sensor id are copied. */
struct detect *detect_new(const struct detect_config *c, unsigned nroutes, const char *const *names,
                          const char *sensor);
void detect_free(struct detect *d);

/* Carries src's state into dst, a new detector with the same configuration whose routes
 * may differ (a reload): dst's route r continues src's route from[r] (its expected level,
 * state and runs; the name stays dst's), or starts learning when from[r] < 0. The
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

/* Bytes of detector state per route (the route's share of the detector). */
size_t detect_route_bytes(void);

unsigned detect_nroutes(const struct detect *d);

/* Bins fed so far (history included). */
uint64_t detect_bins_fed(const struct detect *d);

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

/* One route of a country_down's evidence, from its status (which must be down). */
void detect_event_route(struct event_route *er, const char *name,
                        const struct detect_route_status *st);

/* The routes whose route_down went out as an event of its own (not folded into a
 * country_down): their route_up must go out too, or a consumer would see them down for ever.
 * And those folded into a country_down: their route_up is folded into the country_up, also
 * when it comes up to `window` seconds after it (the routes came back together). */
#define DETECT_TOLD_MAX 64
struct detect_told {
    unsigned n, nfolded;
    char route[DETECT_TOLD_MAX][RECORD_NAME_MAX];
    char folded[DETECT_TOLD_MAX][RECORD_NAME_MAX];
    int64_t back_at; /* when the last country_up was decided */
    int64_t window;  /* seconds: coincide × bin */
};

/* A country event says it all for the routes that changed with it: drops the route_down
 * (route_up) events of a batch that holds a country_down (country_up), so one incident is
 * one alert, and the route_up of a folded route decided within `window` after the country_up;
 * except the route_up of a route in `told` (its route_down was an alert of its own, e.g. the
 * first route of an outage decided a few bins before the country). Keeps `told` up to date:
 * a route_down kept joins it, a route_up leaves it. Returns the events kept, in order. */
unsigned detect_subsume(struct event *ev, unsigned n, struct detect_told *told);

/* Seconds of silence after which a route with conversation rate lambda (per second, in
 * independent clusters) would be declared down with this configuration: ln(1/α)/(u·λ). */
double detect_threshold(const struct detect_config *c, double lambda);
/* The bound t* = ln(1/α)/λ for the same α. */
double detect_tstar(const struct detect_config *c, double lambda);
/* θ of the up test: (θ − c)/ln(θ/c) = u. */
double detect_up_theta(double down_below, double up_above);

#endif
