/* blackout-gen — deterministic traffic generator for blackout's tests.
 *
 * main: parse the options, open the capture, run the scheduler, write the
 * expect file. Exit 0 on success, 1 on a runtime failure, 2 on a usage
 * error; every error is one line on stderr. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gen_expect.h"
#include "gen_opt.h"
#include "gen_pcap.h"
#include "gen_sched.h"

/* OUT less a .pcap/.pcapng suffix, plus .expect.json. */
static int main_expect_path(const struct gen_opt *o, char *buf, size_t len)
{
    size_t n;
    int w;

    if (o->expect != NULL) {
        w = snprintf(buf, len, "%s", o->expect);
        return w < 0 || (size_t)w >= len ? -1 : 0;
    }
    n = strlen(o->out);
    if (n > 5 && strcmp(o->out + n - 5, ".pcap") == 0)
        n -= 5;
    else if (n > 7 && strcmp(o->out + n - 7, ".pcapng") == 0)
        n -= 7;
    w = snprintf(buf, len, "%.*s.expect.json", (int)n, o->out);
    return w < 0 || (size_t)w >= len ? -1 : 0;
}

/* The expect file is opened first, so a bad path fails before the work. */
static int main_run(const struct gen_opt *o, const char *expect_path, char *err, size_t errlen)
{
    struct gen_expect *exp = gen_expect_new(o);
    FILE *ef = fopen(expect_path, "w");
    struct gen_pcap *out = NULL;
    uint64_t end_s = 0;
    int rc = -1;

    if (ef == NULL) {
        snprintf(err, errlen, "%.400s: %s", expect_path, strerror(errno));
        goto done;
    }
    if (exp == NULL) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    out = gen_pcap_open(o->out, o->pcapng, gen_opt_linktype(o->link), o->snaplen, err, errlen);
    if (out == NULL || gen_sched_run(o, out, exp, &end_s, err, errlen) < 0)
        goto done;
    rc = gen_pcap_close(out, err, errlen);
    out = NULL;
    if (rc == 0 && gen_expect_write(exp, o, end_s, ef) < 0) {
        snprintf(err, errlen, "%.400s: write error", expect_path);
        rc = -1;
    }
done:
    if (out != NULL) {
        char ignored[16];
        gen_pcap_close(out, ignored, sizeof(ignored));
    }
    if (ef != NULL && fclose(ef) != 0 && rc == 0) {
        snprintf(err, errlen, "%.400s: %s", expect_path, strerror(errno));
        rc = -1;
    }
    gen_expect_free(exp);
    return rc;
}

int main(int argc, char **argv)
{
    struct gen_opt o;
    char err[512] = "";
    char expect_path[4096];
    int rc = gen_opt_parse(&o, argc, argv, err, sizeof(err));

    if (rc > 0)
        return 0;
    if (rc == 0 && main_expect_path(&o, expect_path, sizeof(expect_path)) < 0) {
        snprintf(err, sizeof(err), "output name too long");
        rc = -1;
    }
    if (rc < 0) {
        fprintf(stderr, "blackout-gen: %s\n", err);
        return 2;
    }
    if (main_run(&o, expect_path, err, sizeof(err)) < 0) {
        fprintf(stderr, "blackout-gen: %s\n", err);
        return 1;
    }
    return 0;
}
