/* gen_window — scenario time windows: parsing, queries, events. See gen_window.h. */
#include "gen_window.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define US 1000000ULL

static const char *const window_names[GEN_WIN_NKINDS] = {"outage", "oneway",    "failover", "blind",
                                                         "scale",  "syn-flood", "ramp"};
static const char *const window_forms[GEN_WIN_NKINDS] = {
    "S:E[:ROUTES]",   "S:E[:ROUTES]",     "S:E:FROM:TO",   "S:E",
    "S:E:F[:ROUTES]", "S:E:PPS[:ROUTES]", "S:E:F[:ROUTES]"};

void gen_window_route_name(int i, char *buf, size_t len)
{
    if (i == 0)
        snprintf(buf, len, "cn");
    else if (i == 1)
        snprintf(buf, len, "ru");
    else
        snprintf(buf, len, "r%d", i + 1);
}

const char *gen_window_kind_name(enum gen_win_kind kind)
{
    return window_names[kind];
}

/* ---- parsing ---- */

static int window_u32(const char *s, uint32_t *v)
{
    char *end = NULL;
    unsigned long x;

    if (s[0] < '0' || s[0] > '9')
        return -1;
    errno = 0;
    x = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0' || x > 100000000UL)
        return -1;
    *v = (uint32_t)x;
    return 0;
}

static int window_value(const char *s, double max, double *v)
{
    char *end = NULL;
    double x = strtod(s, &end);

    if (end == s || *end != '\0' || !isfinite(x) || x < 0 || x > max)
        return -1;
    *v = x;
    return 0;
}

static int window_route(const char *name, int routes)
{
    char buf[GEN_ROUTE_NAME];

    for (int i = 0; i < routes; i++) {
        gen_window_route_name(i, buf, sizeof(buf));
        if (strcmp(buf, name) == 0)
            return i;
    }
    return -1;
}

/* "cn,ru" -> bit mask. Modifies s. Returns 0, or -1 with err filled. */
static int window_route_list(char *s, int routes, uint32_t *mask, char *err, size_t errlen)
{
    *mask = 0;
    while (s != NULL) {
        char *comma = strchr(s, ',');
        int idx;

        if (comma != NULL)
            *comma = '\0';
        idx = window_route(s, routes);
        if (idx < 0) {
            snprintf(err, errlen, "unknown route '%s' (there are %d routes)", s, routes);
            return -1;
        }
        *mask |= 1u << idx;
        s = comma != NULL ? comma + 1 : NULL;
    }
    return 0;
}

/* Split s at ':' into at most max fields (in place). Returns the count,
 * max + 1 when there are more. */
static int window_split(char *s, char **field, int max)
{
    int n = 0;

    while (s != NULL && n < max) {
        char *colon = strchr(s, ':');
        field[n++] = s;
        if (colon != NULL)
            *colon = '\0';
        s = colon != NULL ? colon + 1 : NULL;
    }
    return s == NULL ? n : max + 1;
}

/* Fields after S:E. Returns 0, -1 for a malformed spec, -2 with err filled. */
static int window_fields(struct gen_window *w, char **f, int n, int routes, char *err,
                         size_t errlen)
{
    int has_value =
        w->kind == GEN_WIN_SCALE || w->kind == GEN_WIN_SYNFLOOD || w->kind == GEN_WIN_RAMP;
    double max = w->kind == GEN_WIN_SCALE ? 100 : w->kind == GEN_WIN_RAMP ? 1 : 1e6;
    int first_routes = has_value ? 3 : 2;

    w->routes = (1u << routes) - 1;
    if (w->kind == GEN_WIN_FAILOVER) {
        if (n != 4)
            return -1;
        w->from = window_route(f[2], routes);
        w->to = window_route(f[3], routes);
        if (w->from < 0 || w->to < 0 || w->from == w->to) {
            snprintf(err, errlen, "FROM and TO must be two different routes");
            return -2;
        }
        w->routes = 1u << w->from;
        return 0;
    }
    if (w->kind == GEN_WIN_BLIND)
        return n == 2 ? 0 : -1;
    if (has_value && (n < 3 || window_value(f[2], max, &w->value) < 0))
        return -1;
    if (n > first_routes + 1)
        return -1;
    if (n == first_routes + 1 &&
        window_route_list(f[first_routes], routes, &w->routes, err, errlen) < 0)
        return -2;
    return 0;
}

