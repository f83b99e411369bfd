/* Runs the codec fuzz entry point over every file of the seed corpus, so the corpus (valid
 * configs, edge cases, past crashers) is checked by the ordinary test suite under gcc, without
 * libFuzzer. Usage: codec_fuzz_corpus_test <corpus dir>. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f || fstat(fileno(f), &st) != 0) {
        perror(path);
        if (f)
            fclose(f);
        return -1;
    }
    /* An exactly-sized heap copy, so ASan catches any read past the end of the input. */
    uint8_t *buf = malloc(st.st_size ? (size_t)st.st_size : 1);
    size_t n = buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;
    fclose(f);
    if (!buf || n != (size_t)st.st_size) {
        fprintf(stderr, "%s: short read\n", path);
        free(buf);
        return -1;
    }
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "test/fuzz/corpus/codec";
    char path[4096];
    struct dirent *e;
    int passed = 0, failed = 0;
    DIR *d = opendir(dir);
    if (!d) {
        perror(dir);
        return 1;
    }
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (run_file(path) == 0)
            passed++;
        else
            failed++;
    }
    closedir(d);
    /* A crash aborts before this line; reaching it means every input ran cleanly. */
    printf("%d passed, %d failed\n", passed, failed);
    return failed || passed < 20 ? 1 : 0;
}
