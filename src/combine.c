/* combine — route and country outages over several sensors. See combine.h. */
#include "combine.h"

#include "text.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { IN = 0, OUT = 1 };

struct vote {
    bool set;
    struct detect_route_status st;
};

/* A sensor that lost a route others still see. */
struct alone {
    bool down;
    int64_t since;
};

/* What the votes on one route say at one step. */
struct tally {
    unsigned voters, up, down, learning;
    int64_t up_since;       /* earliest return among the sensors that see it up */
    int64_t down_since;     /* latest start of the silence among those that see it down */
    int64_t other_active;   /* latest traffic seen by a sensor that cannot judge it */
    int64_t last_active;    /* latest traffic seen by any sensor */
    int64_t up_last_active; /* latest traffic seen by a sensor that sees it up */
    double base, obs;
    double base_dir[2], obs_dir[2];           /* sensors that see it up */
    double down_base_dir[2], down_obs_dir[2]; /* sensors that see it down */
    double lambda;                            /* lowest conversation rate of the silent ones */
    double down_x[2], down_e[2]; /* conversation starts seen and expected over their runs */
    int64_t span;                /* longest a collapse took to decide (its since's precision) */
    bool surge, one_way, collapse;
};

struct croute {
    char name[RECORD_NAME_MAX];
    enum detect_state state; /* learning, up, down or unknown */
    int64_t since;
    bool ever_up, announced; /* announced: its route_down was raised */
    int64_t down_since;
    struct tally t; /* the last step's */
};

struct combine {
    struct combine_config c;
    char id[RECORD_SENSOR_MAX];
    char cc[RECORD_CC_MAX]; /* the country's code, in its events */
    unsigned nsensors, nroutes;
    char sensors[COMBINE_SENSORS_MAX][RECORD_SENSOR_MAX];
    struct croute routes[COMBINE_ROUTES_MAX];
    /* per sensor, allocated when it is added: [route] */
    struct vote *votes[COMBINE_SENSORS_MAX];
    struct alone *alone[COMBINE_SENSORS_MAX];
    enum detect_state country;
    int64_t country_since;
    struct combine_note notes[COMBINE_NOTES_MAX];
    unsigned nnotes;
    struct detect_told told; /* routes whose route_down went out on its own */
};

struct combine *combine_new(const struct combine_config *c, const char *id, const char *country)
{
    if (c->bin == 0)
        return NULL;
    struct combine *cb = calloc(1, sizeof *cb);
    if (!cb)
        return NULL;
    if (text_copy(cb->id, sizeof cb->id, id) < 0 || text_copy(cb->cc, sizeof cb->cc, country) < 0) {
        combine_free(cb);
        return NULL;
    }
    cb->c = *c;
    cb->country_since = INT64_MIN;
    cb->told.window = (int64_t)c->coincide * c->bin;
    return cb;
}

void combine_free(struct combine *c)
{
    if (!c)
        return;
    for (unsigned s = 0; s < c->nsensors; s++) {
        free(c->votes[s]);
        free(c->alone[s]);
    }
    free(c);
}

static int find_or_add(char *names, size_t width, unsigned *n, unsigned max, const char *name)
{
    for (unsigned i = 0; i < *n; i++)
        if (strcmp(names + i * width, name) == 0)
            return (int)i;
    if (*n == max || strlen(name) >= width)
        return -1;
    text_copy(names + *n * width, width, name);
    return (int)(*n)++;
}

int combine_sensor(struct combine *c, const char *name)
{
    unsigned n = c->nsensors;
    int s = find_or_add(c->sensors[0], sizeof c->sensors[0], &n, COMBINE_SENSORS_MAX, name);

    if (s < 0 || n == c->nsensors)
        return s;
    c->votes[s] = calloc(COMBINE_ROUTES_MAX, sizeof *c->votes[s]);
    c->alone[s] = calloc(COMBINE_ROUTES_MAX, sizeof *c->alone[s]);
    if (!c->votes[s] || !c->alone[s]) {
        free(c->votes[s]);
        free(c->alone[s]);
        return -1;
    }
    c->nsensors = n;
    return s;
}

