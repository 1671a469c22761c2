/* replay — pcap files through the sensor. See replay.h. */
#include "replay.h"

#include "capture.h"
#include "log.h"
#include "report.h"
#include "sensor.h"

#include <stdio.h>

/* Reads one file to its end. Returns 0, or -1 after logging one line. */
static int replay_file(struct sensor *s, const char *path)
{
    char err[512];
    struct packet p;
    int r;

    struct capture *c = capture_open_file(path, err, sizeof err);
    if (!c) {
        log_write(LOG_ERR, "%s", err);
        return -1;
    }
    while (!s->stop && (r = capture_next(c, &p, err, sizeof err)) == 1)
        sensor_packet(s, &p);
    capture_close(c);
    if (r < 0) {
        log_write(LOG_ERR, "%s", err);
        return -1;
    }
    return 0;
}

int replay_run(const struct options *o)
{
    struct sensor s;
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
    if (sensor_start_sink(&s, err, sizeof err) < 0) {
        log_write(LOG_ERR, "%s", err);
        sensor_free(&s);
        return 1;
    }
    for (int i = 0; i < o->nargs && !s.stop; i++) {
        if (replay_file(&s, o->args[i]) < 0) {
            rc = 1;
            break;
        }
    }
    sensor_finish(&s);
    if (sensor_close_sink(&s, o->flush_timeout * 1000, err, sizeof err) < 0) {
        log_write(LOG_ERR, "%s", err);
        rc = 1;
    }
    report_summary(&s);
    if (s.output_failed)
        rc = 1;
    sensor_free(&s);
    return rc;
}
