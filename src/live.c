/* live — the capture subcommand: handles, poll loop, tick, drops, signals. See live.h. */
#include "live.h"

#include "capture.h"
#include "log.h"
#include "observe.h"
#include "offload.h"
#include "proc.h"
#include "reload.h"
#include "sensor.h"
#include "summary.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define IFACES_MAX       ROUTE_IFACE_MAX
#define BLOCK_TIMEOUT_MS 100    /* a partly filled TPACKET_V3 block is handed over after this */
#define GRACE_US         500000 /* the tick closes a bin this long after its end */
#define TICK_MAX_MS      1000   /* the loop wakes at least this often */
#define BUDGET           2048   /* packets read from one handle per turn */
#define TURNS_MAX        64     /* turns over the handles before signals and the tick */
#define REST_MS          1000   /* a handle that failed is polled again after this */
#define DROP_WARN_PPM    1000   /* drops of a bin worth a warning: 0.1% of the frames */
#define DROP_WARN_MS     60000

struct live_iface {
    struct capture *cap;
    struct capture_stats seen; /* counters when the last bin closed */
    uint64_t rest_until;       /* monotonic ms; 0 while polled */
    struct log_limit errors;
    unsigned offloads_off; /* receive offloads turned off by --disable-offloads, to restore */
};

struct live {
    struct sensor s;
    const struct options *o;
    int argc;
    char **argv;
    unsigned n;
    struct live_iface ifs[IFACES_MAX];
    const char *names[IFACES_MAX];
    struct pollfd pfd[IFACES_MAX];
    struct log_limit drop_warn;
    int pidfd;
    struct reload *staged; /* SIGHUP: in force from the next bin */
    struct observe *ob;    /* --metrics, else NULL */
};

static int64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t floor_sec(int64_t us)
{
    return us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
}

/* Counters since the last bin become drops of the open bin. */
static void read_drops(struct live *l)
{
    struct capture_stats now;
    char err[256];

    for (unsigned i = 0; i < l->n; i++) {
        struct live_iface *f = &l->ifs[i];
        if (capture_stats(f->cap, &now, err, sizeof err) < 0) {
            log_limited(&f->errors, LOG_WARN, "%s", err);
            continue;
        }
        uint64_t ring = now.dropped - f->seen.dropped;
        uint64_t nic = now.if_dropped - f->seen.if_dropped;
        uint64_t frames = now.received - f->seen.received + nic;
        f->seen = now;
        if (ring + nic == 0)
            continue;
        sensor_drops(&l->s, (int)i, ring + nic);
        if ((ring + nic) * 1000000 >= frames * DROP_WARN_PPM)
            log_limited(&l->drop_warn, LOG_WARN,
                        "%s: %" PRIu64 " of %" PRIu64 " frames lost in the last bin (%" PRIu64
                        " ring full, %" PRIu64 " by the interface); a larger --buffer-mb "
                        "absorbs longer bursts",
                        capture_name(f->cap), ring + nic, frames, ring, nic);
    }
}

/* Bins that a packet or the tick is about to close get the drops first. */
static void before_advance(struct live *l, int64_t ts)
{
    int64_t open = bins_open_start(l->s.bins);
    if (open != INT64_MIN && ts >= open + (int64_t)l->o->bin)
        read_drops(l);
}

/* A staged reload takes effect in the bin that just opened, before anything is counted in it. */
static void apply_staged(struct live *l)
{
    reload_apply(&l->s, l->staged);
    l->staged = NULL;
}

static void on_packet(void *ctx, const struct packet *p)
{
    struct live *l = ctx;
    before_advance(l, p->ts_sec);
    if (l->staged && sensor_advance(&l->s, p->ts_sec < 0 ? 0 : p->ts_sec))
        apply_staged(l);
    sensor_packet(&l->s, p);
}

/* Closes the bins that ended at least the grace before drained_us, a wall time at which
 * every handle was found without a frame to read. */
static void tick(struct live *l, int64_t drained_us, int64_t grace_us)
{
    uint64_t emitted = l->s.bins_emitted;
    int64_t ts = floor_sec(drained_us - grace_us);

    before_advance(l, ts);
    if (sensor_tick(&l->s, ts) && l->staged)
        apply_staged(l);
    if (l->s.bins_emitted != emitted)
        fflush(stdout);
}

