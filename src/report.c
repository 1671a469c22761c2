/* report — JSON and text lines as the sensor goes. See report.h. */
#include "report.h"

#include "log.h"

#include <stdio.h>

void report_init(struct report *r, const char *sensor, bool json_lines, bool quiet, bool flows)
{
    *r =
        (struct report){.sensor = sensor, .json_lines = json_lines, .quiet = quiet, .flows = flows};
    json_init(&r->json);
}

void report_free(struct report *r)
{
    json_free(&r->json);
}

static void failed(struct report *r)
{
    if (!r->output_failed)
        LOG(LOG_ERR, "cannot write to stdout");
    r->output_failed = true;
}

void report_line(struct report *r)
{
    if (json_print_line(&r->json) < 0)
        failed(r);
}

void report_flush(struct report *r)
{
    if (fflush(stdout) != 0)
        failed(r);
}

void report_bin(struct report *r, const struct bin_view *v, const struct report_row *rows)
{
    struct json *j = &r->json;

    if (!r->json_lines)
        return;
    for (unsigned row = 0; row < v->nrows; row++) {
        const struct bin_counts *c = &v->rows[row];
        if (!rows[row].route)
            continue;
        json_reset(j);
        json_obj_open(j);
        json_kstr(j, "type", "bin");
        json_kstr(j, "sensor", r->sensor);
        json_kstr(j, "country", rows[row].country);
        json_kstr(j, "route", rows[row].route);
        json_ki64(j, "start", v->start);
        json_ku64(j, "len", v->len);
        for (size_t i = 0; i < BIN_NCOUNTERS; i++)
            if (bin_counters[i].uses & BIN_JSON)
                json_ku64(j, bin_counters[i].name, bin_counter_get(c, i));
        json_obj_close(j);
        report_line(r);
    }
}

void report_event(struct report *r, const struct event *e)
{
    if (r->json_lines) {
        json_reset(&r->json);
        event_json(e, &r->json);
        report_line(r);
        return;
    }
    if (r->quiet)
        return;
    char line[512];
    printf("%s\n", event_text(e, line, sizeof line));
}

void report_flow(struct report *r, const struct flow_record *f)
{
    if (!r->json_lines || !r->flows)
        return;
    json_reset(&r->json);
    flow_record_json(f, r->sensor, &r->json);
    report_line(r);
}
