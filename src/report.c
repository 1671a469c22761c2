/* report — JSON lines and the human summary. See report.h. */
#include "report.h"

#include "log.h"
#include "sensor.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>

static void emit_line(struct sensor *s)
{
    if (json_print_line(&s->json) < 0 && !s->output_failed) {
        s->output_failed = true;
        LOG(LOG_ERR, "cannot write to stdout");
    }
}

void report_bin(struct sensor *s, const struct bin_view *v)
{
    struct json *j = &s->json;

    if (!s->opt->json)
        return;
    for (unsigned r = 0; r < v->nroutes; r++) {
        const struct bin_counts *c = &v->routes[r];
        json_reset(j);
        json_obj_open(j);
        json_kstr(j, "type", "bin");
        json_kstr(j, "sensor", s->opt->sensor);
        json_kstr(j, "route", s->routes.names[r]);
        json_ki64(j, "start", v->start);
        json_ku64(j, "len", v->len);
        json_ku64(j, "pkts_in", c->pkts_in);
        json_ku64(j, "pkts_out", c->pkts_out);
        json_ku64(j, "bytes_in", c->bytes_in);
        json_ku64(j, "bytes_out", c->bytes_out);
        json_ku64(j, "flows_new", c->flows_new);
        json_ku64(j, "hosts", c->hosts);
        json_ku64(j, "ctl_pkts", c->ctl_pkts);
        json_ku64(j, "drops", c->drops);
        json_obj_close(j);
        emit_line(s);
    }
}

void report_event(struct sensor *s, const struct event *e)
{
    if (s->opt->json) {
        json_reset(&s->json);
        event_json(e, &s->json);
        emit_line(s);
        return;
    }
    if (s->opt->quiet)
        return;
    char line[512];
    printf("%s\n", event_text(e, line, sizeof line));
}

void report_flow(struct sensor *s, const struct flow_record *r)
{
    if (!s->opt->json)
        return;
    json_reset(&s->json);
    flow_record_json(r, s->opt->sensor, &s->json);
    emit_line(s);
}

static void summary_protocols(struct sensor *s, unsigned account, struct json *j)
{
    json_key(j, "protocols");
    json_obj_open(j);
    for (unsigned l = 0; l < s->nlabels; l++) {
        const struct proto_count *pc = &s->protos[(size_t)account * s->nlabels + l];
        if (!pc->pkts && !pc->flows)
            continue;
        json_key(j, classify_name(s->cls, (uint16_t)l));
        json_obj_open(j);
        json_ku64(j, "pkts", pc->pkts);
        json_ku64(j, "bytes", pc->bytes);
        json_ku64(j, "flows", pc->flows);
        json_obj_close(j);
    }
    json_obj_close(j);
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

static void summary_detector(struct sensor *s, struct json *j)
{
    struct detect_route_status st;

    json_key(j, "detector");
    json_obj_open(j);
    json_ku64(j, "events", s->events);
    json_kdouble(j, "ln_inv_alpha", detect_tstar(detect_config_of(s->det), 1.0));
    json_key(j, "routes");
    json_obj_open(j);
    for (unsigned r = 0; r < s->routes.nroutes; r++) {
        detect_route_status(s->det, r, &st);
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
    json_obj_close(j);
}

static void summary_routes(struct sensor *s, struct json *j)
{
    json_key(j, "routes");
    json_obj_open(j);
    for (unsigned r = 0; r < s->naccounts; r++) {
        const struct route_total *t = &s->totals[r];
        json_key(j, s->account_names[r]);
        json_obj_open(j);
        json_ku64(j, "pkts_in", t->pkts_in);
        json_ku64(j, "pkts_out", t->pkts_out);
        json_ku64(j, "bytes_in", t->bytes_in);
        json_ku64(j, "bytes_out", t->bytes_out);
        json_ku64(j, "flows", t->flows);
        json_ku64(j, "ctl_pkts", t->ctl_pkts);
        json_ku64(j, "drops", t->drops);
        summary_protocols(s, r, j);
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

static void summary_json(struct sensor *s)
{
    struct json *j = &s->json;

    json_reset(j);
    json_obj_open(j);
    json_kstr(j, "type", "summary");
    json_kstr(j, "sensor", s->opt->sensor);
    json_ku64(j, "packets", s->packets);
    summary_routes(s, j);
    json_key(j, "decode");
    json_obj_open(j);
    for (int i = 0; i < DECODE_NSTATUS; i++)
        json_ku64(j, decode_status_name((enum decode_status)i), s->decode[i]);
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
    emit_line(s);
}

static void summary_text(struct sensor *s)
{
    printf("packets %" PRIu64 " (", s->packets);
    for (int i = 0; i < DECODE_NSTATUS; i++)
        printf("%s%s %" PRIu64, i ? ", " : "", decode_status_name((enum decode_status)i),
               s->decode[i]);
    printf("), %" PRIu64 " bins of %" PRIu64 " s\n\n", s->bins_emitted, s->opt->bin);
    printf("%-12s %12s %12s %14s %14s %10s %12s\n", "route", "pkts_in", "pkts_out", "bytes_in",
           "bytes_out", "flows", "ctl_pkts");
    for (unsigned r = 0; r < s->naccounts; r++) {
        const struct route_total *t = &s->totals[r];
        printf("%-12s %12" PRIu64 " %12" PRIu64 " %14" PRIu64 " %14" PRIu64 " %10" PRIu64
               " %12" PRIu64 "\n",
               s->account_names[r], t->pkts_in, t->pkts_out, t->bytes_in, t->bytes_out, t->flows,
               t->ctl_pkts);
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

void report_summary(struct sensor *s)
{
    if (s->opt->json)
        summary_json(s);
    else if (!s->opt->quiet)
        summary_text(s);
    if (fflush(stdout) != 0 && !s->output_failed) {
        s->output_failed = true;
        LOG(LOG_ERR, "cannot write to stdout");
    }
}
