/* detect — silence and collapse decisions per route, country and sensor. See detect.h. */
#include "detect.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAST_S    600.0   /* burstiness: fast average, seconds */
#define SLOW_S    3600.0  /* burstiness: slow average */
#define LEVEL_S   10800.0 /* the level's time constant while it follows the day itself */
#define LEVEL_DAY 43200.0 /* and once the time-of-day shape is known */
#define PENDING_S 7200    /* a suspicion undecided for this long is learned */
#define Q_MAX     0.9999  /* occupancy share cap (keeps -ln(1-q) finite) */
#define SURGE_MIN 100     /* inbound packets in a bin below which nothing is a surge */
#define BLIND_MIN 2       /* fewest silent bins before the sensor is called blind */
#define DROPS_MIN 100     /* fewest drops in a bin that can make the sensor blind */
#define UP_BINS   2       /* bins with traffic that end a blind spell */
#define DAY_S     86400
#define SLOT_S    (DAY_S / DETECT_SLOTS)

enum { IN = 0, OUT = 1 };

/* Moving averages of one direction of one route: how bursty its conversations are. */
struct dir_est {
    double q_fast, q_slow; /* share of bins with at least one start */
    double m_fast, m_slow; /* mean starts per bin */
    double s_fast, s_slow; /* mean squared starts per bin */
    double pps;            /* packets per second (slow) */
};

/* The time-of-day shape of one direction: per slot and day, the mean starts per bin. */
struct profile {
    float day[DETECT_DAYS][DETECT_SLOTS]; /* NAN: the slot was mostly down, suspect or blind */
    int32_t day_id[DETECT_DAYS];          /* day since the epoch of each row, -1 unused */
    float med[DETECT_SLOTS];              /* median over the last DETECT_DAYS days, NAN: none */
    float mean;                           /* mean of med; set when every slot has one */
    bool ready;
    int64_t cur; /* day * DETECT_SLOTS + slot being summed, -1 none */
    double sum;  /* starts of its clean bins */
    uint32_t n;  /* its clean bins */
};

/* The index of dispersion of the starts summed over blocks of bins: sessions spread their
 * conversations over many bins, so sums over minutes vary more than the bins' own dispersion
 * tells. Measured on the second difference of three consecutive blocks' observed/expected
 * ratios, so that an error of the expected level, and a trend it misses, cancel out. */
#define DISP_SCALES 1
#define DISP_PRIOR  6 /* blocks: the average starts as if it had seen this many at 1 */
#define DISP_CAP                                                                                   \
    4 /* a sample counts for at most this many times the average, plus one: a                      \
       * step in the level (a failover) is not burstiness */
static const unsigned disp_block_s[DISP_SCALES] = {300};
struct disp {
    double x, e;     /* the block being summed: starts, expected starts */
    double r[2];     /* observed/expected of the two blocks before it, newest first */
    double inv[2];   /* and 1/expected (0: no such block) */
    uint32_t n;      /* bins in the block being summed */
    uint32_t blocks; /* samples averaged */
    double d;        /* (r - 2r' + r'')² / (1/e + 4/e' + 1/e''), averaged over a day */
};

/* One direction of one route. */
struct dir_det {
    struct dir_est est;
    struct disp disp[DISP_SCALES];
    double level; /* average of starts per bin over the shape (P), over the bins learned */
    struct profile prof;
    /* silent run: bins in a row without a packet this way */
    unsigned run;
    int64_t run_start;
    double run_ev;               /* Σ u·λ over the run */
    double run_x[2], run_e[2];   /* starts seen and expected over the run, each way */
    uint64_t run_pkts[2];        /* packets seen over the run, each way */
    double cus;                  /* collapse CUSUM */
    int64_t cus_start;           /* where it left 0 */
    double cus_x[2], cus_e[2];   /* over its run */
    uint64_t cus_pkts[2];        /* over its run */
    double ctry_x[2], ctry_e[2]; /* over the country CUSUM's run of this direction */
    uint64_t ctry_pkts[2];       /* over that run */
};

/* What one bin, or the sum of the bins held back, teaches. */
struct sample {
    double x[2], x2[2], hits[2], pkts[2], e[2];
    double level[2];  /* Σ x/P over the bins where the shape P is not too small */
    double nlevel[2]; /* those bins */
};

/* Bins held back from learning while a suspicion is undecided, summed. */
struct pending {
    unsigned n;
    struct sample sum;
};

struct route_det {
    char name[RECORD_NAME_MAX];
    enum detect_state state;
    int64_t state_since;
    bool ever_up;
    unsigned learned; /* bins learned */
    struct dir_det dir[2];
    struct pending pend;
    int64_t last_active; /* end of the last bin with country traffic */
    int64_t last_surge;  /* end of the last bin with an inbound surge */
    double last_pps, last_dir_pps[2], last_e[2];
    /* down */
    unsigned down_dir;
    uint8_t down_kind;
    int64_t down_since, down_at; /* when it began, when it was decided */
    double down_base_pps[2], down_obs_pps[2], down_x[2], down_e[2];
    bool down_surge;
    double up_cus; /* recovery CUSUM */
    int64_t up_start;
};

struct detect {
    struct detect_config c;
    char sensor[RECORD_SENSOR_MAX];
    unsigned nroutes;
    double h;     /* ln(1/α) per bin and direction */
    double theta; /* the up test's alternative */
    uint64_t fed;
    int64_t at; /* start of the last bin fed */
    struct route_det *r;
    /* country */
    enum detect_state country;
    int64_t country_since;
    double ccus[2]; /* the summed collapse CUSUM, per direction */
    int64_t ccus_start[2];
    /* sensor: total packets of every route, and drops */
    struct dir_est total;
    unsigned total_learned;
    unsigned blind_run;
    bool blind;
    int64_t blind_since;
    unsigned ok_seen;
    struct detect_told told; /* routes whose route_down went out on its own */
};

/* A direction's view for the bin at hand, from what was learned before it. */
struct dir_now {
    double e;   /* expected starts in the bin */
    double phi; /* starts per independent cluster, within a bin */
    double lam; /* clusters per bin the silence test assumes */
    double dsp; /* dispersion of sums over runs of bins: what a count weighs in the CUSUMs */
};

static const char *const state_names[] = {
    [DS_LEARNING] = "learning", [DS_UP] = "up",       [DS_DOWN] = "down",
    [DS_UNKNOWN] = "unknown",   [DS_BLIND] = "blind",
};

const char *detect_state_name(enum detect_state s)
{
    return (unsigned)s <= DS_BLIND ? state_names[s] : "invalid";
}

