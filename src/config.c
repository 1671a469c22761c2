/* config — options table, argv and config-file parsing, help. See config.h. */
#include "config.h"

#include "metrics.h"
#include "prefix.h"
#include "redis.h"
#include "route.h"
#include "text.h"
#include "version.h"
#include "webhook.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum opt_kind { OPT_FLAG, OPT_UINT, OPT_DOUBLE, OPT_STR, OPT_LIST };

#define ALL     (CMD_REPLAY | CMD_CAPTURE | CMD_DETECT | CMD_ALERTS | CMD_STATUS | CMD_EXPORT)
#define SENSING (CMD_REPLAY | CMD_CAPTURE)

struct optdef {
    const char *name;
    char shortopt;
    uint8_t kind; /* enum opt_kind */
    unsigned cmds;
    const char *arg;
    const char *def;
    uint64_t min, max;
    double dmin, dmax; /* OPT_DOUBLE bounds */
    size_t off;
    const char *help;
    /* Optional check of one value, so errors name the file:line or option they came from. */
    int (*check)(const char *val, char *err, size_t errlen);
};

static int check_route(const char *val, char *err, size_t errlen)
{
    struct route_table t;
    route_init(&t);
    return route_add(&t, val, err, errlen);
}

static int check_on_off(const char *val, char *err, size_t errlen)
{
    if (strcmp(val, "on") == 0 || strcmp(val, "off") == 0)
        return 0;
    snprintf(err, errlen, "bad value '%.40s' (on or off)", val);
    return -1;
}

/* The URL is checked here so a bad one is a usage error (exit 2); the message never
 * quotes it (it may hold a password). */
static int check_redis_url(const char *val, char *err, size_t errlen)
{
    struct redis_url u;
    int rc = redis_url_parse(val, &u, err, errlen);
    memset(&u, 0, sizeof u);
    return rc;
}

/* A --country value (the sensor's countries, or a reader's filter): two-letter codes joined
 * with ',', or 'all'. */
static int check_countries(const char *val, char *err, size_t errlen)
{
    char codes[PREFIX_COUNTRIES_MAX][3];
    return prefix_country_list(val, codes, PREFIX_COUNTRIES_MAX, err, errlen) < 0 ? -1 : 0;
}

#define MIN_REPLICAS_MAX 16

/* "auto" or 0 to MIN_REPLICAS_MAX. */
static int check_min_replicas(const char *val, char *err, size_t errlen)
{
    uint64_t v;
    if (strcmp(val, "auto") == 0 || text_parse_u64(val, 0, MIN_REPLICAS_MAX, &v) == 0)
        return 0;
    snprintf(err, errlen, "--min-replicas: 'auto' or a number 0 to %d", MIN_REPLICAS_MAX);
    return -1;
}

#define O(f)        offsetof(struct options, f)
#define REDIS_USERS (SENSING | CMD_STATUS | CMD_EXPORT | CMD_DETECT | CMD_ALERTS)

