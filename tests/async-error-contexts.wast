;;! component_model_async = true
;;! component_model_error_context = true
;; Error contexts: `error-context.new` (the message's checks: bounds, UTF-8),
;; `error-context.debug-message` (the message lowered with `realloc`, the result pointer's
;; bounds), `error-context.drop`, and error contexts passed between components (each side
;; keeps its own handle to one shared message, which lives while any handle does), with
;; wasmtime's handle numbering (error contexts share a component instance's table with its
;; waitable sets) and traps (an unknown handle, a handle of another kind). Each result is
;; compared with wasmtime's.

(component definition $Errors
  ;; Makes and reads error contexts: `make (s)` one of message `s`, kept in a list of
  ;; handles until `forget` drops them all; `message (e)` the message of `e` (dropping its
  ;; own handle to it afterwards); `raw (p, n)` one of the `n` bytes at `p` (invalid UTF-8
  ;; at 100, a message `pong` at 200); `set` a waitable set's handle; `read (h)` the debug
  ;; message of handle `h` into 300 and its length; `drop (h)`.
  (component $Maker
    (core module $Libc
      (memory (export "mem") 1)
      (global $bump (mut i32) (i32.const 4096))
      (func (export "realloc") (param i32 i32 i32 i32) (result i32)
        (local $p i32)
        (local.set $p (global.get $bump))
        (global.set $bump (i32.add (global.get $bump) (local.get 3)))
        (local.get $p))
      (data (i32.const 100) "\ff\fe")
      (data (i32.const 200) "pong"))
    (core instance $libc (instantiate $Libc))
    (core func $new (canon error-context.new (memory $libc "mem")))
    (core func $debug (canon error-context.debug-message (memory $libc "mem")
      (realloc (func $libc "realloc"))))
    (core func $drop (canon error-context.drop))
    (core func $set-new (canon waitable-set.new))
    (core module $M
      (import "" "mem" (memory 1))
      (import "" "new" (func $new (param i32 i32) (result i32)))
      (import "" "debug" (func $debug (param i32 i32)))
      (import "" "drop" (func $drop (param i32)))
      (import "" "set-new" (func $set-new (result i32)))
      ;; The handles `make` kept, as a list of words at 1024.
      (global $kept (mut i32) (i32.const 0))
      (func (export "make") (param $p i32) (param $n i32) (result i32)
        (local $h i32)
        (local.set $h (call $new (local.get $p) (local.get $n)))
        (i32.store (i32.add (i32.const 1024) (i32.shl (global.get $kept) (i32.const 2)))
          (local.get $h))
        (global.set $kept (i32.add (global.get $kept) (i32.const 1)))
        (local.get $h))
      (func (export "forget")
        (block $done
          (loop $next
            (br_if $done (i32.eqz (global.get $kept)))
            (global.set $kept (i32.sub (global.get $kept) (i32.const 1)))
            (call $drop (i32.load (i32.add (i32.const 1024)
              (i32.shl (global.get $kept) (i32.const 2)))))
            (br $next))))
      ;; The message of `e` as a string at 0 (pointer, length), then `e` dropped.
      (func (export "message") (param $e i32) (result i32)
        (call $debug (local.get $e) (i32.const 0))
        (call $drop (local.get $e))
        (i32.const 0))
      (func (export "raw") (param $p i32) (param $n i32) (result i32)
        (call $new (local.get $p) (local.get $n)))
      (func (export "set") (result i32) (call $set-new))
      (func (export "read") (param $h i32) (param $at i32) (result i32)
        (call $debug (local.get $h) (local.get $at))
        (i32.load offset=4 (local.get $at)))
      (func (export "drop") (param $h i32) (call $drop (local.get $h))))
    (core instance $i (instantiate $M
      (with "" (instance
        (export "mem" (memory $libc "mem"))
        (export "new" (func $new))
        (export "debug" (func $debug))
        (export "drop" (func $drop))
        (export "set-new" (func $set-new))))))
    (func (export "make") (param "s" string) (result error-context)
      (canon lift (core func $i "make") (memory $libc "mem") (realloc (func $libc "realloc"))))
    (func (export "forget") (canon lift (core func $i "forget")))
    (func (export "message") (param "e" error-context) (result string)
      (canon lift (core func $i "message") (memory $libc "mem")))
    (func (export "raw") (param "p" u32) (param "n" u32) (result u32)
      (canon lift (core func $i "raw")))
    (func (export "set") (result u32) (canon lift (core func $i "set")))
    (func (export "read") (param "h" u32) (param "at" u32) (result u32)
      (canon lift (core func $i "read")))
    (func (export "drop") (param "h" u32) (canon lift (core func $i "drop"))))
  (instance $maker (instantiate $Maker))

  ;; Uses the maker's error contexts: `roundtrip (s)` makes one and reads its message back
  ;; through the maker; `outlive (s)` makes one, lets the maker forget its handle, then reads
  ;; it; `handles` the handle numbers of three made, the second dropped, and one more;
  ;; `twice` reads one message twice through the maker.
  (component $User
    (import "maker" (instance $m
      (export "make" (func (param "s" string) (result error-context)))
      (export "forget" (func))
      (export "message" (func (param "e" error-context) (result string)))))
    (core module $Libc
      (memory (export "mem") 1)
      (global $bump (mut i32) (i32.const 4096))
      (func (export "realloc") (param i32 i32 i32 i32) (result i32)
        (local $p i32)
        (local.set $p (global.get $bump))
        (global.set $bump (i32.add (global.get $bump) (local.get 3)))
        (local.get $p)))
    (core instance $libc (instantiate $Libc))
    (core func $make (canon lower (func $m "make") (memory $libc "mem")))
    (core func $forget (canon lower (func $m "forget")))
    (core func $message (canon lower (func $m "message") (memory $libc "mem")
      (realloc (func $libc "realloc"))))
    (core func $drop (canon error-context.drop))
    (core module $U
      (import "" "mem" (memory 1))
      (import "" "make" (func $make (param i32 i32) (result i32)))
      (import "" "forget" (func $forget))
      (import "" "message" (func $message (param i32 i32)))
      (import "" "drop" (func $drop (param i32)))
      ;; The string at (p, n) made into an error context, whose message comes back at 16.
      (func (export "roundtrip") (param $p i32) (param $n i32) (result i32)
        (local $h i32)
        (local.set $h (call $make (local.get $p) (local.get $n)))
        (call $message (local.get $h) (i32.const 16))
        (call $drop (local.get $h))
        (i32.const 16))
      (func (export "outlive") (param $p i32) (param $n i32) (result i32)
        (local $h i32)
        (local.set $h (call $make (local.get $p) (local.get $n)))
        (call $forget)
        (call $message (local.get $h) (i32.const 16))
        (call $drop (local.get $h))
        (i32.const 16))
      (func (export "handles") (param $p i32) (param $n i32) (result i64)
        (local $a i32) (local $b i32) (local $c i32) (local $d i32)
        (local.set $a (call $make (local.get $p) (local.get $n)))
        (local.set $b (call $make (local.get $p) (local.get $n)))
        (local.set $c (call $make (local.get $p) (local.get $n)))
        (call $drop (local.get $b))
        (local.set $d (call $make (local.get $p) (local.get $n)))
        (call $drop (local.get $a))
        (call $drop (local.get $c))
        (call $drop (local.get $d))
        (call $forget)
        (i64.or
          (i64.or (i64.extend_i32_u (local.get $a))
            (i64.shl (i64.extend_i32_u (local.get $b)) (i64.const 16)))
          (i64.or (i64.shl (i64.extend_i32_u (local.get $c)) (i64.const 32))
            (i64.shl (i64.extend_i32_u (local.get $d)) (i64.const 48)))))
      ;; The message read twice (each read passes the maker a handle it drops), the
      ;; lengths added.
      (func (export "twice") (param $p i32) (param $n i32) (result i32)
        (local $h i32)
        (local.set $h (call $make (local.get $p) (local.get $n)))
        (call $message (local.get $h) (i32.const 16))
        (call $message (local.get $h) (i32.const 24))
        (call $drop (local.get $h))
        (i32.add (i32.load offset=20 (i32.const 0)) (i32.load offset=28 (i32.const 0))))
      ;; Drops a handle it has dropped.
      (func (export "drop-twice") (param $p i32) (param $n i32)
        (local $h i32)
        (local.set $h (call $make (local.get $p) (local.get $n)))
        (call $drop (local.get $h))
        (call $drop (local.get $h))))
    (core instance $i (instantiate $U
      (with "" (instance
        (export "mem" (memory $libc "mem"))
        (export "make" (func $make))
        (export "forget" (func $forget))
        (export "message" (func $message))
        (export "drop" (func $drop))))))
    (func (export "roundtrip") (param "s" string) (result string)
      (canon lift (core func $i "roundtrip") (memory $libc "mem")
        (realloc (func $libc "realloc"))))
    (func (export "outlive") (param "s" string) (result string)
      (canon lift (core func $i "outlive") (memory $libc "mem")
        (realloc (func $libc "realloc"))))
    (func (export "handles") (param "s" string) (result u64)
      (canon lift (core func $i "handles") (memory $libc "mem")
        (realloc (func $libc "realloc"))))
    (func (export "twice") (param "s" string) (result u32)
      (canon lift (core func $i "twice") (memory $libc "mem")
        (realloc (func $libc "realloc"))))
    (func (export "drop-twice") (param "s" string)
      (canon lift (core func $i "drop-twice") (memory $libc "mem")
        (realloc (func $libc "realloc")))))
  (instance $user (instantiate $User (with "maker" (instance $maker))))
  (export "roundtrip" (func $user "roundtrip"))
  (export "outlive" (func $user "outlive"))
  (export "handles" (func $user "handles"))
  (export "twice" (func $user "twice"))
  (export "drop-twice" (func $user "drop-twice"))
  (export "raw" (func $maker "raw"))
  (export "set" (func $maker "set"))
  (export "read" (func $maker "read"))
  (export "drop" (func $maker "drop")))

