;;! component_model_async = true
;;! component_model_error_context = true
;; Error contexts whose built-ins' options name UTF-16 or latin1+UTF-16 strings:
;; `error-context.new` lifts the message as wasmtime lifts a string in that encoding
;; (alignment, bounds, unpaired surrogates), and `error-context.debug-message` lowers it as
;; wasmtime's `lower_string` does, with the same `realloc` calls (the reader hashes their
;; arguments) and the same checks of their results. The built-ins of one component name
;; different encodings, so a message made in one is read in another. Each result is
;; compared with wasmtime's.

(component definition $Encodings
  (core module $Libc
    (memory (export "mem") 1)
    (global $next (mut i32) (i32.const 8192))
    ;; A running hash of the `realloc` calls' arguments.
    (global $log (mut i32) (i32.const 0))
    ;; Set: the next `realloc` result is one past an aligned one.
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
    (func (export "set-bad") (param i32) (global.set $bad (local.get 0)))
    ;; UTF-8: "héllo 😀" (11 bytes) at 1000, "café" (5) at 1020, "€uro" (6) at 1030.
    (data (i32.const 1000) "h\c3\a9llo \f0\9f\98\80")
    (data (i32.const 1020) "caf\c3\a9")
    (data (i32.const 1030) "\e2\82\acuro")
    ;; UTF-16: "héllo 😀" (8 units) at 2000; "a" and an unpaired high surrogate (2 units)
    ;; at 2020; a lone low surrogate and "b" at 2030.
    (data (i32.const 2000) "h\00\e9\00l\00l\00o\00 \00\3d\d8\00\de")
    (data (i32.const 2020) "a\00\00\d8")
    (data (i32.const 2030) "\00\dcb\00")
    ;; latin1: "café" (4 bytes) at 3000.
    (data (i32.const 3000) "caf\e9"))
  (core instance $libc (instantiate $Libc))
  (core func $new8 (canon error-context.new (memory $libc "mem")))
  (core func $new16 (canon error-context.new string-encoding=utf16 (memory $libc "mem")))
  (core func $newc (canon error-context.new string-encoding=latin1+utf16
    (memory $libc "mem")))
  (core func $dbg8 (canon error-context.debug-message (memory $libc "mem")
    (realloc (func $libc "realloc"))))
  (core func $dbg16 (canon error-context.debug-message string-encoding=utf16
    (memory $libc "mem") (realloc (func $libc "realloc"))))
  (core func $dbgc (canon error-context.debug-message string-encoding=latin1+utf16
    (memory $libc "mem") (realloc (func $libc "realloc"))))
  (core func $drop (canon error-context.drop))
  (core module $M
    (import "" "mem" (memory 1))
    (import "" "log" (func $log (result i32)))
    (import "" "set-bad" (func $set-bad (param i32)))
    (import "" "new8" (func $new8 (param i32 i32) (result i32)))
    (import "" "new16" (func $new16 (param i32 i32) (result i32)))
    (import "" "newc" (func $newc (param i32 i32) (result i32)))
    (import "" "dbg8" (func $dbg8 (param i32 i32)))
    (import "" "dbg16" (func $dbg16 (param i32 i32)))
    (import "" "dbgc" (func $dbgc (param i32 i32)))
    (import "" "drop" (func $drop (param i32)))
    (func $mix (param $h i32) (param $v i32) (result i32)
      (i32.add (i32.mul (local.get $h) (i32.const 31)) (local.get $v)))
    ;; Makes an error context from (`p`, `n`) with `new` (0: UTF-8, 1: UTF-16, 2:
    ;; latin1+UTF-16), reads it with `debug-message` in encoding `read` (the next `realloc`
    ;; result misaligned by `bad`), and returns the `realloc` log above bit 32 and a hash of
    ;; the length word and the bytes it came back as.
    (func (export "run") (param $new i32) (param $p i32) (param $n i32) (param $read i32)
      (param $bad i32) (result i64)
      (local $e i32) (local $q i32) (local $len i32) (local $bytes i32) (local $h i32)
      (local $i i32)
      (local.set $e
        (if (result i32) (i32.eqz (local.get $new))
          (then (call $new8 (local.get $p) (local.get $n)))
          (else (if (result i32) (i32.eq (local.get $new) (i32.const 1))
            (then (call $new16 (local.get $p) (local.get $n)))
            (else (call $newc (local.get $p) (local.get $n)))))))
      (call $set-bad (local.get $bad))
      (if (i32.eqz (local.get $read))
        (then (call $dbg8 (local.get $e) (i32.const 100)))
        (else (if (i32.eq (local.get $read) (i32.const 1))
          (then (call $dbg16 (local.get $e) (i32.const 100)))
          (else (call $dbgc (local.get $e) (i32.const 100))))))
      (local.set $q (i32.load (i32.const 100)))
      (local.set $len (i32.load (i32.const 104)))
      ;; The bytes: UTF-8's length, or two per UTF-16 unit (latin1+UTF-16 tags them).
      (local.set $bytes
        (if (result i32) (i32.eqz (local.get $read))
          (then (local.get $len))
          (else (if (result i32) (i32.eq (local.get $read) (i32.const 1))
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
      (call $drop (local.get $e))
      (i64.or (i64.shl (i64.extend_i32_u (call $log)) (i64.const 32))
        (i64.extend_i32_u (local.get $h)))))
  (core instance $m (instantiate $M (with "" (instance
    (export "mem" (memory $libc "mem")) (export "log" (func $libc "log"))
    (export "set-bad" (func $libc "set-bad"))
    (export "new8" (func $new8)) (export "new16" (func $new16)) (export "newc" (func $newc))
    (export "dbg8" (func $dbg8)) (export "dbg16" (func $dbg16)) (export "dbgc" (func $dbgc))
    (export "drop" (func $drop))))))
  (func (export "run") (param "new" u32) (param "p" u32) (param "n" u32) (param "read" u32)
    (param "bad" u32) (result u64)
    (canon lift (core func $m "run"))))

;; Messages made in each encoding, read back in each.
(component instance $c1 $Encodings)
(assert_return (invoke "run" (u32.const 0) (u32.const 1000) (u32.const 11) (u32.const 1) (u32.const 0)) (u64.const 1381454139683172360))
(assert_return (invoke "run" (u32.const 0) (u32.const 1000) (u32.const 11) (u32.const 2) (u32.const 0)) (u64.const 16823682546889846792))
(assert_return (invoke "run" (u32.const 0) (u32.const 1020) (u32.const 5) (u32.const 2) (u32.const 0)) (u64.const 371286994891333124))
(assert_return (invoke "run" (u32.const 0) (u32.const 1030) (u32.const 6) (u32.const 2) (u32.const 0)) (u64.const 3733888800776109060))
(assert_return (invoke "run" (u32.const 0) (u32.const 1000) (u32.const 5) (u32.const 2) (u32.const 0)) (u64.const 7725320231794007556))
(assert_return (invoke "run" (u32.const 1) (u32.const 2000) (u32.const 8) (u32.const 0) (u32.const 0)) (u64.const 14281091425442821931))
(assert_return (invoke "run" (u32.const 1) (u32.const 2000) (u32.const 8) (u32.const 1) (u32.const 0)) (u64.const 7089891839902150664))
(assert_return (invoke "run" (u32.const 1) (u32.const 2000) (u32.const 8) (u32.const 2) (u32.const 0)) (u64.const 14243042513556271112))
(assert_return (invoke "run" (u32.const 2) (u32.const 3000) (u32.const 4) (u32.const 0) (u32.const 0)) (u64.const 2855416132610359593))
(assert_return (invoke "run" (u32.const 2) (u32.const 3000) (u32.const 4) (u32.const 2) (u32.const 0)) (u64.const 903576834643877380))
(assert_return (invoke "run" (u32.const 2) (u32.const 2000) (u32.const 0x80000008) (u32.const 0) (u32.const 0)) (u64.const 15266985594688206635))
(assert_return (invoke "run" (u32.const 2) (u32.const 2000) (u32.const 0x80000008) (u32.const 2) (u32.const 0)) (u64.const 4553034211410243592))
(assert_return (invoke "run" (u32.const 1) (u32.const 65536) (u32.const 0) (u32.const 1) (u32.const 0)) (u64.const 16523480241369251840))
(assert_return (invoke "run" (u32.const 2) (u32.const 3000) (u32.const 0) (u32.const 2) (u32.const 0)) (u64.const 7108918791894990848))
;; The lifts' traps: unpaired surrogates, a misaligned pointer, out of bounds.
(component instance $c2 $Encodings)
(assert_trap (invoke "run" (u32.const 1) (u32.const 2020) (u32.const 2) (u32.const 0) (u32.const 0)) "unpaired surrogate")
(component instance $c3 $Encodings)
(assert_trap (invoke "run" (u32.const 1) (u32.const 2030) (u32.const 2) (u32.const 0) (u32.const 0)) "unpaired surrogate")
(component instance $c4 $Encodings)
(assert_trap (invoke "run" (u32.const 1) (u32.const 2001) (u32.const 2) (u32.const 0) (u32.const 0)) "string pointer not aligned to 2")
(component instance $c5 $Encodings)
(assert_trap (invoke "run" (u32.const 2) (u32.const 3001) (u32.const 2) (u32.const 0) (u32.const 0)) "string pointer not aligned to 2")
(component instance $c6 $Encodings)
(assert_trap (invoke "run" (u32.const 1) (u32.const 65534) (u32.const 2) (u32.const 0) (u32.const 0)) "out of bounds")
(component instance $c7 $Encodings)
(assert_trap (invoke "run" (u32.const 2) (u32.const 65534) (u32.const 0x80000002) (u32.const 0) (u32.const 0)) "out of bounds")
(component instance $c8 $Encodings)
(assert_trap (invoke "run" (u32.const 1) (u32.const 0) (u32.const 0x80000000) (u32.const 0) (u32.const 0)) "out of bounds")
;; A misaligned `realloc` result.
(component instance $c9 $Encodings)
(assert_trap (invoke "run" (u32.const 0) (u32.const 1020) (u32.const 5) (u32.const 1) (u32.const 1)) "realloc return: result not aligned")
(component instance $c10 $Encodings)
(assert_trap (invoke "run" (u32.const 0) (u32.const 1020) (u32.const 5) (u32.const 2) (u32.const 1)) "realloc return: result not aligned")
