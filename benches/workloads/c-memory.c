// Memory-heavy C kernels for gc-lower's benchmarks, built with clang-19 and wasi-libc and
// instantiated twice by the `c-memory` workload (`benches::c_memory`): sorting with
// qsort (a comparison through a function pointer per step), hashing, memcpy and memset over
// buffers that malloc carves out of a memory grown at run time.
//
// `setup(seed)` allocates and fills the buffers; every kernel then returns a number that
// depends on every byte it touched, so that an engine cannot skip the work.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define WORDS (64 * 1024)      // 256 KiB of uint32_t to sort
#define BYTES (1024 * 1024)    // 1 MiB to hash and copy

static uint32_t *keys, *sorted;
static uint8_t *src, *dst;

static int compare(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

__attribute__((export_name("setup"))) void setup(uint32_t seed) {
  if (!keys) {
    keys = malloc(WORDS * sizeof *keys);
    sorted = malloc(WORDS * sizeof *sorted);
    src = malloc(BYTES);
    dst = malloc(BYTES);
    if (!keys || !sorted || !src || !dst) abort();
  }
  uint32_t x = seed | 1;
  for (uint32_t i = 0; i < WORDS; i++) {
    x = x * 1664525u + 1013904223u;
    keys[i] = x;
  }
  for (uint32_t i = 0; i < BYTES; i++) {
    x = x * 1664525u + 1013904223u;
    src[i] = (uint8_t)(x >> 24);
  }
}

// qsort of a fresh copy of the keys; a checksum of the sorted order.
__attribute__((export_name("sort"))) uint32_t sort(void) {
  memcpy(sorted, keys, WORDS * sizeof *sorted);
  qsort(sorted, WORDS, sizeof *sorted, compare);
  uint32_t h = 0;
  for (uint32_t i = 0; i < WORDS; i += 97) h = h * 31 + sorted[i];
  return h;
}

// 32-bit FNV-1a over the source buffer, four bytes per loaded word.
__attribute__((export_name("hash"))) uint32_t hash(void) {
  uint32_t h = 2166136261u;
  const uint32_t *w = (const uint32_t *)src;
  for (uint32_t i = 0; i < BYTES / 4; i++) {
    uint32_t v = w[i];
    for (int k = 0; k < 4; k++) {
      h = (h ^ (v & 0xff)) * 16777619u;
      v >>= 8;
    }
  }
  return h;
}

// memcpy of the source to the destination at offset `shift % 61` (5, unaligned, in the
// benchmark), memset of a tail, and a sample of the result.
__attribute__((export_name("copy"))) uint32_t copy(uint32_t shift) {
  uint32_t at = shift % 61;
  memcpy(dst + at, src, BYTES - 64);
  memset(dst + BYTES - 32, (int)at, 32);
  uint32_t h = 0;
  for (uint32_t i = 0; i < BYTES; i += 4093) h = h * 31 + dst[i];
  return h;
}
