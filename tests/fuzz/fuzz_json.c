/* fuzz_json — the JSON reader that `blackout detect` and `blackout alerts` run on what
 * Redis hands back: json_walk on the input, event_from_json and, for an event it accepts,
 * the event written again (event_json, event_text), which must read back. The input also
 * goes through the writer's string escaping, whose output must read back (when short
 * enough for the reader's limit). */

#include "fuzz.h"
#include "json.h"
#include "records.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Every value handed to the visitor is terminated, as the contract says. */
static void visit(void *ctx, const char *path, enum json_type t, const char *val, size_t len)
{
    size_t *n = ctx;

    if (val[len] != '\0' || strlen(path) >= JSON_PATH_MAX || (int)t < 0)
        abort();
    *n += len;
}

static void event_round_trip(const char *s, size_t size)
{
    struct event e, back;
    struct json j;
    char text[512];
    size_t n = 0;

    if (event_from_json(s, size, &e) < 0)
        return;
    json_init(&j);
    event_json(&e, &j);
    if (!json_ok(&j) || json_walk(j.buf, j.len, visit, &n) < 0 ||
        event_from_json(j.buf, j.len, &back) < 0 || back.kind != e.kind)
        abort();
    json_free(&j);
    event_text(&e, text, sizeof text);
}

static void escape_round_trip(const char *s, size_t size)
{
    struct json j;
    size_t n = 0;

    json_init(&j);
    json_obj_open(&j);
    json_key(&j, "host");
    json_strn(&j, s, size);
    json_obj_close(&j);
    /* a byte that is not UTF-8 reads back as two (\u00XX): only strings that then fit
     * the reader's JSON_STR_MAX must read back */
    if (json_ok(&j) && size < JSON_STR_MAX / 2 && json_walk(j.buf, j.len, visit, &n) < 0)
        abort();
    json_free(&j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* an exact-size copy, so reading one byte past the end is caught */
    char *s = malloc(size ? size : 1);
    size_t n = 0;

    if (!s)
        return 0;
    memcpy(s, data, size);
    (void)json_walk(s, size, visit, &n);
    event_round_trip(s, size);
    escape_round_trip(s, size);
    free(s);
    return 0;
}
