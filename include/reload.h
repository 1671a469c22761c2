/* reload — a new country set and route table for a running sensor (SIGHUP on `capture`).
 *
 * reload_stage builds everything the new configuration needs before anything changes: the
 * country set, the route table bound to the captured interfaces and, when the route names
 * differ, a bin set and a detector sized for the new routes. Any error leaves the running
 * configuration as it was. The caller keeps the staged configuration and puts it in force
 * when the open bin closes (when sensor_advance reports a new bin, before the packet that
 * opened it is counted), so every bin is counted under one configuration from its start to
 * its end and no packet is lost or counted twice. Above the sensor: the capture loop, the
 * only owner of SIGHUP, drives it.
 *
 * Routes map by name. A route that keeps its name keeps its detector state (baseline,
 * state, silent runs), its flows and its cumulative totals. A new route starts `learning`.
 * A removed route's flows finish on the fallback route (`other`, or `all` without rules),
 * and its totals stay in the summary and in Redis. A flow keeps the route it started on
 * until it ends, while every packet is binned by the rules in force. The country's and the
 * sensor's detector state carry over. Options other than --country, --prefixes, --rir,
 * --geoip and --route need a restart. */
#ifndef BLACKOUT_RELOAD_H
#define BLACKOUT_RELOAD_H

#include "config.h"

#include <stddef.h>

struct sensor;
struct reload;

/* Stages the country set and routes of o (a fresh parse of the command line and config
 * file) for s; ifaces are the captured interface names (iface: rules are bound to them).
 * Returns the staged configuration, or NULL with one line in err (the running configuration
 * stays). */
struct reload *reload_stage(const struct sensor *s, const struct options *o,
                            const char *const *ifaces, unsigned nifaces, char *err, size_t errlen);

/* Puts a staged configuration in force and frees it. Call only when the open bin holds no
 * packet yet (sensor_advance returned true, or before the first packet). */
void reload_apply(struct sensor *s, struct reload *r);

/* One line describing the staged configuration, for the log. */
const char *reload_describe(const struct reload *r, char *buf, size_t size);

void reload_free(struct reload *r);

#endif
