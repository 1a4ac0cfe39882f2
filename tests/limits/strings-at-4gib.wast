;; Strings that end at the very top of a 4 GiB memory, where the end of the range, as a u32,
;; wraps to 0: the transcoders must still validate and transcode every byte, from UTF-8 and
;; from UTF-16. The app's memory grows to 65 536 pages, so only `--reify auto` keeps it native
;; (a reified memory stops at 4 GiB - 1 byte); the echo component is instantiated twice, so its
;; memory is reified.
(component definition $C
  (component $Echo
    (core module $m
      (memory (export "mem") 1)
      (global $next (mut i32) (i32.const 1024))
      ;; A bump allocator; a reallocation copies the old block (UTF-16 to UTF-8 shrinks or
      ;; grows its first guess).
      (func (export "realloc") (param $old i32) (param $old_size i32) (param i32) (param $size i32)
        (result i32)
        (local $r i32)
        (local.set $r (i32.and (i32.add (global.get $next) (i32.const 7)) (i32.const -8)))
        (global.set $next (i32.add (local.get $r) (local.get $size)))
        (memory.copy (local.get $r) (local.get $old)
          (select (local.get $old_size) (local.get $size)
            (i32.lt_u (local.get $old_size) (local.get $size))))
        (local.get $r))
      ;; The string's length in code units (UTF-16) or bytes (UTF-8) times 256, plus its last
      ;; code unit's low byte or its last byte.
      (func (export "summary16") (param $p i32) (param $n i32) (result i32)
        (i32.add (i32.shl (local.get $n) (i32.const 8))
          (i32.load8_u (i32.sub (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 1)))
                                (i32.const 2)))))
      (func (export "summary8") (param $p i32) (param $n i32) (result i32)
        (i32.add (i32.shl (local.get $n) (i32.const 8))
          (i32.load8_u (i32.sub (i32.add (local.get $p) (local.get $n)) (i32.const 1))))))
    (core instance $i (instantiate $m))
    (func (export "summary16") (param "s" string) (result u32)
      (canon lift (core func $i "summary16") string-encoding=utf16 (memory $i "mem")
        (realloc (func $i "realloc"))))
    (func (export "summary8") (param "s" string) (result u32)
      (canon lift (core func $i "summary8") (memory $i "mem") (realloc (func $i "realloc")))))
  (component $App
    (import "summary16" (func $s16 (param "s" string) (result u32)))
    (import "summary8" (func $s8 (param "s" string) (result u32)))
    (core module $Libc
      (memory (export "mem") 1)
      (func (export "realloc") (param i32 i32 i32 i32) (result i32) (i32.const 1024)))
    (core instance $libc (instantiate $Libc))
    (core func $s16 (canon lower (func $s16) (memory $libc "mem") (realloc (func $libc "realloc"))))
    (core func $s8 (canon lower (func $s8) (memory $libc "mem") (realloc (func $libc "realloc"))))
    (core func $s16u (canon lower (func $s16) string-encoding=utf16 (memory $libc "mem")
      (realloc (func $libc "realloc"))))
    (core func $s8u (canon lower (func $s8) string-encoding=utf16 (memory $libc "mem")
      (realloc (func $libc "realloc"))))
    (core module $Main
      (import "" "mem" (memory 1))
      (import "" "s16" (func $s16 (param i32 i32) (result i32)))
      (import "" "s8" (func $s8 (param i32 i32) (result i32)))
      (import "" "s16u" (func $s16u (param i32 i32) (result i32)))
      (import "" "s8u" (func $s8u (param i32 i32) (result i32)))
      ;; Grows the memory to 65 536 pages and writes its last 11 bytes: "abcdefgh", then
      ;; "ok" or the invalid byte 0xff and "k".
      (func $fill (param $bad i32)
        (if (i32.lt_u (memory.size) (i32.const 65536))
          (then (drop (memory.grow (i32.sub (i32.const 65536) (memory.size))))))
        (i64.store (i32.const -11) (i64.const 0x6867666564636261))
        (i32.store8 (i32.const -3) (i32.const 0x20))
        (i32.store8 (i32.const -2) (select (i32.const 0xff) (i32.const 0x6f) (local.get $bad)))
        (i32.store8 (i32.const -1) (i32.const 0x6b)))
      ;; The same text as UTF-16LE in the last 22 bytes, its last two code units
      ;; replaced by $mode: 1, an unpaired surrogate for "o"; 2, a high surrogate as the last
      ;; code unit; 3, the surrogate pair of U+1F600.
      (func $fill16 (param $mode i32)
        (if (i32.lt_u (memory.size) (i32.const 65536))
          (then (drop (memory.grow (i32.sub (i32.const 65536) (memory.size))))))
        (i64.store (i32.const -22) (i64.const 0x0064006300620061))
        (i64.store (i32.const -14) (i64.const 0x0068006700660065))
        (i32.store16 (i32.const -6) (i32.const 0x20))
        (i32.store16 (i32.const -4)
          (select (i32.const 0xd800)
            (select (i32.const 0xd83d) (i32.const 0x6f) (i32.eq (local.get $mode) (i32.const 3)))
            (i32.eq (local.get $mode) (i32.const 1))))
        (i32.store16 (i32.const -2)
          (select (i32.const 0xd800)
            (select (i32.const 0xde00) (i32.const 0x6b) (i32.eq (local.get $mode) (i32.const 3)))
            (i32.eq (local.get $mode) (i32.const 2)))))
      (func (export "top16") (param $bad i32) (result i32)
        (call $fill (local.get $bad))
        (call $s16 (i32.const -11) (i32.const 11)))
      (func (export "top8") (param $bad i32) (result i32)
        (call $fill (local.get $bad))
        (call $s8 (i32.const -11) (i32.const 11)))
      (func (export "top16-from16") (param $mode i32) (result i32)
        (call $fill16 (local.get $mode))
        (call $s16u (i32.const -22) (i32.const 11)))
      (func (export "top8-from16") (param $mode i32) (result i32)
        (call $fill16 (local.get $mode))
        (call $s8u (i32.const -22) (i32.const 11))))
    (core instance $main (instantiate $Main
      (with "" (instance
        (export "mem" (memory $libc "mem")) (export "s16" (func $s16)) (export "s8" (func $s8))
        (export "s16u" (func $s16u)) (export "s8u" (func $s8u))))))
    (func (export "top16") (param "bad" u32) (result u32) (canon lift (core func $main "top16")))
    (func (export "top8") (param "bad" u32) (result u32) (canon lift (core func $main "top8")))
    (func (export "top16-from16") (param "mode" u32) (result u32)
      (canon lift (core func $main "top16-from16")))
    (func (export "top8-from16") (param "mode" u32) (result u32)
      (canon lift (core func $main "top8-from16"))))
  (instance $e1 (instantiate $Echo))
  (instance $e2 (instantiate $Echo))
  (instance $app (instantiate $App
    (with "summary16" (func $e1 "summary16"))
    (with "summary8" (func $e1 "summary8"))))
  (export "top16" (func $app "top16"))
  (export "top8" (func $app "top8"))
  (export "top16-from16" (func $app "top16-from16"))
  (export "top8-from16" (func $app "top8-from16"))
  (export "e2" (func $e2 "summary8")))

