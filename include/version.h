/* version — the release string printed by --version. */
#ifndef BLACKOUT_VERSION_H
#define BLACKOUT_VERSION_H
#define BLACKOUT_VERSION "0.1.0"
#endif