static const struct optdef optdefs[] = {
    {.name = "config",
     .shortopt = 'c',
     .kind = OPT_STR,
     .cmds = ALL,
     .arg = "FILE",
     .off = O(config),
     .help = "config file: long option names as keys, 'key = value', '#' comments"},
    {.name = "sensor",
     .kind = OPT_STR,
     .cmds = SENSING | CMD_STATUS | CMD_EXPORT,
     .arg = "ID",
     .off = O(sensor),
     .help = "sensor id in output and Redis keys (default: the host name; status, export: only "
             "this sensor)"},
    {.name = "sensor",
     .kind = OPT_LIST,
     .cmds = CMD_DETECT,
     .arg = "ID",
     .off = O(sensors),
     .help = "a sensor whose bins to read, repeatable (default: every sensor in Redis)"},
    {.name = "id",
     .kind = OPT_STR,
     .cmds = CMD_DETECT,
     .arg = "ID",
     .def = "detect",
     .off = O(id),
     .help = "sensor id of the combined events and states this process writes"},
    {.name = "country",
     .kind = OPT_STR,
     .cmds = SENSING,
     .arg = "CC[,CC...]|all",
     .def = "KP",
     .off = O(country),
     .check = check_countries,
     .help = "the countries to watch, of the loaded sources ('all': every code in them); "
             "without --rir, --geoip or --prefixes, the built-in set (KP)"},
    {.name = "prefixes",
     .kind = OPT_STR,
     .cmds = SENSING,
     .arg = "FILE",
     .off = O(prefixes),
     .help = "address source: one IPv4/IPv6 CIDR per line, then its country code (optional "
             "when --country is one country), '#' comments"},
    {.name = "rir",
     .kind = OPT_LIST,
     .cmds = SENSING,
     .arg = "FILE",
     .off = O(rir),
     .help = "address source, repeatable: an RIR delegated-stats file (classic or extended), "
             "its allocated and assigned lines of every country"},
    {.name = "geoip",
     .kind = OPT_STR,
     .cmds = SENSING,
     .arg = "FILE",
     .off = O(geoip),
     .help = "address source: a MaxMind DB country database (.mmdb: GeoLite2-Country, DB-IP "
             "Country Lite), read at start and on reload; the most specific prefix of all "
             "sources wins"},
    {.name = "route",
     .kind = OPT_LIST,
     .cmds = SENSING,
     .arg = "NAME=MATCH",
     .off = O(routes),
     .check = check_route,
     .help = "route rule, repeatable, first match wins: vlan:ID, mac:MAC, iface:NAME, "
             "prefix:CIDR, erspan:ID (ERSPAN session), vni:ID (VXLAN/GENEVE VNI), alternatives "
             "joined with ','; unmatched traffic is route 'other' (no rules at all: 'all')"},
    {.name = "tunnels",
     .kind = OPT_STR,
     .cmds = SENSING,
     .arg = "on|off",
     .def = "on",
     .off = O(tunnels),
     .check = check_on_off,
     .help = "open IP tunnels (IP in IP, 6in4, IP in GRE, GTP-U): the innermost IP packet is "
             "counted; off: the outer one (mirror transports are always opened)"},
    {.name = "bin",
     .kind = OPT_UINT,
     .cmds = SENSING,
     .arg = "SECONDS",
     .def = "10",
     .min = 1,
     .max = 86400,
     .off = O(bin),
     .help = "time bin length; bins are aligned to multiples of it since the epoch"},
    {.name = "host-cap",
     .kind = OPT_UINT,
     .cmds = SENSING,
     .arg = "N",
     .def = "65536",
     .min = 16,
     .max = 1u << 22,
     .off = O(host_cap),
     .help = "distinct country hosts counted exactly per route and bin; beyond, estimated"},
    {.name = "max-flows",
     .kind = OPT_UINT,
     .cmds = SENSING,
     .arg = "N",
     .def = "1048576",
     .min = 1,
     .max = 1u << 26,
     .off = O(max_flows),
     .help = "flow table size, allocated at start; new flows beyond it are refused and counted"},
    {.name = "flow-idle",
     .kind = OPT_UINT,
     .cmds = SENSING,
     .arg = "SECONDS",
     .def = "60",
     .min = 1,
     .max = 86400,
     .off = O(flow_idle),
     .help = "a flow without packets for this long ends (TCP after FIN/RST: 10 s or less)"},
    {.name = "flow-active",
     .kind = OPT_UINT,
     .cmds = SENSING,
     .arg = "SECONDS",
     .def = "300",
     .min = 1,
     .max = 86400,
     .off = O(flow_active),
     .help = "a longer flow is exported every SECONDS and goes on"},
    {.name = "dpi-tcp",
     .kind = OPT_UINT,
     .cmds = SENSING,
     .arg = "N",
     .def = "12",
     .min = 1,
     .max = 255,
     .off = O(dpi_tcp),
     .help = "payload packets of a TCP flow handed to nDPI before it gives up (guessing)"},
    {.name = "dpi-udp",
     .kind = OPT_UINT,
     .cmds = SENSING,
     .arg = "N",
     .def = "10",
     .min = 1,
     .max = 255,
     .off = O(dpi_udp),
     .help = "the same for UDP and other protocols"},
    {.name = "dpi-budget",
     .kind = OPT_UINT,
     .cmds = SENSING,
     .arg = "N",
     .def = "500",
     .min = 0,
     .max = 10000000,
     .off = O(dpi_budget),
     .help = "new flows per second (packet time) inspected by nDPI; beyond it, 15 in 16 new "
             "flows are labelled by nDPI's port/address guess only, and until a second later "
             "nDPI's first answer is final (no --dpi-extra packets) (0: never shed)"},
    {.name = "dpi-extra",
     .kind = OPT_UINT,
     .cmds = SENSING,
     .arg = "N",
     .def = "4",
     .min = 0,
     .max = 255,
     .off = O(dpi_extra),
     .help = "payload packets still handed to nDPI after it named the protocol, while it can "
             "refine the label or host name (within --dpi-tcp/--dpi-udp)"},
    {.name = "flows",
     .kind = OPT_FLAG,
     .cmds = SENSING,
     .off = O(flows),
     .help = "with --json, also print each finished flow as a {\"type\":\"flow\"} line"},
    {.name = "warmup",
     .kind = OPT_UINT,
     .cmds = SENSING | CMD_DETECT,
     .arg = "SECONDS",
     .def = "1800",
     .min = 0,
     .max = 7 * 86400,
     .off = O(warmup),
     .help = "traffic a route needs before the detector judges it (state 'learning' until then)"},
    {.name = "horizon",
     .kind = OPT_UINT,
     .cmds = SENSING | CMD_DETECT,
     .arg = "SECONDS",
     .def = "3600",
     .min = 60,
     .max = 7 * 86400,
     .off = O(horizon),
     .help = "a route too quiet for a silence to be judged within this is 'unknown'"},
    {.name = "false-alarms",
     .kind = OPT_DOUBLE,
     .cmds = SENSING | CMD_DETECT,
     .arg = "N",
     .def = "0.1",
     .dmin = 1e-6,
     .dmax = 1000,
     .off = O(false_alarms),
     .help = "false outage alarms allowed per route per 30 days: sets how much evidence a "
             "silence or a collapse needs"},
    {.name = "down-below",
     .kind = OPT_DOUBLE,
     .cmds = SENSING | CMD_DETECT,
     .arg = "SHARE",
     .def = "0.25",
     .dmin = 0.001,
     .dmax = 0.99,
     .off = O(down_below),
     .help = "a route is down when its traffic has fallen to this share of its expected level "
             "(or gone silent)"},
    {.name = "up-above",
     .kind = OPT_DOUBLE,
     .cmds = SENSING | CMD_DETECT,
     .arg = "SHARE",
     .def = "0.5",
     .dmin = 0.002,
     .dmax = 1,
     .off = O(up_above),
     .help = "a down route is up again when its traffic is back above this share of its "
             "expected level (above --down-below)"},
    {.name = "no-redis",
     .kind = OPT_FLAG,
     .cmds = SENSING,
     .off = O(no_redis),
     .help = "write counters and events to stdout only"},
    {.name = "redis",
     .kind = OPT_STR,
     .cmds = REDIS_USERS,
     .arg = "URL",
     .def = "redis://127.0.0.1:6379/0",
     .off = O(redis),
     .check = check_redis_url,
     .help = "Redis: redis://[[user]:password@]host[:port][/db], "
             "unix:///path.sock[?db=N], "
             "redis-sentinel://[[user]:password@]host[:port][,host[:port]...][/db]#MASTER or "
             "redis-cluster://[[user]:password@]host[:port][,host[:port]...] (put a password in "
             "the config file, not on the command line)"},
    {.name = "sentinel-password",
     .kind = OPT_STR,
     .cmds = REDIS_USERS,
     .arg = "PASSWORD",
     .off = O(sentinel_password),
     .help = "AUTH password of the sentinels of a redis-sentinel:// URL (default: none; the "
             "URL's password is the master's)"},
    {.name = "min-replicas",
     .kind = OPT_STR,
     .cmds = SENSING | CMD_DETECT,
     .arg = "N",
     .def = "auto",
     .off = O(min_replicas),
     .check = check_min_replicas,
     .help = "a flush leaves the backlog only once the master and N replicas have it (WAIT); "
             "auto: 1 through sentinels or a cluster, 0 for one server"},
    {.name = "redis-prefix",
     .kind = OPT_STR,
     .cmds = REDIS_USERS,
     .arg = "STR",
     .def = "blackout:",
     .off = O(redis_prefix),
     .help = "prefix of every Redis key"},
    {.name = "redis-timeout",
     .kind = OPT_UINT,
     .cmds = REDIS_USERS,
     .arg = "MS",
     .def = "2000",
     .min = 10,
     .max = 600000,
     .off = O(redis_timeout),
     .help = "Redis connect and command timeout in milliseconds"},
    {.name = "backlog",
     .kind = OPT_UINT,
     .cmds = SENSING,
     .arg = "N",
     .def = "8640",
     .min = 2,
     .max = 10000000,
     .off = O(backlog),
     .help = "closed bins kept while Redis is away or slow; beyond, the oldest are dropped"},
    {.name = "flush-timeout",
     .kind = OPT_UINT,
     .cmds = SENSING | CMD_DETECT,
     .arg = "SECONDS",
     .def = "30",
     .max = 86400,
     .off = O(flush_timeout),
     .help = "at the end, wait this long for Redis to take every bin and event, then exit 1"},
    {.name = "retention",
     .kind = OPT_UINT,
     .cmds = SENSING,
     .arg = "SECONDS",
     .def = "604800",
     .min = 60,
     .max = 315360000,
     .off = O(retention),
     .help = "how long per-bin series and host sketches stay in Redis"},
    {.name = "stream-maxlen",
     .kind = OPT_UINT,
     .cmds = SENSING | CMD_DETECT,
     .arg = "N",
     .def = "1000000",
     .min = 100,
     .max = 1000000000,
     .off = O(stream_maxlen),
     .help = "approximate length cap of the flows stream (alerts: a tenth, at least 1000)"},
    {.name = "interface",
     .shortopt = 'i',
     .kind = OPT_LIST,
     .cmds = CMD_CAPTURE,
     .arg = "IFACE",
     .off = O(ifaces),
     .help = "capture on this interface (a mirror or SPAN port), repeatable; 'iface:' route "
             "rules name these"},
    {.name = "snaplen",
     .kind = OPT_UINT,
     .cmds = CMD_CAPTURE,
     .arg = "BYTES",
     .def = "65535",
     .min = 256,
     .max = 262144,
     .off = O(snaplen),
     .help = "bytes kept of each frame (nDPI reads payloads; byte counts always use the wire "
             "length)"},
    {.name = "buffer-mb",
     .kind = OPT_UINT,
     .cmds = CMD_CAPTURE,
     .arg = "MB",
     .def = "64",
     .min = 1,
     .max = 4096,
     .off = O(buffer_mb),
     .help = "kernel capture ring per interface (TPACKET_V3): absorbs bursts while the sensor "
             "is busy"},
    {.name = "user",
     .kind = OPT_STR,
     .cmds = CMD_CAPTURE,
     .arg = "USER",
     .off = O(user),
     .help = "after opening the interfaces, switch to this user and its groups"},
    {.name = "pidfile",
     .kind = OPT_STR,
     .cmds = CMD_CAPTURE,
     .arg = "FILE",
     .off = O(pidfile),
     .help = "write the process id here (locked while running; a second sensor on it exits 1)"},
    {.name = "syslog",
     .kind = OPT_FLAG,
     .cmds = CMD_CAPTURE,
     .off = O(syslog),
     .help = "log to syslog (daemon facility) instead of stderr"},
    {.name = "disable-offloads",
     .kind = OPT_FLAG,
     .cmds = CMD_CAPTURE,
     .off = O(disable_offloads),
     .help = "turn receive offloads (GRO, LRO) off on the interfaces while capturing, and "
             "back on at exit (they merge packets: counts are low with them on)"},
    {.name = "metrics",
     .kind = OPT_STR,
     .cmds = SENSING,
     .arg = "ADDR:PORT",
     .off = O(metrics),
     .check = metrics_check_addr,
     .help = "serve Prometheus metrics at http://ADDR:PORT/metrics (127.0.0.1:9469, [::1]:9469; "
             "a numeric address, bound as given; off by default)"},
    {.name = "from",
     .kind = OPT_STR,
     .cmds = CMD_EXPORT,
     .arg = "T",
     .off = O(from),
     .help = "first bin start: epoch seconds or 2025-06-07T10:00:00Z"},
    {.name = "to",
     .kind = OPT_STR,
     .cmds = CMD_EXPORT,
     .arg = "T",
     .off = O(to),
     .help = "end (exclusive): epoch seconds or 2025-06-07T10:00:00Z"},
    {.name = "from",
     .kind = OPT_STR,
     .cmds = CMD_DETECT,
     .arg = "T",
     .off = O(from),
     .help = "read bins from this start on, the week before it only teaching the detectors (a "
             "warm start): epoch seconds or 2025-06-07T10:00:00Z (default: the oldest kept)"},
    {.name = "to",
     .kind = OPT_STR,
     .cmds = CMD_DETECT,
     .arg = "T",
     .off = O(to),
     .help = "read bins that start before this (default: all; not with --follow)"},
    {.name = "follow",
     .kind = OPT_FLAG,
     .cmds = CMD_DETECT,
     .off = O(follow),
     .help = "keep reading new bins every --poll seconds until SIGINT or SIGTERM; the bins "
             "already in Redis at start only teach the detectors (their events are not raised "
             "again)"},
    {.name = "follow",
     .kind = OPT_FLAG,
     .cmds = CMD_ALERTS,
     .off = O(follow),
     .help = "wait for new alerts (XREAD BLOCK; in a cluster every sensor's stream, polled) "
             "until SIGINT or SIGTERM"},
    {.name = "poll",
     .kind = OPT_UINT,
     .cmds = CMD_DETECT,
     .arg = "SECONDS",
     .def = "5",
     .min = 1,
     .max = 3600,
     .off = O(poll),
     .help = "with --follow, how often to look for new bins"},
    {.name = "since",
     .kind = OPT_STR,
     .cmds = CMD_ALERTS,
     .arg = "ID|T",
     .off = O(since),
     .help = "start at this entry ID (1749254400000-0), at the alerts written from time T on "
             "(epoch seconds or 2025-06-07T10:00:00Z), or '$' (new ones only); with --group: "
             "where a new group starts (default: the beginning)"},
    {.name = "group",
     .kind = OPT_STR,
     .cmds = CMD_ALERTS,
     .arg = "G",
     .off = O(group),
     .help = "read as consumer group G (created if missing): each alert to one consumer, "
             "acknowledged once handled, this consumer's unacknowledged ones first"},
    {.name = "consumer",
     .kind = OPT_STR,
     .cmds = CMD_ALERTS,
     .arg = "C",
     .off = O(consumer),
     .help = "this consumer's name in the group (keep it across restarts)"},
    {.name = "exec",
     .kind = OPT_STR,
     .cmds = CMD_ALERTS,
     .arg = "CMD",
     .off = O(exec),
     .help = "run /bin/sh -c CMD per alert: event JSON on stdin, BLACKOUT_ID, BLACKOUT_EVENT, "
             "BLACKOUT_COUNTRY, BLACKOUT_ROUTE, BLACKOUT_SENSOR, BLACKOUT_SINCE, "
             "BLACKOUT_DETECTED, BLACKOUT_CAUSE in the environment; handled when it exits 0, else "
             "retried later"},
    {.name = "exec-timeout",
     .kind = OPT_UINT,
     .cmds = CMD_ALERTS,
     .arg = "SECONDS",
     .def = "60",
     .min = 1,
     .max = 86400,
     .off = O(exec_timeout),
     .help = "kill an --exec command (its process group) that runs longer; it counts as failed"},
    {.name = "webhook",
     .kind = OPT_STR,
     .cmds = CMD_ALERTS,
     .arg = "URL",
     .off = O(webhook),
     .check = webhook_check_url,
     .help = "POST each alert's JSON to this http(s) URL (X-Blackout-Id: the entry ID); handled "
             "on a 2xx answer, else retried later; credentials in it are never printed"},
    {.name = "webhook-header",
     .kind = OPT_LIST,
     .cmds = CMD_ALERTS,
     .arg = "'NAME: VALUE'",
     .off = O(webhook_headers),
     .check = webhook_check_header,
     .help = "an extra header of every --webhook request, repeatable (e.g. 'Authorization: "
             "Bearer TOKEN'; never printed)"},
    {.name = "webhook-timeout",
     .kind = OPT_UINT,
     .cmds = CMD_ALERTS,
     .arg = "SECONDS",
     .def = "10",
     .min = 1,
     .max = 3600,
     .off = O(webhook_timeout),
     .help = "a --webhook request not answered within this counts as failed"},
    {.name = "webhook-format",
     .kind = OPT_STR,
     .cmds = CMD_ALERTS,
     .arg = "FORMAT",
     .def = "json",
     .off = O(webhook_format),
     .check = webhook_check_format,
     .help = "json (the event's JSON as stored) or alertmanager (Alertmanager's v2 API, "
             "/api/v2/alerts; the matching *_up resolves the alert)"},
    {.name = "route",
     .kind = OPT_LIST,
     .cmds = CMD_EXPORT | CMD_STATUS,
     .arg = "NAME",
     .off = O(route_filter),
     .help = "only this route (repeatable)"},
    {.name = "country",
     .kind = OPT_STR,
     .cmds = CMD_STATUS | CMD_EXPORT,
     .arg = "CC[,CC...]",
     .off = O(countries),
     .check = check_countries,
     .help = "only these countries (two-letter codes joined with ','; default, or 'all': every "
             "country)"},
    {.name = "country",
     .kind = OPT_STR,
     .cmds = CMD_DETECT,
     .arg = "CC[,CC...]",
     .off = O(countries),
     .check = check_countries,
     .help = "combine only these countries' bins (two-letter codes joined with ','; default, or "
             "'all': every country, each combined on its own)"},
    {.name = "country",
     .kind = OPT_STR,
     .cmds = CMD_ALERTS,
     .arg = "CC[,CC...]",
     .off = O(countries),
     .check = check_countries,
     .help = "only the alerts of these countries (two-letter codes joined with ','), and the "
             "sensors' own (sensor_blind, sensor_ok); with --group the others are acknowledged "
             "unhandled, as not this consumer's: one group per filter"},
    {.name = "csv",
     .kind = OPT_FLAG,
     .cmds = CMD_EXPORT,
     .off = O(csv),
     .help = "CSV with a header line (the default)"},
    {.name = "progress",
     .kind = OPT_FLAG,
     .cmds = CMD_REPLAY,
     .off = O(progress),
     .help = "a progress line on stderr (bytes read of the total, packets/s, time left), "
             "even when stderr is not a terminal or with -q"},
    {.name = "no-progress",
     .kind = OPT_FLAG,
     .cmds = CMD_REPLAY,
     .off = O(no_progress),
     .help = "no progress line (the default when stderr is not a terminal)"},
    {.name = "json",
     .kind = OPT_FLAG,
     .cmds = ALL,
     .off = O(json),
     .help = "JSON lines on stdout (alerts: each event's JSON as stored)"},
    {.name = "quiet",
     .shortopt = 'q',
     .kind = OPT_FLAG,
     .cmds = ALL,
     .off = O(quiet),
     .help = "print only errors"},
    {.name = "verbose",
     .shortopt = 'v',
     .kind = OPT_FLAG,
     .cmds = ALL,
     .off = O(verbose),
     .help = "print progress details, and every repeated warning (no rate limit)"},
};

