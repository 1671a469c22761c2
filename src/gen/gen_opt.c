/* gen_opt — options table, scenario presets and windows. See gen_opt.h. */
#include "gen_opt.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum opt_id {
    OPT_OUT,
    OPT_EXPECT,
    OPT_SEED,
    OPT_START,
    OPT_DURATION,
    OPT_ROUTES,
    OPT_MARK,
    OPT_RATE,
    OPT_BG,
    OPT_LINK,
    OPT_PCAPNG,
    OPT_SNAPLEN,
    OPT_ENCAP,
    OPT_NO_ENCAP,
    OPT_WRAP,
    OPT_V6,
    OPT_BIN,
    OPT_NO_BINS,
    OPT_PACKETS,
    OPT_FLOWS,
    OPT_PROFILE,
    OPT_MIX,
    OPT_OUTAGE,
    OPT_ONEWAY,
    OPT_FAILOVER,
    OPT_BLIND,
    OPT_SCALE,
    OPT_SYNFLOOD,
    OPT_RAMP, /* the window options, in the order of enum gen_win_kind */
    OPT_TROUGH,
    OPT_SESSIONS,
    OPT_ONLY,
    OPT_HELP
};

struct opt_def {
    const char *name;
    const char *arg; /* NULL: a flag */
    enum opt_id id;
    double min, max; /* numeric options; max 0 = the type's maximum */
    const char *help;
};

/* clang-format off */
static const struct opt_def opt_defs[] = {
    {"-o", "OUT", OPT_OUT, 0, 0, "capture file ('-' = stdout, then --expect is needed)"},
    {"--expect", "FILE", OPT_EXPECT, 0, 0, "expect file (default: OUT less .pcap/.pcapng, + .expect.json)"},
    {"--seed", "N", OPT_SEED, 0, 0, "random seed (default 1)"},
    {"--start", "EPOCH", OPT_START, 0, 4102444800.0, "start time, seconds since 1970 (default 1749254400)"},
    {"--duration", "SECONDS", OPT_DURATION, 1, 2592000, "arrivals stop after SECONDS; open conversations finish"},
    {"--routes", "N", OPT_ROUTES, 1, GEN_MAX_ROUTES, "routes 1..8, named cn, ru, r3.. (default 2)"},
    {"--mark", "vlan|mac|both", OPT_MARK, 0, 0, "how a route is marked at layer 2 (default both)"},
    {"--rate", "R", OPT_RATE, 0, 100000, "country conversations per second per route"},
    {"--bg", "R", OPT_BG, 0, 1000000, "background conversations per second per route"},
    {"--link", "eth|sll|sll2|raw|null|loop", OPT_LINK, 0, 0, "link type (default eth)"},
    {"--pcapng", NULL, OPT_PCAPNG, 0, 0, "write pcapng (one interface) instead of pcap"},
    {"--snaplen", "N", OPT_SNAPLEN, 16, 262144, "store at most N bytes per frame; len keeps the wire length"},
    {"--encap-mix", NULL, OPT_ENCAP, 0, 0, "~5% of country packets: QinQ, MPLS, IP options, frags, padding"},
    {"--no-encap-mix", NULL, OPT_NO_ENCAP, 0, 0, "plain encapsulation only"},
    {"--wrap", "KIND", OPT_WRAP, 0, 0, "deliver every frame in a mirror transport (erspan1|erspan2|erspan3|vxlan|geneve|gre-teb: --link eth) or its datagram in a tunnel (ipip|gre-ip|gtpu); counts as the bare twin"},
    {"--v6", "PREFIX", OPT_V6, 0, 0, "1 conversation in 5 over IPv6, country hosts inside PREFIX"},
    {"--bin", "N", OPT_BIN, 1, 86400, "bin length in seconds for the expected bins (default 10)"},
    {"--no-bins", NULL, OPT_NO_BINS, 0, 0, "leave the per-bin counters out of the expect file"},
    {"--packets", "N", OPT_PACKETS, 1, 1e10, "stop after N packets (cuts the last conversations)"},
    {"--flows", "N", OPT_FLOWS, 1, 1e9, "stop after N country conversations (flows)"},
    {"--profile", "flat|decline|diurnal", OPT_PROFILE, 0, 0, "how the country rate changes with time"},
    {"--mix", "full|light|flood", OPT_MIX, 0, 0, "full: DNS HTTP TLS SMTP ICMP; light: DNS ICMP; flood: full+SYNs"},
    {"--outage", "S:E[:ROUTES]", OPT_OUTAGE, 0, 0, "no country packets on ROUTES (default all), S..E s"},
    {"--oneway", "S:E[:ROUTES]", OPT_ONEWAY, 0, 0, "nothing comes back from the country on ROUTES"},
    {"--failover", "S:E:FROM:TO", OPT_FAILOVER, 0, 0, "country conversations of FROM move to TO"},
    {"--blind", "S:E", OPT_BLIND, 0, 0, "no packets at all (the sensor is blind)"},
    {"--scale", "S:E:F[:ROUTES]", OPT_SCALE, 0, 0, "country rate times F on ROUTES"},
    {"--syn-flood", "S:E:PPS[:ROUTES]", OPT_SYNFLOOD, 0, 0, "spoofed SYNs toward the country, PPS per route"},
    {"--ramp", "S:E:F[:ROUTES]", OPT_RAMP, 0, 0, "country rate falls linearly to F times over S..E s, then stays"},
    {"--trough", "F", OPT_TROUGH, 0.01, 1, "diurnal profile: the night's rate, a share of the day's peak (0.3)"},
    {"--sessions", "ALPHA", OPT_SESSIONS, 1.05, 10, "country conversations come in sessions of Pareto(ALPHA) many"},
    {"--only", "S:E", OPT_ONLY, 0, 0, "write only the frames of S..E s (a part of the same scenario)"},
    {"--help", NULL, OPT_HELP, 0, 0, "print this help and exit"},
};
/* clang-format on */

