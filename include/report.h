/* report — what the sensor prints on stdout as it goes: with --json a JSON line per closed bin
 * and route, per detector event and (with --flows) per finished flow; without it a line of
 * text per event; nothing with -q. Called once per bin, event or flow, never per packet.
 *
 * Below the sensor, which owns one struct report: the module knows only the fields below and
 * the records it is handed. The end-of-run summary is summary.h's, above the sensor. */
#ifndef BLACKOUT_REPORT_H
#define BLACKOUT_REPORT_H

#include "bins.h"
#include "json.h"
#include "records.h"

#include <stdbool.h>

struct report {
    struct json json;   /* the line being written, reused */
    const char *sensor; /* sensor id (not copied) */
    bool json_lines;    /* --json */
    bool quiet;         /* -q: no text lines */
    bool flows;         /* --flows: flow lines */
    bool output_failed; /* stdout could not be written (logged once) */
};

void report_init(struct report *r, const char *sensor, bool json_lines, bool quiet, bool flows);
void report_free(struct report *r);

/* The names of a bins row; route NULL: the row is not reported. */
struct report_row {
    const char *country, *route;
};

/* One "bin" line per row of the closed bin (rows[i] names row i). */
void report_bin(struct report *r, const struct bin_view *v, const struct report_row *rows);

/* One detector event: a JSON line with --json, a line of text otherwise. */
void report_event(struct report *r, const struct event *e);

/* One finished flow ({"type":"flow"}, with --json and --flows). */
void report_flow(struct report *r, const struct flow_record *f);

/* Writes r->json as one line on stdout; a failure sets output_failed (logged once). */
void report_line(struct report *r);

/* Flushes stdout; a failure sets output_failed (logged once). */
void report_flush(struct report *r);

#endif