#define NOPTS (sizeof optdefs / sizeof optdefs[0])

static const struct {
    const char *name;
    enum cmd cmd;
    const char *usage;
    const char *about;
} commands[] = {
    {"replay", CMD_REPLAY, "replay [OPTIONS] FILE...",
     "Reads pcap or pcapng files in order ('-' = stdin); packet time drives bins and the "
     "detector."},
    {"capture", CMD_CAPTURE, "capture [OPTIONS] -i IFACE...",
     "Live capture on mirror ports; kernel time stamps drive bins, a wall-clock tick closes "
     "them in silence. SIGTERM or SIGINT: flush and exit; SIGHUP: reload the country "
     "set, its address sources and the routes."},
    {"detect", CMD_DETECT, "detect [OPTIONS]",
     "The detector over bins in Redis, one per sensor, combined: a route silent at every "
     "sensor that judges it is an outage, at one sensor only that sensor's problem."},
    {"alerts", CMD_ALERTS, "alerts [OPTIONS]",
     "Reads the alerts stream: prints each alert, or runs --exec per alert; --group for a "
     "consumer group, --follow to wait for new ones."},
    {"status", CMD_STATUS, "status [OPTIONS]",
     "Per-route state, baseline and current packets/s of every sensor, from Redis."},
    {"export", CMD_EXPORT, "export [OPTIONS] --from T --to T",
     "Per-bin counters from Redis as CSV (header line first) or JSON lines."},
};

