/* replay — pcap files through the sensor. See replay.h. */
#include "replay.h"

#include "capture.h"
#include "log.h"
#include "observe.h"
#include "progress.h"
#include "sensor.h"
#include "summary.h"

#include <stdio.h>
#include <unistd.h>

/* Reads one file to its end; with --metrics, the state is published when a bin closed.
 * Returns 0, or -1 after logging one line. */
static int replay_file(struct sensor *s, struct progress *pr, struct observe *ob, const char *path)
{
    char err[512];
    struct packet p;
    uint64_t bins = s->bins_emitted;
    int r;

    struct capture *c = capture_open_file(path, err, sizeof err);
    if (!c) {
        log_write(LOG_ERR, "%s", err);
        return -1;
    }
    for (;;) {
        r = s->stop ? 0 : capture_next(c, &p, err, sizeof err);
        if (r != 1)
            break;
        sensor_packet(s, &p);
        if (ob && s->bins_emitted != bins) {
            bins = s->bins_emitted;
            observe_update(ob, s, NULL, 0, false);
        }
        if (progress_packet(pr, p.caplen))
            progress_check(pr, capture_offset(c));
    }
    progress_file_done(pr, capture_offset(c));
    capture_close(c);
    if (r < 0) {
        log_write(LOG_ERR, "%s", err);
        return -1;
    }
    return 0;
}

/* The progress line: --progress, or stderr a terminal; never with --no-progress, nor with -q
 * unless --progress asks for it. */
static bool progress_wanted(const struct options *o)
{
    if (o->no_progress)
        return false;
    return o->progress || (!o->quiet && isatty(STDERR_FILENO));
}

int replay_run(const struct options *o)
{
    struct sensor s;
    struct progress pr;
    struct observe *ob = NULL;
    char err[512];
    int rc = 0;

    if (o->nargs == 0) {
        log_write(LOG_ERR, "replay needs at least one capture file ('-' for stdin)");
        return 2;
    }
    if (sensor_init(&s, o, err, sizeof err) < 0) {
        log_write(LOG_ERR, "%s", err);
        sensor_free(&s);
        return 2;
    }
    if (sensor_start_sink(&s, err, sizeof err) < 0 || observe_open(&ob, o, err, sizeof err) < 0) {
        log_write(LOG_ERR, "%s", err);
        sensor_free(&s);
        return 1;
    }
    observe_update(ob, &s, NULL, 0, true);
    progress_init(&pr, progress_wanted(o), stderr, progress_total(o->args, o->nargs));
    for (int i = 0; i < o->nargs && !s.stop; i++) {
        if (replay_file(&s, &pr, ob, o->args[i]) < 0) {
            rc = 1;
            break;
        }
    }
    progress_finish(&pr, 0);
    sensor_finish(&s);
    if (sensor_close_sink(&s, o->flush_timeout * 1000, err, sizeof err) < 0) {
        log_write(LOG_ERR, "%s", err);
        rc = 1;
    }
    observe_update(ob, &s, NULL, 0, true);
    summary_print(&s);
    if (s.rep.output_failed)
        rc = 1;
    observe_free(ob);
    sensor_free(&s);
    return rc;
}
