// A library component without WASI that imports two `shout` functions, `demo:text/left`
// and `demo:text/right`, and exports `demo:text/greeter#run`, which joins
// `left(s)`, `left(s + "?")` and `right(s)` with " | ".
//
// The canonical ABI by hand, as in shout.c: imported functions take the string and a
// return area; their results are allocated with this module's `cabi_realloc` and owned here.

#include <stdlib.h>
#include <string.h>

struct str {
    char *ptr;
    size_t len;
};

__attribute__((import_module("demo:text/left"), import_name("shout"))) void left_shout(
    const char *ptr, size_t len, struct str *ret);
__attribute__((import_module("demo:text/right"), import_name("shout"))) void right_shout(
    const char *ptr, size_t len, struct str *ret);

static struct str result;

__attribute__((export_name("cabi_realloc"))) void *cabi_realloc(void *ptr, size_t old_size,
                                                                 size_t align, size_t size) {
    (void)old_size;
    (void)align;
    void *p = realloc(ptr, size ? size : 1);
    if (!p)
        abort();
    return p;
}

static void append(char **buf, size_t *len, const char *s, size_t n) {
    *buf = realloc(*buf, *len + n);
    if (!*buf)
        abort();
    memcpy(*buf + *len, s, n);
    *len += n;
}

__attribute__((export_name("demo:text/greeter#run"))) struct str *run(char *ptr, size_t len) {
    struct str parts[3];
    left_shout(ptr, len, &parts[0]);
    char *asked = malloc(len + 1);
    if (!asked)
        abort();
    memcpy(asked, ptr, len);
    asked[len] = '?';
    left_shout(asked, len + 1, &parts[1]);
    free(asked);
    right_shout(ptr, len, &parts[2]);
    if (len > 0)
        free(ptr);
    char *out = NULL;
    size_t out_len = 0;
    for (int i = 0; i < 3; i++) {
        if (i)
            append(&out, &out_len, " | ", 3);
        append(&out, &out_len, parts[i].ptr, parts[i].len);
        if (parts[i].len > 0)
            free(parts[i].ptr);
    }
    result = (struct str){out, out_len};
    return &result;
}

__attribute__((export_name("cabi_post_demo:text/greeter#run"))) void run_post(struct str *r) {
    if (r->len > 0)
        free(r->ptr);
}
