// A small WASI command: counts the words of its arguments and of a file, and reports them.
//
// usage: wordfreq [-f FILE] [-x CODE] WORD...
// Prints each distinct word (lowercased) with its count, most frequent first, then a
// summary; the environment variable `WORDFREQ_GREETING` adds a line; `-x CODE` exits with
// CODE after printing (so tests can check exit codes); errors go to standard error.

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    char *word;
    int count;
};

struct table {
    struct entry *entries;
    size_t len, cap;
};

static void add_word(struct table *t, const char *word, size_t n) {
    char *lower = malloc(n + 1);
    if (!lower) {
        perror("malloc");
        exit(70);
    }
    for (size_t i = 0; i < n; i++)
        lower[i] = (char)tolower((unsigned char)word[i]);
    lower[n] = '\0';
    for (size_t i = 0; i < t->len; i++) {
        if (strcmp(t->entries[i].word, lower) == 0) {
            t->entries[i].count++;
            free(lower);
            return;
        }
    }
    if (t->len == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 4;
        t->entries = realloc(t->entries, t->cap * sizeof *t->entries);
        if (!t->entries) {
            perror("realloc");
            exit(70);
        }
    }
    t->entries[t->len++] = (struct entry){lower, 1};
}

static void add_text(struct table *t, const char *text) {
    const char *p = text;
    while (*p) {
        while (*p && !isalnum((unsigned char)*p))
            p++;
        const char *start = p;
        while (*p && isalnum((unsigned char)*p))
            p++;
        if (p > start)
            add_word(t, start, (size_t)(p - start));
    }
}

static int by_count(const void *a, const void *b) {
    const struct entry *x = a, *y = b;
    if (x->count != y->count)
        return y->count - x->count;
    return strcmp(x->word, y->word);
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "wordfreq: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 64, len = 0;
    char *buf = malloc(cap);
    size_t got;
    while ((got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (cap - len - 1 == 0) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
    }
    buf[len] = '\0';
    fclose(f);
    return buf;
}

int main(int argc, char **argv) {
    struct table t = {0};
    int exit_code = 0;
    size_t chars = 0;
    printf("program: %s, %d argument(s)\n", argc > 0 ? argv[0] : "?", argc - 1);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-f") == 0 && i + 1 < argc) {
            char *text = read_file(argv[++i]);
            if (!text) {
                exit_code = 2;
                continue;
            }
            chars += strlen(text);
            add_text(&t, text);
            free(text);
        } else if (strcmp(argv[i], "-x") == 0 && i + 1 < argc) {
            exit_code = atoi(argv[++i]);
        } else {
            chars += strlen(argv[i]);
            add_text(&t, argv[i]);
        }
    }
    qsort(t.entries, t.len, sizeof *t.entries, by_count);
    for (size_t i = 0; i < t.len; i++) {
        char bar[21];
        int n = t.entries[i].count < 20 ? t.entries[i].count : 20;
        memset(bar, '#', (size_t)n);
        bar[n] = '\0';
        printf("%-12s %4d %s\n", t.entries[i].word, t.entries[i].count, bar);
    }
    double mean = t.len ? (double)chars / (double)t.len : 0.0;
    printf("%zu distinct word(s), %zu character(s), %.3f characters per distinct word\n", t.len,
           chars, mean);
    const char *greeting = getenv("WORDFREQ_GREETING");
    if (greeting) {
        char *copy = strdup(greeting);
        for (char *c = copy; *c; c++)
            *c = (char)toupper((unsigned char)*c);
        printf("greeting: %s\n", copy);
        free(copy);
    }
    for (size_t i = 0; i < t.len; i++)
        free(t.entries[i].word);
    free(t.entries);
    if (exit_code)
        fprintf(stderr, "wordfreq: exiting with %d\n", exit_code);
    return exit_code;
}