int combine_route(struct combine *c, const char *name)
{
    for (unsigned i = 0; i < c->nroutes; i++)
        if (strcmp(c->routes[i].name, name) == 0)
            return (int)i;
    if (c->nroutes == COMBINE_ROUTES_MAX || strlen(name) >= sizeof c->routes[0].name)
        return -1;
    struct croute *r = &c->routes[c->nroutes];
    memset(r, 0, sizeof *r);
    text_copy(r->name, sizeof r->name, name);
    r->state = DS_LEARNING;
    r->since = INT64_MIN;
    return (int)c->nroutes++;
}

unsigned combine_nroutes(const struct combine *c)
{
    return c->nroutes;
}

const char *combine_sensor_name(const struct combine *c, unsigned sensor)
{
    return sensor < c->nsensors ? c->sensors[sensor] : "?";
}

const char *combine_route_name(const struct combine *c, unsigned route)
{
    return route < c->nroutes ? c->routes[route].name : "?";
}

static struct vote *vote_at(const struct combine *c, unsigned sensor, unsigned route)
{
    return &c->votes[sensor][route];
}

void combine_vote(struct combine *c, unsigned sensor, unsigned route,
                  const struct detect_route_status *st)
{
    if (sensor >= c->nsensors || route >= c->nroutes || st->state == DS_BLIND)
        return;
    struct vote *v = vote_at(c, sensor, route);
    v->set = true;
    v->st = *st;
}

/* ---- one route ---- */

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

static void tally_vote(struct tally *t, const struct detect_route_status *st)
{
    t->voters++;
    t->last_active = max64(t->last_active, st->last_active);
    t->base += st->baseline_pps;
    t->obs += st->observed_pps;
    switch (st->state) {
    case DS_UP:
        t->up++;
        t->up_since = st->since < t->up_since ? st->since : t->up_since;
        t->up_last_active = max64(t->up_last_active, st->last_active);
        for (unsigned k = 0; k < 2; k++) {
            t->base_dir[k] += st->baseline_dir_pps[k];
            t->obs_dir[k] += st->observed_dir_pps[k];
        }
        break;
    case DS_DOWN:
        t->down++;
        t->down_since = max64(t->down_since, st->down_since);
        t->surge = t->surge || st->surge_before;
        t->one_way = t->one_way && st->one_way;
        t->lambda = fmin(t->lambda, st->down_lambda);
        t->collapse = t->collapse || st->down_kind == DOWN_KIND_COLLAPSE;
        if (st->down_kind == DOWN_KIND_COLLAPSE && st->down_at - st->down_since > t->span)
            t->span = st->down_at - st->down_since;
        for (unsigned k = 0; k < 2; k++) {
            t->down_base_dir[k] += st->down_base_pps[k];
            t->down_obs_dir[k] += st->down_obs_pps[k];
            t->down_x[k] += st->down_starts[k];
            t->down_e[k] += st->down_expected[k];
        }
        break;
    default: /* learning, unknown: cannot judge, but their traffic counts against a silence */
        t->learning += st->state == DS_LEARNING;
        t->other_active = max64(t->other_active, st->last_active);
        break;
    }
}

static void tally_route(const struct combine *c, unsigned route, struct tally *t)
{
    memset(t, 0, sizeof *t);
    t->up_since = INT64_MAX;
    t->down_since = t->other_active = t->last_active = t->up_last_active = INT64_MIN;
    t->lambda = INFINITY;
    t->one_way = true;
    for (unsigned s = 0; s < c->nsensors; s++) {
        const struct vote *v = vote_at(c, s, route);
        if (v->set)
            tally_vote(t, &v->st);
    }
}