#define NCMDS (sizeof commands / sizeof commands[0])

/* The row named name that applies to cmd, else the first row of that name. */
static const struct optdef *find_long(const char *name, size_t n, unsigned cmd)
{
    const struct optdef *any = NULL;
    for (size_t i = 0; i < NOPTS; i++)
        if (strlen(optdefs[i].name) == n && strncmp(optdefs[i].name, name, n) == 0) {
            if (optdefs[i].cmds & cmd)
                return &optdefs[i];
            if (!any)
                any = &optdefs[i];
        }
    return any;
}

static const struct optdef *find_short(char c)
{
    for (size_t i = 0; i < NOPTS; i++)
        if (optdefs[i].shortopt == c)
            return &optdefs[i];
    return NULL;
}

static const char *keep(struct options *o, const char *s)
{
    if (o->nowned == o->cap_owned) {
        size_t cap = o->cap_owned ? o->cap_owned * 2 : 16;
        char **n = realloc(o->owned, cap * sizeof *n);
        if (!n)
            return NULL;
        o->owned = n;
        o->cap_owned = cap;
    }
    char *c = strdup(s);
    if (c)
        o->owned[o->nowned++] = c;
    return c;
}

/* Stores one value. `where` names the source for messages ("--bin" or "FILE:LINE"). */
static int set_value(struct options *o, const struct optdef *d, const char *val, const char *where,
                     char *err, size_t errlen)
{
    void *field = (char *)o + d->off;
    uint64_t u;

    switch (d->kind) {
    case OPT_FLAG:
        if (!val || strcmp(val, "true") == 0 || strcmp(val, "yes") == 0 || strcmp(val, "1") == 0)
            *(bool *)field = true;
        else if (strcmp(val, "false") == 0 || strcmp(val, "no") == 0 || strcmp(val, "0") == 0)
            *(bool *)field = false;
        else
            goto bad;
        return 0;
    case OPT_UINT:
        if (text_parse_u64(val, d->min, d->max, &u) < 0) {
            snprintf(err, errlen, "%s: bad value '%.40s' for %s (%llu to %llu)", where, val,
                     d->name, (unsigned long long)d->min, (unsigned long long)d->max);
            return -1;
        }
        *(uint64_t *)field = u;
        return 0;
    case OPT_DOUBLE:
        if (text_parse_double(val, d->dmin, d->dmax, (double *)field) < 0) {
            snprintf(err, errlen, "%s: bad value '%.40s' for %s (%g to %g)", where, val, d->name,
                     d->dmin, d->dmax);
            return -1;
        }
        return 0;
    case OPT_STR:
        if (d->check && strcmp(where, "default") != 0) {
            char why[400];
            if (d->check(val, why, sizeof why) < 0) {
                snprintf(err, errlen, "%s: %s", where, why);
                return -1;
            }
        }
        *(const char **)field = val;
        return 0;
    case OPT_LIST: {
        struct strlist *l = field;
        char why[400];
        if (d->check && d->check(val, why, sizeof why) < 0) {
            snprintf(err, errlen, "%s: %s", where, why);
            return -1;
        }
        if (l->n >= CONFIG_LIST_MAX) {
            snprintf(err, errlen, "%s: more than %d values for %s", where, CONFIG_LIST_MAX,
                     d->name);
            return -1;
        }
        l->v[l->n++] = val;
        return 0;
    }
    }
bad:
    snprintf(err, errlen, "%s: bad value '%.40s' for %s (true or false)", where, val, d->name);
    return -1;
}

