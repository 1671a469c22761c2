/* alert — the `blackout alerts` consumer of the alerts stream.
 *
 * The writing side of the alert path (Palerts stream, Pevents channel, Pstate hash) is one
 * section of the sink's flush unit (sink.h), so an event is applied exactly once with its
 * bin. This module reads it back, for people and for programs:
 *
 *   blackout alerts [--country CC,..] [--since ID|TIME] [--follow] [--json] [--exec CMD]
 *   blackout alerts --group G --consumer C [--country CC,..] [--since ID|TIME] [--follow]
 *                   [--exec CMD]
 *
 * Without a group it prints the stream from --since (an entry ID, inclusive, or a time: the
 * entries written from then on; `$`: only new ones) and, with --follow, waits for new
 * entries (XREAD BLOCK). With a group (created at --since if missing, MKSTREAM) it first
 * handles this consumer's own pending entries (delivered before, never acknowledged: a
 * consumer that died gets them again), then new ones (XREADGROUP >), and acknowledges an
 * entry only once it is handled: printed, or --exec CMD exited 0. A failed CMD leaves the
 * entry pending; the pending entries are tried again after 1, 2, 4 … 60 s (a line on
 * stderr per failure, at most one every 10 s). Delivery is at least once: BLACKOUT_ID lets
 * a command recognise an entry it has seen. With --country only the alerts of those
 * countries and the sensors' own (country "*") are handled; the others are passed over, and
 * with a group acknowledged as handled (not this consumer's), so each filter needs a group of
 * its own.
 *
 * In a Redis Cluster the alerts are one stream per sensor (P{S}:alerts, sink.h): the
 * consumer reads the stream of every sensor in Psensors (listed again every 10 s), with its
 * group, cursor and pending entries per stream, polling them every 250 ms when idle instead
 * of blocking on one; the alerts come stream by stream.
 *
 * --exec CMD runs /bin/sh -c CMD per alert with the event's JSON line on stdin and
 * BLACKOUT_ID, BLACKOUT_EVENT, BLACKOUT_COUNTRY, BLACKOUT_ROUTE, BLACKOUT_SENSOR,
 * BLACKOUT_SINCE, BLACKOUT_DETECTED and (country_down) BLACKOUT_CAUSE in its environment, in a
 * process group of its own, killed after --exec-timeout seconds. */
#ifndef BLACKOUT_ALERT_H
#define BLACKOUT_ALERT_H

#include "config.h"

#include <stddef.h>
#include <stdint.h>

#define ALERT_ID_MAX 48 /* "18446744073709551615-18446744073709551615" */

/* Runs the subcommand. Returns the exit status: 0 (done, or stopped by SIGINT/SIGTERM), 1
 * (Redis trouble, output failed, or without --follow an alert left unhandled), 2 (usage). */
int alert_run(const struct options *o);

/* The ID to read after (XREAD, XGROUP CREATE) for --since: NULL or "" → "0-0" (the
 * beginning); "$" → "$"; an entry ID "MS-SEQ" → the ID just before it (the entry itself is
 * read); a time (query_parse_time) → the ID just before its first millisecond. Returns 0,
 * or -1 when since is none of these. */
int alert_start_id(const char *since, char *id, size_t size);

/* The environment of an --exec command: env without any variable named in pairs, then
 * NAME=VALUE for each pair whose value is not NULL. Returns a NULL-terminated array in one
 * allocation (free() it), or NULL when out of memory. */
char **alert_env(char *const *env, const char *const (*pairs)[2], size_t npairs);

#endif