#define OPT_NDEFS (sizeof(opt_defs) / sizeof(opt_defs[0]))

struct opt_preset {
    const char *name;
    const char *what;
    uint32_t duration;
    int routes;
    double rate;
    double bg_per_rate; /* default --bg = this times --rate */
    int encap;
    enum gen_mix mix;
    enum gen_profile profile;
    uint64_t packets, flows;
    const char *win[12]; /* "KIND SPEC", as on the command line */
    double trough;       /* diurnal night / peak, 0: 0.3 */
    double sessions;     /* Pareto shape of conversations per session, 0: single ones */
};

/* clang-format off */
static const struct opt_preset opt_presets[] = {
    /* name, what,
     *   duration, routes, rate, bg per rate, encap, mix, profile, packets, flows, windows,
     *   diurnal trough, session shape */
    {"golden", "10 min, rate 3, bg 6, every protocol, encap mix, no outage",
     600, 2, 3, 2, 1, GEN_MIX_FULL, GEN_PROF_FLAT, 0, 0, {NULL}, 0, 0},
    {"proto", "one conversation per protocol on one route",
     12, 1, 0, 0, 0, GEN_MIX_PROTO, GEN_PROF_FLAT, 0, 0, {NULL}, 0, 0},
    {"blackout", "2 h, rate 4, every route silent 60..90 min",
     7200, 2, 4, 2, 0, GEN_MIX_FULL, GEN_PROF_FLAT, 0, 0, {"outage 3600:5400"}, 0, 0},
    {"flood-blackout", "blackout after 3 min of inbound SYN flood (2000/s per route)",
     7200, 2, 4, 2, 0, GEN_MIX_FULL, GEN_PROF_FLAT, 0, 0,
     {"syn-flood 3420:3600:2000", "outage 3600:5400"}, 0, 0},
    {"oneway", "2 h, rate 4, nothing comes back from the country 60..90 min",
     7200, 2, 4, 2, 0, GEN_MIX_FULL, GEN_PROF_FLAT, 0, 0, {"oneway 3600:5400"}, 0, 0},
    {"failover", "2 h, rate 4, cn silent 60..90 min, its traffic on ru",
     7200, 2, 4, 2, 0, GEN_MIX_FULL, GEN_PROF_FLAT, 0, 0, {"failover 3600:5400:cn:ru"}, 0, 0},
    {"blind", "2 h, rate 4, all traffic stops 60..70 min",
     7200, 2, 4, 2, 0, GEN_MIX_FULL, GEN_PROF_FLAT, 0, 0, {"blind 3600:4200"}, 0, 0},
    {"sparse", "8 h, rate 0.05, bg 0.5, every route silent 4..6 h",
     28800, 2, 0.05, 10, 0, GEN_MIX_FULL, GEN_PROF_FLAT, 0, 0, {"outage 14400:21600"}, 0, 0},
    {"partial", "4 h, rate 2, every route at 40% 2..3 h",
     14400, 2, 2, 2, 0, GEN_MIX_FULL, GEN_PROF_FLAT, 0, 0, {"scale 7200:10800:0.4"}, 0, 0},
    {"decline", "6 h, rate 2 falls to 30% over hours 1..5",
     21600, 2, 2, 2, 0, GEN_MIX_FULL, GEN_PROF_DECLINE, 0, 0, {NULL}, 0, 0},
    {"diurnal", "48 h, rate 4 in a daily sinusoid 30%..100%, bg 1, DNS and ICMP only",
     172800, 2, 4, 0.25, 0, GEN_MIX_LIGHT, GEN_PROF_DIURNAL, 0, 0, {NULL}, 0, 0},
    {"intermittent", "2 h, rate 4, every route silent 4 min and back 6 min, five times from 60 min",
     7200, 2, 4, 2, 0, GEN_MIX_FULL, GEN_PROF_FLAT, 0, 0,
     {"outage 3600:3840", "outage 4200:4440", "outage 4800:5040", "outage 5400:5640",
      "outage 6000:6240"}, 0, 0},
    {"rolling", "52 h, rate 3, DNS and ICMP, bg 1.5: from 26 h every route falls over 90 min "
     "to 10%, then moves between 3% and 15% for a day",
     187200, 2, 3, 0.5, 0, GEN_MIX_LIGHT, GEN_PROF_FLAT, 0, 0,
     {"ramp 93600:99000:0.1", "scale 100800:111600:1.5", "scale 111600:122400:0.3",
      "scale 122400:133200:1.5", "scale 133200:144000:0.3", "scale 144000:154800:1.5",
      "scale 154800:165600:0.3", "scale 165600:176400:1.5", "scale 176400:187200:0.3"}, 0, 0},
    {"week", "7 days, rate 4 in a daily cycle 15%..100%, sessions of Pareto(1.5) conversations, "
     "DNS and ICMP, bg 1; every route at 40% 2.5 d..2.5 d+3 h, falling to 30% over 4 h from 6.5 d",
     604800, 2, 4, 0.25, 0, GEN_MIX_LIGHT, GEN_PROF_DIURNAL, 0, 0,
     {"scale 216000:226800:0.4", "ramp 561600:576000:0.3"}, 0.15, 1.5},
    {"restart", "26 h, rate 4 in a daily cycle 15%..100%, DNS and ICMP, bg 1: every route silent "
     "25 h 10 min..25 h 30 min (for a warm restart at 25 h: --only)",
     93600, 2, 4, 0.25, 0, GEN_MIX_LIGHT, GEN_PROF_DIURNAL, 0, 0, {"outage 90600:91800"}, 0.15,
     0},
    {"demo", "3 h, rate 4: cn fails over to ru 60..75 min, all silent 120..140 min",
     10800, 2, 4, 2, 0, GEN_MIX_FULL, GEN_PROF_FLAT, 0, 0,
     {"failover 3600:4500:cn:ru", "outage 7200:8400"}, 0, 0},
    {"haystack", "2,000,000 packets, 0.5% country (rate 1.2, bg 238.8)",
     900, 2, 1.2, 199, 0, GEN_MIX_FULL, GEN_PROF_FLAT, 2000000, 0, {NULL}, 0, 0},
    {"flood", "100% country, 200,000 flows (rate 1000), half the packets empty",
     3600, 2, 1000, 0, 0, GEN_MIX_FLOOD, GEN_PROF_FLAT, 0, 200000, {NULL}, 0, 0},
};
/* clang-format on */

