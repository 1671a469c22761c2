/* combine — several sensors' views of the same routes → route and country outages.
 *
 * Used by `blackout detect`, one combiner per country, after one detector per sensor and
 * country (detect.h) has been fed that sensor's bins of the country from Redis. Pure:
 * detector statuses in, events and notes out; no I/O, no clock. Sensors and routes are known
 * by name (a route is the same route at every sensor that carries a route of that name).
 *
 * At each step (the end of a bin) every sensor votes, for each route it carries, with its
 * detector's status of the route, or abstains (it has no data for this time, or it is
 * blind). A sensor *judges* a route when its state there is `up` or `down`.
 *
 *   route down   at least one sensor judges it, every sensor that judges it sees it down,
 *                and no sensor that cannot judge it (learning, unknown) saw traffic on it
 *                after the silence began: `route_down`, since = the latest of the sensors'
 *                `since` (from then on it was silent everywhere);
 *   route up     a sensor that judges it sees it up: `route_up` after a route_down, since =
 *                the earliest return;
 *   alone        a route down at one sensor while another still sees traffic on it after
 *                that sensor lost it: that sensor's problem (a cut mirror port, a broken
 *                tap), not the route's: no event, a note;
 *   otherwise    a down route stays down (no sensor can tell), an up route follows its
 *                sensors to `learning` or `unknown` without an event.
 *   country      `country_down` when every route that was up is down and no route that
 *                cannot be judged carried traffic during the silence; the cause follows
 *                detect_cause over the routes' `since`; `country_up` when a route comes
 *                back. Route events of the step of a country event are folded into it.
 *
 * Events carry the combiner's id as their sensor, its country, and in their evidence the
 * sensors that judged (sensors_total) and those that saw the silence (sensors_silent). */
#ifndef BLACKOUT_COMBINE_H
#define BLACKOUT_COMBINE_H

#include "detect.h"
#include "records.h"

#include <stdbool.h>
#include <stdint.h>

#define COMBINE_SENSORS_MAX 64
#define COMBINE_ROUTES_MAX  64
#define COMBINE_NOTES_MAX   (COMBINE_SENSORS_MAX * 2)

struct combine_config {
    unsigned bin;      /* seconds */
    unsigned coincide; /* routes silent within this many bins fell "at once" (detect's value) */
};

enum combine_note_kind {
    COMBINE_ALONE_DOWN, /* a sensor lost a route other sensors still see */
    COMBINE_ALONE_BACK, /* that sensor sees it again (or stopped judging it) */
};

struct combine_note {
    enum combine_note_kind kind;
    unsigned sensor, route;
    int64_t since;      /* when that sensor lost the route */
    unsigned others_up; /* sensors that still see it (ALONE_DOWN) */
};

struct combine;

/* Returns a combiner for one country whose events carry sensor id `id` and country code
 * `country`, or NULL (out of memory, bin 0, a name too long). */
struct combine *combine_new(const struct combine_config *c, const char *id, const char *country);
void combine_free(struct combine *c);

/* The index of a sensor or route name, added when new. Returns -1 when the table is full
 * (COMBINE_SENSORS_MAX, COMBINE_ROUTES_MAX), the name does not fit a record, or (a sensor)
 * out of memory. */
int combine_sensor(struct combine *c, const char *name);
int combine_route(struct combine *c, const char *name);
unsigned combine_nroutes(const struct combine *c);
const char *combine_sensor_name(const struct combine *c, unsigned sensor);
const char *combine_route_name(const struct combine *c, unsigned route);

/* Sensor's status of route for the coming step. A sensor that does not vote on a route
 * abstains; a blind status is an abstention. */
void combine_vote(struct combine *c, unsigned sensor, unsigned route,
                  const struct detect_route_status *st);

/* Decides at the end of a step (time `end`) from the votes given since the last step, then
 * clears them. Writes at most max events into out and returns how many were written. */
unsigned combine_step(struct combine *c, int64_t end, struct event *out, unsigned max);

/* The notes of the last step (valid until the next one). */
unsigned combine_notes(const struct combine *c, const struct combine_note **notes);

/* The combined state of a route, and of the country: state (learning, up, down, unknown),
 * since, and the baseline and observed packets/s summed over the sensors that voted. */
void combine_route_status(const struct combine *c, unsigned route, struct detect_route_status *st);
void combine_country_status(const struct combine *c, struct detect_route_status *st);

#endif