/* The state the votes give, from the state the route is in. */
static enum detect_state verdict(const struct tally *t, enum detect_state cur)
{
    if (t->down && !t->up && t->other_active <= t->down_since)
        return DS_DOWN;
    if (t->up)
        return DS_UP;
    if (t->down || t->voters == 0 || cur == DS_DOWN)
        return cur; /* still carried somewhere we cannot judge; nobody to ask; nobody can tell */
    return t->learning ? DS_LEARNING : DS_UNKNOWN;
}

static double ratio(double obs, double base)
{
    return base > 0 ? obs / base : 0;
}

static struct event *new_event(struct combine *c, struct event *out, unsigned max, unsigned *n,
                               enum event_kind kind, const char *route, int64_t end)
{
    if (*n >= max)
        return NULL;
    struct event *e = &out[(*n)++];
    memset(e, 0, sizeof *e);
    e->kind = (uint8_t)kind;
    e->duration = -1;
    e->detected = end;
    text_copy(e->country, sizeof e->country, c->cc);
    text_copy(e->route, sizeof e->route, route);
    text_copy(e->sensor, sizeof e->sensor, c->id);
    return e;
}

static void route_event(struct combine *c, struct croute *r, enum detect_state to, int64_t end,
                        struct event *out, unsigned max, unsigned *n)
{
    const struct tally *t = &r->t;
    bool down = to == DS_DOWN;
    struct event *e =
        new_event(c, out, max, n, down ? EVENT_ROUTE_DOWN : EVENT_ROUTE_UP, r->name, end);
    if (!e)
        return;
    e->since = r->since;
    e->baseline_pps = t->base;
    e->observed_pps = t->obs;
    e->evidence.sensors_total = t->up + t->down;
    e->evidence.sensors_silent = t->down;
    if (down) {
        e->evidence.in_ratio = ratio(t->down_obs_dir[IN], t->down_base_dir[IN]);
        e->evidence.out_ratio = ratio(t->down_obs_dir[OUT], t->down_base_dir[OUT]);
        e->evidence.surge_before = t->surge;
        e->evidence.one_way = t->one_way;
        e->evidence.residual_in = ratio(t->down_x[IN], t->down_e[IN]);
        e->evidence.residual_out = ratio(t->down_x[OUT], t->down_e[OUT]);
        e->evidence.kind = t->collapse ? DOWN_KIND_COLLAPSE : DOWN_KIND_SILENT;
    } else {
        e->duration = r->since - r->down_since;
        e->evidence.in_ratio = ratio(t->obs_dir[IN], t->base_dir[IN]);
        e->evidence.out_ratio = ratio(t->obs_dir[OUT], t->base_dir[OUT]);
    }
}

static void route_step(struct combine *c, struct croute *r, unsigned route, int64_t end,
                       struct event *out, unsigned max, unsigned *n)
{
    tally_route(c, route, &r->t);
    enum detect_state was = r->state, to = verdict(&r->t, was);
    if (to == was)
        return;
    r->state = to;
    if (to == DS_DOWN) {
        r->since = r->down_since = r->t.down_since;
        r->announced = was == DS_UP;
        if (r->announced)
            route_event(c, r, to, end, out, max, n);
        return;
    }
    if (to == DS_UP) {
        /* a sensor that could not vote during the silence and sees traffic now: back now */
        r->since =
            was != DS_DOWN || r->t.up_since >= r->down_since ? r->t.up_since : end - c->c.bin;
        r->ever_up = true;
        if (was == DS_DOWN && r->announced)
            route_event(c, r, to, end, out, max, n);
        return;
    }
    r->since = end;
}

/* ---- sensors alone ---- */

static void add_note(struct combine *c, enum combine_note_kind kind, unsigned s, unsigned r,
                     int64_t since, unsigned others_up)
{
    if (c->nnotes < COMBINE_NOTES_MAX)
        c->notes[c->nnotes++] = (struct combine_note){kind, s, r, since, others_up};
}

/* A sensor sees route r down while another sensor saw traffic on it after that: the sensor
 * lost its view, the route is fine. Noted once when it starts and once when it ends. */
