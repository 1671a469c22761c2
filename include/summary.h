/* summary — the end-of-run summary of a sensor (`replay`, `capture`): one JSON line with
 * --json (README, JSON lines: per-route totals and protocols, decode statuses, the flow
 * table, the detector, Redis), a short table otherwise, nothing with -q.
 *
 * Above the sensor: it reads the sensor's totals and stages once, at the end, and writes
 * through the sensor's report (report.h). */
#ifndef BLACKOUT_SUMMARY_H
#define BLACKOUT_SUMMARY_H

#include "sensor.h"

/* Prints the summary and flushes stdout (a failure sets s->rep.output_failed). */
void summary_print(struct sensor *s);

#endif
