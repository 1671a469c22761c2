/* poison — the functions the house style bans, made build errors.
 *
 * Given to every source and test file by the build (-include), after the system headers that
 * declare them: a call to sprintf, strcpy, strcat, strncpy, strtok, atoi, sscanf, gets and
 * their kin does not compile. Use snprintf with sizeof, memcpy with a checked length, and
 * strtoul/strtod with an end pointer and a range (STYLE.md). */
#ifndef BLACKOUT_POISON_H
#define BLACKOUT_POISON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#pragma GCC poison sprintf vsprintf strcpy strcat strncpy strtok atoi atol atoll sscanf gets

#endif