void detect_defaults(struct detect_config *c, unsigned bin)
{
    memset(c, 0, sizeof *c);
    c->bin = bin;
    c->warmup = 1800;
    c->horizon = 3600;
    c->alarms_per_month = 0.1;
    c->down_below = 0.25;
    c->up_above = 0.5;
    c->surge = 5.0;
    c->coincide = 3;
    c->surge_window = 300;
    c->blind_drops = 0.1;
}

static double log_inv_alpha(const struct detect_config *c)
{
    double tests = 2.0 * 30 * DAY_S / c->bin; /* two directions, every bin of 30 days */
    double alpha = c->alarms_per_month / tests;
    return -log(alpha);
}

double detect_tstar(const struct detect_config *c, double lambda)
{
    return lambda > 0 ? log_inv_alpha(c) / lambda : INFINITY;
}

double detect_threshold(const struct detect_config *c, double lambda)
{
    return detect_tstar(c, lambda) / c->up_above;
}

double detect_up_theta(double down_below, double up_above)
{
    /* the logarithmic mean of c and θ grows with θ from c: bisect for u */
    double lo = up_above, hi = up_above;
    while ((hi - down_below) / log(hi / down_below) < up_above)
        hi *= 2;
    for (int i = 0; i < 100; i++) {
        double mid = (lo + hi) / 2;
        if ((mid - down_below) / log(mid / down_below) < up_above)
            lo = mid;
        else
            hi = mid;
    }
    return (lo + hi) / 2;
}

size_t detect_route_bytes(void)
{
    return sizeof(struct route_det);
}

unsigned detect_nroutes(const struct detect *d)
{
    return d->nroutes;
}

uint64_t detect_bins_fed(const struct detect *d)
{
    return d->fed;
}

static void profile_init(struct profile *p)
{
    for (unsigned k = 0; k < DETECT_DAYS; k++) {
        p->day_id[k] = -1;
        for (unsigned s = 0; s < DETECT_SLOTS; s++)
            p->day[k][s] = NAN;
    }
    for (unsigned s = 0; s < DETECT_SLOTS; s++)
        p->med[s] = NAN;
    p->cur = -1;
}

static void route_init(struct route_det *r, const char *name)
{
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%s", name);
    r->state_since = INT64_MIN;
    r->last_surge = INT64_MIN;
    for (unsigned d = 0; d < 2; d++) {
        profile_init(&r->dir[d].prof);
        for (unsigned k = 0; k < DISP_SCALES; k++)
            r->dir[d].disp[k].d = 1;
    }
}

struct detect *detect_new(const struct detect_config *c, unsigned nroutes, const char *const *names,
                          const char *sensor)
{
    if (c->bin == 0 || nroutes == 0 || nroutes > DETECT_ROUTES_MAX || !(c->down_below > 0) ||
        !(c->up_above > c->down_below) || c->up_above > 1 || !(c->alarms_per_month > 0))
        return NULL;
    struct detect *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->r = calloc(nroutes, sizeof *d->r);
    if (!d->r) {
        free(d);
        return NULL;
    }
    d->c = *c;
    d->nroutes = nroutes;
    d->h = log_inv_alpha(c);
    d->theta = detect_up_theta(c->down_below, c->up_above);
    snprintf(d->sensor, sizeof d->sensor, "%s", sensor);
    for (unsigned i = 0; i < nroutes; i++)
        route_init(&d->r[i], names[i]);
    d->country_since = INT64_MIN;
    d->told.window = (int64_t)c->coincide * c->bin;
    return d;
}

void detect_free(struct detect *d)
{
    if (!d)
        return;
    free(d->r);
    free(d);
}

int detect_take_over(struct detect *dst, const struct detect *src, const int *from)
{
    if (dst->c.bin != src->c.bin)
        return -1;
    for (unsigned i = 0; i < dst->nroutes; i++) {
        if (from[i] < 0 || (unsigned)from[i] >= src->nroutes)
            continue;
        char name[RECORD_NAME_MAX];
        memcpy(name, dst->r[i].name, sizeof name);
        dst->r[i] = src->r[from[i]];
        memcpy(dst->r[i].name, name, sizeof name);
    }
    dst->fed = src->fed;
    dst->country = src->country;
    dst->country_since = src->country_since;
    dst->total = src->total;
    dst->total_learned = src->total_learned;
    dst->blind_run = src->blind_run;
    dst->blind = src->blind;
    dst->blind_since = src->blind_since;
    dst->ok_seen = src->ok_seen;
    dst->told = src->told; /* by name: a route renamed away is never told up (it is gone) */
    return 0;
}

/* ---- estimators ---- */

/* Weight of a batch of k samples in an average of time constant tau (in samples) that has
 * seen n: a plain mean while young, then exponential. */
static double batch_weight(unsigned n, unsigned k, double tau)
{
    if (k == 0)
        return 0;
    if (n + k <= tau)
        return (double)k / (n + k);
    if (k == 1)
        return 1.0 / tau;
    double young = n < tau ? tau - n : 0;
    return 1 - (1 - young / tau) * pow(1 - 1 / tau, k - young);
}

/* Adds k bins with these sums of starts, squared starts, bins with a start and packets. */
static void est_add(struct dir_est *e, unsigned n, unsigned bin, unsigned k, double x, double x2,
                    double hits, double pkts)
{
    double wf = batch_weight(n, k, FAST_S / bin), ws = batch_weight(n, k, SLOW_S / bin);
    e->q_fast += wf * (hits / k - e->q_fast);
    e->q_slow += ws * (hits / k - e->q_slow);
    e->m_fast += wf * (x / k - e->m_fast);
    e->m_slow += ws * (x / k - e->m_slow);
    e->s_fast += wf * (x2 / k - e->s_fast);
    e->s_slow += ws * (x2 / k - e->s_slow);
    e->pps += ws * (pkts / k / bin - e->pps);
}

/* Independent arrivals per bin, two lower bounds for clustered (bursty) arrivals: from the
 * share of bins with any start, P(empty) = e^(-ν), and mean²/variance. The larger of the
 * two, never above the mean. */
static double clusters(double q, double m, double s)
{
    double occ = -log1p(-(q < Q_MAX ? q : Q_MAX));
    double var = s - m * m;
    double disp = var > 1e-9 ? m * m / var : m;
    return fmin(fmax(occ, disp), m);
}

/* Starts per independent cluster: the larger of the fast and slow estimates, at least 1. */
static double burstiness(const struct dir_est *e)
{
    double f = e->m_fast > 0 ? e->m_fast / clusters(e->q_fast, e->m_fast, e->s_fast) : 1;
    double s = e->m_slow > 0 ? e->m_slow / clusters(e->q_slow, e->m_slow, e->s_slow) : 1;
    return fmax(1, fmax(f, s));
}

