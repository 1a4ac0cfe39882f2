;;! component_model_async = true
;;! component_model_more_async_builtins = true
;;! component_model_error_context = true
;; Error contexts as stream and future items. wasmtime lifts each from the writer's handle
;; table (the writer keeps its handle) and lowers it into the reader's as a new handle to
;; the same message. The reader reads the messages back with `error-context.debug-message`
;; and hashes them with the handles it got. Each result is compared with wasmtime's.
;;
;; The writer never drops its handles: wasmtime 48 counts an error context's references
;; when `error-context.new` and FACT's `error-context-transfer` make them, not when a stream
;; or future lowers one, so once the writer drops its handle, the reader's `debug-message`
;; fails natively ("resource not present"); the output keeps the message while any handle
;; to it lives.

(component definition $Items
  ;; `errs (n)`: a `stream<error-context>` of `n` (at most 3) error contexts with the
  ;; messages "first", "second: héllo", "" in that order. `outcome (v)`: a
  ;; `future<result<u32, error-context>>` of `ok(v)` for an even `v`, else `err` of an error
  ;; context with the message "odd". `bad (h)`: a `stream<error-context>` whose item is the
  ;; writer's handle `h` as it is (its readable end is handle 1, the writable end 2).
  (component $Writer
    (type $SE (stream error-context))
    (type $FR (future (result u32 (error error-context))))
    (core module $Memory (memory (export "mem") 1))
    (core instance $memory (instantiate $Memory))
    (core func $new-se (canon stream.new $SE))
    (core func $write-se (canon stream.write $SE async (memory $memory "mem")))
    (core func $ret-se (canon task.return (result $SE)))
    (core func $new-fr (canon future.new $FR))
    (core func $write-fr (canon future.write $FR async (memory $memory "mem")))
    (core func $drop-fr (canon future.drop-writable $FR))
    (core func $ret-fr (canon task.return (result $FR)))
    (core func $new-ec (canon error-context.new (memory $memory "mem")))
    (core module $W
      (import "" "mem" (memory 1))
      (import "" "new-se" (func $new-se (result i64)))
      (import "" "write-se" (func $write-se (param i32 i32 i32) (result i32)))
      (import "" "ret-se" (func $ret-se (param i32)))
      (import "" "new-fr" (func $new-fr (result i64)))
      (import "" "write-fr" (func $write-fr (param i32 i32) (result i32)))
      (import "" "drop-fr" (func $drop-fr (param i32)))
      (import "" "ret-fr" (func $ret-fr (param i32)))
      (import "" "new-ec" (func $new-ec (param i32 i32) (result i32)))
      (global $w (mut i32) (i32.const 0))
      ;; 0 the stream, 1 the future, 2 the bad item.
      (global $what (mut i32) (i32.const 0))
      (global $arg (mut i32) (i32.const 0))
      (func $stream (param $what i32) (param $arg i32) (result i32)
        (local $rw i64)
        (local.set $rw (call $new-se))
        (global.set $w (i32.wrap_i64 (i64.shr_u (local.get $rw) (i64.const 32))))
        (global.set $what (local.get $what))
        (global.set $arg (local.get $arg))
        (call $ret-se (i32.wrap_i64 (local.get $rw)))
        (i32.const 1 (; YIELD ;)))
      (func (export "errs") (param $n i32) (result i32)
        (call $stream (i32.const 0) (local.get $n)))
      (func (export "bad") (param $h i32) (result i32)
        (call $stream (i32.const 2) (local.get $h)))
      (func (export "outcome") (param $v i32) (result i32)
        (local $rw i64)
        (local.set $rw (call $new-fr))
        (global.set $w (i32.wrap_i64 (i64.shr_u (local.get $rw) (i64.const 32))))
        (global.set $what (i32.const 1))
        (global.set $arg (local.get $v))
        (call $ret-fr (i32.wrap_i64 (local.get $rw)))
        (i32.const 1 (; YIELD ;)))
      (func (export "cb") (param i32 i32 i32) (result i32)
        (if (i32.eq (global.get $what) (i32.const 1))
          (then
            (if (i32.and (global.get $arg) (i32.const 1))
              (then
                (i32.store8 (i32.const 100) (i32.const 1))
                (i32.store (i32.const 104) (call $new-ec (i32.const 1030) (i32.const 3))))
              (else
                (i32.store8 (i32.const 100) (i32.const 0))
                (i32.store (i32.const 104) (global.get $arg))))
            (drop (call $write-fr (global.get $w) (i32.const 100)))
            (call $drop-fr (global.get $w))
            (return (i32.const 0 (; EXIT ;)))))
        (if (i32.eq (global.get $what) (i32.const 2))
          (then
            (i32.store (i32.const 100) (global.get $arg))
            (drop (call $write-se (global.get $w) (i32.const 100) (i32.const 1)))
            (return (i32.const 0 (; EXIT ;)))))
        (i32.store (i32.const 100) (call $new-ec (i32.const 1000) (i32.const 5)))
        (i32.store (i32.const 104) (call $new-ec (i32.const 1005) (i32.const 14)))
        (i32.store (i32.const 108) (call $new-ec (i32.const 1019) (i32.const 0)))
        (drop (call $write-se (global.get $w) (i32.const 100) (global.get $arg)))
        (i32.const 0 (; EXIT ;)))
      (data (i32.const 1000) "firstsecond: h\c3\a9llo")
      (data (i32.const 1030) "odd"))
    (core instance $w (instantiate $W (with "" (instance
      (export "mem" (memory $memory "mem"))
      (export "new-se" (func $new-se)) (export "write-se" (func $write-se))
      (export "ret-se" (func $ret-se)) (export "new-fr" (func $new-fr))
      (export "write-fr" (func $write-fr)) (export "drop-fr" (func $drop-fr))
      (export "ret-fr" (func $ret-fr)) (export "new-ec" (func $new-ec))))))
    (func (export "errs") async (param "n" u32) (result $SE)
      (canon lift (core func $w "errs") async (callback (func $w "cb"))))
    (func (export "bad") async (param "h" u32) (result $SE)
      (canon lift (core func $w "bad") async (callback (func $w "cb"))))
    (func (export "outcome") async (param "v" u32) (result $FR)
      (canon lift (core func $w "outcome") async (callback (func $w "cb")))))

  ;; Reads what the writer writes with sync reads and returns the count of items above bit
  ;; 32 and a hash of each handle it got and its message (read with `realloc`).
  (component $Reader
    (type $SE (stream error-context))
    (type $FR (future (result u32 (error error-context))))
    (import "errs" (func $errs async (param "n" u32) (result $SE)))
    (import "bad" (func $bad async (param "h" u32) (result $SE)))
    (import "outcome" (func $outcome async (param "v" u32) (result $FR)))
    ;; A bump allocator.
    (core module $Alloc
      (memory (export "mem") 1)
      (global $next (mut i32) (i32.const 4096))
      (func (export "realloc") (param i32 i32 i32 i32) (result i32)
        (local $p i32)
        (local.set $p (i32.and
          (i32.add (global.get $next) (i32.sub (local.get 2) (i32.const 1)))
          (i32.sub (i32.const 0) (local.get 2))))
        (global.set $next (i32.add (local.get $p) (local.get 3)))
        (local.get $p)))
    (core instance $alloc (instantiate $Alloc))
    (core func $errs (canon lower (func $errs)))
    (core func $bad (canon lower (func $bad)))
    (core func $outcome (canon lower (func $outcome)))
    (core func $read-se (canon stream.read $SE (memory $alloc "mem")))
    (core func $drop-se (canon stream.drop-readable $SE))
    (core func $read-fr (canon future.read $FR (memory $alloc "mem")))
    (core func $drop-fr (canon future.drop-readable $FR))
    (core func $debug (canon error-context.debug-message (memory $alloc "mem")
      (realloc (func $alloc "realloc"))))
    (core func $drop-ec (canon error-context.drop))
    (core module $M
      (import "" "mem" (memory 1))
      (import "" "errs" (func $errs (param i32) (result i32)))
      (import "" "bad" (func $bad (param i32) (result i32)))
      (import "" "outcome" (func $outcome (param i32) (result i32)))
      (import "" "read-se" (func $read-se (param i32 i32 i32) (result i32)))
      (import "" "drop-se" (func $drop-se (param i32)))
      (import "" "read-fr" (func $read-fr (param i32 i32) (result i32)))
      (import "" "drop-fr" (func $drop-fr (param i32)))
      (import "" "debug" (func $debug (param i32 i32)))
      (import "" "drop-ec" (func $drop-ec (param i32)))
      (func $mix (param $h i32) (param $v i32) (result i32)
        (i32.add (i32.mul (local.get $h) (i32.const 31)) (local.get $v)))
      ;; Error context `e`'s handle and message, mixed into `h`; then `e` is dropped.
      (func $message (param $h i32) (param $e i32) (result i32)
        (local $p i32) (local $n i32) (local $i i32)
        (local.set $h (call $mix (local.get $h) (local.get $e)))
        (call $debug (local.get $e) (i32.const 200))
        (local.set $p (i32.load (i32.const 200)))
        (local.set $n (i32.load (i32.const 204)))
        (local.set $h (call $mix (local.get $h) (local.get $n)))
        (block $done
          (loop $each
            (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
            (local.set $h (call $mix (local.get $h)
              (i32.load8_u (i32.add (local.get $p) (local.get $i)))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $each)))
        (call $drop-ec (local.get $e))
        (local.get $h))
      (func $done (param $count i32) (param $h i32) (result i64)
        (i64.or (i64.shl (i64.extend_i32_u (local.get $count)) (i64.const 32))
          (i64.extend_i32_u (local.get $h))))
      (func $drain (param $s i32) (result i64)
        (local $r i32) (local $h i32) (local $i i32)
        (local.set $r (call $read-se (local.get $s) (i32.const 100) (i32.const 4)))
        (if (i32.and (local.get $r) (i32.const 0xf)) (then unreachable))
        (local.set $r (i32.shr_u (local.get $r) (i32.const 4)))
        (block $done
          (loop $each
            (br_if $done (i32.ge_u (local.get $i) (local.get $r)))
            (local.set $h (call $message (local.get $h)
              (i32.load (i32.add (i32.const 100) (i32.shl (local.get $i) (i32.const 2))))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $each)))
        (call $drop-se (local.get $s))
        (call $done (local.get $r) (local.get $h)))
      (func (export "run-errs") (param $n i32) (result i64)
        (call $drain (call $errs (local.get $n))))
      (func (export "run-bad") (param $h i32) (result i64)
        (call $drain (call $bad (local.get $h))))
      (func (export "run-outcome") (param $v i32) (result i64)
        (local $f i32)
        (local.set $f (call $outcome (local.get $v)))
        (if (call $read-fr (local.get $f) (i32.const 300)) (then unreachable))
        (call $drop-fr (local.get $f))
        (if (result i64) (i32.load8_u (i32.const 300))
          (then (call $done (i32.const 1) (call $message (i32.const 0) (i32.load (i32.const 304)))))
          (else (call $done (i32.const 0) (i32.load (i32.const 304)))))))
    (core instance $m (instantiate $M (with "" (instance
      (export "mem" (memory $alloc "mem"))
      (export "errs" (func $errs)) (export "bad" (func $bad))
      (export "outcome" (func $outcome)) (export "read-se" (func $read-se))
      (export "drop-se" (func $drop-se)) (export "read-fr" (func $read-fr))
      (export "drop-fr" (func $drop-fr)) (export "debug" (func $debug))
      (export "drop-ec" (func $drop-ec))))))
    (func (export "run-errs") async (param "n" u32) (result u64)
      (canon lift (core func $m "run-errs")))
    (func (export "run-bad") async (param "h" u32) (result u64)
      (canon lift (core func $m "run-bad")))
    (func (export "run-outcome") async (param "v" u32) (result u64)
      (canon lift (core func $m "run-outcome"))))

  (instance $writer (instantiate $Writer))
  (instance $reader (instantiate $Reader
    (with "errs" (func $writer "errs")) (with "bad" (func $writer "bad"))
    (with "outcome" (func $writer "outcome"))))
  (export "run-errs" (func $reader "run-errs"))
  (export "run-bad" (func $reader "run-bad"))
  (export "run-outcome" (func $reader "run-outcome")))

;; Items and hash: the handles are numbered in the reader's table after its readable end.
(component instance $e1 $Items)
(assert_return (invoke "run-errs" (u32.const 3)) (u64.const 16323410895))
(assert_return (invoke "run-errs" (u32.const 2)) (u64.const 11485275797))
(component instance $e2 $Items)
(assert_return (invoke "run-outcome" (u32.const 42)) (u64.const 42))
(assert_return (invoke "run-outcome" (u32.const 7)) (u64.const 4297013582))
(assert_return (invoke "run-errs" (u32.const 1)) (u64.const 5423057164))
;; A handle that is not an error context, and one that is no handle at all.
(component instance $e3 $Items)
(assert_trap (invoke "run-bad" (u32.const 2)) "handle is not an error-context")
(component instance $e4 $Items)
(assert_trap (invoke "run-bad" (u32.const 9)) "unknown handle index 9")
