/* main — subcommand dispatch; the only place that decides the exit status.
 * 0 success, 1 runtime failure, 2 usage or configuration error. */
#include "alert.h"
#include "config.h"
#include "live.h"
#include "log.h"
#include "multidetect.h"
#include "query.h"
#include "replay.h"

#include <stdio.h>

int main(int argc, char **argv)
{
    struct options o;
    char err[512] = "";
    int rc;

    switch (config_parse(argc, argv, &o, err, sizeof err)) {
    case CONFIG_EXIT_OK:
        config_free(&o);
        return 0;
    case CONFIG_USAGE:
        log_write(LOG_ERR, "%s", err);
        config_free(&o);
        return 2;
    case CONFIG_OK:
        break;
    }
    log_threshold = o.quiet ? LOG_ERR : o.verbose ? LOG_INFO : LOG_NOTICE;
    switch (o.cmd) {
    case CMD_REPLAY:
        rc = replay_run(&o);
        break;
    case CMD_DETECT:
        rc = multidetect_run(&o);
        break;
    case CMD_ALERTS:
        rc = alert_run(&o);
        break;
    case CMD_CAPTURE:
        rc = live_run(&o, argc, argv);
        break;
    case CMD_EXPORT:
        rc = query_export(&o);
        break;
    case CMD_STATUS:
        rc = query_status(&o);
        break;
    default:
        log_write(LOG_ERR, "subcommand '%s' is not available", o.cmd_name);
        rc = 2;
        break;
    }
    config_free(&o);
    return rc;
}