/* Conversation clusters per second (the sensor's total: the lower of fast and slow). */
static double est_lambda(const struct dir_est *e, unsigned bin)
{
    double f = clusters(e->q_fast, e->m_fast, e->s_fast);
    double s = clusters(e->q_slow, e->m_slow, e->s_slow);
    return fmin(f, s) / bin;
}

/* ---- the time-of-day shape ---- */

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static unsigned day_row(int64_t day)
{
    return (unsigned)(((day % DETECT_DAYS) + DETECT_DAYS) % DETECT_DAYS);
}

/* The median of slot s over the rows of the last DETECT_DAYS days before `day`, and the
 * day's mean over the slots. */
static void profile_update(struct profile *p, unsigned s, int64_t day)
{
    float v[DETECT_DAYS];
    unsigned n = 0;
    for (unsigned k = 0; k < DETECT_DAYS; k++) {
        if (p->day_id[k] < 0 || p->day_id[k] <= day - DETECT_DAYS || !isfinite(p->day[k][s]))
            continue;
        float x = p->day[k][s];
        unsigned i = n++;
        for (; i > 0 && v[i - 1] > x; i--)
            v[i] = v[i - 1];
        v[i] = x;
    }
    p->med[s] = n == 0 ? NAN : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    double sum = 0;
    unsigned have = 0;
    for (unsigned k = 0; k < DETECT_SLOTS; k++)
        if (isfinite(p->med[k])) {
            sum += p->med[k];
            have++;
        }
    p->mean = (float)(sum / DETECT_SLOTS);
    p->ready = have == DETECT_SLOTS && p->mean > 0;
}

/* The slot being summed ends: its day value is its clean bins' mean when they cover at least
 * half of it, else NAN (an outage, a suspicion, a blind spell are not a time of day). */
static void profile_close(struct profile *p, unsigned bin)
{
    if (p->cur < 0)
        return;
    int64_t day = p->cur / DETECT_SLOTS;
    unsigned s = (unsigned)(p->cur % DETECT_SLOTS), row = day_row(day);
    unsigned slot_bins = SLOT_S / bin ? SLOT_S / bin : 1;
    if (p->day_id[row] != (int32_t)day) {
        p->day_id[row] = (int32_t)day;
        for (unsigned k = 0; k < DETECT_SLOTS; k++)
            p->day[row][k] = NAN;
    }
    p->day[row][s] = 2 * p->n >= slot_bins ? (float)(p->sum / p->n) : NAN;
    profile_update(p, s, day);
}

/* Moves the slot being summed to the one of a bin starting at `start`. */
static void profile_at(struct profile *p, int64_t start, unsigned bin)
{
    int64_t key = floor_div(start, SLOT_S);
    if (key == p->cur)
        return;
    profile_close(p, bin);
    p->cur = key;
    p->sum = 0;
    p->n = 0;
}

/* The shape at time t: the slot medians interpolated between slot centres, over their mean. */
static double profile_shape(const struct profile *p, int64_t t)
{
    if (!p->ready)
        return 1;
    double pos = (double)(t - floor_div(t, DAY_S) * DAY_S) / SLOT_S - 0.5;
    if (pos < 0)
        pos += DETECT_SLOTS;
    unsigned s0 = (unsigned)pos % DETECT_SLOTS, s1 = (s0 + 1) % DETECT_SLOTS;
    double f = pos - floor(pos);
    return ((1 - f) * p->med[s0] + f * p->med[s1]) / p->mean;
}

/* ---- one direction's view of a bin ---- */

static void dir_view(const struct detect *d, const struct dir_det *dd, int64_t start,
                     struct dir_now *v)
{
    double shape = profile_shape(&dd->prof, start + d->c.bin / 2);
    v->e = dd->level * shape;
    v->phi = burstiness(&dd->est);
    double fast = clusters(dd->est.q_fast, dd->est.m_fast, dd->est.s_fast);
    v->lam = fmin(v->e / v->phi, fast);
    v->dsp = v->phi;
    for (unsigned k = 0; k < DISP_SCALES; k++)
        v->dsp = fmax(v->dsp, dd->disp[k].d);
}

/* Silent bins after which a run would be decided at this rate (0: not within the horizon). */
static unsigned threshold_bins(const struct detect *d, const struct dir_now *v)
{
    if (!(v->lam > 0))
        return 0;
    double bins = ceil(d->h / (d->c.up_above * v->lam));
    if (bins * d->c.bin > d->c.horizon)
        return 0;
    return bins > 1 ? (unsigned)bins : 1;
}

/* ---- learning ---- */

/* Starts per bin over the shape at that time (a deseasonalised level): bins whose shape is
 * below this tell too little about the level. */
#define SHAPE_MIN 0.05

/* k bins with these starts and expected starts, into the blocks of scale j. */
static void disp_add(struct disp *p, unsigned bin, unsigned j, unsigned k, double x, double e)
{
    unsigned block = disp_block_s[j] / bin ? disp_block_s[j] / bin : 1;
    p->x += x;
    p->e += e;
    p->n += k;
    if (p->n < block)
        return;
    if (p->e > 0) {
        double r = p->x / p->e, inv = 1 / p->e;
        if (p->inv[1] > 0) {
            double dev = r - 2 * p->r[0] + p->r[1];
            double w = batch_weight(DISP_PRIOR + p->blocks++, 1, (double)DAY_S / (block * bin));
            double v = dev * dev / (inv + 4 * p->inv[0] + p->inv[1]);
            p->d += w * (fmin(v, DISP_CAP * (p->d + 1)) - p->d);
        }
        p->r[1] = p->r[0];
        p->inv[1] = p->inv[0];
        p->r[0] = r;
        p->inv[0] = inv;
    }
    p->x = p->e = 0;
    p->n = 0;
}

static void learn(struct detect *d, struct route_det *r, unsigned k, const struct sample *sm)
{
    for (unsigned dir = 0; dir < 2; dir++) {
        struct dir_det *dd = &r->dir[dir];
        est_add(&dd->est, r->learned, d->c.bin, k, sm->x[dir], sm->x2[dir], sm->hits[dir],
                sm->pkts[dir]);
        unsigned kl = (unsigned)sm->nlevel[dir];
        double tau = dd->prof.ready ? LEVEL_DAY : LEVEL_S;
        double w = batch_weight(r->learned, kl, tau / d->c.bin);
        if (kl)
            dd->level += w * (sm->level[dir] / kl - dd->level);
        dd->prof.sum += sm->x[dir];
        dd->prof.n += k;
        for (unsigned j = 0; j < DISP_SCALES; j++)
            disp_add(&dd->disp[j], d->c.bin, j, k, sm->x[dir], sm->e[dir]);
    }
    r->learned += k;
}

