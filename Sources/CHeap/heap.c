#include "heap.h"
#include <stdlib.h>  // defines __GLIBC__ on glibc
#include <stdio.h>
#include <string.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#if defined(__linux__)
#include <sys/mman.h>
#endif

int logship_trim_heap(void) {
#if defined(__GLIBC__)
    return malloc_trim(0);
#else
    return 0;
#endif
}

long logship_release_clean_file_pages(void) {
#if defined(__linux__)
    // The candidates: private read-only mappings of a file none of whose pages was ever written
    // here (no anonymous copy-on-write page: the relocated RELRO part has some; nothing locked).
    // Their resident pages are the page cache's (dirty there too while a fresh build is not yet
    // written back: smaps' Private_Dirty, not a private copy), so MADV_DONTNEED only unmaps them
    // and the next access maps them again from the cache. Collected first, advised after smaps
    // is closed.
    enum { most = 1024 };
    unsigned long starts[most], ends[most];
    int count = 0;
    FILE *smaps = fopen("/proc/self/smaps", "re");
    if (!smaps) return -1;
    char line[4096];
    unsigned long start = 0, end = 0;
    int candidate = 0;
    while (fgets(line, sizeof line, smaps)) {
        unsigned long a, b;
        char perms[8] = {0};
        int path = 0;
        if (sscanf(line, "%lx-%lx %7s", &a, &b, perms) == 3 && strchr(line, '-') < strchr(line, ' ')) {
            if (candidate && count < most) { starts[count] = start; ends[count] = end; count++; }
            const char *slash = strchr(line, '/');
            path = slash != NULL && strstr(line, " (deleted)") == NULL;
            start = a; end = b;
            candidate = path && perms[0] == 'r' && perms[1] != 'w' && perms[3] == 'p';
            continue;
        }
        unsigned long kb;
        if ((sscanf(line, "Anonymous: %lu kB", &kb) == 1 || sscanf(line, "Locked: %lu kB", &kb) == 1) && kb != 0) {
            candidate = 0;
        }
    }
    if (candidate && count < most) { starts[count] = start; ends[count] = end; count++; }
    fclose(smaps);
    long released = 0;
    for (int i = 0; i < count; i++) {
        if (madvise((void *)starts[i], ends[i] - starts[i], MADV_DONTNEED) == 0) released += (long)(ends[i] - starts[i]);
    }
    return released;
#else
    return 0;
#endif
}
