/* multidetect — `blackout detect`: the detector over bins read back from Redis, for one
 * or more sensors, combined.
 *
 *   blackout detect [--sensor S]... [--from T] [--to T] [--follow [--poll S]] [--id ID]
 *
 * For every sensor (--sensor, else every sensor in Psensors) it reads P{S}:bins:R of each of
 * the sensor's routes (P{S}:routes) in time order, a chunk at a time and every route of a
 * sensor in one MULTI/EXEC (so a bin written meanwhile is never half read), feeds one
 * detector per sensor (detect.h, the same as in replay and capture), and after every bin
 * end combines the sensors' route states (combine.h). A sensor with no bin for a step (it
 * was not running, or its data is late) does not vote in it; one that stops writing no
 * longer holds the others back (--follow). Combined events carry --id as their sensor, are
 * printed (a line each, or JSON lines with --json) and written through the alert path of
 * the sink: Palerts, Pevents, Pstate "ID/ROUTE" and P{ID}:state:ROUTE. Per-sensor events
 * are logged with -v; a route lost by one sensor alone, and a blind sensor, are logged as
 * warnings. */
#ifndef BLACKOUT_MULTIDETECT_H
#define BLACKOUT_MULTIDETECT_H

#include "config.h"

/* Runs the subcommand. Returns the exit status: 0, 1 (Redis trouble, events not written,
 * no sensor to read), 2 (usage). */
int multidetect_run(const struct options *o);

#endif
