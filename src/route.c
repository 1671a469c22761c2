/* route — route rules and direction. See route.h. */
#include "route.h"

#include "text.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

void route_init(struct route_table *t)
{
    memset(t, 0, sizeof *t);
}

int route_find(const struct route_table *t, const char *name)
{
    for (unsigned i = 0; i < t->nroutes; i++)
        if (strcmp(t->names[i], name) == 0)
            return (int)i;
    return -1;
}

static bool valid_name(const char *s, size_t n)
{
    if (n == 0 || n >= ROUTE_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.')
            return false;
    return true;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* "aa:bb:cc:dd:ee:ff" or with '-' separators. */
static int parse_mac(const char *s, uint8_t mac[6])
{
    for (int i = 0; i < 6; i++) {
        int hi = hexval(s[0]), lo = hi < 0 ? -1 : hexval(s[1]);
        if (lo < 0)
            return -1;
        mac[i] = (uint8_t)(hi << 4 | lo);
        s += 2;
        if (i < 5 && *s != ':' && *s != '-')
            return -1;
        if (i < 5)
            s++;
    }
    return *s == '\0' ? 0 : -1;
}

/* The mirror-session forms: "erspan:ID" (0 to 1023), "vni:ID" (0 to 16777215). */
static int parse_session(const char *alt, size_t klen, const char *val, struct route_match *m,
                         char *err, size_t errlen)
{
    uint64_t v;

    if (klen == 6 && strncmp(alt, "erspan", 6) == 0) {
        m->kind = MATCH_ERSPAN;
        if (text_parse_u64(val, 0, 1023, &v) < 0) {
            snprintf(err, errlen, "bad ERSPAN session id '%.32s' (0 to 1023)", val);
            return -1;
        }
    } else if (klen == 3 && strncmp(alt, "vni", 3) == 0) {
        m->kind = MATCH_VNI;
        if (text_parse_u64(val, 0, 0xffffff, &v) < 0) {
            snprintf(err, errlen, "bad VNI '%.32s' (0 to 16777215)", val);
            return -1;
        }
    } else {
        snprintf(err, errlen,
                 "unknown match '%.*s' (use vlan:, mac:, iface:, prefix:, erspan: or vni:)",
                 (int)(klen > 32 ? 32 : klen), alt);
        return -1;
    }
    m->session = (uint32_t)v;
    return 0;
}

/* Parses one "kind:value" alternative. */
static int parse_match(const char *alt, struct route_match *m, char *err, size_t errlen)
{
    char why[160];
    uint64_t v;
    const char *colon = strchr(alt, ':');
    size_t klen = colon ? (size_t)(colon - alt) : strlen(alt);
    const char *val = colon ? colon + 1 : "";

    memset(m, 0, sizeof *m);
    m->iface = -1;
    if (klen == 4 && strncmp(alt, "vlan", 4) == 0) {
        m->kind = MATCH_VLAN;
        if (text_parse_u64(val, 0, 4095, &v) < 0) {
            snprintf(err, errlen, "bad VLAN id '%.32s' (0 to 4095)", val);
            return -1;
        }
        m->vlan = (uint16_t)v;
    } else if (klen == 3 && strncmp(alt, "mac", 3) == 0) {
        m->kind = MATCH_MAC;
        if (parse_mac(val, m->mac) < 0) {
            snprintf(err, errlen, "bad MAC address '%.32s' (want AA:BB:CC:DD:EE:FF)", val);
            return -1;
        }
    } else if (klen == 5 && strncmp(alt, "iface", 5) == 0) {
        m->kind = MATCH_IFACE;
        if (*val == '\0' || text_copy(m->iface_name, 16, val) < 0) {
            snprintf(err, errlen, "bad interface name '%.32s'", val);
            return -1;
        }
    } else if (klen == 6 && strncmp(alt, "prefix", 6) == 0) {
        m->kind = MATCH_PREFIX;
        if (prefix_parse_cidr(val, &m->prefix, why, sizeof why) < 0) {
            snprintf(err, errlen, "%s", why);
            return -1;
        }
    } else {
        return parse_session(alt, klen, val, m, err, errlen);
    }
    return 0;
}

static int add_route_name(struct route_table *t, const char *name, size_t n, char *err,
                          size_t errlen)
{
    char buf[ROUTE_NAME_MAX];

    memcpy(buf, name, n);
    buf[n] = '\0';
    int id = route_find(t, buf);
    if (id >= 0)
        return id;
    if (strcmp(buf, "other") == 0 || strcmp(buf, "all") == 0) {
        snprintf(err, errlen, "route name '%s' is reserved", buf);
        return -1;
    }
    if (t->nroutes >= ROUTE_MAX - 1) {
        snprintf(err, errlen, "too many routes (at most %d)", ROUTE_MAX - 1);
        return -1;
    }
    memcpy(t->names[t->nroutes], buf, n + 1);
    return (int)t->nroutes++;
}

int route_add(struct route_table *t, const char *spec, char *err, size_t errlen)
{
    char buf[512], why[200];
    const char *eq = strchr(spec, '=');

    if (!eq || !valid_name(spec, (size_t)(eq - spec))) {
        snprintf(err, errlen,
                 "bad route '%.64s' (want NAME=MATCH, NAME of letters, digits, '_', '-', '.')",
                 spec);
        return -1;
    }
    if (t->nrules >= ROUTE_RULE_MAX || text_copy(buf, sizeof buf, eq + 1) < 0) {
        snprintf(err, errlen, "route '%.64s': too many rules or too long", spec);
        return -1;
    }
    struct route_rule *r = &t->rules[t->nrules];
    memset(r, 0, sizeof *r);
    char *alt = buf;
    for (;;) {
        char *comma = strchr(alt, ',');
        if (comma)
            *comma = '\0';
        if (r->nmatch >= ROUTE_MATCH_MAX) {
            snprintf(err, errlen, "route '%.64s': more than %d alternatives", spec,
                     ROUTE_MATCH_MAX);
            return -1;
        }
        if (parse_match(alt, &r->match[r->nmatch++], why, sizeof why) < 0) {
            snprintf(err, errlen, "route '%.64s': %s", spec, why);
            return -1;
        }
        if (!comma)
            break;
        alt = comma + 1;
    }
    int id = add_route_name(t, spec, (size_t)(eq - spec), err, errlen);
    if (id < 0)
        return -1;
    r->route = (unsigned)id;
    t->nrules++;
    return 0;
}

int route_finish(struct route_table *t, char *err, size_t errlen)
{
    const char *name = t->nrules ? "other" : "all";

    if (t->nroutes >= ROUTE_MAX) {
        snprintf(err, errlen, "too many routes (at most %d)", ROUTE_MAX - 1);
        return -1;
    }
    snprintf(t->names[t->nroutes], ROUTE_NAME_MAX, "%s", name);
    t->fallback = t->nroutes++;
    return 0;
}

int route_bind_ifaces(struct route_table *t, const char *const *names, unsigned n, char *err,
                      size_t errlen)
{
    for (unsigned r = 0; r < t->nrules; r++) {
        for (unsigned m = 0; m < t->rules[r].nmatch; m++) {
            struct route_match *mt = &t->rules[r].match[m];
            if (mt->kind != MATCH_IFACE)
                continue;
            mt->iface = -1;
            for (unsigned i = 0; i < n; i++)
                if (strcmp(names[i], mt->iface_name) == 0)
                    mt->iface = (int)i;
            if (mt->iface < 0) {
                snprintf(err, errlen, "route '%s': interface '%s' is not captured (add -i %s)",
                         t->names[t->rules[r].route], mt->iface_name, mt->iface_name);
                return -1;
            }
        }
    }
    return 0;
}

unsigned route_of_iface(const struct route_table *t, int iface)
{
    for (unsigned r = 0; iface >= 0 && r < t->nrules; r++)
        for (unsigned m = 0; m < t->rules[r].nmatch; m++)
            if (t->rules[r].match[m].kind == MATCH_IFACE && t->rules[r].match[m].iface == iface)
                return t->rules[r].route;
    return t->fallback;
}

static bool match_one(const struct route_match *m, const struct decoded *d, int iface,
                      const struct route_hit *h)
{
    switch (m->kind) {
    case MATCH_VLAN:
        return d->vlan == m->vlan;
    case MATCH_MAC:
        return (d->has_src_mac && memcmp(d->src_mac, m->mac, 6) == 0) ||
               (d->has_dst_mac && memcmp(d->dst_mac, m->mac, 6) == 0);
    case MATCH_IFACE:
        return iface >= 0 && iface == m->iface;
    case MATCH_ERSPAN:
        return d->has_erspan && d->erspan_id == m->session;
    case MATCH_VNI:
        return d->has_vni && d->vni == m->session;
    case MATCH_PREFIX:
        if (!h)
            return false;
        return cidr_contains(&m->prefix, d->ip_version, h->dir == DIR_OUT ? d->src4 : d->dst4,
                             h->chost);
    }
    return false;
}

/* The route of a hit (h NULL: a control packet). */
static unsigned pick_route(const struct route_table *t, const struct decoded *d, int iface,
                           const struct route_hit *h)
{
    for (unsigned r = 0; r < t->nrules; r++)
        for (unsigned m = 0; m < t->rules[r].nmatch; m++)
            if (match_one(&t->rules[r].match[m], d, iface, h))
                return t->rules[r].route;
    return t->fallback;
}

static void add_hit(struct route_verdict *v, unsigned country, uint8_t dir, const uint8_t *chost)
{
    v->hit[v->nhits++] = (struct route_hit){.country = country, .dir = dir, .chost = chost};
}

void route_match(const struct route_table *t, const struct prefix_set *country,
                 const struct decoded *d, int iface, struct route_verdict *v)
{
    v->nhits = 0;
    if (d->has_ip) {
        bool v4 = d->ip_version == 4;
        unsigned from =
            v4 ? prefix_country_v4(country, d->src4) : prefix_country_v6(country, d->src);
        unsigned to = v4 ? prefix_country_v4(country, d->dst4) : prefix_country_v6(country, d->dst);
        if (from)
            add_hit(v, from, DIR_OUT, d->src);
        if (to && to != from)
            add_hit(v, to, DIR_IN, d->dst);
    }
    if (!t->nrules) {
        v->route = v->hit[0].route = v->hit[1].route = t->fallback;
        return;
    }
    for (unsigned i = 0; i < v->nhits; i++)
        v->hit[i].route = pick_route(t, d, iface, &v->hit[i]);
    v->route = v->nhits ? v->hit[0].route : pick_route(t, d, iface, NULL);
}
