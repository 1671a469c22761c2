/* records — flow records and events, and their JSON. See records.h. */
#include "records.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

static const char *const kind_names[] = {
    [EVENT_ROUTE_DOWN] = "route_down",     [EVENT_ROUTE_UP] = "route_up",
    [EVENT_COUNTRY_DOWN] = "country_down", [EVENT_COUNTRY_UP] = "country_up",
    [EVENT_SENSOR_BLIND] = "sensor_blind", [EVENT_SENSOR_OK] = "sensor_ok",
};

static const char *const cause_names[] = {
    [CAUSE_NONE] = "",           [CAUSE_INTERNAL] = "internal",
    [CAUSE_ATTACK] = "attack",   [CAUSE_UPSTREAM] = "upstream",
    [CAUSE_UNKNOWN] = "unknown",
};

static const char *const end_names[] = {
    [FLOW_END_IDLE] = "idle", [FLOW_END_FIN] = "fin",     [FLOW_END_ACTIVE] = "active",
    [FLOW_END_EXIT] = "exit", [FLOW_END_EVICT] = "evict",
};

const char *event_kind_name(enum event_kind k)
{
    return (unsigned)k <= EVENT_SENSOR_OK ? kind_names[k] : "invalid";
}

const char *event_cause_name(enum event_cause c)
{
    return (unsigned)c <= CAUSE_UNKNOWN ? cause_names[c] : "invalid";
}

bool event_is_down(enum event_kind k)
{
    return k == EVENT_ROUTE_DOWN || k == EVENT_COUNTRY_DOWN || k == EVENT_SENSOR_BLIND;
}

const char *record_addr(const uint8_t a[16], char *buf, size_t size)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    bool v4 = memcmp(a, mapped, 12) == 0;

    if (!inet_ntop(v4 ? AF_INET : AF_INET6, v4 ? a + 12 : a, buf, (socklen_t)size))
        snprintf(buf, size, "?");
    return buf;
}

static void evidence_json(const struct event *e, struct json *j)
{
    const struct event_evidence *ev = &e->evidence;

    json_key(j, "evidence");
    json_obj_open(j);
    if (e->kind == EVENT_SENSOR_BLIND || e->kind == EVENT_SENSOR_OK) {
        json_kdouble(j, "ctl_ratio", ev->ctl_ratio);
        json_ku64(j, "drops", ev->drops);
    } else {
        if (e->kind == EVENT_COUNTRY_DOWN || e->kind == EVENT_COUNTRY_UP) {
            json_ku64(j, "routes_silent", ev->routes_silent);
            json_ku64(j, "routes_total", ev->routes_total);
        }
        json_kdouble(j, "in_ratio", ev->in_ratio);
        json_kdouble(j, "out_ratio", ev->out_ratio);
        json_kbool(j, "surge_before", ev->surge_before);
        json_kbool(j, "one_way", ev->one_way);
    }
    json_obj_close(j);
}

void event_json(const struct event *e, struct json *j)
{
    json_obj_open(j);
    json_kstr(j, "type", "event");
    json_kstr(j, "event", event_kind_name((enum event_kind)e->kind));
    json_kstr(j, "route", e->route);
    json_kstr(j, "sensor", e->sensor);
    json_ki64(j, "since", e->since);
    json_ki64(j, "detected", e->detected);
    json_kdouble(j, "baseline_pps", e->baseline_pps);
    json_kdouble(j, "observed_pps", e->observed_pps);
    if (e->kind == EVENT_COUNTRY_DOWN)
        json_kstr(j, "cause", event_cause_name((enum event_cause)e->cause));
    if (e->duration >= 0)
        json_ki64(j, "duration", e->duration);
    evidence_json(e, j);
    json_obj_close(j);
}

void flow_record_json(const struct flow_record *r, const char *sensor, struct json *j)
{
    char a[64];

    json_obj_open(j);
    json_kstr(j, "type", "flow");
    json_kstr(j, "sensor", sensor);
    json_kstr(j, "route", r->route);
    json_ku64(j, "ip_proto", r->l4_proto);
    json_kstr(j, "src", record_addr(r->src, a, sizeof a));
    json_ku64(j, "sport", r->sport);
    json_kstr(j, "dst", record_addr(r->dst, a, sizeof a));
    json_ku64(j, "dport", r->dport);
    if (r->vlan != 0xffff)
        json_ku64(j, "vlan", r->vlan);
    json_kstr(j, "proto", r->proto);
    json_key(j, "host");
    json_strn(j, r->host, strnlen(r->host, sizeof r->host));
    json_ku64(j, "pkts_in", r->pkts_in);
    json_ku64(j, "pkts_out", r->pkts_out);
    json_ku64(j, "bytes_in", r->bytes_in);
    json_ku64(j, "bytes_out", r->bytes_out);
    json_kdouble(j, "first", (double)r->first_us / 1e6);
    json_kdouble(j, "last", (double)r->last_us / 1e6);
    json_kstr(j, "end", (unsigned)r->end <= FLOW_END_EVICT ? end_names[r->end] : "?");
    json_obj_close(j);
}
