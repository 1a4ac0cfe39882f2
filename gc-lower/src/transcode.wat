;; The string transcoders that FACT adapter modules import (wasmtime-environ's `Transcode`),
;; written in wasm so the lowered module needs nothing from its host.
;;
;; Memory 0 is the source memory and memory 1 the destination memory of the transcoder; the
;; lowering specializes every function for the two memories of each transcoder import (native
;; memories or reified ones). Each export is named after `Transcode::desc()` and has the core
;; type of `fact::transcode::Transcoder::ty` (32-bit memories). The behavior follows wasmtime's
;; host implementations (`wasmtime/src/runtime/vm/component/libcalls.rs`), including where they
;; trap on invalid input (calling the function exported as `trap:{reason}`, which the lowering
;; makes its function of that reason, see `template.rs`) and where they stop early; FACT has
;; already checked the pointers and lengths against both memories.
;;
;; A range [p, end) may end at the top of a 4 GiB memory, where `end` wraps to 0: positions
;; are compared with `end` for equality, and what is left is `end - p`, never `p < end`.

(module
  (memory 0)
  (memory 0)

  ;; The traps, named for wasmtime's messages.
  (func $gc-lower:trap:invalid-utf8-encoding (export "trap:invalid-utf8-encoding") unreachable)
  (func $gc-lower:trap:invalid-utf16-encoding (export "trap:invalid-utf16-encoding") unreachable)

  ;; Decodes the UTF-8 scalar value at byte `p` of memory 0, whose bytes end at `end`: returns
  ;; the code point and the address after it. Traps on anything `core::str::from_utf8`
  ;; rejects (overlong forms, surrogates, values past U+10FFFF, truncated sequences).
  (func $utf8_decode (param $p i32) (param $end i32) (result i32 i32)
    (local $b0 i32) (local $n i32) (local $lo i32) (local $hi i32) (local $cp i32) (local $b i32)
    (local.set $b0 (i32.load8_u 0 (local.get $p)))
    (if (i32.lt_u (local.get $b0) (i32.const 0x80))
      (then (return (local.get $b0) (i32.add (local.get $p) (i32.const 1)))))
    (local.set $lo (i32.const 0x80))
    (local.set $hi (i32.const 0xbf))
    (block $lead
      (if (i32.lt_u (local.get $b0) (i32.const 0xc2)) (then (call $gc-lower:trap:invalid-utf8-encoding)))
      (if (i32.le_u (local.get $b0) (i32.const 0xdf))
        (then
          (local.set $n (i32.const 2))
          (local.set $cp (i32.and (local.get $b0) (i32.const 0x1f)))
          (br $lead)))
      (if (i32.le_u (local.get $b0) (i32.const 0xef))
        (then
          (local.set $n (i32.const 3))
          (local.set $cp (i32.and (local.get $b0) (i32.const 0x0f)))
          (if (i32.eq (local.get $b0) (i32.const 0xe0)) (then (local.set $lo (i32.const 0xa0))))
          (if (i32.eq (local.get $b0) (i32.const 0xed)) (then (local.set $hi (i32.const 0x9f))))
          (br $lead)))
      (if (i32.le_u (local.get $b0) (i32.const 0xf4))
        (then
          (local.set $n (i32.const 4))
          (local.set $cp (i32.and (local.get $b0) (i32.const 0x07)))
          (if (i32.eq (local.get $b0) (i32.const 0xf0)) (then (local.set $lo (i32.const 0x90))))
          (if (i32.eq (local.get $b0) (i32.const 0xf4)) (then (local.set $hi (i32.const 0x8f))))
          (br $lead)))
      (call $gc-lower:trap:invalid-utf8-encoding))
    (if (i32.gt_u (local.get $n) (i32.sub (local.get $end) (local.get $p))) (then (call $gc-lower:trap:invalid-utf8-encoding)))
    ;; The second byte has the lead byte's range; the rest are plain continuation bytes.
    (local.set $b (i32.load8_u 0 offset=1 (local.get $p)))
    (if (i32.or (i32.lt_u (local.get $b) (local.get $lo)) (i32.gt_u (local.get $b) (local.get $hi)))
      (then (call $gc-lower:trap:invalid-utf8-encoding)))
    (local.set $cp (i32.or (i32.shl (local.get $cp) (i32.const 6)) (i32.and (local.get $b) (i32.const 0x3f))))
    (if (i32.ge_u (local.get $n) (i32.const 3))
      (then
        (local.set $b (i32.load8_u 0 offset=2 (local.get $p)))
        (if (i32.ne (i32.and (local.get $b) (i32.const 0xc0)) (i32.const 0x80)) (then (call $gc-lower:trap:invalid-utf8-encoding)))
        (local.set $cp (i32.or (i32.shl (local.get $cp) (i32.const 6)) (i32.and (local.get $b) (i32.const 0x3f))))))
    (if (i32.eq (local.get $n) (i32.const 4))
      (then
        (local.set $b (i32.load8_u 0 offset=3 (local.get $p)))
        (if (i32.ne (i32.and (local.get $b) (i32.const 0xc0)) (i32.const 0x80)) (then (call $gc-lower:trap:invalid-utf8-encoding)))
        (local.set $cp (i32.or (i32.shl (local.get $cp) (i32.const 6)) (i32.and (local.get $b) (i32.const 0x3f))))))
    (local.get $cp)
    (i32.add (local.get $p) (local.get $n)))

  ;; Decodes the UTF-16LE scalar value at byte `p` of memory 0, whose code units end at byte
  ;; `end`: returns the code point and the address after it. Traps on an unpaired surrogate.
  (func $utf16_decode (param $p i32) (param $end i32) (result i32 i32)
    (local $u i32) (local $v i32)
    (local.set $u (i32.load16_u 0 (local.get $p)))
    (if (i32.ne (i32.and (local.get $u) (i32.const 0xf800)) (i32.const 0xd800))
      (then (return (local.get $u) (i32.add (local.get $p) (i32.const 2)))))
    (if (i32.ge_u (local.get $u) (i32.const 0xdc00)) (then (call $gc-lower:trap:invalid-utf16-encoding)))
    (if (i32.le_u (i32.sub (local.get $end) (local.get $p)) (i32.const 2)) (then (call $gc-lower:trap:invalid-utf16-encoding)))
    (local.set $v (i32.load16_u 0 offset=2 (local.get $p)))
    (if (i32.ne (i32.and (local.get $v) (i32.const 0xfc00)) (i32.const 0xdc00)) (then (call $gc-lower:trap:invalid-utf16-encoding)))
    (i32.add (i32.const 0x10000)
      (i32.or (i32.shl (i32.sub (local.get $u) (i32.const 0xd800)) (i32.const 10))
        (i32.sub (local.get $v) (i32.const 0xdc00))))
    (i32.add (local.get $p) (i32.const 4)))

  ;; Writes code point `cp` as UTF-8 at byte `q` of memory 1; returns the address after it.
  (func $utf8_encode (param $cp i32) (param $q i32) (result i32)
    (if (i32.lt_u (local.get $cp) (i32.const 0x80))
      (then
        (i32.store8 1 (local.get $q) (local.get $cp))
        (return (i32.add (local.get $q) (i32.const 1)))))
    (if (i32.lt_u (local.get $cp) (i32.const 0x800))
      (then
        (i32.store8 1 (local.get $q)
          (i32.or (i32.const 0xc0) (i32.shr_u (local.get $cp) (i32.const 6))))
        (i32.store8 1 offset=1 (local.get $q)
          (i32.or (i32.const 0x80) (i32.and (local.get $cp) (i32.const 0x3f))))
        (return (i32.add (local.get $q) (i32.const 2)))))
    (if (i32.lt_u (local.get $cp) (i32.const 0x10000))
      (then
        (i32.store8 1 (local.get $q)
          (i32.or (i32.const 0xe0) (i32.shr_u (local.get $cp) (i32.const 12))))
        (i32.store8 1 offset=1 (local.get $q)
          (i32.or (i32.const 0x80) (i32.and (i32.shr_u (local.get $cp) (i32.const 6)) (i32.const 0x3f))))
        (i32.store8 1 offset=2 (local.get $q)
          (i32.or (i32.const 0x80) (i32.and (local.get $cp) (i32.const 0x3f))))
        (return (i32.add (local.get $q) (i32.const 3)))))
    (i32.store8 1 (local.get $q)
      (i32.or (i32.const 0xf0) (i32.shr_u (local.get $cp) (i32.const 18))))
    (i32.store8 1 offset=1 (local.get $q)
      (i32.or (i32.const 0x80) (i32.and (i32.shr_u (local.get $cp) (i32.const 12)) (i32.const 0x3f))))
    (i32.store8 1 offset=2 (local.get $q)
      (i32.or (i32.const 0x80) (i32.and (i32.shr_u (local.get $cp) (i32.const 6)) (i32.const 0x3f))))
    (i32.store8 1 offset=3 (local.get $q)
      (i32.or (i32.const 0x80) (i32.and (local.get $cp) (i32.const 0x3f))))
    (i32.add (local.get $q) (i32.const 4)))

  ;; The number of UTF-16 code units of code point `cp`.
  (func $utf16_units (param $cp i32) (result i32)
    (select (i32.const 2) (i32.const 1) (i32.ge_u (local.get $cp) (i32.const 0x10000))))

  ;; Writes code unit `k` (0 or 1) of code point `cp` in UTF-16LE at byte `q` of memory 1.
  (func $utf16_store_unit (param $cp i32) (param $k i32) (param $q i32)
    (if (i32.lt_u (local.get $cp) (i32.const 0x10000))
      (then (i32.store16 1 (local.get $q) (local.get $cp)) (return)))
    (local.set $cp (i32.sub (local.get $cp) (i32.const 0x10000)))
    (if (i32.eqz (local.get $k))
      (then
        (i32.store16 1 (local.get $q)
          (i32.or (i32.const 0xd800) (i32.shr_u (local.get $cp) (i32.const 10)))))
      (else
        (i32.store16 1 (local.get $q)
          (i32.or (i32.const 0xdc00) (i32.and (local.get $cp) (i32.const 0x3ff)))))))

  ;; Checks that bytes [p, end) of memory 0 are valid UTF-8.
  (func $utf8_validate (param $p i32) (param $end i32)
    (local $resume i32)
    (block $done
      (loop $next
        ;; ASCII bytes eight per load while eight are left, then one per load, without a call
        ;; of $utf8_decode per byte; the rest one scalar value at a time. On a reified memory
        ;; each load is a helper call, so a word per load saves seven calls in eight. After a
        ;; word that is not all ASCII, no word is read before its end (`$resume`): text with
        ;; few ASCII bytes pays at most one extra load per eight bytes.
        (block $multi
          (block $bytes
            (loop $words
              (br_if $bytes (i32.lt_u (local.get $p) (local.get $resume)))
              (br_if $bytes (i32.lt_u (i32.sub (local.get $end) (local.get $p)) (i32.const 8)))
              (local.set $resume (i32.add (local.get $p) (i32.const 8)))
              (br_if $bytes (i64.ne (i64.and (i64.load 0 (local.get $p)) (i64.const 0x8080808080808080))
                                    (i64.const 0)))
              (local.set $p (local.get $resume))
              (br $words)))
          (loop $ascii
            (br_if $done (i32.eq (local.get $p) (local.get $end)))
            (br_if $multi (i32.ge_u (i32.load8_u 0 (local.get $p)) (i32.const 0x80)))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br $ascii)))
        (call $utf8_decode (local.get $p) (local.get $end))
        (local.set $p)
        (drop)
        (br $next))))

  ;; The four UTF-16LE code units of the four ASCII bytes in the low half of `w`, as the
  ;; little-endian i64 that stores them.
  (func $ascii_units (param $w i64) (result i64)
    (i64.or
      (i64.or (i64.and (local.get $w) (i64.const 0xff))
              (i64.shl (i64.and (local.get $w) (i64.const 0xff00)) (i64.const 8)))
      (i64.or (i64.shl (i64.and (local.get $w) (i64.const 0xff0000)) (i64.const 16))
              (i64.shl (i64.and (local.get $w) (i64.const 0xff000000)) (i64.const 24)))))

  ;; Transcodes the valid UTF-8 bytes [p, end) of memory 0 to UTF-16LE at byte `q` of memory
  ;; 1, writing at most `room` code units; returns the number of code units written.
  (func $utf8_to_utf16_units (param $p i32) (param $end i32) (param $q i32) (param $room i32)
    (result i32)
    (local $cp i32) (local $n i32) (local $k i32) (local $units i32) (local $b i32) (local $w i64)
    (local $resume i32)
    (block $done
      (loop $next
        ;; ASCII bytes without a call of $utf8_decode per byte, each one code unit: eight per
        ;; load and two stores while eight bytes and eight units of room are left, then one
        ;; (after a word that is not all ASCII, up to its end, as in $utf8_validate).
        (block $multi
          (block $bytes
            (loop $words
              (br_if $bytes (i32.lt_u (local.get $p) (local.get $resume)))
              (br_if $bytes (i32.lt_u (i32.sub (local.get $end) (local.get $p)) (i32.const 8)))
              (br_if $bytes (i32.lt_u (i32.sub (local.get $room) (local.get $n)) (i32.const 8)))
              (local.set $resume (i32.add (local.get $p) (i32.const 8)))
              (local.set $w (i64.load 0 (local.get $p)))
              (br_if $bytes (i64.ne (i64.and (local.get $w) (i64.const 0x8080808080808080))
                                    (i64.const 0)))
              (i64.store 1 (i32.add (local.get $q) (i32.shl (local.get $n) (i32.const 1)))
                (call $ascii_units (local.get $w)))
              (i64.store 1 offset=8 (i32.add (local.get $q) (i32.shl (local.get $n) (i32.const 1)))
                (call $ascii_units (i64.shr_u (local.get $w) (i64.const 32))))
              (local.set $n (i32.add (local.get $n) (i32.const 8)))
              (local.set $p (i32.add (local.get $p) (i32.const 8)))
              (br $words)))
          (loop $ascii
            (br_if $done (i32.eq (local.get $p) (local.get $end)))
            (local.set $b (i32.load8_u 0 (local.get $p)))
            (br_if $multi (i32.ge_u (local.get $b) (i32.const 0x80)))
            (br_if $done (i32.ge_u (local.get $n) (local.get $room)))
            (i32.store16 1 (i32.add (local.get $q) (i32.shl (local.get $n) (i32.const 1)))
              (local.get $b))
            (local.set $n (i32.add (local.get $n) (i32.const 1)))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br $ascii)))
        (call $utf8_decode (local.get $p) (local.get $end))
        (local.set $p)
        (local.set $cp)
        (local.set $units (call $utf16_units (local.get $cp)))
        (local.set $k (i32.const 0))
        (loop $unit
          (br_if $done (i32.ge_u (local.get $n) (local.get $room)))
          (call $utf16_store_unit (local.get $cp) (local.get $k)
            (i32.add (local.get $q) (i32.shl (local.get $n) (i32.const 1))))
          (local.set $n (i32.add (local.get $n) (i32.const 1)))
          (local.set $k (i32.add (local.get $k) (i32.const 1)))
          (br_if $unit (i32.lt_u (local.get $k) (local.get $units))))
        (br $next)))
    (local.get $n))

  ;; Copies the UTF-16LE code units [p, end) of memory 0 to byte `q` of memory 1 one scalar
  ;; value at a time, trapping at the first unpaired surrogate (what was copied before it
  ;; stays); returns whether every scalar value is at most U+00FF.
  (func $utf16_copy (param $p i32) (param $end i32) (param $q i32) (result i32)
    (local $cp i32) (local $next i32) (local $latin1 i32)
    (local.set $latin1 (i32.const 1))
    (block $done
      (loop $char
        (br_if $done (i32.eq (local.get $p) (local.get $end)))
        (call $utf16_decode (local.get $p) (local.get $end))
        (local.set $next)
        (local.set $cp)
        (if (i32.gt_u (local.get $cp) (i32.const 0xff)) (then (local.set $latin1 (i32.const 0))))
        (loop $unit
          (i32.store16 1 (local.get $q) (i32.load16_u 0 (local.get $p)))
          (local.set $p (i32.add (local.get $p) (i32.const 2)))
          (local.set $q (i32.add (local.get $q) (i32.const 2)))
          (br_if $unit (i32.ne (local.get $p) (local.get $next))))
        (br $char)))
    (local.get $latin1))

  ;; Copies `n` bytes from `p` in memory 0 to `q` in memory 1 (`array.copy` when both are
  ;; reified). FACT never passes overlapping ranges: wasmtime's transcoders assert that.
  (func $copy_bytes (param $p i32) (param $n i32) (param $q i32)
    (memory.copy 1 0 (local.get $q) (local.get $p) (local.get $n)))

  ;; Inflates the first `n` latin1 bytes at `q` in memory 1 in place to UTF-16LE code units.
  (func $inflate_latin1 (param $q i32) (param $n i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (i32.store16 1 (i32.add (local.get $q) (i32.shl (local.get $n) (i32.const 1)))
          (i32.load8_u 1 (i32.add (local.get $q) (local.get $n))))
        (br $next))))

  ;; utf8-to-utf8 (src, len, dst): validates all of the source first, then copies it.
  (func (export "utf8-to-utf8") (param $src i32) (param $len i32) (param $dst i32)
    (call $utf8_validate (local.get $src) (i32.add (local.get $src) (local.get $len)))
    (call $copy_bytes (local.get $src) (local.get $len) (local.get $dst)))

  ;; utf16-to-utf16 (src, len in code units, dst).
  (func (export "utf16-to-utf16") (param $src i32) (param $len i32) (param $dst i32)
    (drop (call $utf16_copy (local.get $src)
      (i32.add (local.get $src) (i32.shl (local.get $len) (i32.const 1))) (local.get $dst))))

  ;; latin1-to-latin1 (src, len, dst).
  (func (export "latin1-to-latin1") (param $src i32) (param $len i32) (param $dst i32)
    (call $copy_bytes (local.get $src) (local.get $len) (local.get $dst)))

  ;; latin1-to-utf16 (src, len, dst): every byte becomes one code unit.
  (func (export "latin1-to-utf16") (param $src i32) (param $len i32) (param $dst i32)
    (local $i i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (i32.store16 1 (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 1)))
          (i32.load8_u 0 (i32.add (local.get $src) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))

  ;; utf8-to-utf16 (src, len, dst) -> code units written: validates all of the source first.
  (func (export "utf8-to-utf16") (param $src i32) (param $len i32) (param $dst i32) (result i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $src) (local.get $len)))
    (call $utf8_validate (local.get $src) (local.get $end))
    (call $utf8_to_utf16_units (local.get $src) (local.get $end) (local.get $dst) (local.get $len)))

  ;; utf16-to-utf8 (src, src_len in code units, dst, dst_len, first_pass) -> (code units read,
  ;; bytes written): stops before a character that would not fit when fewer than 4 bytes are
  ;; left, and in the first pass before the first character past U+007F.
  (func (export "utf16-to-utf8")
    (param $src i32) (param $src_len i32) (param $dst i32) (param $dst_len i32) (param $first i32)
    (result i32 i32)
    (local $p i32) (local $end i32) (local $cp i32) (local $next i32) (local $need i32)
    (local $room i32) (local $read i32) (local $written i32)
    (local $w i64) (local $resume i32)
    (local.set $p (local.get $src))
    (local.set $end (i32.add (local.get $src) (i32.shl (local.get $src_len) (i32.const 1))))
    (block $done
      (loop $char
        ;; ASCII code units four per load (and one store) while four units and four bytes of
        ;; room are left: on a reified memory, one helper call each instead of four decodes
        ;; (after four units that are not all ASCII, one at a time up to their end, as in
        ;; $utf8_validate).
        (block $one
          (loop $words
            (br_if $one (i32.lt_u (local.get $p) (local.get $resume)))
            (br_if $one (i32.lt_u (i32.sub (local.get $end) (local.get $p)) (i32.const 8)))
            (br_if $one (i32.lt_u (i32.sub (local.get $dst_len) (local.get $written)) (i32.const 4)))
            (local.set $resume (i32.add (local.get $p) (i32.const 8)))
            (local.set $w (i64.load 0 (local.get $p)))
            (br_if $one (i64.ne (i64.and (local.get $w) (i64.const 0xff80ff80ff80ff80)) (i64.const 0)))
            (i32.store 1 (i32.add (local.get $dst) (local.get $written))
              (i32.wrap_i64
                (i64.or
                  (i64.or (i64.and (local.get $w) (i64.const 0x7f))
                          (i64.and (i64.shr_u (local.get $w) (i64.const 8)) (i64.const 0x7f00)))
                  (i64.or (i64.and (i64.shr_u (local.get $w) (i64.const 16)) (i64.const 0x7f0000))
                          (i64.and (i64.shr_u (local.get $w) (i64.const 24)) (i64.const 0x7f000000))))))
            (local.set $written (i32.add (local.get $written) (i32.const 4)))
            (local.set $p (i32.add (local.get $p) (i32.const 8)))
            (local.set $read (i32.shr_u (i32.sub (local.get $p) (local.get $src)) (i32.const 1)))
            (br $words)))
        (br_if $done (i32.eq (local.get $p) (local.get $end)))
        (call $utf16_decode (local.get $p) (local.get $end))
        (local.set $next)
        (local.set $cp)
        (br_if $done (i32.and (i32.ne (local.get $first) (i32.const 0))
          (i32.ge_u (local.get $cp) (i32.const 0x80))))
        (local.set $need
          (select (i32.const 1)
            (select (i32.const 2)
              (select (i32.const 3) (i32.const 4) (i32.lt_u (local.get $cp) (i32.const 0x10000)))
              (i32.lt_u (local.get $cp) (i32.const 0x800)))
            (i32.lt_u (local.get $cp) (i32.const 0x80))))
        (local.set $room (i32.sub (local.get $dst_len) (local.get $written)))
        (br_if $done (i32.and (i32.lt_u (local.get $room) (i32.const 4))
          (i32.lt_u (local.get $room) (local.get $need))))
        (drop (call $utf8_encode (local.get $cp) (i32.add (local.get $dst) (local.get $written))))
        (local.set $written (i32.add (local.get $written) (local.get $need)))
        (local.set $p (local.get $next))
        (local.set $read (i32.shr_u (i32.sub (local.get $p) (local.get $src)) (i32.const 1)))
        (br $char)))
    (local.get $read)
    (local.get $written))

  ;; latin1-to-utf8 (src, src_len, dst, dst_len, first_pass) -> (bytes read, bytes written):
  ;; stops when the next character does not fit, and in the first pass before the first byte
  ;; past 0x7f.
  (func (export "latin1-to-utf8")
    (param $src i32) (param $src_len i32) (param $dst i32) (param $dst_len i32) (param $first i32)
    (result i32 i32)
    (local $i i32) (local $w i32) (local $b i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $src_len)))
        (local.set $b (i32.load8_u 0 (i32.add (local.get $src) (local.get $i))))
        (if (i32.lt_u (local.get $b) (i32.const 0x80))
          (then
            (br_if $done (i32.ge_u (local.get $w) (local.get $dst_len)))
            (i32.store8 1 (i32.add (local.get $dst) (local.get $w)) (local.get $b))
            (local.set $w (i32.add (local.get $w) (i32.const 1))))
          (else
            (br_if $done (local.get $first))
            (br_if $done (i32.lt_u (i32.sub (local.get $dst_len) (local.get $w)) (i32.const 2)))
            (drop (call $utf8_encode (local.get $b) (i32.add (local.get $dst) (local.get $w))))
            (local.set $w (i32.add (local.get $w) (i32.const 2)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $i)
    (local.get $w))

  ;; utf16-to-compact-utf16 (probably utf16) (src, len, dst) -> length: copies as UTF-16;
  ;; when every character is latin1, deflates the copy in place and returns `len`, else
  ;; returns `len` tagged with bit 31 (UTF-16).
  (func (export "utf16-to-compact-probably-utf16")
    (param $src i32) (param $len i32) (param $dst i32) (result i32)
    (local $i i32)
    (if (i32.eqz (call $utf16_copy (local.get $src)
          (i32.add (local.get $src) (i32.shl (local.get $len) (i32.const 1))) (local.get $dst)))
      (then (return (i32.or (local.get $len) (i32.const 0x8000_0000)))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (i32.store8 1 (i32.add (local.get $dst) (local.get $i))
          (i32.load8_u 1 (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 1)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $len))

  ;; utf8-to-latin1 (src, len, dst) -> (bytes read, bytes written): converts the longest prefix
  ;; of characters up to U+00FF (`encoding_rs::mem::utf8_latin1_up_to`); never traps.
  (func (export "utf8-to-latin1") (param $src i32) (param $len i32) (param $dst i32)
    (result i32 i32)
    (local $i i32) (local $w i32) (local $b0 i32) (local $b1 i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (local.set $b0 (i32.load8_u 0 (i32.add (local.get $src) (local.get $i))))
        (if (i32.lt_u (local.get $b0) (i32.const 0x80))
          (then
            (i32.store8 1 (i32.add (local.get $dst) (local.get $w)) (local.get $b0))
            (local.set $i (i32.add (local.get $i) (i32.const 1))))
          (else
            (br_if $done (i32.ne (i32.and (local.get $b0) (i32.const 0xfe)) (i32.const 0xc2)))
            (br_if $done (i32.ge_u (i32.add (local.get $i) (i32.const 1)) (local.get $len)))
            (local.set $b1
              (i32.load8_u 0 offset=1 (i32.add (local.get $src) (local.get $i))))
            (br_if $done (i32.ne (i32.and (local.get $b1) (i32.const 0xc0)) (i32.const 0x80)))
            (i32.store8 1 (i32.add (local.get $dst) (local.get $w))
              (i32.or (i32.shl (i32.and (local.get $b0) (i32.const 0x1f)) (i32.const 6))
                (i32.and (local.get $b1) (i32.const 0x3f))))
            (local.set $i (i32.add (local.get $i) (i32.const 2)))))
        (local.set $w (i32.add (local.get $w) (i32.const 1)))
        (br $next)))
    (local.get $i)
    (local.get $w))

  ;; utf16-to-latin1 (src, len, dst) -> (code units read, bytes written): copies code units up
  ;; to the first one past 0xff; never traps.
  (func (export "utf16-to-latin1") (param $src i32) (param $len i32) (param $dst i32)
    (result i32 i32)
    (local $i i32) (local $u i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (local.set $u
          (i32.load16_u 0 (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 1)))))
        (br_if $done (i32.gt_u (local.get $u) (i32.const 0xff)))
        (i32.store8 1 (i32.add (local.get $dst) (local.get $i)) (local.get $u))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $i)
    (local.get $i))

  ;; utf8-to-compact-utf16 (src, src_len, dst, dst_len in code units, latin1 bytes so far) ->
  ;; code units: inflates the latin1 prefix, validates all of the source, then transcodes it
  ;; after the prefix, writing at most the units that are left.
  (func (export "utf8-to-compact-utf16")
    (param $src i32) (param $src_len i32) (param $dst i32) (param $dst_len i32) (param $so_far i32)
    (result i32)
    (local $end i32)
    (call $inflate_latin1 (local.get $dst) (local.get $so_far))
    (local.set $end (i32.add (local.get $src) (local.get $src_len)))
    (call $utf8_validate (local.get $src) (local.get $end))
    (i32.add (local.get $so_far)
      (call $utf8_to_utf16_units (local.get $src) (local.get $end)
        (i32.add (local.get $dst) (i32.shl (local.get $so_far) (i32.const 1)))
        (i32.sub (local.get $dst_len) (local.get $so_far)))))

  ;; utf16-to-compact-utf16 (src, src_len in code units, dst, dst_len, latin1 bytes so far) ->
  ;; code units: inflates the latin1 prefix, then copies the source after it.
  (func (export "utf16-to-compact-utf16")
    (param $src i32) (param $src_len i32) (param $dst i32) (param $dst_len i32) (param $so_far i32)
    (result i32)
    (call $inflate_latin1 (local.get $dst) (local.get $so_far))
    (drop (call $utf16_copy (local.get $src)
      (i32.add (local.get $src) (i32.shl (local.get $src_len) (i32.const 1)))
      (i32.add (local.get $dst) (i32.shl (local.get $so_far) (i32.const 1)))))
    (i32.add (local.get $so_far) (local.get $src_len)))
)