(component instance $e $Errors)
(assert_return (invoke "roundtrip" (str.const "no such file")) (str.const "no such file"))
(assert_return (invoke "roundtrip" (str.const "")) (str.const ""))
(assert_return (invoke "roundtrip" (str.const "grüße, 世界 🦀")) (str.const "grüße, 世界 🦀"))
(assert_return (invoke "outlive" (str.const "still here")) (str.const "still here"))
;; Handles 1, 2, 3; 2 dropped and taken again.
(assert_return (invoke "handles" (str.const "h")) (u64.const 0x0002_0003_0002_0001))
(assert_return (invoke "twice" (str.const "abc")) (u32.const 6))
;; The maker's own handles (it keeps handle 1, `twice`'s): a message from its memory, read
;; into 300; a set's handle next; empty messages at the end of memory.
(assert_return (invoke "raw" (u32.const 200) (u32.const 4)) (u32.const 2))
(assert_return (invoke "read" (u32.const 2) (u32.const 300)) (u32.const 4))
(assert_return (invoke "read" (u32.const 1) (u32.const 300)) (u32.const 3))
(assert_return (invoke "set") (u32.const 3))
(assert_return (invoke "raw" (u32.const 65535) (u32.const 0)) (u32.const 4))
(assert_return (invoke "raw" (u32.const 65536) (u32.const 0)) (u32.const 5))
(assert_return (invoke "read" (u32.const 5) (u32.const 65528)) (u32.const 0))
(assert_return (invoke "drop" (u32.const 2)))
(assert_return (invoke "raw" (u32.const 201) (u32.const 3)) (u32.const 2))
(assert_return (invoke "read" (u32.const 2) (u32.const 300)) (u32.const 3))

(component instance $e $Errors)
(assert_trap (invoke "drop-twice" (str.const "x")) "unknown handle index")

(component instance $e $Errors)
(assert_return (invoke "set") (u32.const 1))
(assert_trap (invoke "read" (u32.const 1) (u32.const 300)) "handle is not an error-context")

(component instance $e $Errors)
(assert_trap (invoke "drop" (u32.const 7)) "unknown handle index")

(component instance $e $Errors)
(assert_trap (invoke "raw" (u32.const 100) (u32.const 2)) "invalid utf-8")

(component instance $e $Errors)
(assert_trap (invoke "raw" (u32.const 65530) (u32.const 7)) "out of bounds")

(component instance $e $Errors)
(assert_trap (invoke "raw" (u32.const 0xffff_fff0) (u32.const 0x20)) "out of bounds")

(component instance $e $Errors)
(assert_trap (invoke "raw" (u32.const 65537) (u32.const 0)) "out of bounds")

(component instance $e $Errors)
(assert_return (invoke "raw" (u32.const 200) (u32.const 4)) (u32.const 1))
(assert_trap (invoke "read" (u32.const 1) (u32.const 65529)) "out of bounds")