static void set_defaults(struct options *o)
{
    char err[64];

    for (size_t i = 0; i < NOPTS; i++)
        if (optdefs[i].def)
            set_value(o, &optdefs[i], optdefs[i].def, "default", err, sizeof err);
    if (gethostname(o->sensor_buf, sizeof o->sensor_buf - 1) != 0 || !o->sensor_buf[0])
        snprintf(o->sensor_buf, sizeof o->sensor_buf, "sensor");
    o->sensor = o->sensor_buf;
}

/* One "key = value" line of a config file. */
static int config_line(void *ctx, const struct text_line *l, char *err, size_t errlen)
{
    struct options *o = ctx;
    char where[300];

    snprintf(where, sizeof where, "%s:%u", l->path, l->lineno);
    char *eq = strchr(l->text, '=');
    char *val = eq ? text_strip(eq + 1) : NULL;
    if (eq)
        *eq = '\0';
    char *key = text_strip(l->text);
    /* "route" or "sensor" in a file means the sensor's option (a rule, its id), so one
     * file serves the sensor and the readers; other keys name the subcommand's option */
    const struct optdef *d = find_long(key, strlen(key), SENSING);
    if (d && !(d->cmds & SENSING))
        d = find_long(key, strlen(key), o->cmd);
    if (!d || d->off == O(config)) {
        snprintf(err, errlen, "%s: unknown option '%.40s'", where, key);
        return -1;
    }
    if (!eq && d->kind != OPT_FLAG) {
        snprintf(err, errlen, "%s: '%s' needs a value (%s = %s)", where, key, key, d->arg);
        return -1;
    }
    if (!(d->cmds & o->cmd))
        return 0;
    const char *v = val ? keep(o, val) : NULL;
    if (val && !v) {
        snprintf(err, errlen, "%s: out of memory", where);
        return -1;
    }
    return set_value(o, d, v, where, err, errlen) < 0 ? -1 : 1;
}

