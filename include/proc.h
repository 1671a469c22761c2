/* proc — what a long-running sensor process does besides counting: its pid file, dropping
 * root after the capture handles are open, and the signals that stop or reload it.
 *
 * Signals: SIGTERM and SIGINT ask for a clean stop, SIGHUP for a reload. They are blocked
 * except while the capture loop waits in ppoll (proc_wait_mask), so a signal is never
 * lost between a check and the wait; the handlers only set flags that proc_take_signal
 * reads. These flags are the process's only global state. */
#ifndef BLACKOUT_PROC_H
#define BLACKOUT_PROC_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

enum proc_signal { PROC_STOP, PROC_RELOAD };

/* Installs the handlers and blocks the signals; *wait_mask receives the mask to use while
 * waiting (the previous one). Returns 0, or -1 with one line in err. */
int proc_signals_init(sigset_t *wait_mask, char *err, size_t errlen);

/* True once per delivery of the signal kind (SIGTERM or SIGINT for PROC_STOP); clears it. */
bool proc_take_signal(enum proc_signal which);

/* Opens, locks and writes the pid file. Returns the descriptor (keep it open: the lock
 * lives as long as the process), or -1 with one line in err: it cannot be written, or
 * another process holds it ("FILE: locked by a running process (pid N)"). */
int proc_pidfile_open(const char *path, char *err, size_t errlen);

/* Removes the pid file (if the user the process runs as still may) and closes fd. */
void proc_pidfile_close(const char *path, int fd);

/* Switches to user `name`: its primary group, its supplementary groups, then its uid, and
 * checks that root cannot be regained. Returns 0, or -1 with one line in err (unknown user,
 * not permitted). */
int proc_drop_privileges(const char *name, char *err, size_t errlen);

#endif