static void fold_pending(struct detect *d, struct route_det *r)
{
    struct pending *p = &r->pend;
    if (p->n)
        learn(d, r, p->n, &p->sum);
    memset(p, 0, sizeof *p);
}

static void learn_bin(struct detect *d, struct route_det *r, const struct detect_route_bin *b,
                      const struct dir_now v[2], const double shape[2], bool hold)
{
    struct sample sm;
    for (unsigned dir = 0; dir < 2; dir++) {
        sm.x[dir] = (double)b->starts[dir];
        sm.e[dir] = v[dir].e;
        sm.x2[dir] = sm.x[dir] * sm.x[dir];
        sm.hits[dir] = b->starts[dir] > 0;
        sm.pkts[dir] = (double)b->pkts[dir];
        sm.nlevel[dir] = shape[dir] >= SHAPE_MIN;
        sm.level[dir] = sm.nlevel[dir] ? sm.x[dir] / shape[dir] : 0;
    }
    if (!hold) {
        fold_pending(d, r);
        learn(d, r, 1, &sm);
        return;
    }
    struct pending *p = &r->pend;
    for (unsigned dir = 0; dir < 2; dir++) {
        p->sum.x[dir] += sm.x[dir];
        p->sum.x2[dir] += sm.x2[dir];
        p->sum.hits[dir] += sm.hits[dir];
        p->sum.pkts[dir] += sm.pkts[dir];
        p->sum.e[dir] += sm.e[dir];
        p->sum.level[dir] += sm.level[dir];
        p->sum.nlevel[dir] += sm.nlevel[dir];
    }
    if (++p->n * (uint64_t)d->c.bin >= PENDING_S)
        fold_pending(d, r); /* undecided for this long: it is how the route is now */
}

/* ---- runs ---- */

static void reset_runs(struct route_det *r)
{
    for (unsigned dir = 0; dir < 2; dir++) {
        struct dir_det *dd = &r->dir[dir];
        dd->run = 0;
        dd->cus = 0;
        memset(dd->ctry_x, 0, sizeof dd->ctry_x);
        memset(dd->ctry_e, 0, sizeof dd->ctry_e);
        memset(dd->ctry_pkts, 0, sizeof dd->ctry_pkts);
    }
    memset(&r->pend, 0, sizeof r->pend);
}

/* The silent run and the collapse CUSUM of direction dir of an up route, with this bin. */
static void dir_track(struct detect *d, struct route_det *r, unsigned dir,
                      const struct detect_route_bin *b, const struct dir_now v[2], int64_t start)
{
    struct dir_det *dd = &r->dir[dir];
    if (r->state != DS_UP) { /* nothing to decide yet: no evidence carried into `up` */
        dd->run = 0;
        dd->cus = 0;
        return;
    }
    if (b->pkts[dir] > 0) {
        dd->run = 0;
    } else {
        if (dd->run++ == 0) {
            dd->run_start = start;
            dd->run_ev = 0;
            memset(dd->run_x, 0, sizeof dd->run_x);
            memset(dd->run_e, 0, sizeof dd->run_e);
            memset(dd->run_pkts, 0, sizeof dd->run_pkts);
        }
        dd->run_ev += d->c.up_above * v[dir].lam;
    }
    double was = dd->cus;
    dd->cus =
        fmax(0, was + M_LN2 * (d->c.down_below * v[dir].e - (double)b->starts[dir]) / v[dir].dsp);
    if (dd->cus > 0 && was == 0) {
        dd->cus_start = start;
        memset(dd->cus_x, 0, sizeof dd->cus_x);
        memset(dd->cus_e, 0, sizeof dd->cus_e);
        memset(dd->cus_pkts, 0, sizeof dd->cus_pkts);
    }
    for (unsigned k = 0; k < 2; k++) {
        dd->run_x[k] += (double)b->starts[k];
        dd->run_e[k] += v[k].e;
        dd->run_pkts[k] += b->pkts[k];
        dd->cus_x[k] += (double)b->starts[k];
        dd->cus_e[k] += v[k].e;
        dd->cus_pkts[k] += b->pkts[k];
    }
}

static bool suspect(const struct route_det *r)
{
    return r->dir[IN].run || r->dir[OUT].run || r->dir[IN].cus > 0 || r->dir[OUT].cus > 0;
}

/* ---- events ---- */

static struct event *new_event(struct detect *d, struct event *out, unsigned max, unsigned *n,
                               enum event_kind kind, const char *route)
{
    if (*n >= max)
        return NULL;
    struct event *e = &out[(*n)++];
    memset(e, 0, sizeof *e);
    e->kind = (uint8_t)kind;
    e->duration = -1;
    snprintf(e->route, sizeof e->route, "%s", route);
    snprintf(e->sensor, sizeof e->sensor, "%s", d->sensor);
    return e;
}

static double ratio(double obs, double base)
{
    return base > 0 ? obs / base : 0;
}

/* Down from the country (out) while traffic toward it goes on above down_below. */
static bool one_way(const struct detect *d, const struct route_det *r)
{
    return r->down_dir == OUT && ratio(r->down_x[IN], r->down_e[IN]) > d->c.down_below;
}

/* What a route's down was: when, how, with what left. */
struct down_how {
    unsigned dir;
    uint8_t kind;
    int64_t since;
    double x[2], e[2];
    uint64_t pkts[2];
};

static void route_down(struct detect *d, struct route_det *r, const struct down_how *h, int64_t end,
                       struct event *out, unsigned max, unsigned *n)
{
    double secs = (double)(end - h->since);
    r->state = DS_DOWN;
    r->down_dir = h->dir;
    r->down_kind = h->kind;
    r->down_since = r->state_since = h->since;
    r->down_at = end;
    for (unsigned k = 0; k < 2; k++) {
        r->down_base_pps[k] = r->dir[k].est.pps;
        r->down_obs_pps[k] = secs > 0 ? (double)h->pkts[k] / secs : 0;
        r->down_x[k] = h->x[k];
        r->down_e[k] = h->e[k];
    }
    r->down_surge =
        r->last_surge != INT64_MIN && r->last_surge >= r->down_since - (int64_t)d->c.surge_window;
    r->up_cus = 0;
    struct event *e = new_event(d, out, max, n, EVENT_ROUTE_DOWN, r->name);
    if (e) {
        e->since = r->down_since;
        e->detected = end;
        e->baseline_pps = r->down_base_pps[IN] + r->down_base_pps[OUT];
        e->observed_pps = r->down_obs_pps[IN] + r->down_obs_pps[OUT];
        e->evidence.in_ratio = ratio(r->down_obs_pps[IN], r->down_base_pps[IN]);
        e->evidence.out_ratio = ratio(r->down_obs_pps[OUT], r->down_base_pps[OUT]);
        e->evidence.surge_before = r->down_surge;
        e->evidence.one_way = one_way(d, r);
        e->evidence.residual_in = ratio(h->x[IN], h->e[IN]);
        e->evidence.residual_out = ratio(h->x[OUT], h->e[OUT]);
        e->evidence.kind = h->kind;
    }
    reset_runs(r);
}