#define OPT_NPRESETS (sizeof(opt_presets) / sizeof(opt_presets[0]))

/* Window options are kept as text until --routes is known. */
struct opt_pending {
    int n;
    int from_cli;
    enum gen_win_kind kind[GEN_MAX_WIN];
    const char *spec[GEN_MAX_WIN];
};

const char *gen_opt_link_name(enum gen_link l)
{
    static const char *const names[] = {"eth", "sll", "sll2", "raw", "null", "loop"};
    return names[l];
}

const char *gen_opt_mark_name(enum gen_mark m)
{
    static const char *const names[] = {"none", "vlan", "mac", "both"};
    return names[m];
}

uint32_t gen_opt_linktype(enum gen_link l)
{
    static const uint32_t types[] = {1, 113, 276, 101, 0, 108};
    return types[l];
}

enum gen_mark gen_opt_effective_mark(const struct gen_opt *o)
{
    if (o->link == GEN_LINK_ETH)
        return o->mark;
    if (o->link == GEN_LINK_SLL || o->link == GEN_LINK_SLL2)
        return (enum gen_mark)(o->mark & GEN_MARK_MAC);
    return GEN_MARK_NONE;
}

static int opt_u64(const char *s, uint64_t min, uint64_t max, uint64_t *v)
{
    char *end = NULL;
    unsigned long long x;

    if (s[0] < '0' || s[0] > '9')
        return -1;
    errno = 0;
    x = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || x < min || x > max)
        return -1;
    *v = x;
    return 0;
}