int gen_window_parse(struct gen_windows *ws, enum gen_win_kind kind, const char *spec, int routes,
                     char *err, size_t errlen)
{
    struct gen_window *w = &ws->w[ws->n];
    const char *name = window_names[kind];
    char buf[64], why[128], *f[6];
    int n, rc = -1;

    if (ws->n >= GEN_MAX_WIN || strlen(spec) >= sizeof(buf)) {
        snprintf(err, errlen, "--%s '%s': too many windows or too long", name, spec);
        return -1;
    }
    snprintf(buf, sizeof(buf), "%s", spec);
    n = window_split(buf, f, 5);
    memset(w, 0, sizeof(*w));
    w->kind = kind;
    if (n >= 2 && n <= 5 && window_u32(f[0], &w->start) == 0 && window_u32(f[1], &w->end) == 0 &&
        w->start < w->end)
        rc = window_fields(w, f, n, routes, why, sizeof(why));
    if (rc == -1)
        snprintf(err, errlen, "--%s '%s': expected %s with START < END", name, spec,
                 window_forms[kind]);
    else if (rc < 0)
        snprintf(err, errlen, "--%s '%s': %s", name, spec, why);
    if (rc < 0)
        return -1;
    ws->n++;
    return 0;
}

/* ---- queries ---- */

static int window_covers(const struct gen_window *w, int route, uint64_t rel_us)
{
    return (w->routes >> route & 1u) && rel_us >= w->start * US && rel_us < w->end * US;
}

int gen_window_active(const struct gen_windows *ws, enum gen_win_kind kind, int route,
                      uint64_t rel_us)
{
    for (int i = 0; i < ws->n; i++)
        if (ws->w[i].kind == kind && window_covers(&ws->w[i], route, rel_us))
            return 1;
    return 0;
}

int gen_window_failover(const struct gen_windows *ws, int route, uint64_t rel_us)
{
    for (int i = 0; i < ws->n; i++)
        if (ws->w[i].kind == GEN_WIN_FAILOVER && window_covers(&ws->w[i], route, rel_us))
            return ws->w[i].to;
    return route;
}

/* A ramp's factor at rel_us: 1 before it, linear to its value, then its value. */
static double window_ramp(const struct gen_window *w, uint64_t rel_us)
{
    double t = (double)rel_us / US;

    if (t < w->start)
        return 1.0;
    if (t >= w->end)
        return w->value;
    return 1.0 - (1.0 - w->value) * (t - w->start) / (w->end - w->start);
}

double gen_window_scale(const struct gen_windows *ws, int route, uint64_t rel_us)
{
    double f = 1.0;

    for (int i = 0; i < ws->n; i++) {
        const struct gen_window *w = &ws->w[i];
        if (w->kind == GEN_WIN_SCALE && window_covers(w, route, rel_us))
            f *= w->value;
        else if (w->kind == GEN_WIN_RAMP && (w->routes >> route & 1u))
            f *= window_ramp(w, rel_us);
    }
    return f;
}

double gen_window_max_scale(const struct gen_windows *ws)
{
    double f = 1.0;

    for (int i = 0; i < ws->n; i++)
        if (ws->w[i].kind == GEN_WIN_SCALE && ws->w[i].value > 1.0)
            f *= ws->w[i].value;
    return f;
}

/* ---- events ---- */

struct window_list {
    int n;
    struct gen_event *ev;
};

