/* multidetect — `blackout detect`: the detector over bins read back from Redis, for one
 * or more sensors, combined per country.
 *
 *   blackout detect [--sensor S]... [--country CC,..] [--from T] [--to T] [--follow [--poll S]]
 *                   [--id ID]
 *
 * For every sensor (--sensor, else every sensor in Psensors) it reads P{S}:bins:CC:R of each
 * of the sensor's (country, route) pairs (P{S}:pairs, the countries of --country) in time
 * order, a chunk at a time and every pair of a sensor in one MULTI/EXEC (so a bin written
 * meanwhile is never half read), feeds one detector per sensor and country (detect.h, the
 * same as in replay and capture) with that sensor's pairs of the country, and after every
 * bin end combines, country by country, the sensors' route states (one combiner per country,
 * combine.h). A sensor with no bin for a step (it was not running, or its data is late) does
 * not vote in it; one that stops writing no longer holds the others back (--follow). With
 * --follow the pairs are read again every round: a new country or route joins (a route
 * added to a country at a sensor keeps that country's detector state). Combined events carry
 * --id as their sensor and the country, are printed (a line each, or JSON lines with --json)
 * and written through the alert path of the sink: Palerts, Pevents, Pstate "ID/CC/R" and
 * "ID/CC/" + "*", P{ID}:state:CC:R. Per-sensor events are logged with -v; a route lost by one
 * sensor alone, and a blind sensor, are logged as warnings. */
#ifndef BLACKOUT_MULTIDETECT_H
#define BLACKOUT_MULTIDETECT_H

#include "config.h"

/* Runs the subcommand. Returns the exit status: 0, 1 (Redis trouble, events not written,
 * no sensor to read), 2 (usage). */
int multidetect_run(const struct options *o);

#endif