/* Direction dir of an up route: a silent run or a collapse that reached h. Returns true with
 * *h filled in when it did. */
static bool dir_decided(const struct detect *d, const struct route_det *r, unsigned dir,
                        const struct dir_now *v, struct down_how *h)
{
    const struct dir_det *dd = &r->dir[dir];
    bool silent = dd->run && dd->run_ev >= d->h && threshold_bins(d, v);
    if (!silent && dd->cus < d->h)
        return false;
    /* a silence at the end of a collapse already under way: the collapse is what began */
    if (silent && dd->cus > 0 && dd->cus_start < dd->run_start && dd->cus_pkts[dir] > 0)
        silent = false;
    h->dir = dir;
    h->since = silent ? dd->run_start : dd->cus_start;
    h->kind = silent || dd->cus_pkts[dir] == 0 ? DOWN_KIND_SILENT : DOWN_KIND_COLLAPSE;
    memcpy(h->x, silent ? dd->run_x : dd->cus_x, sizeof h->x);
    memcpy(h->e, silent ? dd->run_e : dd->cus_e, sizeof h->e);
    memcpy(h->pkts, silent ? dd->run_pkts : dd->cus_pkts, sizeof h->pkts);
    return true;
}

/* Learning, up or unknown: runs, decisions, learning. */
static void route_watch(struct detect *d, struct route_det *r, const struct detect_route_bin *b,
                        const struct dir_now v[2], int64_t start, bool may_decide,
                        struct event *out, unsigned max, unsigned *n)
{
    int64_t end = start + d->c.bin;
    bool surge = (uint64_t)r->learned * d->c.bin >= d->c.warmup && b->pkts[IN] >= SURGE_MIN &&
                 (double)b->pkts[IN] / d->c.bin > d->c.surge * r->dir[IN].est.pps;
    if (surge)
        r->last_surge = end;
    if (b->pkts[IN] || b->pkts[OUT])
        r->last_active = end;
    for (unsigned dir = 0; dir < 2; dir++)
        dir_track(d, r, dir, b, v, start);
    struct down_how h;
    if (r->state == DS_UP && may_decide) {
        for (unsigned dir = OUT + 1; dir-- > 0;) /* the country side first */
            if (dir_decided(d, r, dir, &v[dir], &h)) {
                route_down(d, r, &h, end, out, max, n);
                return;
            }
    }
    if (surge)
        return; /* floods are not learned */
    double shape[2];
    for (unsigned dir = 0; dir < 2; dir++)
        shape[dir] = profile_shape(&r->dir[dir].prof, start + d->c.bin / 2);
    learn_bin(d, r, b, v, shape, r->state == DS_UP && suspect(r));
}

/* Learning, unknown and up follow the expected level: up while a silence could be decided
 * within the horizon, unknown when the traffic is too thin for that. */
static void route_settle(struct detect *d, struct route_det *r, const struct dir_now v[2],
                         int64_t end)
{
    if (r->state == DS_DOWN || (uint64_t)r->learned * d->c.bin < d->c.warmup)
        return;
    if (r->state == DS_UP && suspect(r))
        return; /* an undecided suspicion: the level is held, so is the state */
    enum detect_state s =
        threshold_bins(d, &v[OUT]) || threshold_bins(d, &v[IN]) ? DS_UP : DS_UNKNOWN;
    if (s != r->state) {
        r->state = s;
        r->state_since = end;
        r->ever_up = r->ever_up || s == DS_UP;
    }
}

/* Down: the recovery CUSUM of the direction that went down. */
static void route_recover(struct detect *d, struct route_det *r, const struct detect_route_bin *b,
                          const struct dir_now v[2], int64_t start, struct event *out, unsigned max,
                          unsigned *n)
{
    const struct dir_now *w = &v[r->down_dir];
    double x = (double)b->starts[r->down_dir], c = d->c.down_below;
    if (b->pkts[IN] || b->pkts[OUT])
        r->last_active = start + d->c.bin;
    double was = r->up_cus;
    r->up_cus = fmax(0, was + (x * log(d->theta / c) - (d->theta - c) * w->e) / w->dsp);
    if (r->up_cus > 0 && was == 0)
        r->up_start = start;
    if (r->up_cus < d->h)
        return;
    r->state = DS_UP;
    r->state_since = r->up_start;
    r->up_cus = 0;
    reset_runs(r);
    struct event *e = new_event(d, out, max, n, EVENT_ROUTE_UP, r->name);
    if (e) {
        e->since = r->up_start;
        e->detected = start + d->c.bin;
        e->duration = r->up_start - r->down_since;
        e->baseline_pps = r->dir[IN].est.pps + r->dir[OUT].est.pps;
        e->observed_pps = (double)(b->pkts[IN] + b->pkts[OUT]) / d->c.bin;
        e->evidence.in_ratio = ratio((double)b->pkts[IN] / d->c.bin, r->dir[IN].est.pps);
        e->evidence.out_ratio = ratio((double)b->pkts[OUT] / d->c.bin, r->dir[OUT].est.pps);
    }
}

/* ---- the sensor ---- */

static void blind_event(struct detect *d, const struct detect_bin *b, uint64_t pkts, uint64_t drops,
                        bool spike, struct event *out, unsigned max, unsigned *n)
{
    int64_t end = b->start + d->c.bin;
    d->blind = true;
    d->blind_since = spike ? b->start : end - (int64_t)d->blind_run * d->c.bin;
    d->ok_seen = 0;
    struct event *e = new_event(d, out, max, n, EVENT_SENSOR_BLIND, "*");
    if (e) {
        e->since = d->blind_since;
        e->detected = end;
        e->baseline_pps = d->total.pps;
        e->observed_pps = (double)pkts / d->c.bin;
        e->evidence.ctl_ratio = ratio(e->observed_pps, d->total.pps);
        e->evidence.drops = drops;
    }
    for (unsigned i = 0; i < d->nroutes; i++)
        reset_runs(&d->r[i]);
    d->ccus[IN] = d->ccus[OUT] = 0;
}

/* The sensor: blind when every route and the control series go silent for longer than
 * chance allows, or when capture drops take a large share of a bin. */