/* Reads "key = value" lines; options that do not apply to this subcommand are skipped so one
 * file can serve several subcommands. */
static int load_file(struct options *o, const char *path, char *err, size_t errlen)
{
    return text_each_line(path, config_line, o, err, errlen) < 0 ? -1 : 0;
}

static void print_help(enum cmd cmd)
{
    size_t c;

    for (c = 0; c < NCMDS && commands[c].cmd != cmd; c++)
        ;
    if (c == NCMDS) {
        printf("usage: blackout SUBCOMMAND [OPTIONS]\n\n"
               "A passive sensor that counts traffic to and from countries' address blocks per\n"
               "route and flags when a country goes silent or collapses, on one route or on "
               "all.\n\nSubcommands:\n");
        for (c = 0; c < NCMDS; c++)
            printf("  blackout %s\n      %s\n", commands[c].usage, commands[c].about);
        printf("\n  blackout --help | --version | SUBCOMMAND --help\n"
               "  blackout --help-markdown    every option as a Markdown table\n");
        return;
    }
    printf("usage: blackout %s\n%s\n\nOptions:\n", commands[c].usage, commands[c].about);
    for (size_t i = 0; i < NOPTS; i++) {
        const struct optdef *d = &optdefs[i];
        char lhs[64];
        if (!(d->cmds & cmd))
            continue;
        snprintf(lhs, sizeof lhs, "%c%c%c --%s%s%s", d->shortopt ? '-' : ' ',
                 d->shortopt ? d->shortopt : ' ', d->shortopt ? ',' : ' ', d->name,
                 d->arg ? " " : "", d->arg ? d->arg : "");
        printf("  %-28s %s", lhs, d->help);
        if (d->def)
            printf(" (default %s)", d->def);
        printf("\n");
    }
    printf("  %-28s %s\n", "-h, --help", "print this help");
}