static int opt_double(const char *s, double min, double max, double *v)
{
    char *end = NULL;
    double x = strtod(s, &end);

    if (end == s || *end != '\0' || !isfinite(x) || x < min || x > max)
        return -1;
    *v = x;
    return 0;
}

static int opt_pending_add(struct opt_pending *p, enum gen_win_kind kind, const char *spec, int cli)
{
    if (cli && !p->from_cli) {
        p->n = 0; /* the first window option replaces the preset's windows */
        p->from_cli = 1;
    }
    if (p->n >= GEN_MAX_WIN)
        return -1;
    p->kind[p->n] = kind;
    p->spec[p->n] = spec;
    p->n++;
    return 0;
}

static const struct opt_preset *opt_find_preset(const char *name)
{
    for (size_t i = 0; i < OPT_NPRESETS; i++)
        if (strcmp(opt_presets[i].name, name) == 0)
            return &opt_presets[i];
    return NULL;
}

static void opt_apply_preset(struct gen_opt *o, const struct opt_preset *p, struct opt_pending *pw)
{
    memset(o, 0, sizeof(*o));
    o->scenario = p->name;
    o->seed = 1;
    o->start = 1749254400;
    o->duration = p->duration;
    o->routes = p->routes;
    o->mark = GEN_MARK_BOTH;
    o->rate = p->rate;
    o->bg = p->rate * p->bg_per_rate;
    o->link = GEN_LINK_ETH;
    o->encap_mix = p->encap;
    o->bin = 10;
    o->max_packets = p->packets;
    o->max_flows = p->flows;
    o->profile = p->profile;
    o->day_hi = 0.65; /* a night at 30% of the day, unless the preset says */
    o->day_amp = 0.35;
    if (p->trough > 0) {
        o->day_hi = (1 + p->trough) / 2;
        o->day_amp = (1 - p->trough) / 2;
    }
    o->sessions = p->sessions;
    o->mix = p->mix;
    for (int i = 0; i < 12 && p->win[i] != NULL; i++) {
        const char *sp = strchr(p->win[i], ' ');
        size_t n = (size_t)(sp - p->win[i]);
        for (int k = 0; k < GEN_WIN_NKINDS; k++) {
            const char *name = gen_window_kind_name((enum gen_win_kind)k);
            if (strlen(name) == n && strncmp(p->win[i], name, n) == 0)
                opt_pending_add(pw, (enum gen_win_kind)k, sp + 1, 0);
        }
    }
}

static int opt_pick(const char *v, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(v, names[i]) == 0)
            return i;
    return -1;
}

/* Options that take a word from a fixed list. Returns 0, or -1. */
static int opt_set_word(struct gen_opt *o, enum opt_id id, const char *v)
{
    static const char *const links[] = {"eth", "sll", "sll2", "raw", "null", "loop"};
    static const char *const marks[] = {"vlan", "mac", "both"};
    static const char *const profiles[] = {"flat", "decline", "diurnal"};
    static const char *const mixes[] = {"full", "light", "flood"};
    int k = -1;

    if (id == OPT_LINK) {
        k = opt_pick(v, links, 6);
        o->link = k >= 0 ? (enum gen_link)k : o->link;
    } else if (id == OPT_MARK) {
        k = opt_pick(v, marks, 3);
        o->mark = k >= 0 ? (enum gen_mark)(k + 1) : o->mark;
    } else if (id == OPT_PROFILE) {
        k = opt_pick(v, profiles, 3);
        o->profile = k >= 0 ? (enum gen_profile)k : o->profile;
    } else if (id == OPT_MIX) {
        k = opt_pick(v, mixes, 3);
        o->mix = k >= 0 ? (enum gen_mix)k : o->mix;
    }
    return k >= 0 ? 0 : -1;
}