static void sensor_watch(struct detect *d, const struct detect_bin *b, struct event *out,
                         unsigned max, unsigned *n)
{
    uint64_t pkts = 0, drops = 0;
    for (unsigned i = 0; i < b->nroutes; i++) {
        pkts += b->routes[i].pkts[0] + b->routes[i].pkts[1] + b->routes[i].ctl_pkts;
        drops += b->routes[i].drops;
    }
    int64_t end = b->start + d->c.bin;
    bool spike = drops >= DROPS_MIN && (double)drops > d->c.blind_drops * (double)(pkts + drops);
    if (!d->blind) {
        d->blind_run = pkts ? 0 : d->blind_run + 1;
        double lambda = est_lambda(&d->total, d->c.bin);
        double t = lambda > 0 ? d->h / (d->c.up_above * lambda) : INFINITY;
        unsigned th = (unsigned)fmax(BLIND_MIN, ceil(t / d->c.bin));
        bool learned = (uint64_t)d->total_learned * d->c.bin >= d->c.warmup;
        if (spike || (learned && t <= d->c.horizon && d->blind_run >= th)) {
            blind_event(d, b, pkts, drops, spike, out, max, n);
            return;
        }
        if (pkts && !spike) {
            double x = (double)pkts;
            est_add(&d->total, d->total_learned++, d->c.bin, 1, x, x * x, 1, x);
        }
        return;
    }
    d->ok_seen = pkts && !spike ? d->ok_seen + 1 : 0;
    if (d->ok_seen < UP_BINS)
        return;
    d->blind = false;
    d->blind_run = 0;
    struct event *e = new_event(d, out, max, n, EVENT_SENSOR_OK, "*");
    if (e) {
        e->since = end - (int64_t)UP_BINS * d->c.bin;
        e->detected = end;
        e->duration = e->since - d->blind_since;
        e->baseline_pps = d->total.pps;
        e->observed_pps = (double)pkts / d->c.bin;
        e->evidence.ctl_ratio = ratio(e->observed_pps, d->total.pps);
        e->evidence.drops = drops;
    }
}

/* ---- the country ---- */

enum event_cause detect_cause(double coincide_s, int64_t first, int64_t last, double lambda,
                              bool surge, bool unsure)
{
    if (surge)
        return CAUSE_ATTACK;
    if (unsure)
        return CAUSE_UNKNOWN;
    /* A silence begins with the route's last conversation, up to a natural gap early: with
     * sparse traffic "at once" must allow for it (99% of gaps are shorter than ln(100)/λ). */
    double at_once = fmax(coincide_s, lambda > 0 && isfinite(lambda) ? log(100) / lambda : 0);
    if ((double)(last - first) <= at_once)
        return CAUSE_INTERNAL;
    return CAUSE_UPSTREAM;
}

static bool judged(const struct detect *d, const struct route_det *r)
{
    return (r->state == DS_UP || r->state == DS_DOWN) &&
           (uint64_t)r->learned * d->c.bin >= d->c.warmup;
}

/* The summed collapse CUSUM of direction dir over the routes judged, and each route's share
 * of its run. */
static void country_track(struct detect *d, unsigned dir, const struct detect_bin *b,
                          const struct dir_now (*v)[2], int64_t start)
{
    double inc = 0;
    bool any = false;
    for (unsigned i = 0; i < d->nroutes; i++) {
        if (!judged(d, &d->r[i]))
            continue;
        any = true;
        inc += M_LN2 * (d->c.down_below * v[i][dir].e - (double)b->routes[i].starts[dir]) /
               v[i][dir].dsp;
    }
    double was = d->ccus[dir];
    d->ccus[dir] = any ? fmax(0, was + inc) : 0;
    if (d->ccus[dir] > 0 && was == 0)
        d->ccus_start[dir] = start;
    for (unsigned i = 0; i < d->nroutes; i++) {
        struct dir_det *dd = &d->r[i].dir[dir];
        if (d->ccus[dir] == 0 || was == 0) {
            memset(dd->ctry_x, 0, sizeof dd->ctry_x);
            memset(dd->ctry_e, 0, sizeof dd->ctry_e);
            memset(dd->ctry_pkts, 0, sizeof dd->ctry_pkts);
        }
        if (d->ccus[dir] == 0)
            continue;
        for (unsigned k = 0; k < 2; k++) {
            dd->ctry_x[k] += (double)b->routes[i].starts[k];
            dd->ctry_e[k] += v[i][k].e;
            dd->ctry_pkts[k] += b->routes[i].pkts[k];
        }
    }
}

/* The sum has collapsed in direction dir: every route still up goes down with it, unless
 * one of them carried at least up_above of its expected traffic over the run. */
static void country_collapse(struct detect *d, unsigned dir, int64_t end, struct event *out,
                             unsigned max, unsigned *n)
{
    for (unsigned i = 0; i < d->nroutes; i++) {
        const struct dir_det *dd = &d->r[i].dir[dir];
        if (d->r[i].state == DS_UP && judged(d, &d->r[i]) &&
            ratio(dd->ctry_x[dir], dd->ctry_e[dir]) >= d->c.up_above)
            return;
    }
    for (unsigned i = 0; i < d->nroutes; i++) {
        struct route_det *r = &d->r[i];
        const struct dir_det *dd = &r->dir[dir];
        if (r->state != DS_UP || !judged(d, r))
            continue;
        struct down_how h = {.dir = dir,
                             .kind = dd->ctry_pkts[dir] ? DOWN_KIND_COLLAPSE : DOWN_KIND_SILENT,
                             .since = d->ccus_start[dir]};
        memcpy(h.x, dd->ctry_x, sizeof h.x);
        memcpy(h.e, dd->ctry_e, sizeof h.e);
        memcpy(h.pkts, dd->ctry_pkts, sizeof h.pkts);
        route_down(d, r, &h, end, out, max, n);
    }
}

static enum event_cause country_cause(const struct detect *d, int64_t *since)
{
    int64_t first = INT64_MAX, last = INT64_MIN;
    double lambda = INFINITY, at_once = (double)d->c.coincide * d->c.bin;
    bool surge = false, unsure = false;
    for (unsigned i = 0; i < d->nroutes; i++) {
        const struct route_det *r = &d->r[i];
        if (r->state != DS_DOWN) {
            unsure = unsure || r->last_active > 0; /* not judged, but carried traffic */
            continue;
        }
        /* a collapse's change point is known only to within the time its evidence took */
        if (r->down_kind == DOWN_KIND_COLLAPSE)
            at_once = fmax(at_once, (double)(r->down_at - r->down_since));
        first = r->down_since < first ? r->down_since : first;
        last = r->down_since > last ? r->down_since : last;
        surge = surge || r->down_surge;
        lambda = fmin(lambda, est_lambda(&r->dir[r->down_dir].est, d->c.bin));
    }
    *since = last;
    return detect_cause(at_once, first, last, lambda, surge, unsure);
}

