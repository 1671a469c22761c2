/* report — what the sensor prints on stdout: JSON lines with --json (bins, the summary), a
 * short human-readable summary otherwise, nothing with -q. Called once per bin and once at
 * the end, never per packet. */
#ifndef BLACKOUT_REPORT_H
#define BLACKOUT_REPORT_H

#include "bins.h"
#include "records.h"

struct sensor;

void report_bin(struct sensor *s, const struct bin_view *v);

/* Prints one detector event: a JSON line with --json, a line of text otherwise. */
void report_event(struct sensor *s, const struct event *e);

/* Prints one finished flow ({"type":"flow"}, with --json). */
void report_flow(struct sensor *s, const struct flow_record *r);

/* Prints the final summary. */
void report_summary(struct sensor *s);

#endif
