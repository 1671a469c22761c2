/* reload — staged configuration changes of a running sensor. See reload.h. */
#include "reload.h"

#include "log.h"
#include "sensor.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct reload {
    struct prefix_set *country;
    struct route_table routes;
    bool same;           /* the same route names in the same order: only rules change */
    int from[ROUTE_MAX]; /* new route -> old route of the same name, or -1 */
    struct bins *bins;   /* new routes only */
    struct detect *det;  /* new routes only */
};

void reload_free(struct reload *r)
{
    if (!r)
        return;
    prefix_free(r->country);
    bins_free(r->bins);
    detect_free(r->det);
    free(r);
}

/* Route names the sensor has not counted under yet must fit in its accounts. */
static int check_accounts(const struct sensor *s, const struct route_table *t, char *err,
                          size_t errlen)
{
    unsigned fresh = 0;

    for (unsigned r = 0; r < t->nroutes; r++) {
        bool known = false;
        for (unsigned a = 0; a < s->naccounts && !known; a++)
            known = strcmp(s->account_names[a], t->names[r]) == 0;
        fresh += !known;
    }
    if (s->naccounts + fresh <= SENSOR_ACCOUNTS_MAX)
        return 0;
    snprintf(err, errlen, "more than %d route names over this run (restart to start afresh)",
             SENSOR_ACCOUNTS_MAX);
    return -1;
}

/* New routes: a bin set and a detector for them. */
static int stage_routes(struct reload *r, const struct sensor *s, char *err, size_t errlen)
{
    const char *names[ROUTE_MAX];

    r->same = r->routes.nroutes == s->routes.nroutes;
    for (unsigned i = 0; i < r->routes.nroutes; i++) {
        r->from[i] = route_find(&s->routes, r->routes.names[i]);
        r->same = r->same && r->from[i] == (int)i;
        names[i] = r->routes.names[i];
    }
    if (r->same)
        return 0;
    if (check_accounts(s, &r->routes, err, errlen) < 0)
        return -1;
    r->bins = bins_new(r->routes.nroutes, (unsigned)s->opt->bin, (unsigned)s->opt->host_cap);
    r->det = detect_new(detect_config_of(s->det), r->routes.nroutes, names, s->opt->sensor);
    if (!r->bins || !r->det) {
        snprintf(err, errlen, "out of memory for the new routes");
        return -1;
    }
    return 0;
}

struct reload *reload_stage(const struct sensor *s, const struct options *o,
                            const char *const *ifaces, unsigned nifaces, char *err, size_t errlen)
{
    struct reload *r = calloc(1, sizeof *r);

    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (sensor_build_routes(&r->routes, o, err, errlen) < 0)
        goto err;
    if (nifaces && route_bind_ifaces(&r->routes, ifaces, nifaces, err, errlen) < 0)
        goto err;
    r->country = sensor_load_country(o, err, errlen);
    if (!r->country || stage_routes(r, s, err, errlen) < 0)
        goto err;
    return r;
err:
    reload_free(r);
    return NULL;
}

/* The flows of a removed route finish on the fallback route; the others follow their name. */
struct flow_map {
    int to[ROUTE_MAX]; /* old route -> new route */
};

static void move_flow(void *ctx, struct flow *f)
{
    const struct flow_map *m = ctx;
    f->route = (uint8_t)m->to[f->route];
}

static void apply_routes(struct sensor *s, struct reload *r)
{
    struct flow_map m;
    const char *names[ROUTE_MAX];

    for (unsigned i = 0; i < s->routes.nroutes; i++) {
        int to = route_find(&r->routes, s->routes.names[i]);
        m.to[i] = to >= 0 ? to : (int)r->routes.fallback;
    }
    flow_each(s->flows, move_flow, &m);
    bins_take_over(r->bins, s->bins, r->from);
    detect_take_over(r->det, s->det, r->from);
    struct bins *b = s->bins;
    struct detect *d = s->det;
    s->bins = r->bins;
    s->det = r->det;
    r->bins = b;
    r->det = d;
    for (unsigned i = 0; i < r->routes.nroutes; i++) {
        names[i] = r->routes.names[i];
        s->account[i] = (unsigned)sensor_account(s, names[i]); /* room checked when staged */
    }
    if (s->sink)
        sink_set_routes(s->sink, r->routes.nroutes, names);
}

void reload_apply(struct sensor *s, struct reload *r)
{
    if (!r)
        return;
    if (!r->same)
        apply_routes(s, r);
    struct prefix_set *old = s->country;
    s->country = r->country;
    r->country = old;
    s->routes = r->routes;
    for (unsigned i = 0; i < s->routes.nroutes; i++)
        s->route_names[i] = s->routes.names[i];
    s->reloads++;
    LOG(LOG_NOTICE, "reload in force from the bin starting at %" PRId64 " (%u routes)",
        bins_open_start(s->bins), s->routes.nroutes);
    reload_free(r);
}

const char *reload_describe(const struct reload *r, char *buf, size_t size)
{
    size_t n = (size_t)snprintf(buf, size, "%llu IPv4 addresses, %zu IPv6 ranges; routes",
                                (unsigned long long)prefix_v4_addresses(r->country),
                                prefix_v6_ranges(r->country));
    for (unsigned i = 0; i < r->routes.nroutes && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, " %s", r->routes.names[i]);
    if (n < size)
        snprintf(buf + n, size - n, "%s", r->same ? " (unchanged names)" : "");
    return buf;
}