void config_print_markdown(void)
{
    printf("| option | argument | default | subcommands | meaning |\n|---|---|---|---|---|\n");
    for (size_t i = 0; i < NOPTS; i++) {
        const struct optdef *d = &optdefs[i];
        char cmds[128] = "";
        for (size_t c = 0; c < NCMDS; c++)
            if (d->cmds & commands[c].cmd) {
                size_t n = strlen(cmds);
                snprintf(cmds + n, sizeof cmds - n, "%s%s", n ? ", " : "", commands[c].name);
            }
        printf("| `--%s`%s%c%s | %s | %s | %s | %s |\n", d->name, d->shortopt ? " `-" : "",
               d->shortopt ? d->shortopt : ' ', d->shortopt ? "`" : "", d->arg ? d->arg : "",
               d->def ? d->def : "", cmds, d->help);
    }
}

/* One argv element that starts with '-'. Consumes its value from argv[*i + 1] when needed. */
static int parse_opt(struct options *o, int argc, char **argv, int *i, char *err, size_t errlen)
{
    const char *a = argv[*i], *val = NULL;
    const struct optdef *d;
    char where[80];

    if (a[1] == '-') {
        const char *eq = strchr(a + 2, '=');
        size_t n = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        d = find_long(a + 2, n, o->cmd);
        if (eq)
            val = eq + 1;
    } else {
        d = a[2] == '\0' ? find_short(a[1]) : NULL;
    }
    if (!d) {
        snprintf(err, errlen, "unknown option '%.40s' (see blackout %s --help)", a, o->cmd_name);
        return -1;
    }
    if (!(d->cmds & o->cmd)) {
        snprintf(err, errlen, "option --%s does not apply to '%s'", d->name, o->cmd_name);
        return -1;
    }
    if (d->kind == OPT_FLAG && val) {
        snprintf(err, errlen, "option --%s takes no value", d->name);
        return -1;
    }
    if (d->kind != OPT_FLAG && !val) {
        if (*i + 1 >= argc) {
            snprintf(err, errlen, "option --%s needs a value (%s)", d->name, d->arg);
            return -1;
        }
        val = argv[++*i];
    }
    snprintf(where, sizeof where, "--%s", d->name);
    return set_value(o, d, val, where, err, errlen);
}

