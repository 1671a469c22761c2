/* replay — the `blackout replay FILE...` subcommand: reads captures in order through the
 * sensor pipeline, packet time driving everything. */
#ifndef BLACKOUT_REPLAY_H
#define BLACKOUT_REPLAY_H

#include "config.h"

/* Returns the process exit status: 0, 1 (a file could not be read, Redis refused us or did
 * not take every bin within --flush-timeout), 2 (configuration). */
int replay_run(const struct options *o);

#endif
