;;! component_model_async = true
;;! component_model_more_async_builtins = true
;; Streams and futures of own handles: each item is lifted from the writer's handle table
;; (which removes it there) and lowered into the reader's, as wasmtime's copy of values that
;; are not flat does; a handle the writer does not have traps in the copy, and a write and a
;; read within one component instance trap. Each result is compared with wasmtime's.

(component definition $Handles
  ;; Defines the resource `r`: `make (v)` an own handle of rep `v`, `value (borrow)` its rep.
  (component $Owner
    (type $r (resource (rep i32)))
    (export $r' "r" (type $r))
    (core func $new (canon resource.new $r'))
    (core module $M
      (import "" "new" (func $new (param i32) (result i32)))
      (func (export "make") (param i32) (result i32) (call $new (local.get 0)))
      (func (export "value") (param i32) (result i32) (local.get 0)))
    (core instance $i (instantiate $M (with "" (instance (export "new" (func $new))))))
    (func (export "make") (param "v" u32) (result (own $r')) (canon lift (core func $i "make")))
    (func (export "value") (param "x" (borrow $r')) (result u32)
      (canon lift (core func $i "value"))))

  ;; `stream (n, bogus)`: returns a `stream<own r>`, then after a yield writes `n` handles of
  ;; reps 10, 11, ... (the last replaced by 99, which it does not have, when `bogus`).
  ;; `future`: returns a `future<own r>`, then after a yield writes a handle of rep 77.
  ;; `within`: writes a handle to a stream of its own and reads it back.
  (component $Writer
    (import "o" (instance $o
      (export "r" (type $r (sub resource)))
      (export "make" (func (param "v" u32) (result (own $r))))))
    (alias export $o "r" (type $r))
    (type $S (stream (own $r)))
    (type $F (future (own $r)))
    (core module $Memory (memory (export "mem") 1))
    (core instance $memory (instantiate $Memory))
    (core func $make (canon lower (func $o "make")))
    (core func $new-s (canon stream.new $S))
    (core func $write-s (canon stream.write $S async (memory $memory "mem")))
    (core func $read-s (canon stream.read $S async (memory $memory "mem")))
    (core func $ret-s (canon task.return (result $S)))
    (core func $new-f (canon future.new $F))
    (core func $write-f (canon future.write $F async (memory $memory "mem")))
    (core func $drop-f (canon future.drop-writable $F))
    (core func $ret-f (canon task.return (result $F)))
    (core module $W
      (import "" "mem" (memory 1))
      (import "" "make" (func $make (param i32) (result i32)))
      (import "" "new-s" (func $new-s (result i64)))
      (import "" "write-s" (func $write-s (param i32 i32 i32) (result i32)))
      (import "" "read-s" (func $read-s (param i32 i32 i32) (result i32)))
      (import "" "ret-s" (func $ret-s (param i32)))
      (import "" "new-f" (func $new-f (result i64)))
      (import "" "write-f" (func $write-f (param i32 i32) (result i32)))
      (import "" "drop-f" (func $drop-f (param i32)))
      (import "" "ret-f" (func $ret-f (param i32)))
      (global $w (mut i32) (i32.const 0))
      ;; The count of handles to write; -1 for the future.
      (global $n (mut i32) (i32.const 0))
      (global $bogus (mut i32) (i32.const 0))
      (func (export "stream") (param $n i32) (param $bogus i32) (result i32)
        (local $rw i64)
        (local.set $rw (call $new-s))
        (global.set $w (i32.wrap_i64 (i64.shr_u (local.get $rw) (i64.const 32))))
        (global.set $n (local.get $n))
        (global.set $bogus (local.get $bogus))
        (call $ret-s (i32.wrap_i64 (local.get $rw)))
        (i32.const 1 (; YIELD ;)))
      (func (export "future") (result i32)
        (local $rw i64)
        (local.set $rw (call $new-f))
        (global.set $w (i32.wrap_i64 (i64.shr_u (local.get $rw) (i64.const 32))))
        (global.set $n (i32.const -1))
        (call $ret-f (i32.wrap_i64 (local.get $rw)))
        (i32.const 1 (; YIELD ;)))
      ;; After the yield: the write meets the reader's pending read. A stream's write that
      ;; the read cannot take whole stays pending for the reader's next read.
      (func (export "cb") (param i32 i32 i32) (result i32)
        (local $i i32)
        (if (i32.lt_s (global.get $n) (i32.const 0))
          (then
            (i32.store (i32.const 8) (call $make (i32.const 77)))
            (drop (call $write-f (global.get $w) (i32.const 8)))
            (call $drop-f (global.get $w))
            (return (i32.const 0 (; EXIT ;)))))
        (block $done
          (loop $each
            (br_if $done (i32.ge_u (local.get $i) (global.get $n)))
            (i32.store (i32.add (i32.const 8) (i32.shl (local.get $i) (i32.const 2)))
              (call $make (i32.add (i32.const 10) (local.get $i))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $each)))
        (if (global.get $bogus)
          (then (i32.store (i32.add (i32.const 4) (i32.shl (global.get $n) (i32.const 2)))
            (i32.const 99))))
        (drop (call $write-s (global.get $w) (i32.const 8) (global.get $n)))
        (i32.const 0 (; EXIT ;)))
      (func (export "within") (result i32)
        (local $rw i64)
        (local.set $rw (call $new-s))
        (i32.store (i32.const 8) (call $make (i32.const 5)))
        (drop (call $write-s (i32.wrap_i64 (i64.shr_u (local.get $rw) (i64.const 32)))
          (i32.const 8) (i32.const 1)))
        (call $read-s (i32.wrap_i64 (local.get $rw)) (i32.const 100) (i32.const 1))))
    (core instance $w (instantiate $W (with "" (instance
      (export "mem" (memory $memory "mem")) (export "make" (func $make))
      (export "new-s" (func $new-s)) (export "write-s" (func $write-s))
      (export "read-s" (func $read-s)) (export "ret-s" (func $ret-s))
      (export "new-f" (func $new-f)) (export "write-f" (func $write-f))
      (export "drop-f" (func $drop-f)) (export "ret-f" (func $ret-f))))))
    (func (export "stream") async (param "n" u32) (param "bogus" bool) (result $S)
      (canon lift (core func $w "stream") async (callback (func $w "cb"))))
    (func (export "future") async (result $F)
      (canon lift (core func $w "future") async (callback (func $w "cb"))))
    (func (export "within") (result u32) (canon lift (core func $w "within"))))

  ;; `run (n, chunk, bogus)`: reads the writer's `n` handles in a sync read of `chunk` items,
  ;; reads each handle's rep and drops it: the reps as decimal pairs in the low half, the
  ;; handles as decimal digits in the high half. `run-future`: the future's rep * 1000 plus
  ;; its handle.
  (component $Reader
    (import "o" (instance $o
      (export "r" (type $r (sub resource)))
      (export "value" (func (param "x" (borrow $r)) (result u32)))))
    (alias export $o "r" (type $r))
    (type $S (stream (own $r)))
    (type $F (future (own $r)))
    (import "stream" (func $stream async (param "n" u32) (param "bogus" bool) (result $S)))
    (import "future" (func $future async (result $F)))
    (core module $Memory (memory (export "mem") 1))
    (core instance $memory (instantiate $Memory))
    (core func $value (canon lower (func $o "value")))
    (core func $drop (canon resource.drop $r))
    (core func $stream (canon lower (func $stream)))
    (core func $future (canon lower (func $future)))
    (core func $read-s (canon stream.read $S (memory $memory "mem")))
    (core func $drop-s (canon stream.drop-readable $S))
    (core func $read-f (canon future.read $F (memory $memory "mem")))
    (core func $drop-f (canon future.drop-readable $F))
    (core module $R
      (import "" "mem" (memory 1))
      (import "" "value" (func $value (param i32) (result i32)))
      (import "" "drop" (func $drop (param i32)))
      (import "" "stream" (func $stream (param i32 i32) (result i32)))
      (import "" "future" (func $future (result i32)))
      (import "" "read-s" (func $read-s (param i32 i32 i32) (result i32)))
      (import "" "drop-s" (func $drop-s (param i32)))
      (import "" "read-f" (func $read-f (param i32 i32) (result i32)))
      (import "" "drop-f" (func $drop-f (param i32)))
      (func (export "run") (param $n i32) (param $chunk i32) (param $bogus i32) (result i64)
        (local $s i32) (local $got i32) (local $res i32) (local $i i32) (local $h i32)
        (local $reps i32) (local $handles i32)
        (local.set $s (call $stream (local.get $n) (local.get $bogus)))
        (block $done
          (loop $more
            (br_if $done (i32.ge_u (local.get $got) (local.get $n)))
            (local.set $res (call $read-s (local.get $s) (i32.const 200) (local.get $chunk)))
            ;; COMPLETED
            (if (i32.and (local.get $res) (i32.const 0xf)) (then unreachable))
            (local.set $res (i32.shr_u (local.get $res) (i32.const 4)))
            (local.set $i (i32.const 0))
            (block $read
              (loop $each
                (br_if $read (i32.ge_u (local.get $i) (local.get $res)))
                (local.set $h (i32.load (i32.add (i32.const 200)
                  (i32.shl (local.get $i) (i32.const 2)))))
                (local.set $reps (i32.add (i32.mul (local.get $reps) (i32.const 100))
                  (call $value (local.get $h))))
                (local.set $handles (i32.add (i32.mul (local.get $handles) (i32.const 10))
                  (local.get $h)))
                (call $drop (local.get $h))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br $each)))
            (local.set $got (i32.add (local.get $got) (local.get $res)))
            (br $more)))
        (call $drop-s (local.get $s))
        (i64.or (i64.shl (i64.extend_i32_u (local.get $handles)) (i64.const 32))
          (i64.extend_i32_u (local.get $reps))))
      (func (export "run-future") (result i32)
        (local $f i32) (local $h i32) (local $v i32)
        (local.set $f (call $future))
        (if (call $read-f (local.get $f) (i32.const 200)) (then unreachable))
        (local.set $h (i32.load (i32.const 200)))
        (local.set $v (call $value (local.get $h)))
        (call $drop (local.get $h))
        (call $drop-f (local.get $f))
        (i32.add (i32.mul (local.get $v) (i32.const 1000)) (local.get $h))))
    (core instance $r (instantiate $R (with "" (instance
      (export "mem" (memory $memory "mem")) (export "value" (func $value))
      (export "drop" (func $drop)) (export "stream" (func $stream))
      (export "future" (func $future)) (export "read-s" (func $read-s))
      (export "drop-s" (func $drop-s)) (export "read-f" (func $read-f))
      (export "drop-f" (func $drop-f))))))
    (func (export "run") async (param "n" u32) (param "chunk" u32) (param "bogus" bool)
      (result u64) (canon lift (core func $r "run")))
    (func (export "run-future") async (result u32) (canon lift (core func $r "run-future"))))

  (instance $owner (instantiate $Owner))
  (instance $writer (instantiate $Writer (with "o" (instance $owner))))
  (instance $reader (instantiate $Reader (with "o" (instance $owner))
    (with "stream" (func $writer "stream")) (with "future" (func $writer "future"))))
  (export "run" (func $reader "run"))
  (export "run-future" (func $reader "run-future"))
  (export "within" (func $writer "within")))

(component instance $h1 $Handles)
;; The reader's handles 2, 3, 4 (its stream end is 1) of reps 10, 11, 12; then handles freed
;; by the drops are reused, newest first.
(assert_return (invoke "run" (u32.const 3) (u32.const 4) (bool.const false))
  (u64.const 1005022448376))
(assert_return (invoke "run" (u32.const 1) (u32.const 1) (bool.const false))
  (u64.const 17179869194))
(assert_return (invoke "run-future") (u32.const 77004))
(assert_return (invoke "run" (u32.const 2) (u32.const 3) (bool.const false))
  (u64.const 184683594739))
(component instance $h2 $Handles)
(assert_trap (invoke "run" (u32.const 2) (u32.const 2) (bool.const true))
  "unknown handle index")
(component instance $h3 $Handles)
(assert_trap (invoke "within")
  "cannot read from and write to intra-component future/stream with non-numeric payload")
