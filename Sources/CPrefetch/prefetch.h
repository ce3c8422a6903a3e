// A cache prefetch hint for the engine's scans, which Swift cannot express. Header only: nothing to link.
#ifndef JOURNEY_PREFETCH_H
#define JOURNEY_PREFETCH_H

/// Asks the CPU to start loading the cache line at `p` for a read soon; never faults, even on a bad address.
static inline void journey_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }

#endif
