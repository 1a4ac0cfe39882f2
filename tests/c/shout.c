// A library component without WASI: `demo:text/transform#shout` upper-cases a string and
// tags it with the number of calls this instance has served, so that two instances of the
// component are told apart by their output.
//
// The canonical ABI by hand (what wit-bindgen would generate): the caller allocates the
// argument with `cabi_realloc` and hands it over (an empty string may come without an
// allocation, so only a non-empty one is freed, as wit-bindgen's C bindings do); the result
// is returned through a static return area and freed by the post-return function.

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

struct str {
    char *ptr;
    size_t len;
};

static int calls;
static struct str result;

__attribute__((export_name("cabi_realloc"))) void *cabi_realloc(void *ptr, size_t old_size,
                                                                 size_t align, size_t size) {
    (void)old_size;
    (void)align; // malloc's alignment (16) covers every canonical ABI alignment
    void *p = realloc(ptr, size ? size : 1);
    if (!p)
        abort();
    return p;
}

__attribute__((export_name("demo:text/transform#shout"))) struct str *shout(char *ptr,
                                                                            size_t len) {
    calls++;
    // "[calls] " without stdio, which would import WASI's file functions.
    char digits[12];
    size_t nd = 0;
    for (int c = calls; c; c /= 10)
        digits[nd++] = (char)('0' + c % 10);
    size_t n = nd + 3;
    char *out = malloc(n + len + 1);
    if (!out)
        abort();
    out[0] = '[';
    for (size_t i = 0; i < nd; i++)
        out[1 + i] = digits[nd - 1 - i];
    memcpy(out + 1 + nd, "] ", 2);
    for (size_t i = 0; i < len; i++)
        out[n + i] = (char)toupper((unsigned char)ptr[i]);
    out[n + len] = '!';
    if (len > 0)
        free(ptr);
    result = (struct str){out, n + len + 1};
    return &result;
}

__attribute__((export_name("cabi_post_demo:text/transform#shout"))) void shout_post(
    struct str *r) {
    free(r->ptr);
}
