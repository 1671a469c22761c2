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
    bool same;            /* the same route names in the same order: only rules change */
    int from[ROUTE_MAX];  /* new route -> old route of the same name, or -1 */
    struct detect **dets; /* [ndets]: per country at staging, for the new routes (!same) */
    unsigned ndets;
};

void reload_free(struct reload *r)
{
    if (!r)
        return;
    prefix_free(r->country);
    for (unsigned c = 0; c < r->ndets; c++)
        detect_free(r->dets[c]);
    free(r->dets);
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

/* New route names: a detector per country for them. */
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
    r->dets = calloc(s->ncountries ? s->ncountries : 1, sizeof *r->dets);
    if (!r->dets)
        goto oom;
    r->ndets = s->ncountries;
    for (unsigned c = 0; c < r->ndets; c++) {
        r->dets[c] = detect_new(&s->dc, r->routes.nroutes, names, s->opt->sensor);
        if (!r->dets[c])
            goto oom;
    }
    return 0;
oom:
    snprintf(err, errlen, "out of memory for the new routes");
    return -1;
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

/* Each country's detector continues under the new routes (one staged for it, or one made
 * now for a country that appeared since). */
static void carry_detectors(struct sensor *s, struct reload *r)
{
    for (unsigned c = 0; c < s->ncountries; c++) {
        struct detect *d = c < r->ndets ? r->dets[c] : NULL;
        if (c < r->ndets)
            r->dets[c] = NULL;
        if (!d)
            d = detect_new(&s->dc, s->routes.nroutes, s->route_names, s->opt->sensor);
        if (!d) {
            LOG(LOG_ERR, "out of memory for the detector of %s: it stops", s->countries[c].code);
        } else if (s->countries[c].det) {
            detect_take_over(d, s->countries[c].det, r->from);
        }
        detect_free(s->countries[c].det);
        s->countries[c].det = d;
    }
}

/* Pairs follow their route by name; the flows of a removed route move to the fallback. */
static void remap_pairs(struct sensor *s)
{
    for (size_t i = 0; i < (size_t)SENSOR_COUNTRIES_MAX * ROUTE_MAX; i++)
        s->pair_of[i] = SENSOR_NO_ID;
    for (unsigned p = 0; p < s->npairs; p++) {
        struct sensor_pair *sp = &s->pairs[p];
        sp->route = route_find(&s->routes, sp->route_name);
        if (sp->route >= 0)
            s->pair_of[sp->country * ROUTE_MAX + (unsigned)sp->route] = (uint16_t)p;
        if (s->sink)
            sink_pair_live(s->sink, p, sp->route >= 0);
    }
}

static void move_flow(void *ctx, struct flow *f)
{
    struct sensor *s = ctx;
    for (unsigned i = 0; i < 2; i++) {
        if (f->pair[i] == FLOW_NO_PAIR || s->pairs[f->pair[i]].route >= 0)
            continue;
        int p = sensor_pair(s, s->pairs[f->pair[i]].country, s->routes.fallback);
        if (p >= 0)
            f->pair[i] = (uint16_t)p;
    }
}

/* The countries of the new set, by code; those named by --country made now, with a pair on
 * every route. */
static int remap_countries(struct sensor *s)
{
    unsigned n = prefix_ncountries(s->country);
    uint16_t *ids = malloc((n + 1) * sizeof *ids);

    if (!ids)
        return -1;
    ids[0] = SENSOR_NO_ID;
    for (unsigned i = 1; i <= n; i++) {
        const char *code = prefix_country_code(s->country, i);
        int c = -1;
        for (unsigned k = 0; k < s->ncountries && c < 0; k++)
            if (strcmp(s->countries[k].code, code) == 0)
                c = (int)k;
        if (c < 0 && !s->all_countries)
            c = sensor_country(s, code);
        for (unsigned rt = 0; c >= 0 && !s->all_countries && rt < s->routes.nroutes; rt++)
            sensor_pair(s, (unsigned)c, rt);
        ids[i] = c >= 0 ? (uint16_t)c : SENSOR_NO_ID;
    }
    for (unsigned k = 0; k < s->ncountries; k++) {
        bool in = false;
        for (unsigned i = 1; i <= n && !in; i++)
            in = ids[i] == k;
        s->countries[k].watched = in;
    }
    for (unsigned p = 0; p < s->npairs; p++) { /* the pairs of a country dropped from the set */
        struct sensor_pair *sp = &s->pairs[p];
        if (s->countries[sp->country].watched || sp->route < 0)
            continue;
        s->pair_of[sp->country * ROUTE_MAX + (unsigned)sp->route] = SENSOR_NO_ID;
        sp->route = -1;
        if (s->sink)
            sink_pair_live(s->sink, p, false);
    }
    free(s->country_id);
    s->country_id = ids;
    return 0;
}

void reload_apply(struct sensor *s, struct reload *r)
{
    if (!r)
        return;
    struct prefix_set *old = s->country;
    s->country = r->country;
    r->country = old;
    s->routes = r->routes;
    for (unsigned i = 0; i < s->routes.nroutes; i++) {
        s->route_names[i] = s->routes.names[i];
        s->account[i] = (unsigned)sensor_account(s, s->routes.names[i]); /* room checked */
    }
    remap_pairs(s);
    if (!r->same)
        carry_detectors(s, r);
    unsigned *row_route = malloc((s->npairs ? s->npairs : 1) * sizeof *row_route);
    for (unsigned p = 0; row_route && p < s->npairs; p++)
        row_route[p] = s->pairs[p].route >= 0 ? (unsigned)s->pairs[p].route : s->routes.fallback;
    if (!row_route || bins_set_routes(s->bins, s->routes.nroutes, row_route) < 0 ||
        remap_countries(s) < 0)
        LOG(LOG_ERR, "out of memory applying the reload: counts may be off from here");
    free(row_route);
    flow_each(s->flows, move_flow, s);
    s->reloads++;
    LOG(LOG_NOTICE, "reload in force from the bin starting at %" PRId64 " (%u routes)",
        bins_open_start(s->bins), s->routes.nroutes);
    reload_free(r);
}

const char *reload_describe(const struct reload *r, char *buf, size_t size)
{
    size_t n = (size_t)snprintf(
        buf, size, "%u countries, %llu IPv4 addresses, %zu IPv6 ranges; routes",
        prefix_ncountries(r->country), (unsigned long long)prefix_v4_addresses(r->country),
        prefix_v6_ranges(r->country));
    for (unsigned i = 0; i < r->routes.nroutes && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, " %s", r->routes.names[i]);
    if (n < size)
        snprintf(buf + n, size - n, "%s", r->same ? " (unchanged names)" : "");
    return buf;
}
