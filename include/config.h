/* config — the options table, command-line and config-file parsing, and --help.
 *
 * One table row per option: name, short form, kind, the subcommands it applies to, bounds,
 * default and help text. The same table parses argv, parses the config file (long names as
 * keys, "key = value", '#' comments, repeatable keys for repeatable options), prints --help
 * and the README's option reference. Precedence: defaults, then the config file, then the
 * command line (a repeatable option given on the command line replaces the file's list).
 *
 * Strings in struct options point into argv or into copies owned by the options; call
 * config_free when done. */
#ifndef BLACKOUT_CONFIG_H
#define BLACKOUT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_LIST_MAX 64

enum cmd {
    CMD_NONE = 0,
    CMD_REPLAY = 1 << 0,
    CMD_CAPTURE = 1 << 1,
    CMD_DETECT = 1 << 2,
    CMD_ALERTS = 1 << 3,
    CMD_STATUS = 1 << 4,
    CMD_EXPORT = 1 << 5,
};

struct strlist {
    unsigned n;
    const char *v[CONFIG_LIST_MAX];
};

struct options {
    enum cmd cmd;
    const char *cmd_name;
    const char *config;
    const char *sensor;
    const char *country;
    const char *prefixes;
    struct strlist rir; /* RIR delegated-stats files */
    const char *geoip;  /* MaxMind DB */
    struct strlist routes;
    const char *tunnels; /* "on" or "off" */
    uint64_t bin;
    uint64_t host_cap;
    uint64_t max_flows;
    uint64_t flow_idle;
    uint64_t flow_active;
    uint64_t dpi_tcp;
    uint64_t dpi_udp;
    uint64_t dpi_extra;
    uint64_t dpi_budget;
    uint64_t warmup;
    uint64_t horizon;
    double false_alarms;
    double down_below, up_above; /* shares of the expected level: down at or below, up above */
    bool flows;
    bool json;
    bool quiet;
    bool verbose;
    bool no_redis;
    bool progress, no_progress; /* replay: the progress line on stderr */
    /* Redis */
    const char *redis;             /* URL: may hold a password, never print it */
    const char *sentinel_password; /* never print it */
    const char *min_replicas;      /* "auto" or a number: use config_min_replicas */
    const char *redis_prefix;
    uint64_t redis_timeout; /* milliseconds */
    uint64_t backlog;       /* bins */
    uint64_t flush_timeout; /* seconds */
    uint64_t retention;     /* seconds */
    uint64_t stream_maxlen;
    /* capture */
    struct strlist ifaces;
    uint64_t snaplen;
    uint64_t buffer_mb;
    const char *user;
    const char *pidfile;
    bool syslog;
    bool disable_offloads;
    const char *metrics; /* ADDR:PORT of the Prometheus endpoint, NULL: off */
    /* export, status, detect, alerts */
    const char *from, *to;
    struct strlist route_filter;
    const char *countries; /* --country filter: "CC[,CC...]", "all" or NULL (every country) */
    bool csv;
    /* detect */
    struct strlist sensors; /* --sensor: the sensors whose bins to read */
    const char *id;         /* sensor id of the combined events */
    uint64_t poll;          /* seconds between reads with --follow */
    /* alerts */
    const char *group, *consumer, *since, *exec;
    uint64_t exec_timeout; /* seconds */
    bool follow;
    const char *webhook;            /* URL: may hold credentials, never print it */
    struct strlist webhook_headers; /* "Name: value": may hold a token, never print them */
    uint64_t webhook_timeout;       /* seconds */
    const char *webhook_format;     /* "json" or "alertmanager" */
    /* positional arguments (replay: files) */
    int nargs;
    char **args;
    /* owned copies of config-file strings */
    char **owned;
    size_t nowned, cap_owned;
    char sensor_buf[256];
};

enum config_result {
    CONFIG_OK = 0,
    CONFIG_EXIT_OK = 1, /* --help or --version was printed: exit 0 */
    CONFIG_USAGE = -1,  /* message in err: exit 2 */
};

/* Parses argv (argv[0] the program, argv[1] the subcommand) and the config file named by -c.
 * Returns CONFIG_OK, CONFIG_EXIT_OK after printing help/version, or CONFIG_USAGE with one
 * line in err. */
enum config_result config_parse(int argc, char **argv, struct options *o, char *err, size_t errlen);
void config_free(struct options *o);

/* True when --sensor was given (on the command line or in the config file). */
bool config_sensor_given(const struct options *o);

/* --redis parsed, with --sentinel-password in it. Returns 0, or -1 with one line in err. */
struct redis_url;
int config_redis_url(const struct options *o, struct redis_url *u, char *err, size_t errlen);

/* --min-replicas for a URL: the number given, or "auto": 1 through sentinels or a cluster, 0
 * for one server. */
unsigned config_min_replicas(const struct options *o, const struct redis_url *u);

/* Prints the option reference as a Markdown table (for the README). */
void config_print_markdown(void);

#endif