/* Options that take a number, within the bounds of their table row.
 * Returns 0, or -1. */
static int opt_set_number(struct gen_opt *o, const struct opt_def *d, const char *v, int *bg_set)
{
    uint64_t max = d->max > 0 ? (uint64_t)d->max : UINT64_MAX;
    uint64_t u = 0;
    double x = 0;

    if (d->id == OPT_RATE || d->id == OPT_BG || d->id == OPT_TROUGH || d->id == OPT_SESSIONS) {
        if (opt_double(v, d->min, d->max, &x) < 0)
            return -1;
    } else if (opt_u64(v, (uint64_t)d->min, max, &u) < 0) {
        return -1;
    }
    switch (d->id) {
    case OPT_SEED:
        o->seed = u;
        break;
    case OPT_START:
        o->start = u;
        break;
    case OPT_DURATION:
        o->duration = (uint32_t)u;
        break;
    case OPT_ROUTES:
        o->routes = (int)u;
        break;
    case OPT_SNAPLEN:
        o->snaplen = (uint32_t)u;
        break;
    case OPT_BIN:
        o->bin = (uint32_t)u;
        break;
    case OPT_PACKETS:
        o->max_packets = u;
        break;
    case OPT_FLOWS:
        o->max_flows = u;
        break;
    case OPT_RATE:
        o->rate = x;
        break;
    case OPT_BG:
        o->bg = x;
        *bg_set = 1;
        break;
    case OPT_TROUGH:
        o->day_hi = (1 + x) / 2;
        o->day_amp = (1 - x) / 2;
        break;
    case OPT_SESSIONS:
        o->sessions = x;
        break;
    default:
        return -1;
    }
    return 0;
}

static void opt_bad_number(const struct opt_def *d, const char *v, char *err, size_t errlen)
{
    if (d->max > 0)
        snprintf(err, errlen, "%s '%s': expected a number in %.10g..%.10g", d->name, v, d->min,
                 d->max);
    else
        snprintf(err, errlen, "%s '%s': expected a whole number", d->name, v);
}

/* Options without a value, and those that keep their text. */
static int opt_set_plain(struct gen_opt *o, enum opt_id id, const char *v)
{
    switch (id) {
    case OPT_OUT:
        o->out = v;
        break;
    case OPT_EXPECT:
        o->expect = v;
        break;
    case OPT_PCAPNG:
        o->pcapng = 1;
        break;
    case OPT_ENCAP:
        o->encap_mix = 1;
        break;
    case OPT_NO_ENCAP:
        o->encap_mix = 0;
        break;
    case OPT_NO_BINS:
        o->no_bins = 1;
        break;
    default:
        return -1;
    }
    return 0;
}

/* --only S:E, seconds after the start. */
static int opt_only(struct gen_opt *o, const char *v, char *err, size_t errlen)
{
    char buf[64];
    const char *colon = strchr(v, ':');
    uint64_t from, to;

    snprintf(buf, sizeof(buf), "%.*s", colon ? (int)(colon - v) : 0, v);
    if (colon == NULL || strlen(v) >= sizeof(buf) || opt_u64(buf, 0, 100000000, &from) < 0 ||
        opt_u64(colon + 1, 1, 100000000, &to) < 0 || from >= to) {
        snprintf(err, errlen, "--only '%s': expected S:E with S < E (seconds)", v);
        return -1;
    }
    o->only_from = (uint32_t)from;
    o->only_to = (uint32_t)to;
    return 0;
}

