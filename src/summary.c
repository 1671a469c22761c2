/* summary — the end-of-run summary. See summary.h. */
#include "summary.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* The protocol counts of the pairs `want` accepts, summed. */
static void summary_protocols(struct sensor *s, struct json *j,
                              bool (*want)(const struct sensor *, unsigned pair, const void *),
                              const void *arg)
{
    json_key(j, "protocols");
    json_obj_open(j);
    for (unsigned l = 0; l < s->nlabels; l++) {
        struct proto_count sum = {0};
        for (unsigned p = 0; p < s->npairs; p++) {
            if (!want(s, p, arg))
                continue;
            const struct proto_count *pc = &s->protos[(size_t)p * s->nlabels + l];
            sum.pkts += pc->pkts;
            sum.bytes += pc->bytes;
            sum.flows += pc->flows;
        }
        if (!sum.pkts && !sum.flows)
            continue;
        json_key(j, classify_name(s->cls, (uint16_t)l));
        json_obj_open(j);
        json_ku64(j, "pkts", sum.pkts);
        json_ku64(j, "bytes", sum.bytes);
        json_ku64(j, "flows", sum.flows);
        json_obj_close(j);
    }
    json_obj_close(j);
}

static bool pair_named(const struct sensor *s, unsigned pair, const void *route)
{
    return strcmp(s->pairs[pair].route_name, route) == 0;
}

static bool pair_is(const struct sensor *s, unsigned pair, const void *want)
{
    (void)s;
    return pair == *(const unsigned *)want;
}

/* The totals of BIN_COUNTERS marked BIN_TOTAL. */
static void summary_totals(const struct bin_counts *t, struct json *j)
{
    for (size_t i = 0; i < BIN_NCOUNTERS; i++)
        if (bin_counters[i].uses & BIN_TOTAL)
            json_ku64(j, bin_counters[i].total, bin_counter_get(t, i));
}

static void summary_flows(struct sensor *s, struct json *j)
{
    const struct flow_stats *fs = flow_stats(s->flows);
    const struct classify_stats *cs = classify_stats(s->cls);

    json_key(j, "flow_table");
    json_obj_open(j);
    json_ku64(j, "created", fs->created);
    json_ku64(j, "refused_flows", flow_refused_flows(s->flows));
    json_ku64(j, "refused_pkts", fs->refused_pkts);
    json_ku64(j, "peak", fs->peak);
    json_ku64(j, "active_exports", fs->active_exports);
    json_ku64(j, "dpi_packets", cs->packets);
    json_ku64(j, "dpi_detected", cs->detected);
    json_ku64(j, "dpi_gave_up", cs->gaveup);
    json_ku64(j, "dpi_guessed", cs->guessed);
    json_ku64(j, "dpi_refused", cs->refused);
    json_ku64(j, "dpi_shed", cs->shed);
    json_ku64(j, "dpi_peak", cs->peak);
    json_obj_close(j);
}

static void detector_routes(struct sensor *s, const struct detect *det, struct json *j)
{
    struct detect_route_status st;

    json_key(j, "routes");
    json_obj_open(j);
    for (unsigned r = 0; r < s->routes.nroutes; r++) {
        detect_route_status(det, r, &st);
        json_key(j, s->routes.names[r]);
        json_obj_open(j);
        json_kstr(j, "state", detect_state_name(st.state));
        json_kdouble(j, "baseline_pps", st.baseline_pps);
        json_kdouble(j, "lambda", st.lambda);
        if (isfinite(st.threshold_s))
            json_kdouble(j, "threshold_s", st.threshold_s);
        json_obj_close(j);
    }
    json_obj_close(j);
}

static void summary_detector(struct sensor *s, struct json *j)
{
    struct detect_route_status st;

    json_key(j, "detector");
    json_obj_open(j);
    json_ku64(j, "events", s->events);
    json_kdouble(j, "ln_inv_alpha", detect_tstar(&s->dc, 1.0));
    json_key(j, "countries");
    json_obj_open(j);
    for (unsigned c = 0; c < s->ncountries; c++) {
        const struct sensor_country *sc = &s->countries[c];
        if (!sc->det)
            continue;
        json_key(j, sc->code);
        json_obj_open(j);
        detect_country_status(sc->det, &st);
        json_kstr(j, "state", detect_state_name(st.state));
        detector_routes(s, sc->det, j);
        json_obj_close(j);
    }
    json_obj_close(j);
    json_obj_close(j);
}

/* Per route name: every country's traffic on it (a packet between two watched countries
 * once for each), the route's control series, the protocols. */
static void summary_routes(struct sensor *s, struct json *j)
{
    json_key(j, "routes");
    json_obj_open(j);
    for (unsigned r = 0; r < s->naccounts; r++) {
        json_key(j, s->account_names[r]);
        json_obj_open(j);
        summary_totals(&s->totals[r], j);
        summary_protocols(s, j, pair_named, s->account_names[r]);
        json_obj_close(j);
    }
    json_obj_close(j);
}

