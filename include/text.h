/* text — small string helpers shared by the parsers (prefix files, RIR files, config file,
 * command line): bounded line reading, trimming, and number parsing with ranges. */
#ifndef BLACKOUT_TEXT_H
#define BLACKOUT_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Reads one line into buf (without the newline). Returns 1 for a line, 0 at end of file,
 * -1 when the line does not fit in buf (the rest of it is consumed) or on a read error. */
int text_read_line(FILE *f, char *buf, size_t size);

/* One line of a text file: its file, number and text ('#' comment and surrounding white
 * space cut, never empty). */
struct text_line {
    const char *path;
    unsigned lineno;
    char *text;
};

/* Handles one line: returns 1 (counted), 0 (skipped), or -1 with one line in err, which
 * should name l->path and l->lineno. */
typedef int (*text_line_fn)(void *ctx, const struct text_line *l, char *err, size_t errlen);

#define TEXT_LINE_MAX 1024 /* longest line of a prefix, RIR or config file */

/* Calls fn for every line of the file that is not blank or a comment. Returns the number
 * of lines fn counted, or -1 with one line in err ("FILE: reason", "FILE:LINE: reason"). */
int text_each_line(const char *path, text_line_fn fn, void *ctx, char *err, size_t errlen);

/* Cuts a '#' comment and surrounding white space, in place; returns the trimmed start. */
char *text_strip(char *s);

/* Parses a whole string as an unsigned decimal in [min, max]. Returns 0 or -1. */
int text_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Parses a whole string as a finite double in [min, max]. Returns 0 or -1. */
int text_parse_double(const char *s, double min, double max, double *out);

/* Case-insensitive ASCII equality. */
bool text_ieq(const char *a, const char *b);

/* Does the comma-separated list hold item (case-insensitive ASCII; empty items never match)? */
bool text_list_has(const char *list, const char *item);

/* Copies at most size-1 bytes and terminates; returns -1 if s did not fit. */
int text_copy(char *dst, size_t size, const char *s);

#endif