static void alone_step(struct combine *c, unsigned r)
{
    const struct tally *t = &c->routes[r].t;
    for (unsigned s = 0; s < c->nsensors; s++) {
        const struct vote *v = vote_at(c, s, r);
        struct alone *a = &c->alone[s][r];
        if (!v->set)
            continue; /* no news from it: as it was */
        bool alone = v->st.state == DS_DOWN && t->up_last_active > v->st.down_since;
        if (alone && !a->down) {
            a->down = true;
            a->since = v->st.down_since;
            add_note(c, COMBINE_ALONE_DOWN, s, r, a->since, t->up);
        } else if (!alone && a->down) {
            a->down = false;
            if (v->st.state != DS_DOWN)
                add_note(c, COMBINE_ALONE_BACK, s, r, a->since, t->up);
        }
    }
}

/* ---- the country ---- */

static unsigned sensors_judging(const struct combine *c, unsigned *silent)
{
    unsigned total = 0;
    *silent = 0;
    for (unsigned s = 0; s < c->nsensors; s++) {
        unsigned up = 0, down = 0;
        for (unsigned r = 0; r < c->nroutes; r++) {
            const struct vote *v = vote_at(c, s, r);
            up += v->set && v->st.state == DS_UP;
            down += v->set && v->st.state == DS_DOWN;
        }
        total += up + down > 0;
        *silent += down > 0 && up == 0;
    }
    return total;
}

/* A down route in a country_down's evidence (and in its totals). */
static void route_named(struct event_evidence *ev, const struct croute *r, double x[2], double e[2])
{
    for (unsigned k = 0; k < 2; k++) {
        x[k] += r->t.down_x[k];
        e[k] += r->t.down_e[k];
    }
    ev->kind =
        ev->kind == DOWN_KIND_COLLAPSE || r->t.collapse ? DOWN_KIND_COLLAPSE : DOWN_KIND_SILENT;
    if (ev->nroutes == EVENT_ROUTES_MAX)
        return;
    struct event_route *er = &ev->routes[ev->nroutes++];
    text_copy(er->name, sizeof er->name, r->name);
    er->since = r->down_since;
    er->residual_in = ratio(r->t.down_x[IN], r->t.down_e[IN]);
    er->residual_out = ratio(r->t.down_x[OUT], r->t.down_e[OUT]);
    er->kind = r->t.collapse ? DOWN_KIND_COLLAPSE : DOWN_KIND_SILENT;
}

static void country_down(struct combine *c, int64_t end, struct event *out, unsigned max,
                         unsigned *n)
{
    struct event_evidence ev = {0};
    double base[2] = {0, 0}, obs[2] = {0, 0}, sx[2] = {0, 0}, se[2] = {0, 0}, lambda = INFINITY;
    double at_once = (double)c->c.coincide * c->c.bin;
    int64_t first = INT64_MAX, last = INT64_MIN;
    bool surge = false, unsure = false, one_way = true;

    for (unsigned i = 0; i < c->nroutes; i++) {
        const struct croute *r = &c->routes[i];
        ev.routes_total += r->ever_up && (r->state == DS_UP || r->state == DS_DOWN);
        if (r->state != DS_DOWN) {
            unsure = unsure || r->t.last_active > 0; /* not judged, but carried traffic */
            continue;
        }
        ev.routes_silent++;
        route_named(&ev, r, sx, se);
        first = r->down_since < first ? r->down_since : first;
        last = max64(last, r->down_since);
        surge = surge || r->t.surge;
        one_way = one_way && r->t.one_way;
        lambda = fmin(lambda, r->t.lambda);
        at_once = fmax(at_once, (double)r->t.span);
        for (unsigned k = 0; k < 2; k++) {
            base[k] += r->t.down_base_dir[k];
            obs[k] += r->t.down_obs_dir[k];
        }
    }
    c->country = DS_DOWN;
    c->country_since = last;
    struct event *e = new_event(c, out, max, n, EVENT_COUNTRY_DOWN, "*", end);
    if (!e)
        return;
    e->since = last;
    e->baseline_pps = base[IN] + base[OUT];
    e->observed_pps = obs[IN] + obs[OUT];
    e->cause = (uint8_t)detect_cause(at_once, first, last, lambda, surge, unsure);
    ev.in_ratio = ratio(obs[IN], base[IN]);
    ev.out_ratio = ratio(obs[OUT], base[OUT]);
    ev.residual_in = ratio(sx[IN], se[IN]);
    ev.residual_out = ratio(sx[OUT], se[OUT]);
    ev.surge_before = surge;
    ev.one_way = one_way;
    ev.sensors_total = sensors_judging(c, &ev.sensors_silent);
    e->evidence = ev;
}

