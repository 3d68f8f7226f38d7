// glibc's malloc_trim, which Swift's Glibc module does not bring in (malloc.h).
#ifndef LOGSHIP_HEAP_H
#define LOGSHIP_HEAP_H

/// Returns the free pages of every malloc arena to the system; 1 when memory was released.
/// 0 without glibc.
int logship_trim_heap(void);

#endif