/* Finds -c/--config before anything else so the file is applied first. */
static const char *find_config_arg(int argc, char **argv)
{
    const char *path = NULL;
    for (int i = 2; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc)
            path = argv[++i];
        else if (strncmp(argv[i], "--config=", 9) == 0)
            path = argv[i] + 9;
    }
    return path;
}

/* Lists given on the command line replace the config file's. */
static void clear_lists_given(struct options *o, int argc, char **argv)
{
    for (size_t k = 0; k < NOPTS; k++) {
        if (optdefs[k].kind != OPT_LIST)
            continue;
        for (int i = 2; i < argc && strcmp(argv[i], "--") != 0; i++) {
            size_t n = strlen(optdefs[k].name);
            if (strncmp(argv[i], "--", 2) == 0 && strncmp(argv[i] + 2, optdefs[k].name, n) == 0 &&
                (argv[i][2 + n] == '\0' || argv[i][2 + n] == '='))
                ((struct strlist *)((char *)o + optdefs[k].off))->n = 0;
        }
    }
}

static int parse_args(struct options *o, int argc, char **argv, char *err, size_t errlen)
{
    bool dashdash = false;

    o->args = calloc((size_t)argc, sizeof *o->args);
    if (!o->args) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!dashdash && strcmp(a, "--") == 0) {
            dashdash = true;
        } else if (!dashdash && a[0] == '-' && a[1] != '\0') {
            if (parse_opt(o, argc, argv, &i, err, errlen) < 0)
                return -1;
        } else {
            o->args[o->nargs++] = argv[i];
        }
    }
    return 0;
}

static bool wants_help(int argc, char **argv, int from)
{
    for (int i = from; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return true;
    return false;
}

enum config_result config_parse(int argc, char **argv, struct options *o, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    if (argc < 2) {
        snprintf(err, errlen, "no subcommand given (see blackout --help)");
        return CONFIG_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        print_help(CMD_NONE);
        return CONFIG_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        printf("blackout %s\n", BLACKOUT_VERSION);
        return CONFIG_EXIT_OK;
    }
    if (strcmp(argv[1], "--help-markdown") == 0) {
        config_print_markdown();
        return CONFIG_EXIT_OK;
    }
    for (size_t c = 0; c < NCMDS; c++)
        if (strcmp(argv[1], commands[c].name) == 0) {
            o->cmd = commands[c].cmd;
            o->cmd_name = commands[c].name;
        }
    if (o->cmd == CMD_NONE) {
        snprintf(err, errlen, "unknown subcommand '%.40s' (see blackout --help)", argv[1]);
        return CONFIG_USAGE;
    }
    if (wants_help(argc, argv, 2)) {
        print_help(o->cmd);
        return CONFIG_EXIT_OK;
    }
    set_defaults(o);
    const char *cfg = find_config_arg(argc, argv);
    if (cfg && load_file(o, cfg, err, errlen) < 0)
        return CONFIG_USAGE;
    clear_lists_given(o, argc, argv);
    if (parse_args(o, argc, argv, err, errlen) < 0)
        return CONFIG_USAGE;
    if ((o->cmd & (SENSING | CMD_DETECT)) && !(o->up_above > o->down_below)) {
        snprintf(err, errlen, "--up-above %g must be above --down-below %g", o->up_above,
                 o->down_below);
        return CONFIG_USAGE;
    }
    return CONFIG_OK;
}

int config_redis_url(const struct options *o, struct redis_url *u, char *err, size_t errlen)
{
    if (redis_url_parse(o->redis, u, err, errlen) < 0)
        return -1;
    if (o->sentinel_password &&
        text_copy(u->sentinel_pass, sizeof u->sentinel_pass, o->sentinel_password) < 0) {
        snprintf(err, errlen, "--sentinel-password: longer than %zu bytes",
                 sizeof u->sentinel_pass - 1);
        memset(u, 0, sizeof *u);
        return -1;
    }
    return 0;
}

unsigned config_min_replicas(const struct options *o, const struct redis_url *u)
{
    uint64_t v;

    if (o->min_replicas && text_parse_u64(o->min_replicas, 0, MIN_REPLICAS_MAX, &v) == 0)
        return (unsigned)v;
    return u->mode == BO_REDIS_SINGLE ? 0 : 1;
}

bool config_sensor_given(const struct options *o)
{
    return o->sensor != o->sensor_buf;
}

void config_free(struct options *o)
{
    for (size_t i = 0; i < o->nowned; i++)
        free(o->owned[i]);
    free(o->owned);
    free(o->args);
    o->owned = NULL;
    o->args = NULL;
    o->nowned = o->cap_owned = 0;
}