static void country_up(struct combine *c, int64_t end, const struct detect_country_tally *t,
                       struct event *out, unsigned max, unsigned *n)
{
    struct event *e = new_event(c, out, max, n, EVENT_COUNTRY_UP, "*", end);
    if (e) {
        e->since = t->back;
        e->duration = t->back - c->country_since;
        for (unsigned i = 0; i < c->nroutes; i++) {
            e->baseline_pps += c->routes[i].t.base;
            e->observed_pps += c->routes[i].t.obs;
        }
        e->evidence.routes_total = t->up + t->down;
        e->evidence.routes_silent = t->down;
        e->evidence.sensors_total = sensors_judging(c, &e->evidence.sensors_silent);
    }
    c->country = DS_UP;
    c->country_since = t->back;
}

/* The same rule as one sensor's detector, over the combined routes. */
static void country_step(struct combine *c, int64_t end, struct event *out, unsigned max,
                         unsigned *n)
{
    struct detect_route_status rs[COMBINE_ROUTES_MAX];
    struct detect_country_tally t;

    for (unsigned i = 0; i < c->nroutes; i++)
        combine_route_status(c, i, &rs[i]);
    enum detect_state next = detect_country_next(c->country, rs, c->nroutes, &t);
    if (next == c->country)
        return;
    if (c->country == DS_LEARNING) {
        c->country = DS_UP;
        c->country_since = end;
    } else if (next == DS_DOWN) {
        country_down(c, end, out, max, n);
    } else {
        country_up(c, end, &t, out, max, n);
    }
}

unsigned combine_step(struct combine *c, int64_t end, struct event *out, unsigned max)
{
    unsigned n = 0;

    c->nnotes = 0;
    for (unsigned r = 0; r < c->nroutes; r++) {
        route_step(c, &c->routes[r], r, end, out, max, &n);
        alone_step(c, r);
    }
    country_step(c, end, out, max, &n);
    for (unsigned s = 0; s < c->nsensors; s++)
        for (unsigned r = 0; r < c->nroutes; r++)
            vote_at(c, s, r)->set = false;
    return detect_subsume(out, n, &c->told);
}

unsigned combine_notes(const struct combine *c, const struct combine_note **notes)
{
    *notes = c->notes;
    return c->nnotes;
}

void combine_route_status(const struct combine *c, unsigned route, struct detect_route_status *st)
{
    memset(st, 0, sizeof *st);
    if (route >= c->nroutes)
        return;
    const struct croute *r = &c->routes[route];
    st->state = r->state;
    st->since = r->since;
    st->baseline_pps = r->t.base;
    st->observed_pps = r->t.obs;
    st->last_active = r->t.last_active;
    st->down_since = r->state == DS_DOWN ? r->down_since : 0;
}

void combine_country_status(const struct combine *c, struct detect_route_status *st)
{
    memset(st, 0, sizeof *st);
    st->state = c->country;
    st->since = c->country_since;
    for (unsigned i = 0; i < c->nroutes; i++) {
        st->baseline_pps += c->routes[i].t.base;
        st->observed_pps += c->routes[i].t.obs;
    }
}