static void window_add(struct window_list *l, uint32_t since, uint32_t dur, const char *event,
                       int route)
{
    struct gen_event *e;

    if (l->n >= GEN_MAX_EVENTS)
        return;
    e = &l->ev[l->n++];
    memset(e, 0, sizeof(*e));
    e->since = since;
    e->duration = dur;
    e->event = event;
    e->route = route;
}

/* "attack" when a SYN flood on those routes ends within a minute of w's start. */
static const char *window_cause(const struct gen_windows *ws, const struct gen_window *w)
{
    for (int i = 0; i < ws->n; i++) {
        const struct gen_window *f = &ws->w[i];
        if (f->kind == GEN_WIN_SYNFLOOD && f->end + 60 >= w->start && f->start < w->start &&
            (f->routes & w->routes) != 0)
            return "attack";
    }
    return "internal";
}

/* A ramp below GEN_DOWN_BELOW: down when it crosses it, for good. */
static void window_ramp_events(struct window_list *l, const struct gen_window *w, int routes,
                               uint32_t duration)
{
    uint32_t all = (1u << routes) - 1;
    double at = w->start + (w->end - w->start) * (1.0 - GEN_DOWN_BELOW) / (1.0 - w->value);

    if (w->value >= GEN_DOWN_BELOW || at >= duration)
        return;
    if ((w->routes & all) == all) {
        window_add(l, (uint32_t)at, 0, "country_down", -1);
        l->ev[l->n - 1].cause = "internal";
        l->ev[l->n - 1].silent = "both";
        return;
    }
    for (int r = 0; r < routes; r++)
        if (w->routes & (1u << r)) {
            window_add(l, (uint32_t)at, 0, "route_down", r);
            l->ev[l->n - 1].silent = "both";
        }
}

/* Down and up events of one window; no up event when it outlasts the scenario. */
static void window_events(struct window_list *l, const struct gen_windows *ws,
                          const struct gen_window *w, int routes, uint32_t duration)
{
    uint32_t all = (1u << routes) - 1;
    uint32_t end = w->end < duration ? w->end : 0;
    const char *silent = w->kind == GEN_WIN_ONEWAY ? "out" : "both";

    if (w->kind == GEN_WIN_BLIND) {
        window_add(l, w->start, 0, "sensor_blind", -1);
        if (end)
            window_add(l, end, end - w->start, "sensor_ok", -1);
        return;
    }
    if (w->kind != GEN_WIN_FAILOVER && (w->routes & all) == all) {
        window_add(l, w->start, 0, "country_down", -1);
        l->ev[l->n - 1].cause = window_cause(ws, w);
        l->ev[l->n - 1].silent = silent;
        if (end)
            window_add(l, end, end - w->start, "country_up", -1);
        return;
    }
    for (int r = 0; r < routes; r++) {
        if (!(w->routes & (1u << r)))
            continue;
        window_add(l, w->start, 0, "route_down", r);
        l->ev[l->n - 1].silent = silent;
        if (end)
            window_add(l, end, end - w->start, "route_up", r);
    }
}

int gen_window_events(const struct gen_windows *ws, int routes, uint32_t duration,
                      struct gen_event *ev)
{
    struct window_list l = {0, ev};

    for (int i = 0; i < ws->n; i++) {
        const struct gen_window *w = &ws->w[i];
        if (w->kind == GEN_WIN_RAMP)
            window_ramp_events(&l, w, routes, duration);
        else if (w->start < duration && w->kind != GEN_WIN_SCALE && w->kind != GEN_WIN_SYNFLOOD)
            window_events(&l, ws, w, routes, duration);
    }
    for (int i = 1; i < l.n; i++) { /* stable insertion sort by time */
        struct gen_event t = ev[i];
        int k = i;
        for (; k > 0 && ev[k - 1].since > t.since; k--)
            ev[k] = ev[k - 1];
        ev[k] = t;
    }
    return l.n;
}
