// glibc's malloc_trim, which Swift's Glibc module does not bring in (malloc.h), and the release
// of code pages a process no longer runs.
#ifndef LOGSHIP_HEAP_H
#define LOGSHIP_HEAP_H

/// Returns the free pages of every malloc arena to the system; 1 when memory was released.
/// 0 without glibc.
int logship_trim_heap(void);

/// Unmaps the resident pages of this process's read-only file mappings (its code, constants and
/// those of its libraries) that were never written: they stay in the page cache, and whatever
/// runs next maps them again on first touch. Returns the bytes of the mappings advised (-1 when
/// /proc/self/smaps cannot be read; 0 off Linux).
long logship_release_clean_file_pages(void);

#endif
