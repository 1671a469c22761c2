/* log — stderr/syslog messages. See log.h. */
#include "log.h"

/* Our level, taken before <syslog.h> defines a LOG_INFO of its own. */
static const int level_info = LOG_INFO;

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>

int log_threshold = LOG_NOTICE;
static bool use_syslog;
static atomic_bool line_open; /* the backlog's writer thread logs too */

void log_line_open(bool open)
{
    atomic_store(&line_open, open);
}

void log_use_syslog(bool on)
{
    if (on && !use_syslog)
        openlog("blackout", LOG_PID, LOG_DAEMON);
    use_syslog = on;
}

__attribute__((format(printf, 2, 0))) static void log_vwrite(enum log_level level, const char *fmt,
                                                             va_list ap, uint64_t suppressed)
{
    static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG};
    char msg[1024];
    int n = vsnprintf(msg, sizeof msg, fmt, ap);

    if (n >= 0 && suppressed)
        snprintf(msg + ((size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1),
                 sizeof msg - ((size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1),
                 " (%llu similar messages suppressed)", (unsigned long long)suppressed);
    if (use_syslog)
        syslog(prio[level], "%s", msg);
    else
        fprintf(stderr, "%sblackout: %s\n", atomic_exchange(&line_open, false) ? "\n" : "", msg);
}

void log_write(enum log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(level, fmt, ap, 0);
    va_end(ap);
}

uint64_t log_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

bool log_limited(struct log_limit *l, enum log_level level, const char *fmt, ...)
{
    va_list ap;

    if ((int)level > log_threshold)
        return false;
    uint64_t now = log_now_ms();
    bool verbose = log_threshold >= level_info; /* -v: every message */
    if (!verbose && l->last_ms && now - l->last_ms < l->interval_ms) {
        l->suppressed++;
        return false;
    }
    l->last_ms = now;
    va_start(ap, fmt);
    log_vwrite(level, fmt, ap, l->suppressed);
    va_end(ap);
    l->suppressed = 0;
    return true;
}
