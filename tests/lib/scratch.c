/*
 * scratch.c - scratch directories for tests and benchmarks (see scratch.h).
 */
#include "tests/lib/scratch.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

char *scratch_dir(const char *tag)
{
    const char *base = getenv("TMPDIR");
    char *path;
    if (!base || !*base) base = "/tmp";
    if (asprintf(&path, "%s/%s-XXXXXX", base, tag) < 0) return NULL;
    if (!mkdtemp(path)) {
        free(path);
        return NULL;
    }
    return path;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

void scratch_remove(char *path)
{
    if (!path) return;
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(path);
}