/* The state for --metrics, when due (observe.h); force: now. */
static void publish_metrics(struct live *l, bool force)
{
    struct observe_iface ifs[IFACES_MAX];

    if (!l->ob)
        return;
    for (unsigned i = 0; i < l->n; i++)
        ifs[i] = (struct observe_iface){
            .name = l->names[i],
            .drops = l->ifs[i].seen.dropped + l->ifs[i].seen.if_dropped,
        };
    observe_update(l->ob, &l->s, ifs, l->n, force);
}

/* A handle whose read failed rests, then is polled again. */
static void rest(struct live *l, unsigned i, const char *err)
{
    log_limited(&l->ifs[i].errors, LOG_ERR, "%s; trying again every %d ms", err, REST_MS);
    l->ifs[i].rest_until = log_now_ms() + REST_MS;
    l->pfd[i].fd = -1;
}

static void wake_rested(struct live *l)
{
    uint64_t now = log_now_ms();
    for (unsigned i = 0; i < l->n; i++)
        if (l->ifs[i].rest_until && now >= l->ifs[i].rest_until) {
            l->ifs[i].rest_until = 0;
            l->pfd[i].fd = capture_fd(l->ifs[i].cap);
        }
}

/* Reads every handle that is not resting, in turns of BUDGET packets, until none has
 * more. Returns the wall time taken just before the read that found the handles empty
 * (the earliest of them): every frame stamped a block timeout or two before it has been
 * read, however long this process is kept from running afterwards. Returns INT64_MIN
 * after TURNS_MAX turns with frames still waiting (packets drive the bins then). */
static int64_t read_all(struct live *l)
{
    char err[512];
    bool more[IFACES_MAX];
    int64_t drained = wall_us();

    for (unsigned i = 0; i < l->n; i++)
        more[i] = l->pfd[i].fd >= 0;
    for (int turn = 0; turn < TURNS_MAX; turn++) {
        bool again = false;
        for (unsigned i = 0; i < l->n; i++) {
            if (!more[i])
                continue;
            int64_t t = wall_us();
            int got = capture_dispatch(l->ifs[i].cap, BUDGET, on_packet, l, err, sizeof err);
            if (got < 0)
                rest(l, i, err);
            more[i] = got == BUDGET;
            again = again || more[i];
            if (!more[i] && t < drained)
                drained = t;
        }
        if (!again)
            return drained;
    }
    return INT64_MIN;
}

/* Milliseconds until the open bin is due to close, at most TICK_MAX_MS. */
static int wait_ms(const struct live *l)
{
    int64_t open = bins_open_start(l->s.bins);
    if (open == INT64_MIN)
        return TICK_MAX_MS;
    int64_t due = (open + (int64_t)l->o->bin) * 1000000 + GRACE_US - wall_us();
    int64_t ms = due / 1000 + 1;
    for (unsigned i = 0; i < l->n; i++)
        if (l->ifs[i].rest_until)
            ms = ms < REST_MS ? ms : REST_MS;
    return ms < 1 ? 1 : ms > TICK_MAX_MS ? TICK_MAX_MS : (int)ms;
}

static void reload(struct live *l)
{
    struct options n;
    struct reload *r = NULL;
    char err[512], what[1024];

    if (config_parse(l->argc, l->argv, &n, err, sizeof err) == CONFIG_OK)
        r = reload_stage(&l->s, &n, l->names, l->n, err, sizeof err);
    if (!r) {
        LOG(LOG_ERR, "reload refused, the running configuration stays: %s", err);
    } else {
        LOG(LOG_NOTICE, "reload staged: %s; in force from the next bin",
            reload_describe(r, what, sizeof what));
        reload_free(l->staged); /* a configuration staged earlier is replaced */
        l->staged = r;
    }
    config_free(&n);
}

