/* stop — the stop flag and an interruptible sleep. See stop.h. */
#include "stop.h"

#include "log.h"

#include <signal.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t stop_flag;

static void on_stop(int sig)
{
    (void)sig;
    stop_flag = 1;
}

int stop_install(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
        return -1;
    sa.sa_handler = SIG_IGN;
    return sigaction(SIGPIPE, &sa, NULL) != 0 ? -1 : 0;
}

bool stop_requested(void)
{
    return stop_flag != 0;
}

void stop_sleep_ms(uint64_t ms)
{
    uint64_t end = log_now_ms() + ms;

    for (uint64_t now = log_now_ms(); now < end && !stop_flag; now = log_now_ms()) {
        uint64_t left = end - now < 200 ? end - now : 200;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)(left * 1000000)};
        nanosleep(&ts, NULL);
    }
}
