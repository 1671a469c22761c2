/* fuzz_config — the command line and the config file.
 *
 * Input: the command-line words (argv[1] onwards) separated by NUL bytes, then, after two
 * NUL bytes in a row, the config file's text. The file is passed as "-c FILE" after the
 * subcommand; -c/--config words of the input itself are dropped, so no other file is ever
 * opened. Help text goes to /dev/null. */

#include "config.h"
#include "fuzz.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WORDS 256

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet();
    return 0;
}

static bool names_config(const char *w)
{
    return strcmp(w, "-c") == 0 || strncmp(w, "--config", 8) == 0;
}

/* Splits words[0, n) at NUL bytes into argv after "blackout" (and "-c FILE" after the
 * subcommand when file is set). Returns argc. */
static int build_argv(char *words, size_t n, const char *file, char **argv)
{
    int argc = 0;

    argv[argc++] = (char *)"blackout";
    for (size_t i = 0; i < n && argc < MAX_WORDS;) {
        char *w = words + i;
        i += strlen(w) + 1;
        if (names_config(w))
            continue;
        argv[argc++] = w;
        if (argc == 2 && file) {
            argv[argc++] = (char *)"-c";
            argv[argc++] = (char *)file;
        }
    }
    if (argc == 1 && file) {
        argv[argc++] = (char *)"-c";
        argv[argc++] = (char *)file;
    }
    argv[argc] = NULL;
    return argc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char *argv[MAX_WORDS + 4];
    const uint8_t *sep = size >= 2 ? memmem(data, size, "\0\0", 2) : NULL;
    size_t nwords = sep ? (size_t)(sep - data) : size;
    const char *file = NULL;
    char err[512];
    struct options o;

    if (sep)
        file = fuzz_file(sep + 2, size - nwords - 2);
    if (sep && !file)
        return 0;
    char *words = fuzz_string(data, nwords); /* its words stay valid until config_free */
    if (!words)
        return 0;
    int argc = build_argv(words, nwords, file, argv);
    if (config_parse(argc, argv, &o, err, sizeof err) == CONFIG_OK)
        (void)config_sensor_given(&o);
    config_free(&o);
    free(words);
    return 0;
}
