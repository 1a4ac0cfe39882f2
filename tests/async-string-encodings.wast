;;! component_model_async = true
;;! component_model_more_async_builtins = true
;; Strings through futures between components whose `future.write` and `future.read` name
;; different string encodings (UTF-8, UTF-16, latin1+UTF-16): wasmtime lifts the string in
;; the writer's encoding (alignment, bounds, UTF-8 or unpaired surrogates) and lowers it in
;; the reader's with `lower_string`'s `realloc` calls, which the reader hashes with what
;; arrived. Each result is compared with wasmtime's.

(component definition $Strings
  ;; `one (enc, p, n)`: a `future<string>` whose writer writes the string (`p`, `n`) of its
  ;; memory after a yield, with the `future.write` of encoding `enc` (0 UTF-8, 1 UTF-16,
  ;; 2 latin1+UTF-16).
  (component $Writer
    (type $FS (future string))
    (core module $Memory
      (memory (export "mem") 1)
      ;; UTF-8: "héllo 😀" (11 bytes) at 1000, "café" (5) at 1020, "€uro" (6) at 1030,
      ;; a byte 0xff at 1040.
      (data (i32.const 1000) "h\c3\a9llo \f0\9f\98\80")
      (data (i32.const 1020) "caf\c3\a9")
      (data (i32.const 1030) "\e2\82\acuro")
      (data (i32.const 1040) "\ff")
      ;; UTF-16: "héllo 😀" (8 units) at 2000; "a" and an unpaired high surrogate at 2020.
      (data (i32.const 2000) "h\00\e9\00l\00l\00o\00 \00\3d\d8\00\de")
      (data (i32.const 2020) "a\00\00\d8")
      ;; latin1: "café" (4 bytes) at 3000.
      (data (i32.const 3000) "caf\e9"))
    (core instance $memory (instantiate $Memory))
    (core func $new (canon future.new $FS))
    (core func $write8 (canon future.write $FS async (memory $memory "mem")))
    (core func $write16 (canon future.write $FS async string-encoding=utf16
      (memory $memory "mem")))
    (core func $writec (canon future.write $FS async string-encoding=latin1+utf16
      (memory $memory "mem")))
    (core func $drop (canon future.drop-writable $FS))
    (core func $ret (canon task.return (result $FS)))
    (core module $W
      (import "" "mem" (memory 1))
      (import "" "new" (func $new (result i64)))
      (import "" "write8" (func $write8 (param i32 i32) (result i32)))
      (import "" "write16" (func $write16 (param i32 i32) (result i32)))
      (import "" "writec" (func $writec (param i32 i32) (result i32)))
      (import "" "drop" (func $drop (param i32)))
      (import "" "ret" (func $ret (param i32)))
      (global $w (mut i32) (i32.const 0))
      (global $enc (mut i32) (i32.const 0))
      (func (export "one") (param $enc i32) (param $p i32) (param $n i32) (result i32)
        (local $rw i64)
        (local.set $rw (call $new))
        (global.set $w (i32.wrap_i64 (i64.shr_u (local.get $rw) (i64.const 32))))
        (global.set $enc (local.get $enc))
        (i32.store (i32.const 100) (local.get $p))
        (i32.store (i32.const 104) (local.get $n))
        (call $ret (i32.wrap_i64 (local.get $rw)))
        (i32.const 1 (; YIELD ;)))
      (func (export "cb") (param i32 i32 i32) (result i32)
        (drop
          (if (result i32) (i32.eqz (global.get $enc))
            (then (call $write8 (global.get $w) (i32.const 100)))
            (else (if (result i32) (i32.eq (global.get $enc) (i32.const 1))
              (then (call $write16 (global.get $w) (i32.const 100)))
              (else (call $writec (global.get $w) (i32.const 100)))))))
        (call $drop (global.get $w))
        (i32.const 0 (; EXIT ;))))
    (core instance $w (instantiate $W (with "" (instance
      (export "mem" (memory $memory "mem")) (export "new" (func $new))
      (export "write8" (func $write8)) (export "write16" (func $write16))
      (export "writec" (func $writec)) (export "drop" (func $drop))
      (export "ret" (func $ret))))))
    (func (export "one") async (param "enc" u32) (param "p" u32) (param "n" u32)
      (result $FS)
      (canon lift (core func $w "one") async (callback (func $w "cb")))))

  ;; `run (wenc, p, n, renc, bad)`: reads the writer's `one (wenc, p, n)` with the
  ;; `future.read` of encoding `renc` (the next `realloc` result misaligned by `bad`), and
  ;; returns a hash of the `realloc` calls' arguments above bit 32 and a hash of the length
  ;; word and the bytes that arrived.
  (component $Reader
    (type $FS (future string))
    (import "one" (func $one async (param "enc" u32) (param "p" u32) (param "n" u32)
      (result $FS)))
    (core module $Alloc
      (memory (export "mem") 1)
      (global $next (mut i32) (i32.const 4096))
      (global $log (mut i32) (i32.const 0))
      (global $bad (mut i32) (i32.const 0))
      (func $mix (param $h i32) (param $v i32) (result i32)
        (i32.add (i32.mul (local.get $h) (i32.const 31)) (local.get $v)))
      (func (export "realloc") (param $old i32) (param $size i32) (param $align i32)
        (param $new i32) (result i32)
        (local $p i32)
        (global.set $log (call $mix (call $mix (call $mix (call $mix (global.get $log)
          (local.get $old)) (local.get $size)) (local.get $align)) (local.get $new)))
        (local.set $p (i32.and
          (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
          (i32.sub (i32.const 0) (local.get $align))))
        (global.set $next (i32.add (i32.add (local.get $p) (local.get $new)) (i32.const 1)))
        (i32.add (local.get $p) (global.get $bad)))
      (func (export "log") (result i32) (global.get $log))
      (func (export "set-bad") (param i32) (global.set $bad (local.get 0))))
    (core instance $alloc (instantiate $Alloc))
    (core func $one (canon lower (func $one)))
    (core func $read8 (canon future.read $FS (memory $alloc "mem")
      (realloc (func $alloc "realloc"))))
    (core func $read16 (canon future.read $FS string-encoding=utf16 (memory $alloc "mem")
      (realloc (func $alloc "realloc"))))
    (core func $readc (canon future.read $FS string-encoding=latin1+utf16
      (memory $alloc "mem") (realloc (func $alloc "realloc"))))
    (core func $drop (canon future.drop-readable $FS))
    (core module $M
      (import "" "mem" (memory 1))
      (import "" "log" (func $log (result i32)))
      (import "" "set-bad" (func $set-bad (param i32)))
      (import "" "one" (func $one (param i32 i32 i32) (result i32)))
      (import "" "read8" (func $read8 (param i32 i32) (result i32)))
      (import "" "read16" (func $read16 (param i32 i32) (result i32)))
      (import "" "readc" (func $readc (param i32 i32) (result i32)))
      (import "" "drop" (func $drop (param i32)))
      (func $mix (param $h i32) (param $v i32) (result i32)
        (i32.add (i32.mul (local.get $h) (i32.const 31)) (local.get $v)))
      (func (export "run") (param $wenc i32) (param $p i32) (param $n i32) (param $renc i32)
        (param $bad i32) (result i64)
        (local $f i32) (local $q i32) (local $len i32) (local $bytes i32) (local $h i32)
        (local $i i32)
        (local.set $f (call $one (local.get $wenc) (local.get $p) (local.get $n)))
        (call $set-bad (local.get $bad))
        (if (if (result i32) (i32.eqz (local.get $renc))
              (then (call $read8 (local.get $f) (i32.const 300)))
              (else (if (result i32) (i32.eq (local.get $renc) (i32.const 1))
                (then (call $read16 (local.get $f) (i32.const 300)))
                (else (call $readc (local.get $f) (i32.const 300))))))
          (then unreachable))
        (call $drop (local.get $f))
        (local.set $q (i32.load (i32.const 300)))
        (local.set $len (i32.load (i32.const 304)))
        (local.set $bytes
          (if (result i32) (i32.eqz (local.get $renc))
            (then (local.get $len))
            (else (if (result i32) (i32.eq (local.get $renc) (i32.const 1))
              (then (i32.shl (local.get $len) (i32.const 1)))
              (else (if (result i32) (i32.lt_s (local.get $len) (i32.const 0))
                (then (i32.shl (local.get $len) (i32.const 1)))
                (else (local.get $len))))))))
        (local.set $h (call $mix (i32.const 0) (local.get $len)))
        (block $done
          (loop $each
            (br_if $done (i32.ge_u (local.get $i) (local.get $bytes)))
            (local.set $h (call $mix (local.get $h)
              (i32.load8_u (i32.add (local.get $q) (local.get $i)))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $each)))
        (i64.or (i64.shl (i64.extend_i32_u (call $log)) (i64.const 32))
          (i64.extend_i32_u (local.get $h)))))
    (core instance $m (instantiate $M (with "" (instance
      (export "mem" (memory $alloc "mem")) (export "log" (func $alloc "log"))
      (export "set-bad" (func $alloc "set-bad")) (export "one" (func $one))
      (export "read8" (func $read8)) (export "read16" (func $read16))
      (export "readc" (func $readc)) (export "drop" (func $drop))))))
    (func (export "run") async (param "wenc" u32) (param "p" u32) (param "n" u32)
      (param "renc" u32) (param "bad" u32) (result u64)
      (canon lift (core func $m "run"))))

  (instance $writer (instantiate $Writer))
  (instance $reader (instantiate $Reader (with "one" (func $writer "one"))))
  (export "run" (func $reader "run")))

;; Each encoding to each other one.
(component instance $s1 $Strings)
(assert_return (invoke "run" (u32.const 0) (u32.const 1000) (u32.const 11) (u32.const 1) (u32.const 0)) (u64.const 857365325233975304))
(assert_return (invoke "run" (u32.const 0) (u32.const 1000) (u32.const 11) (u32.const 2) (u32.const 0)) (u64.const 12792450706997964808))
(assert_return (invoke "run" (u32.const 0) (u32.const 1020) (u32.const 5) (u32.const 2) (u32.const 0)) (u64.const 12447759764429495812))
(assert_return (invoke "run" (u32.const 0) (u32.const 1030) (u32.const 6) (u32.const 2) (u32.const 0)) (u64.const 16065976033539636228))
(assert_return (invoke "run" (u32.const 1) (u32.const 2000) (u32.const 8) (u32.const 0) (u32.const 0)) (u64.const 15035168669076649771))
(assert_return (invoke "run" (u32.const 1) (u32.const 2000) (u32.const 8) (u32.const 1) (u32.const 0)) (u64.const 10259087657171611656))
(assert_return (invoke "run" (u32.const 1) (u32.const 2000) (u32.const 8) (u32.const 2) (u32.const 0)) (u64.const 9331316152914079752))
(assert_return (invoke "run" (u32.const 2) (u32.const 3000) (u32.const 4) (u32.const 0) (u32.const 0)) (u64.const 11676322821564858665))
(assert_return (invoke "run" (u32.const 2) (u32.const 3000) (u32.const 4) (u32.const 1) (u32.const 0)) (u64.const 1753074637904919556))
(assert_return (invoke "run" (u32.const 2) (u32.const 3000) (u32.const 4) (u32.const 2) (u32.const 0)) (u64.const 4127043618147425796))
(assert_return (invoke "run" (u32.const 2) (u32.const 2000) (u32.const 0x80000008) (u32.const 0) (u32.const 0)) (u64.const 528994254075557675))
(assert_return (invoke "run" (u32.const 2) (u32.const 2000) (u32.const 0x80000008) (u32.const 2) (u32.const 0)) (u64.const 10099725547795836936))
(assert_return (invoke "run" (u32.const 1) (u32.const 65536) (u32.const 0) (u32.const 2) (u32.const 0)) (u64.const 7644577921822097408))
;; The writer's string: an unpaired surrogate, invalid UTF-8, misaligned, out of bounds;
;; then a misaligned `realloc` result.
(component instance $s2 $Strings)
(assert_trap (invoke "run" (u32.const 1) (u32.const 2020) (u32.const 2) (u32.const 0) (u32.const 0)) "unpaired surrogate")
(component instance $s3 $Strings)
(assert_trap (invoke "run" (u32.const 0) (u32.const 1040) (u32.const 1) (u32.const 1) (u32.const 0)) "invalid utf-8")
(component instance $s4 $Strings)
(assert_trap (invoke "run" (u32.const 1) (u32.const 2001) (u32.const 2) (u32.const 0) (u32.const 0)) "string pointer not aligned to 2")
(component instance $s5 $Strings)
(assert_trap (invoke "run" (u32.const 2) (u32.const 65534) (u32.const 0x80000002) (u32.const 0) (u32.const 0)) "out of bounds")
(component instance $s6 $Strings)
(assert_trap (invoke "run" (u32.const 0) (u32.const 1020) (u32.const 5) (u32.const 1) (u32.const 1)) "realloc return: result not aligned")
(component instance $s7 $Strings)
(assert_trap (invoke "run" (u32.const 1) (u32.const 2000) (u32.const 8) (u32.const 2) (u32.const 1)) "realloc return: result not aligned")
;; Past 4 GiB: UTF-16 units whose bytes end past it, and UTF-8 bytes.
(component instance $s8 $Strings)
(assert_trap (invoke "run" (u32.const 1) (u32.const 2) (u32.const 0x80000000) (u32.const 0) (u32.const 0)) "string pointer/length out of bounds of memory")
(component instance $s9 $Strings)
(assert_trap (invoke "run" (u32.const 1) (u32.const 0) (u32.const 0x80000000) (u32.const 0) (u32.const 0)) "string pointer/length out of bounds of memory")
(component instance $s10 $Strings)
(assert_trap (invoke "run" (u32.const 0) (u32.const 0xffffffff) (u32.const 2) (u32.const 0) (u32.const 0)) "string pointer/length out of bounds of memory")