static int opt_set(struct gen_opt *o, const struct opt_def *d, const char *v,
                   struct opt_pending *pw, int *bg_set, char *err, size_t errlen)
{
    if (opt_set_plain(o, d->id, v) == 0)
        return 0;
    if (d->id == OPT_V6)
        return gen_net_parse_v6prefix(v, &o->v6, err, errlen);
    if (d->id == OPT_WRAP) {
        if (gen_wrap_parse(v, &o->wrap) == 0)
            return 0;
        snprintf(err, errlen, "%s '%s': expected %s", d->name, v, gen_wrap_names());
        return -1;
    }
    if (d->id == OPT_LINK || d->id == OPT_MARK || d->id == OPT_PROFILE || d->id == OPT_MIX) {
        if (opt_set_word(o, d->id, v) == 0)
            return 0;
        snprintf(err, errlen, "%s '%s': expected %s", d->name, v, d->arg);
        return -1;
    }
    if (d->id == OPT_ONLY)
        return opt_only(o, v, err, errlen);
    if (d->id >= OPT_OUTAGE && d->id <= OPT_RAMP) {
        /* the window options are listed in the order of enum gen_win_kind */
        if (opt_pending_add(pw, (enum gen_win_kind)(d->id - OPT_OUTAGE), v, 1) == 0)
            return 0;
        snprintf(err, errlen, "%s: at most %d windows", d->name, GEN_MAX_WIN);
        return -1;
    }
    if (opt_set_number(o, d, v, bg_set) == 0)
        return 0;
    opt_bad_number(d, v, err, errlen);
    return -1;
}

static void opt_help(FILE *f)
{
    fprintf(f,
            "usage: blackout-gen SCENARIO [OPTIONS] -o OUT.pcap\n\n"
            "Writes a deterministic capture of traffic to and from the KP address blocks\n"
            "(%s, %s, %s) and, beside it, OUT.expect.json\n"
            "with the exact per-route counters, per-bin counters and the events a detector\n"
            "should raise. The same arguments always give the same bytes.\n\nScenarios:\n",
            gen_net_kp_blocks[0], gen_net_kp_blocks[1], gen_net_kp_blocks[2]);
    for (size_t i = 0; i < OPT_NPRESETS; i++)
        fprintf(f, "  %-16s %s\n", opt_presets[i].name, opt_presets[i].what);
    fprintf(f, "\nOptions (they override the scenario's presets):\n");
    for (size_t i = 0; i < OPT_NDEFS; i++) {
        char left[64];
        snprintf(left, sizeof(left), "%s%s%s", opt_defs[i].name, opt_defs[i].arg ? " " : "",
                 opt_defs[i].arg ? opt_defs[i].arg : "");
        fprintf(f, "  %-34s %s\n", left, opt_defs[i].help);
    }
    fprintf(f,
            "\nScenarios use 2 routes and --bg = 2 x --rate unless said otherwise (sparse 10 x,\n"
            "haystack 199 x, proto and flood none). Times S and E are seconds after --start;\n"
            "ROUTES is a comma list (cn,ru). Any window option (--outage, --oneway,\n"
            "--failover, --blind, --scale, --syn-flood, --ramp) replaces the scenario's own\n"
            "windows. A ramp below 25%% (the detector's default --down-below) expects a down\n"
            "where it crosses 25%%; scale windows expect nothing. Sessions: each country\n"
            "arrival opens 1..1000 conversations (Pareto, 2 s apart on average) from one host,\n"
            "the session rate set so that conversations still arrive at --rate.\n"
            "Route i (cn = 0) is marked by VLAN 100+i and router MAC 02:00:00:00:01:0i; the\n"
            "observing side is 02:00:00:00:00:01 and frames toward the country come from\n"
            "the router MAC. sll/sll2 carry the router MAC in their address field (no VLAN);\n"
            "raw, null and loop carry no route marks. Bytes counted are wire lengths.\n"
            "Exit status: 0 ok, 1 runtime failure (write error, out of memory), 2 usage.\n");
}

/* The option named by arg ("--seed" or "--seed=5"); NULL if unknown. */
static const struct opt_def *opt_lookup(const char *arg, const char **inline_value)
{
    const char *eq = strchr(arg, '=');
    size_t n = eq != NULL ? (size_t)(eq - arg) : strlen(arg);

    *inline_value = eq != NULL ? eq + 1 : NULL;
    for (size_t i = 0; i < OPT_NDEFS; i++)
        if (strlen(opt_defs[i].name) == n && strncmp(opt_defs[i].name, arg, n) == 0)
            return &opt_defs[i];
    return NULL;
}