void detect_event_route(struct event_route *er, const char *name,
                        const struct detect_route_status *st)
{
    memset(er, 0, sizeof *er);
    snprintf(er->name, sizeof er->name, "%s", name);
    er->since = st->down_since;
    er->residual_in = ratio(st->down_starts[IN], st->down_expected[IN]);
    er->residual_out = ratio(st->down_starts[OUT], st->down_expected[OUT]);
    er->kind = (uint8_t)st->down_kind;
}

/* The country_down's evidence from its routes. */
static void country_evidence(const struct detect *d, struct event_evidence *ev, double base[2],
                             double obs[2], double x[2], double e[2])
{
    bool all_one_way = true, collapse = false;
    for (unsigned i = 0; i < d->nroutes; i++) {
        const struct route_det *r = &d->r[i];
        ev->routes_total += r->ever_up && (r->state == DS_UP || r->state == DS_DOWN);
        if (r->state != DS_DOWN)
            continue;
        struct detect_route_status st;
        detect_route_status(d, i, &st);
        ev->routes_silent++;
        for (unsigned k = 0; k < 2; k++) {
            base[k] += r->down_base_pps[k];
            obs[k] += r->down_obs_pps[k];
            x[k] += r->down_x[k];
            e[k] += r->down_e[k];
        }
        all_one_way = all_one_way && one_way(d, r);
        collapse = collapse || r->down_kind == DOWN_KIND_COLLAPSE;
        if (ev->nroutes < EVENT_ROUTES_MAX)
            detect_event_route(&ev->routes[ev->nroutes++], r->name, &st);
    }
    ev->one_way = all_one_way;
    ev->kind = collapse ? DOWN_KIND_COLLAPSE : DOWN_KIND_SILENT;
}

static void country_down(struct detect *d, int64_t end, struct event *out, unsigned max,
                         unsigned *n)
{
    struct event_evidence ev;
    double base[2] = {0, 0}, obs[2] = {0, 0}, x[2] = {0, 0}, e[2] = {0, 0};
    int64_t since;
    enum event_cause cause = country_cause(d, &since);

    memset(&ev, 0, sizeof ev);
    country_evidence(d, &ev, base, obs, x, e);
    ev.in_ratio = ratio(obs[IN], base[IN]);
    ev.out_ratio = ratio(obs[OUT], base[OUT]);
    ev.residual_in = ratio(x[IN], e[IN]);
    ev.residual_out = ratio(x[OUT], e[OUT]);
    ev.surge_before = cause == CAUSE_ATTACK;
    d->country = DS_DOWN;
    d->country_since = since;
    d->ccus[IN] = d->ccus[OUT] = 0;
    struct event *ep = new_event(d, out, max, n, EVENT_COUNTRY_DOWN, "*");
    if (ep) {
        ep->since = since;
        ep->detected = end;
        ep->baseline_pps = base[IN] + base[OUT];
        ep->observed_pps = obs[IN] + obs[OUT];
        ep->cause = (uint8_t)cause;
        ep->evidence = ev;
    }
}

enum detect_state detect_country_next(enum detect_state now, const struct detect_route_status *rs,
                                      unsigned n, struct detect_country_tally *t)
{
    int64_t first_down = INT64_MAX, other_active = INT64_MIN;

    t->up = t->down = 0;
    t->back = INT64_MAX;
    for (unsigned i = 0; i < n; i++) {
        t->up += rs[i].state == DS_UP;
        t->down += rs[i].state == DS_DOWN;
        if (rs[i].state == DS_UP && rs[i].since < t->back)
            t->back = rs[i].since;
        if (rs[i].state == DS_DOWN && rs[i].down_since < first_down)
            first_down = rs[i].down_since;
        if ((rs[i].state == DS_LEARNING || rs[i].state == DS_UNKNOWN) &&
            rs[i].last_active > other_active)
            other_active = rs[i].last_active;
    }
    /* a route we cannot judge that still carried traffic during the silence: not dark */
    if (t->down && other_active > first_down)
        t->down = 0;
    if (now == DS_LEARNING && t->up)
        return DS_UP;
    if (now == DS_UP && !t->up && t->down)
        return DS_DOWN;
    if (now == DS_DOWN && t->up)
        return DS_UP;
    return now;
}

static void country_up(struct detect *d, int64_t end, const struct detect_country_tally *t,
                       struct event *out, unsigned max, unsigned *n)
{
    struct event *e = new_event(d, out, max, n, EVENT_COUNTRY_UP, "*");
    if (e) {
        e->since = t->back;
        e->detected = end;
        e->duration = t->back - d->country_since;
        for (unsigned i = 0; i < d->nroutes; i++) {
            e->baseline_pps += d->r[i].dir[IN].est.pps + d->r[i].dir[OUT].est.pps;
            e->observed_pps += d->r[i].last_pps;
        }
        e->evidence.routes_total = t->up + t->down;
        e->evidence.routes_silent = t->down;
    }
    d->country = DS_UP;
    d->country_since = t->back;
}

/* The country: down when every route that was up is down, or when their sum collapsed; up
 * when one comes back. */
static void country_watch(struct detect *d, int64_t end, struct event *out, unsigned max,
                          unsigned *n)
{
    struct detect_route_status rs[DETECT_ROUTES_MAX];
    struct detect_country_tally t;

    if (d->country == DS_UP)
        for (unsigned dir = OUT + 1; dir-- > 0;)
            if (d->ccus[dir] >= d->h)
                country_collapse(d, dir, end, out, max, n);
    for (unsigned i = 0; i < d->nroutes; i++)
        rs[i] = (struct detect_route_status){.state = d->r[i].state,
                                             .since = d->r[i].state_since,
                                             .down_since = d->r[i].down_since,
                                             .last_active = d->r[i].last_active};
    enum detect_state next = detect_country_next(d->country, rs, d->nroutes, &t);
    if (next == d->country)
        return;
    if (d->country == DS_LEARNING) {
        d->country = DS_UP;
        d->country_since = end;
    } else if (next == DS_DOWN) {
        country_down(d, end, out, max, n);
    } else {
        country_up(d, end, &t, out, max, n);
    }
}

static int name_find(char (*names)[RECORD_NAME_MAX], unsigned n, const char *route)
{
    for (unsigned i = 0; i < n; i++)
        if (strcmp(names[i], route) == 0)
            return (int)i;
    return -1;
}

static void name_drop(char (*names)[RECORD_NAME_MAX], unsigned *n, int at)
{
    if (at < 0)
        return;
    (*n)--;
    memcpy(names[at], names[*n], RECORD_NAME_MAX);
}

