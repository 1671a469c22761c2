/* log — one-line messages to stderr (or syslog), with levels and rate limiting.
 *
 * Every message is "blackout: TEXT" on one line. LOG() checks the level before formatting.
 * Nothing on the per-packet path logs by default; repeated warnings go through a
 * log_limit, which lets one message through per interval and counts the rest. */
#ifndef BLACKOUT_LOG_H
#define BLACKOUT_LOG_H

#include <stdbool.h>
#include <stdint.h>

/* NOTICE: what an operator wants to see by default (a sensor starting, a reload). */
enum log_level { LOG_ERR = 0, LOG_WARN = 1, LOG_NOTICE = 2, LOG_INFO = 3, LOG_DEBUG = 4 };

extern int log_threshold; /* messages above this level are dropped; default LOG_NOTICE */

/* Sends messages to syslog (ident "blackout") instead of stderr. */
void log_use_syslog(bool on);

void log_write(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define LOG(level, ...)                                                                            \
    do {                                                                                           \
        if ((int)(level) <= log_threshold)                                                         \
            log_write((level), __VA_ARGS__);                                                       \
    } while (0)

/* One message per `interval_ms` of the monotonic clock; the others are counted and their
 * number appended to the next message that goes through; at LOG_INFO and above (-v)
 * nothing is suppressed. log_limited returns true when the message went through. */
struct log_limit {
    uint64_t interval_ms;
    uint64_t last_ms;
    uint64_t suppressed;
};

bool log_limited(struct log_limit *l, enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A line without its newline is on stderr (the replay progress line) when open: the next
 * message starts on a line of its own. */
void log_line_open(bool open);

/* Milliseconds of the monotonic clock (timers, backoff, rate limits; never packet time). */
uint64_t log_now_ms(void);

#endif