/* "-o", "--seed": an option where a value was expected ("-" and "-1" are values). */
static int opt_looks_like_option(const char *a)
{
    return a[0] == '-' && ((a[1] >= 'a' && a[1] <= 'z') || a[1] == '-');
}

/* Walk argv: find the scenario and check every option is known and has
 * its value. Returns 1 for --help, 0, or -1. */
static int opt_scan(int argc, char **argv, const char **scenario, char *err, size_t errlen)
{
    for (int i = 1; i < argc; i++) {
        const char *iv = NULL;
        const struct opt_def *d;

        if (argv[i][0] != '-') {
            if (*scenario != NULL) {
                snprintf(err, errlen, "unexpected argument '%s'", argv[i]);
                return -1;
            }
            *scenario = argv[i];
            continue;
        }
        d = opt_lookup(argv[i], &iv);
        if (d == NULL) {
            snprintf(err, errlen, "unknown option '%s' (try --help)", argv[i]);
            return -1;
        }
        if (d->id == OPT_HELP)
            return 1;
        if (d->arg == NULL && iv != NULL) {
            snprintf(err, errlen, "option '%s' takes no value", d->name);
            return -1;
        }
        if (d->arg != NULL && iv == NULL && (++i >= argc || opt_looks_like_option(argv[i]))) {
            snprintf(err, errlen, "option '%s' needs a value (%s)", d->name, d->arg);
            return -1;
        }
    }
    if (*scenario == NULL) {
        snprintf(err, errlen, "no scenario given (try --help)");
        return -1;
    }
    return 0;
}

static int opt_apply_args(struct gen_opt *o, int argc, char **argv, struct opt_pending *pw,
                          int *bg_set, char *err, size_t errlen)
{
    for (int i = 1; i < argc; i++) {
        const char *iv = NULL;
        const struct opt_def *d;

        if (argv[i][0] != '-')
            continue;
        d = opt_lookup(argv[i], &iv);
        if (d->arg != NULL && iv == NULL)
            iv = argv[++i];
        if (opt_set(o, d, iv, pw, bg_set, err, errlen) < 0)
            return -1;
    }
    return 0;
}

static int opt_check(const struct gen_opt *o, char *err, size_t errlen)
{
    if (o->out == NULL) {
        snprintf(err, errlen, "no output given: use -o OUT.pcap");
        return -1;
    }
    if (strcmp(o->out, "-") == 0 && o->expect == NULL) {
        snprintf(err, errlen, "-o - writes the capture to stdout: give --expect FILE too");
        return -1;
    }
    if (o->expect != NULL && strcmp(o->expect, "-") == 0) {
        snprintf(err, errlen, "--expect needs a file name");
        return -1;
    }
    if (o->wrap != GEN_WRAP_NONE && !gen_wrap_is_tunnel(o->wrap) && o->link != GEN_LINK_ETH) {
        snprintf(err, errlen, "--wrap %s carries Ethernet frames: not with --link %s",
                 gen_wrap_name(o->wrap), gen_opt_link_name(o->link));
        return -1;
    }
    return 0;
}

int gen_opt_parse(struct gen_opt *o, int argc, char **argv, char *err, size_t errlen)
{
    const struct opt_preset *p;
    struct opt_pending pw;
    const char *scenario = NULL;
    int bg_set = 0;
    int rc;

    memset(&pw, 0, sizeof(pw));
    rc = opt_scan(argc, argv, &scenario, err, errlen);
    if (rc == 1)
        opt_help(stdout);
    if (rc != 0)
        return rc;
    p = opt_find_preset(scenario);
    if (p == NULL) {
        snprintf(err, errlen, "unknown scenario '%s' (try --help)", scenario);
        return -1;
    }
    opt_apply_preset(o, p, &pw);
    if (opt_apply_args(o, argc, argv, &pw, &bg_set, err, errlen) < 0)
        return -1;
    if (!bg_set)
        o->bg = o->rate * p->bg_per_rate;
    for (int i = 0; i < pw.n; i++)
        if (gen_window_parse(&o->win, pw.kind[i], pw.spec[i], o->routes, err, errlen) < 0)
            return -1;
    return opt_check(o, err, errlen);
}
