/* stop — SIGINT and SIGTERM as a flag, for the subcommands that run until stopped
 * (`alerts --follow`, `detect --follow`), and a sleep that such a signal cuts short.
 *
 * The handlers only set the flag (no SA_RESTART: a blocking call returns EINTR); the loops
 * check stop_requested() between steps and finish what they are doing, so the process
 * exits 0 cleanly. */
#ifndef BLACKOUT_STOP_H
#define BLACKOUT_STOP_H

#include <stdbool.h>
#include <stdint.h>

/* Installs the handlers (and ignores SIGPIPE: a reader that went away is an error return,
 * not a death). Returns 0, or -1 when sigaction fails. */
int stop_install(void);

bool stop_requested(void);

/* Sleeps ms milliseconds of the monotonic clock, less when a stop is requested. */
void stop_sleep_ms(uint64_t ms);

#endif