/* The poll loop. Returns 0 when a signal stops it, 1 when it cannot go on. */
static int run_loop(struct live *l, const sigset_t *wait_mask)
{
    for (;;) {
        wake_rested(l);
        int64_t drained = read_all(l);
        if (drained != INT64_MIN)
            tick(l, drained, GRACE_US);
        publish_metrics(l, false);
        if (l->s.stop)
            return 1;
        if (proc_take_signal(PROC_STOP))
            return 0;
        if (proc_take_signal(PROC_RELOAD))
            reload(l);
        int ms = drained == INT64_MIN ? 0 : wait_ms(l);
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
        if (ppoll(l->pfd, l->n, &ts, wait_mask) < 0 && errno != EINTR) {
            LOG(LOG_ERR, "ppoll: %s", strerror(errno));
            return 1;
        }
    }
}

/* Stop: what the rings hold (after the last partly filled block has been handed over),
 * the bins that ended, then the open bin (partial). */
static void finish(struct live *l)
{
    const struct timespec retire = {.tv_sec = 0, .tv_nsec = (3L * BLOCK_TIMEOUT_MS) * 1000000};

    int64_t drained = read_all(l);

    nanosleep(&retire, NULL);
    for (int i = 0; i < TURNS_MAX && (drained = read_all(l)) == INT64_MIN; i++)
        ;
    tick(l, drained == INT64_MIN ? wall_us() : drained, 0);
    read_drops(l);
    sensor_finish(&l->s);
    for (unsigned i = 0; i < l->n; i++)
        LOG(LOG_NOTICE,
            "%s: %" PRIu64 " frames received, %" PRIu64 " dropped (ring full), %" PRIu64
            " dropped by the interface",
            capture_name(l->ifs[i].cap), l->ifs[i].seen.received, l->ifs[i].seen.dropped,
            l->ifs[i].seen.if_dropped);
}

/* Interface names from the options; refuses duplicates. Returns 0, or -1 with err. */
static int list_ifaces(struct live *l, char *err, size_t errlen)
{
    const struct strlist *v = &l->o->ifaces;

    if (v->n == 0) {
        snprintf(err, errlen, "capture needs at least one interface (-i IFACE)");
        return -1;
    }
    if (v->n > IFACES_MAX) {
        snprintf(err, errlen, "more than %d interfaces", IFACES_MAX);
        return -1;
    }
    if (l->o->nargs > 0) {
        snprintf(err, errlen, "capture reads interfaces, not files: '%.64s' (use replay)",
                 l->o->args[0]);
        return -1;
    }
    for (unsigned i = 0; i < v->n; i++) {
        for (unsigned k = 0; k < i; k++)
            if (strcmp(v->v[i], v->v[k]) == 0) {
                snprintf(err, errlen, "interface '%.32s' given twice", v->v[i]);
                return -1;
            }
        l->names[i] = v->v[i];
    }
    l->n = v->n;
    return 0;
}

/* The handles, opened as root. Returns 0, or -1 with err. */
static int open_ifaces(struct live *l, char *err, size_t errlen)
{
    const struct capture_live_config cc = {
        .snaplen = (unsigned)l->o->snaplen,
        .buffer_mb = (unsigned)l->o->buffer_mb,
        .timeout_ms = BLOCK_TIMEOUT_MS,
    };

    for (unsigned i = 0; i < l->n; i++) {
        l->ifs[i].cap = capture_open_live(l->names[i], (int)i, &cc, err, errlen);
        if (!l->ifs[i].cap)
            return -1;
        l->ifs[i].errors.interval_ms = DROP_WARN_MS;
        l->pfd[i] = (struct pollfd){.fd = capture_fd(l->ifs[i].cap), .events = POLLIN};
    }
    return 0;
}

/* Receive offloads merge packets before the capture: a warning for each interface that has
 * them on, or (--disable-offloads) they are turned off until the sensor exits. */
static void check_offloads(struct live *l)
{
    char err[256], args[32];
    unsigned on;

    for (unsigned i = 0; i < l->n; i++) {
        const char *ifn = l->names[i];
        if (offload_get(ifn, &on, err, sizeof err) < 0) {
            LOG(LOG_WARN, "%s", err);
            continue;
        }
        if (!on)
            continue;
        offload_args(on, false, args, sizeof args);
        if (!l->o->disable_offloads) {
            LOG(LOG_WARN,
                "%s: receive offloads are on: the kernel merges packets before the capture "
                "and counts are low; turn them off with 'ethtool -K %s %s' or "
                "--disable-offloads",
                ifn, ifn, args);
        } else if (offload_set(ifn, on, false, err, sizeof err) < 0) {
            LOG(LOG_WARN, "%s; counts are low while it is on", err);
        } else {
            l->ifs[i].offloads_off = on;
            LOG(LOG_NOTICE, "%s: receive offloads turned off (%s) until the sensor exits%s", ifn,
                args, l->o->user ? "; after --user it cannot turn them on again" : "");
        }
    }
}

