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

/* Cuts a '#' comment and surrounding white space, in place; returns the trimmed start. */
char *text_strip(char *s);

/* Parses a whole string as an unsigned decimal in [min, max]. Returns 0 or -1. */
int text_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Parses a whole string as a finite double in [min, max]. Returns 0 or -1. */
int text_parse_double(const char *s, double min, double max, double *out);

/* Case-insensitive ASCII equality. */
bool text_ieq(const char *a, const char *b);

/* Copies at most size-1 bytes and terminates; returns -1 if s did not fit. */
int text_copy(char *dst, size_t size, const char *s);

#endif