/* Per country and route: the pair's totals and protocols. */
static void summary_countries(struct sensor *s, struct json *j)
{
    json_key(j, "countries");
    json_obj_open(j);
    for (unsigned c = 0; c < s->ncountries; c++) {
        json_key(j, s->countries[c].code);
        json_obj_open(j);
        json_key(j, "routes");
        json_obj_open(j);
        for (unsigned p = 0; p < s->npairs; p++) {
            if (s->pairs[p].country != c)
                continue;
            json_key(j, s->pairs[p].route_name);
            json_obj_open(j);
            summary_totals(&s->pairs[p].total, j);
            summary_protocols(s, j, pair_is, &p);
            json_obj_close(j);
        }
        json_obj_close(j);
        json_obj_close(j);
    }
    json_obj_close(j);
}

static void summary_redis(struct sensor *s, struct json *j)
{
    struct backlog_stats st;

    if (!s->sink)
        return;
    sink_stats(s->sink, &st);
    json_key(j, "redis");
    json_obj_open(j);
    json_ku64(j, "flushes", st.flushes);
    json_ku64(j, "duplicates", st.duplicates);
    json_ku64(j, "commands", st.commands);
    json_ku64(j, "script_commands", st.script_commands);
    json_ku64(j, "bytes", st.bytes);
    json_ku64(j, "bins_dropped", st.dropped_bins);
    json_ku64(j, "units_pending", st.pending_units);
    json_ku64(j, "bins_pending", st.pending_bins);
    json_ku64(j, "reconnects", st.reconnects);
    json_ku64(j, "errors", st.errors);
    json_ku64(j, "data_lost", st.data_lost);
    json_ku64(j, "resent", st.resent);
    json_ku64(j, "backlog_peak", st.backlog_peak);
    json_ku64(j, "replica_waits", st.replica_waits);
    json_ku64(j, "redirects", st.redirects);
    json_ku64(j, "master_changes", st.master_changes);
    json_obj_close(j);
}

/* The mirror transports and tunnels opened, one counter each (inside "decode"). */
static void summary_decap(const struct sensor *s, struct json *j)
{
    json_key(j, "decapsulated");
    json_obj_open(j);
    for (int i = 0; i < DECODE_NENCAP; i++)
        json_ku64(j, decode_encap_name((enum decode_encap)i), s->decap[i]);
    json_obj_close(j);
}

static void summary_json(struct sensor *s)
{
    struct json *j = &s->rep.json;

    json_reset(j);
    json_obj_open(j);
    json_kstr(j, "type", "summary");
    json_kstr(j, "sensor", s->opt->sensor);
    json_ku64(j, "packets", s->packets);
    if (s->refused)
        json_ku64(j, "country_pkts_refused", s->refused); /* beyond the pair caps */
    summary_routes(s, j);
    summary_countries(s, j);
    json_key(j, "decode");
    json_obj_open(j);
    for (int i = 0; i < DECODE_NSTATUS; i++)
        json_ku64(j, decode_status_name((enum decode_status)i), s->decode[i]);
    summary_decap(s, j);
    json_obj_close(j);
    summary_flows(s, j);
    summary_detector(s, j);
    json_ku64(j, "bins", s->bins_emitted);
    json_ku64(j, "late_packets", bins_late_packets(s->bins));
    json_ku64(j, "time_jumps", bins_time_jumps(s->bins));
    if (s->opt->cmd == CMD_CAPTURE)
        json_ku64(j, "reloads", s->reloads);
    summary_redis(s, j);
    json_obj_close(j);
    report_line(&s->rep);
}

static void summary_text(struct sensor *s)
{
    printf("packets %" PRIu64 " (", s->packets);
    for (int i = 0; i < DECODE_NSTATUS; i++)
        printf("%s%s %" PRIu64, i ? ", " : "", decode_status_name((enum decode_status)i),
               s->decode[i]);
    printf("), %" PRIu64 " bins of %" PRIu64 " s\n", s->bins_emitted, s->opt->bin);
    int opened = 0; /* mirror transports and tunnels, when there were any */
    for (int i = 0; i < DECODE_NENCAP; i++)
        if (s->decap[i])
            printf("%s%s %" PRIu64,
                   opened++ ? ", " : "decapsulated: ", decode_encap_name((enum decode_encap)i),
                   s->decap[i]);
    printf(opened ? "\n\n" : "\n");
    printf("%-12s %12s %12s %14s %14s %10s %12s\n", "route", "pkts_in", "pkts_out", "bytes_in",
           "bytes_out", "flows", "ctl_pkts");
    for (unsigned r = 0; r < s->naccounts; r++) {
        const struct bin_counts *t = &s->totals[r];
        printf("%-12s %12" PRIu64 " %12" PRIu64 " %14" PRIu64 " %14" PRIu64 " %10" PRIu64
               " %12" PRIu64 "\n",
               s->account_names[r], t->pkts_in, t->pkts_out, t->bytes_in, t->bytes_out,
               t->flows_new, t->ctl_pkts);
    }
    if (s->sink) {
        struct backlog_stats st;
        sink_stats(s->sink, &st);
        printf("\nredis: %" PRIu64 " flushes (%" PRIu64 " already applied), %" PRIu64
               " commands, %" PRIu64 " bytes, %" PRIu64 " reconnects, %" PRIu64
               " bins dropped, %" PRIu64 " bins pending\n",
               st.flushes, st.duplicates, st.commands, st.bytes, st.reconnects, st.dropped_bins,
               st.pending_bins);
    }
}

void summary_print(struct sensor *s)
{
    if (s->opt->json)
        summary_json(s);
    else if (!s->opt->quiet)
        summary_text(s);
    report_flush(&s->rep);
}