/* At exit: the offloads --disable-offloads turned off go back on. */
static void restore_offloads(struct live *l)
{
    char err[256], args[32];

    for (unsigned i = 0; i < l->n; i++) {
        unsigned off = l->ifs[i].offloads_off;
        if (!off)
            continue;
        offload_args(off, true, args, sizeof args);
        if (offload_set(l->names[i], off, true, err, sizeof err) < 0)
            LOG(LOG_WARN, "%s; they stay off until 'ethtool -K %s %s'", err, l->names[i], args);
        else
            LOG(LOG_NOTICE, "%s: receive offloads turned on again (%s)", l->names[i], args);
        l->ifs[i].offloads_off = 0;
    }
}

/* Everything before the loop. Returns 0, or the exit status with the error logged. */
static int start(struct live *l, sigset_t *wait_mask)
{
    char err[512];

    if (list_ifaces(l, err, sizeof err) < 0 || sensor_init(&l->s, l->o, err, sizeof err) < 0 ||
        route_bind_ifaces(&l->s.routes, l->names, l->n, err, sizeof err) < 0)
        goto usage;
    if (proc_signals_init(wait_mask, err, sizeof err) < 0)
        goto fail;
    if (l->o->pidfile)
        l->pidfd = proc_pidfile_open(l->o->pidfile, err, sizeof err);
    if (l->o->pidfile && l->pidfd < 0)
        goto fail;
    if (open_ifaces(l, err, sizeof err) < 0)
        goto fail;
    check_offloads(l);
    if (observe_open(&l->ob, l->o, err, sizeof err) < 0) /* signals blocked: see metrics.h */
        goto fail;
    if (l->o->user && proc_drop_privileges(l->o->user, err, sizeof err) < 0)
        goto fail;
    if (sensor_start_sink(&l->s, err, sizeof err) < 0)
        goto fail;
    LOG(LOG_NOTICE,
        "capturing on %u interface(s) (%s%s), snaplen %" PRIu64 ", ring %" PRIu64
        " MB each; bins of %" PRIu64 " s; %u routes%s%s",
        l->n, l->names[0], l->n > 1 ? ", ..." : "", l->o->snaplen, l->o->buffer_mb, l->o->bin,
        l->s.routes.nroutes, l->o->user ? "; running as " : "", l->o->user ? l->o->user : "");
    return 0;
usage:
    log_write(LOG_ERR, "%s", err);
    return 2;
fail:
    log_write(LOG_ERR, "%s", err);
    return 1;
}

int live_run(const struct options *o, int argc, char **argv)
{
    sigset_t wait_mask;
    char err[1024];

    struct live *l = calloc(1, sizeof *l);
    if (!l) {
        log_write(LOG_ERR, "out of memory");
        return 1;
    }
    l->o = o;
    l->argc = argc;
    l->argv = argv;
    l->pidfd = -1;
    l->drop_warn.interval_ms = DROP_WARN_MS;
    if (o->syslog)
        log_use_syslog(true);
    int rc = start(l, &wait_mask);
    if (rc == 0) {
        rc = run_loop(l, &wait_mask);
        finish(l);
        if (sensor_close_sink(&l->s, o->flush_timeout * 1000, err, sizeof err) < 0) {
            log_write(LOG_ERR, "%s", err);
            rc = 1;
        }
        publish_metrics(l, true);
        summary_print(&l->s);
        rc = rc || l->s.rep.output_failed;
    }
    restore_offloads(l);
    observe_free(l->ob);
    for (unsigned i = 0; i < l->n; i++)
        capture_close(l->ifs[i].cap);
    reload_free(l->staged);
    sensor_free(&l->s);
    if (o->pidfile)
        proc_pidfile_close(o->pidfile, l->pidfd);
    free(l);
    return rc;
}
