/* fuzz — what the libFuzzer harnesses in tests/fuzz/ share.
 *
 * The parsers of prefix, RIR and config files take a path: fuzz_file() puts the input in
 * one in-memory file (memfd) per process and returns a path that opens it from the start.
 * fuzz_quiet() sends stdout (help text) to /dev/null and drops log messages, so a run
 * prints only libFuzzer's own lines. It declares libFuzzer's entry points once for all. */
#ifndef BLACKOUT_FUZZ_H
#define BLACKOUT_FUZZ_H

#include "log.h"

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* libFuzzer's entry points, defined by each harness (LLVMFuzzerInitialize where it needs one). */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static inline void fuzz_quiet(void)
{
    int fd = open("/dev/null", O_WRONLY);

    if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        close(fd);
    }
    log_threshold = -1; /* below LOG_ERR: nothing is formatted or written */
}

/* Returns "/proc/self/fd/N" holding exactly data[0, size), or NULL when the in-memory file
 * cannot be made or written (the harness then skips the input). */
static inline const char *fuzz_file(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];

    if (fd < 0) {
        fd = memfd_create("blackout-fuzz", 0);
        if (fd < 0)
            return NULL;
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0)
        return NULL;
    for (size_t done = 0; done < size;) {
        ssize_t n = pwrite(fd, data + done, size - done, (off_t)done);
        if (n <= 0)
            return NULL;
        done += (size_t)n;
    }
    return path;
}

/* A NUL-terminated copy of the input (caller frees), or NULL when out of memory. */
static inline char *fuzz_string(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);

    if (!s)
        return NULL;
    for (size_t i = 0; i < size; i++)
        s[i] = (char)data[i];
    s[size] = '\0';
    return s;
}

#endif