static void name_add(char (*names)[RECORD_NAME_MAX], unsigned *n, const char *route)
{
    if (*n < DETECT_TOLD_MAX && name_find(names, *n, route) < 0)
        snprintf(names[(*n)++], RECORD_NAME_MAX, "%s", route);
}

/* Whether the route event ev[i] of a batch (with a country_down, a country_up in it) goes
 * out; keeps the lists. */
static bool route_event_kept(const struct event *e, bool down, bool up, struct detect_told *t)
{
    int at = name_find(t->route, t->n, e->route);
    int folded = name_find(t->folded, t->nfolded, e->route);
    if (e->kind == EVENT_ROUTE_DOWN) {
        if (down) {
            name_add(t->folded, &t->nfolded, e->route);
            return false;
        }
        name_add(t->route, &t->n, e->route);
        return true;
    }
    if (at >= 0) { /* its down was told: so is its up */
        name_drop(t->route, &t->n, at);
        return true;
    }
    name_drop(t->folded, &t->nfolded, folded);
    if (up || (folded >= 0 && e->detected - t->back_at <= t->window))
        return false; /* back with the country */
    return true;
}

unsigned detect_subsume(struct event *ev, unsigned n, struct detect_told *told)
{
    bool down = false, up = false;
    unsigned k = 0;
    for (unsigned i = 0; i < n; i++) {
        down = down || ev[i].kind == EVENT_COUNTRY_DOWN;
        if (ev[i].kind == EVENT_COUNTRY_UP) {
            up = true;
            told->back_at = ev[i].detected;
        }
    }
    for (unsigned i = 0; i < n; i++) {
        bool route = ev[i].kind == EVENT_ROUTE_DOWN || ev[i].kind == EVENT_ROUTE_UP;
        if (route && !route_event_kept(&ev[i], down, up, told))
            continue;
        if (k != i)
            ev[k] = ev[i];
        k++;
    }
    return k;
}

/* ---- a bin ---- */

/* Every route's bin, once the sensor is known to see. */
static void routes_feed(struct detect *d, const struct detect_bin *b, bool may_decide,
                        struct event *out, unsigned max, unsigned *n)
{
    struct dir_now v[DETECT_ROUTES_MAX][2];
    int64_t end = b->start + d->c.bin;

    for (unsigned i = 0; i < d->nroutes; i++)
        for (unsigned dir = 0; dir < 2; dir++) {
            profile_at(&d->r[i].dir[dir].prof, b->start, d->c.bin);
            dir_view(d, &d->r[i].dir[dir], b->start, &v[i][dir]);
        }
    if (d->country == DS_UP && may_decide)
        for (unsigned dir = 0; dir < 2; dir++)
            country_track(d, dir, b, (const struct dir_now(*)[2])v, b->start);
    for (unsigned i = 0; i < d->nroutes; i++) {
        struct route_det *r = &d->r[i];
        const struct detect_route_bin *rb = &b->routes[i];
        for (unsigned k = 0; k < 2; k++) {
            r->last_dir_pps[k] = (double)rb->pkts[k] / d->c.bin;
            r->last_e[k] = v[i][k].e;
        }
        r->last_pps = r->last_dir_pps[IN] + r->last_dir_pps[OUT];
        if (r->state == DS_DOWN)
            route_recover(d, r, rb, v[i], b->start, out, max, n);
        else
            route_watch(d, r, rb, v[i], b->start, may_decide, out, max, n);
        route_settle(d, r, v[i], end);
    }
    country_watch(d, end, out, max, n);
}

unsigned detect_feed(struct detect *d, const struct detect_bin *b, struct event *out, unsigned max)
{
    unsigned n = 0;

    if (b->partial || b->nroutes != d->nroutes)
        return 0;
    d->fed++;
    d->at = b->start;
    if (b->after_jump) {
        for (unsigned i = 0; i < d->nroutes; i++)
            reset_runs(&d->r[i]);
        d->ccus[IN] = d->ccus[OUT] = 0;
        d->blind_run = 0;
    }
    bool was_blind = d->blind;
    sensor_watch(d, b, out, max, &n);
    if (d->blind || was_blind)
        return n;
    uint64_t seen = 0;
    for (unsigned i = 0; i < d->nroutes; i++)
        seen += b->routes[i].pkts[0] + b->routes[i].pkts[1] + b->routes[i].ctl_pkts;
    routes_feed(d, b, seen > 0, out, max, &n);
    return detect_subsume(out, n, &d->told);
}

void detect_route_status(const struct detect *d, unsigned route, struct detect_route_status *st)
{
    const struct route_det *r = &d->r[route];
    struct dir_now v;
    memset(st, 0, sizeof *st);
    st->state = d->blind ? DS_BLIND : r->state;
    st->since = d->blind ? d->blind_since : r->state_since;
    st->baseline_pps = r->dir[IN].est.pps + r->dir[OUT].est.pps;
    st->observed_pps = r->last_pps;
    dir_view(d, &r->dir[OUT], d->at, &v);
    unsigned th = threshold_bins(d, &v);
    st->threshold_s = th ? (double)th * d->c.bin : INFINITY;
    st->lambda = v.lam / d->c.bin;
    st->last_active = r->last_active;
    for (unsigned k = 0; k < 2; k++) {
        st->baseline_dir_pps[k] = r->dir[k].est.pps;
        st->observed_dir_pps[k] = r->last_dir_pps[k];
        st->expected[k] = r->last_e[k] / d->c.bin;
    }
    if (r->state != DS_DOWN)
        return;
    st->down_since = r->down_since;
    st->down_at = r->down_at;
    st->down_lambda = est_lambda(&r->dir[r->down_dir].est, d->c.bin);
    for (unsigned k = 0; k < 2; k++) {
        st->down_base_pps[k] = r->down_base_pps[k];
        st->down_obs_pps[k] = r->down_obs_pps[k];
        st->down_starts[k] = r->down_x[k];
        st->down_expected[k] = r->down_e[k];
    }
    st->down_kind = (enum event_down_kind)r->down_kind;
    st->surge_before = r->down_surge;
    st->one_way = one_way(d, r);
}

const struct detect_config *detect_config_of(const struct detect *d)
{
    return &d->c;
}

void detect_country_status(const struct detect *d, struct detect_route_status *st)
{
    memset(st, 0, sizeof *st);
    st->state = d->blind ? DS_BLIND : d->country;
    st->since = d->blind ? d->blind_since : d->country_since;
    for (unsigned i = 0; i < d->nroutes; i++) {
        st->baseline_pps += d->r[i].dir[IN].est.pps + d->r[i].dir[OUT].est.pps;
        st->observed_pps += d->r[i].last_pps;
    }
    st->threshold_s = INFINITY;
}
