/* proc — pid file, privileges, signals. See proc.h. */
#include "proc.h"

#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

static volatile sig_atomic_t got_stop, got_reload;

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        got_reload = 1;
    else
        got_stop = 1;
}

int proc_signals_init(sigset_t *wait_mask, char *err, size_t errlen)
{
    static const int sigs[] = {SIGTERM, SIGINT, SIGHUP};
    struct sigaction sa;
    sigset_t block;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigemptyset(&block);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        sigaddset(&block, sigs[i]);
        if (sigaction(sigs[i], &sa, NULL) != 0) {
            snprintf(err, errlen, "cannot install signal handlers: %s", strerror(errno));
            return -1;
        }
    }
    if (sigprocmask(SIG_BLOCK, &block, wait_mask) != 0) {
        snprintf(err, errlen, "cannot block signals: %s", strerror(errno));
        return -1;
    }
    return 0;
}

bool proc_take_signal(enum proc_signal which)
{
    volatile sig_atomic_t *flag = which == PROC_STOP ? &got_stop : &got_reload;
    if (!*flag)
        return false;
    *flag = 0;
    return true;
}

/* The pid written in a pid file another process holds, or 0. */
static long holder_pid(int fd)
{
    char buf[32];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *end;
    long pid = strtol(buf, &end, 10);
    return end != buf && pid > 0 ? pid : 0;
}

int proc_pidfile_open(const char *path, char *err, size_t errlen)
{
    char buf[32];

    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        long pid = holder_pid(fd);
        if (e == EWOULDBLOCK)
            snprintf(err, errlen, "%s: locked by a running process (pid %ld)", path, pid);
        else
            snprintf(err, errlen, "%s: cannot lock: %s", path, strerror(e));
        close(fd);
        return -1;
    }
    int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != n) {
        snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

void proc_pidfile_close(const char *path, int fd)
{
    if (fd < 0)
        return;
    /* after --user the directory may not let us remove it: an empty file says as much */
    if (unlink(path) != 0 && ftruncate(fd, 0) != 0)
        LOG(LOG_WARN, "%s: cannot remove or empty the pid file: %s", path, strerror(errno));
    close(fd);
}

int proc_drop_privileges(const char *name, char *err, size_t errlen)
{
    errno = 0;
    struct passwd *pw = getpwnam(name);
    if (!pw) {
        snprintf(err, errlen, "--user %s: %s", name, errno ? strerror(errno) : "no such user");
        return -1;
    }
    uid_t uid = pw->pw_uid;
    gid_t gid = pw->pw_gid;
    if (initgroups(name, gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0) {
        snprintf(err, errlen, "--user %s: cannot switch to uid %ld gid %ld: %s", name, (long)uid,
                 (long)gid, strerror(errno));
        return -1;
    }
    if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
        snprintf(err, errlen, "--user %s: root could be regained after the switch", name);
        return -1;
    }
    return 0;
}
