;; A stream between two components: the producer writes 1 MiB in 4 KiB chunks into a
;; `stream<u8>` from its memory, the consumer reads it in 4 KiB reads into its own memory
;; and sums one word of each chunk.
;;
;; `run` (an `async` function lifted sync, so it may block) calls the producer's `make`
;; (`async`, a callback lift), which returns the stream's readable end at once and goes on:
;; it writes a chunk, waits for the write's event when the reader is not there yet, and
;; writes the next, until 1 MiB is written; then it drops its end. Each of the consumer's
;; sync reads either meets a waiting write or waits itself, which runs the producer.
(component
  (component $Producer
    (type $S8 (stream u8))
    (core module $Memory (memory (export "mem") 1))
    (core instance $memory (instantiate $Memory))
    (core func $new (canon stream.new $S8))
    (core func $write (canon stream.write $S8 async (memory $memory "mem")))
    (core func $drop-w (canon stream.drop-writable $S8))
    (core func $ret (canon task.return (result $S8)))
    (core func $new-set (canon waitable-set.new))
    (core func $join (canon waitable.join))
    (core module $P
      (import "" "mem" (memory 1))
      (import "" "new" (func $new (result i64)))
      (import "" "write" (func $write (param i32 i32 i32) (result i32)))
      (import "" "drop-w" (func $drop-w (param i32)))
      (import "" "ret" (func $ret (param i32)))
      (import "" "new-set" (func $new-set (result i32)))
      (import "" "join" (func $join (param i32 i32)))
      ;; The writable end, its set, and the bytes written so far.
      (global $w (mut i32) (i32.const 0))
      (global $set (mut i32) (i32.const 0))
      (global $sent (mut i32) (i32.const 0))
      ;; Writes chunks until one waits (`WAIT` on the set) or 1 MiB is written (the end is
      ;; dropped: `EXIT`). A chunk's first word is its offset.
      (func $pump (result i32)
        (local $r i32)
        (loop $next
          (if (i32.ge_u (global.get $sent) (i32.const 0x10_0000))
            (then
              (call $join (global.get $w) (i32.const 0))
              (call $drop-w (global.get $w))
              (return (i32.const 0 (; EXIT ;)))))
          (i32.store (i32.const 0) (global.get $sent))
          (local.set $r (call $write (global.get $w) (i32.const 0) (i32.const 4096)))
          (if (i32.eq (local.get $r) (i32.const -1))
            (then (return (i32.or (i32.const 2 (; WAIT ;))
              (i32.shl (global.get $set) (i32.const 4))))))
          (global.set $sent (i32.add (global.get $sent) (i32.shr_u (local.get $r) (i32.const 4))))
          (br $next))
        unreachable)
      (func (export "make") (result i32)
        (local $rw i64)
        (local.set $rw (call $new))
        (global.set $w (i32.wrap_i64 (i64.shr_u (local.get $rw) (i64.const 32))))
        (global.set $sent (i32.const 0))
        (global.set $set (call $new-set))
        (call $join (global.get $w) (global.get $set))
        (call $ret (i32.wrap_i64 (local.get $rw)))
        (call $pump))
      ;; The write's event (`STREAM_WRITE`): count what it took, and go on.
      (func (export "cb") (param $code i32) (param $index i32) (param $payload i32) (result i32)
        (global.set $sent (i32.add (global.get $sent) (i32.shr_u (local.get $payload) (i32.const 4))))
        (call $pump)))
    (core instance $p (instantiate $P (with "" (instance
      (export "mem" (memory $memory "mem"))
      (export "new" (func $new))
      (export "write" (func $write))
      (export "drop-w" (func $drop-w))
      (export "ret" (func $ret))
      (export "new-set" (func $new-set))
      (export "join" (func $join))))))
    (func (export "make") async (result (stream u8))
      (canon lift (core func $p "make") async (callback (func $p "cb")))))

  (component $Consumer
    (import "make" (func $make async (result (stream u8))))
    (type $S8 (stream u8))
    (core module $Memory (memory (export "mem") 1))
    (core instance $memory (instantiate $Memory))
    (core func $make (canon lower (func $make)))
    (core func $read (canon stream.read $S8 (memory $memory "mem")))
    (core func $drop-r (canon stream.drop-readable $S8))
    (core module $C
      (import "" "mem" (memory 1))
      (import "" "make" (func $make (result i32)))
      (import "" "read" (func $read (param i32 i32 i32) (result i32)))
      (import "" "drop-r" (func $drop-r (param i32)))
      ;; Reads the whole stream: the bytes received plus the sum of each chunk's first word.
      (func (export "run") (result i32)
        (local $h i32) (local $r i32) (local $total i32) (local $sum i32)
        (local.set $h (call $make))
        (loop $next
          (local.set $r (call $read (local.get $h) (i32.const 0) (i32.const 4096)))
          (local.set $total (i32.add (local.get $total) (i32.shr_u (local.get $r) (i32.const 4))))
          (local.set $sum (i32.add (local.get $sum) (i32.load (i32.const 0))))
          (br_if $next (i32.eqz (i32.and (local.get $r) (i32.const 15)))))
        (call $drop-r (local.get $h))
        (i32.add (local.get $total) (local.get $sum))))
    (core instance $c (instantiate $C (with "" (instance
      (export "mem" (memory $memory "mem"))
      (export "make" (func $make))
      (export "read" (func $read))
      (export "drop-r" (func $drop-r))))))
    (func (export "run") async (result u32) (canon lift (core func $c "run"))))

  (instance $p (instantiate $Producer))
  (instance $c (instantiate $Consumer (with "make" (func $p "make"))))
  (export "stream" (func $c "run")))
