/* progress — the progress line of `blackout replay`. See progress.h. */
#include "progress.h"

#include "log.h"

#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

void progress_init(struct progress *p, bool on, FILE *out, uint64_t total)
{
    memset(p, 0, sizeof *p);
    p->on = on;
    p->out = out;
    p->total = total;
    p->step = PROGRESS_STEP_MIN;
    p->next_check = on ? p->step : UINT64_MAX;
    if (on) {
        p->start_ms = log_now_ms();
        p->shown_ms = p->start_ms;
    }
}

uint64_t progress_total(char *const *paths, int n)
{
    struct stat st;
    uint64_t sum = 0;

    for (int i = 0; i < n; i++) {
        if (strcmp(paths[i], "-") == 0 || stat(paths[i], &st) != 0 || !S_ISREG(st.st_mode))
            return 0;
        sum += (uint64_t)st.st_size;
    }
    return sum;
}

static uint64_t bytes_now(const struct progress *p, uint64_t offset)
{
    return p->bytes_files + (offset ? offset : p->bytes_file);
}

void progress_file_done(struct progress *p, uint64_t offset)
{
    p->bytes_files = bytes_now(p, offset);
    p->bytes_file = 0;
}

/* "702.0 MiB": bytes in the largest binary unit that keeps the number below 1024. */
static void fmt_bytes(char *buf, size_t size, uint64_t b)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)b;
    unsigned u = 0;

    while (v >= 1024 && u + 1 < sizeof units / sizeof units[0]) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, size, "%llu B", (unsigned long long)b);
    else
        snprintf(buf, size, "%.1f %s", v, units[u]);
}

/* "1,996,458": digits in groups of three. */
static void fmt_count(char *buf, size_t size, uint64_t v)
{
    char digits[24];
    size_t n = (size_t)snprintf(digits, sizeof digits, "%llu", (unsigned long long)v), k = 0;

    for (size_t i = 0; i < n && k + 2 < size; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            buf[k++] = ',';
        buf[k++] = digits[i];
    }
    buf[k] = '\0';
}

/* "4 s", "2 min 05 s", "1 h 02 min". */
static void fmt_duration(char *buf, size_t size, uint64_t s)
{
    if (s < 60)
        snprintf(buf, size, "%llu s", (unsigned long long)s);
    else if (s < 3600)
        snprintf(buf, size, "%llu min %02llu s", (unsigned long long)(s / 60),
                 (unsigned long long)(s % 60));
    else
        snprintf(buf, size, "%llu h %02llu min", (unsigned long long)(s / 3600),
                 (unsigned long long)(s % 3600 / 60));
}

/* Appends to buf (size bytes, n used) like snprintf; returns the new length, which may
 * exceed size - 1 when the text was cut. */
static size_t append(char *buf, size_t size, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static size_t append(char *buf, size_t size, size_t n, const char *fmt, ...)
{
    va_list ap;
    if (n >= size)
        return n;
    va_start(ap, fmt);
    int w = vsnprintf(buf + n, size - n, fmt, ap);
    va_end(ap);
    return w < 0 ? n : n + (size_t)w;
}

size_t progress_format(char *buf, size_t size, const struct progress_view *v)
{
    char done[32], total[32], count[32], left[48];
    double secs = (double)v->elapsed_ms / 1000;
    size_t n = 0;

    if (size == 0)
        return 0;
    buf[0] = '\0';
    fmt_bytes(done, sizeof done, v->bytes);
    if (v->total) {
        uint64_t pct = v->bytes >= v->total ? 100 : v->bytes * 100 / v->total;
        fmt_bytes(total, sizeof total, v->total);
        n = append(buf, size, n, "replay %3llu%%  %s of %s", (unsigned long long)pct, done, total);
    } else {
        n = append(buf, size, n, "replay  %s", done);
    }
    fmt_count(count, sizeof count, v->packets);
    n = append(buf, size, n, "  %s packets", count);
    if (v->elapsed_ms > 0) {
        fmt_count(count, sizeof count, (uint64_t)((double)v->packets / secs + 0.5));
        n = append(buf, size, n, "  %s pkt/s", count);
    }
    if (v->done) {
        n = append(buf, size, n, "  in %.1f s", secs);
    } else if (v->elapsed_ms > 0 && v->total && v->bytes > 0 && v->bytes < v->total) {
        double t = (double)(v->total - v->bytes) * secs / (double)v->bytes;
        uint64_t up = (uint64_t)t; /* rounded up: never "0 s" */
        fmt_duration(left, sizeof left, (double)up < t || up == 0 ? up + 1 : up);
        n = append(buf, size, n, "  ETA %s", left);
    }
    return n < size ? n : size - 1;
}

static void show(struct progress *p, uint64_t offset, uint64_t now, bool done)
{
    char line[PROGRESS_LINE_MAX];
    struct progress_view v = {.bytes = bytes_now(p, offset),
                              .total = p->total,
                              .packets = p->packets,
                              .elapsed_ms = now - p->start_ms,
                              .done = done};
    size_t n = progress_format(line, sizeof line, &v);
    int pad = p->shown_len > n ? (int)(p->shown_len - n) : 0;

    fprintf(p->out, "\r%s%*s%s", line, pad, "", done ? "\n" : "");
    fflush(p->out);
    if (p->out == stderr)
        log_line_open(!done);
    p->shown_len = n;
    p->shown_ms = now;
}

void progress_check(struct progress *p, uint64_t offset)
{
    if (!p->on)
        return;
    uint64_t now = log_now_ms();
    uint64_t elapsed = now - p->start_ms;
    if (now - p->shown_ms >= PROGRESS_INTERVAL_MS)
        show(p, offset, now, false);
    /* a check about every tenth of an interval at the rate so far */
    uint64_t step = elapsed ? p->packets * (PROGRESS_INTERVAL_MS / 10) / elapsed : p->step * 2;
    p->step = step < PROGRESS_STEP_MIN   ? PROGRESS_STEP_MIN
              : step > PROGRESS_STEP_MAX ? PROGRESS_STEP_MAX
                                         : step;
    p->next_check = p->packets + p->step;
}

void progress_finish(struct progress *p, uint64_t offset)
{
    if (!p->on)
        return;
    show(p, offset, log_now_ms(), true);
    p->on = false;
    p->next_check = UINT64_MAX;
}