;; UTF-8 to UTF-16: 11 code units, the last one 'k'.
(component instance $a $C)
(assert_return (invoke $a "top16" (u32.const 0)) (u32.const 2923))
;; UTF-8 to UTF-8 (validated, then copied).
(assert_return (invoke $a "top8" (u32.const 0)) (u32.const 2923))
;; Invalid UTF-8 in the last word traps in both.
(component instance $b $C)
(assert_trap (invoke $b "top16" (u32.const 1)) "invalid utf8")
(component instance $c $C)
(assert_trap (invoke $c "top8" (u32.const 1)) "invalid utf8")
;; UTF-16 to UTF-16 (checked as it is copied) and UTF-16 to UTF-8: ASCII, then a surrogate
;; pair in the last four bytes (U+1F600: four bytes of UTF-8, the last 0x80).
(component instance $d $C)
(assert_return (invoke $d "top16-from16" (u32.const 0)) (u32.const 2923))
(assert_return (invoke $d "top8-from16" (u32.const 0)) (u32.const 2923))
(assert_return (invoke $d "top16-from16" (u32.const 3)) (u32.const 2816))
(assert_return (invoke $d "top8-from16" (u32.const 3)) (u32.const 3456))
;; An unpaired surrogate before the last code unit, and a high surrogate as the last one.
(component instance $e $C)
(assert_trap (invoke $e "top16-from16" (u32.const 1)) "invalid utf16")
(component instance $f $C)
(assert_trap (invoke $f "top8-from16" (u32.const 1)) "invalid utf16")
(component instance $g $C)
(assert_trap (invoke $g "top16-from16" (u32.const 2)) "invalid utf16")
(component instance $h $C)
(assert_trap (invoke $h "top8-from16" (u32.const 2)) "invalid utf16")
