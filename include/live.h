/* live — the `blackout capture -i IFACE...` subcommand: the long-running sensor.
 *
 * Opens one libpcap handle per interface (capture.h), drops root (--user), then runs one
 * ppoll loop over every handle. Packets go through the same pipeline as a replay (sensor.h),
 * their kernel time stamps driving the bins. A wall-clock tick closes bins when no packet
 * does:
 *
 *   Packet time is the kernel's receive time (CLOCK_REALTIME), so a bin [s, s+len) can
 *   close once every frame stamped before s+len has been read. A frame waits in the
 *   kernel ring until its TPACKET_V3 block is handed over: when the block is full, or at
 *   the latest two block timeouts (2 x 100 ms) after it was stamped. Each turn of the
 *   loop reads every handle until it is empty, noting the wall time D just before the
 *   read that found it so; the tick then closes the bins that ended before D - 500 ms.
 *   Everything stamped before that has been read, however long the process is kept from
 *   running between the read and the tick (taking the time after the read instead lost
 *   frames to closed bins on a loaded host). The 500 ms leave 300 ms beyond the block
 *   hand-over for softirq delays, and add half a second to each decision (bins are 10 s
 *   by default). A frame that still comes later is counted in the open bin and reported
 *   as a late packet in the summary. While the rings hold more than one turn reads,
 *   packets drive the bins and the tick waits.
 *
 * Each time a bin closes, every interface's libpcap statistics are read: frames dropped by
 * the kernel (ring full) and by the interface (rx missed, FIFO) since the last bin become
 * that bin's `drops` (on the route of the interface's iface: rule, else the fallback), and
 * a loss above 0.1% of an interface's frames in a bin logs a warning at most once a minute.
 * Drops feed the detector's sensor_blind.
 *
 * SIGTERM or SIGINT: read what the rings hold, close the ended bins, flush the open one
 * (partial), wait up to --flush-timeout for Redis, print the summary, exit 0. SIGHUP:
 * re-read the command line and config file and stage the new prefixes and routes
 * (reload.h); a configuration that does not load is refused with one log line and the
 * running one stays. */
#ifndef BLACKOUT_LIVE_H
#define BLACKOUT_LIVE_H

#include "config.h"

/* Runs until SIGTERM or SIGINT. argc and argv are the process's, parsed again on SIGHUP.
 * Returns the exit status: 0 (stopped by a signal, everything written), 1 (an interface
 * cannot be opened, the pid file is held, --user fails, Redis refused us or did not take
 * every bin within --flush-timeout), 2 (configuration). */
int live_run(const struct options *o, int argc, char **argv);

#endif
