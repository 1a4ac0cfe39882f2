;;! component_model_async = true
;;! component_model_more_async_builtins = true
;; A stream whose readable end the guest passes to a host function: the host reads what the
;; guest writes, async and sync writes, in chunks, until the guest drops its writable end;
;; then the host's call returns. Natively the guest's writes are the host's stream's. With
;; `consume-stream-slowly` the host takes each write only after yielding once, so an async
;; write is `BLOCKED` and its event comes later, and a sync write waits for the host. Also:
;; a write cancelled while the host has not taken it, writes after the host dropped its
;; readable end (`consume-stream-once`), and a write made before the readable end is passed.
(component definition $StreamToHost
  (import "host" (instance $host
    (export "consume-stream" (func async (param "s" (stream u8)) (result u64)))
    (export "consume-stream-slowly" (func async (param "s" (stream u8)) (result u64)))
    (export "consume-stream-once" (func async (param "s" (stream u8)) (result u64)))))
  (alias export $host "consume-stream" (func $consume))
  (alias export $host "consume-stream-slowly" (func $consume-slowly))
  (alias export $host "consume-stream-once" (func $consume-once))
  (type $s (stream u8))
  (core module $Memory (memory (export "mem") 1))
  (core instance $memory (instantiate $Memory))
  (core func $consume (canon lower (func $consume) async (memory $memory "mem")))
  (core func $consume-slowly (canon lower (func $consume-slowly) async (memory $memory "mem")))
  (core func $consume-once (canon lower (func $consume-once) async (memory $memory "mem")))
  (core func $cancel-w (canon stream.cancel-write $s))
  (core func $new (canon stream.new $s))
  (core func $write (canon stream.write $s async (memory $memory "mem")))
  (core func $write-sync (canon stream.write $s (memory $memory "mem")))
  (core func $drop-w (canon stream.drop-writable $s))
  (core func $new-set (canon waitable-set.new))
  (core func $join (canon waitable.join))
  (core func $wait (canon waitable-set.wait (memory $memory "mem")))
  (core func $drop (canon subtask.drop))
  (core module $M
    (import "" "mem" (memory 1))
    (import "" "consume" (func $consume (param i32 i32) (result i32)))
    (import "" "consume-slowly" (func $consume-slowly (param i32 i32) (result i32)))
    (import "" "consume-once" (func $consume-once (param i32 i32) (result i32)))
    (import "" "cancel-w" (func $cancel-w (param i32) (result i32)))
    (import "" "new" (func $new (result i64)))
    (import "" "write" (func $write (param i32 i32 i32) (result i32)))
    (import "" "write-sync" (func $write-sync (param i32 i32 i32) (result i32)))
    (import "" "drop-w" (func $drop-w (param i32)))
    (import "" "new-set" (func $new-set (result i32)))
    (import "" "join" (func $join (param i32 i32)))
    (import "" "wait" (func $wait (param i32 i32) (result i32)))
    (import "" "drop" (func $drop (param i32)))
    ;; Events of `set` until one for `waitable`: its payload (the event at 64).
    (func $event-of (param $set i32) (param $waitable i32) (result i32)
      (loop $next
        (drop (call $wait (local.get $set) (i32.const 64)))
        (br_if $next (i32.ne (i32.load (i32.const 64)) (local.get $waitable))))
      (i32.load (i32.const 68)))
    ;; Passes a new stream's readable end to `consume-stream`, writes `chunks` chunks of
    ;; `size` bytes (async unless `sync`; an async write that is `BLOCKED` waits for its
    ;; event), drops the writable end and waits for the host's result: that result, plus the
    ;; count of bytes written times 2^48, plus the count of async writes that were
    ;; `BLOCKED` times 2^60. With `slow`, `consume-stream-slowly`.
    (func (export "send") (param $chunks i32) (param $size i32) (param $sync i32)
      (param $slow i32) (result i64) (local $blocked i32)
      (local $ends i64) (local $w i32) (local $status i32) (local $set i32) (local $i i32)
      (local $r i32) (local $written i32) (local $subtask i32)
      (local.set $ends (call $new))
      (local.set $w (i32.wrap_i64 (i64.shr_u (local.get $ends) (i64.const 32))))
      (local.set $set (call $new-set))
      (local.set $status (if (result i32) (local.get $slow)
        (then (call $consume-slowly (i32.wrap_i64 (local.get $ends)) (i32.const 0)))
        (else (call $consume (i32.wrap_i64 (local.get $ends)) (i32.const 0)))))
      (local.set $subtask (i32.shr_u (local.get $status) (i32.const 4)))
      (block $sent
        (loop $chunk
          (br_if $sent (i32.eqz (local.get $chunks)))
          ;; The chunk's bytes: (index * 7 + chunks) & 0xff at 1024.
          (local.set $i (i32.const 0))
          (block $filled
            (loop $fill
              (br_if $filled (i32.ge_u (local.get $i) (local.get $size)))
              (i32.store8 offset=1024 (local.get $i)
                (i32.add (i32.mul (local.get $i) (i32.const 7)) (local.get $chunks)))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br $fill)))
          (if (local.get $sync)
            (then (local.set $r (call $write-sync (local.get $w) (i32.const 1024) (local.get $size))))
            (else
              (local.set $r (call $write (local.get $w) (i32.const 1024) (local.get $size)))
              (if (i32.eq (local.get $r) (i32.const -1))
                (then
                  (local.set $blocked (i32.add (local.get $blocked) (i32.const 1)))
                  (call $join (local.get $w) (local.get $set))
                  (local.set $r (call $event-of (local.get $set) (local.get $w)))
                  (call $join (local.get $w) (i32.const 0))))))
          (if (i32.and (local.get $r) (i32.const 0xf)) (then unreachable))
          (local.set $written (i32.add (local.get $written) (i32.shr_u (local.get $r) (i32.const 4))))
          (local.set $chunks (i32.sub (local.get $chunks) (i32.const 1)))
          (br $chunk)))
      (call $drop-w (local.get $w))
      (if (i32.ne (i32.and (local.get $status) (i32.const 0xf)) (i32.const 2))
        (then
          (call $join (local.get $subtask) (local.get $set))
          (loop $returned
            (br_if $returned (i32.ne (call $event-of (local.get $set) (local.get $subtask))
              (i32.const 2))))
          (call $drop (local.get $subtask))))
      (i64.add (i64.add (i64.load (i32.const 0))
        (i64.shl (i64.extend_i32_u (local.get $written)) (i64.const 48)))
        (i64.shl (i64.extend_i32_u (local.get $blocked)) (i64.const 60))))
    ;; Waits for the host's call of `status` to return, and drops its subtask: its result.
    (func $finish (param $status i32) (result i64) (local $set i32) (local $subtask i32)
      (if (i32.ne (i32.and (local.get $status) (i32.const 0xf)) (i32.const 2))
        (then
          (local.set $subtask (i32.shr_u (local.get $status) (i32.const 4)))
          (local.set $set (call $new-set))
          (call $join (local.get $subtask) (local.get $set))
          (loop $returned
            (br_if $returned (i32.ne (call $event-of (local.get $set) (local.get $subtask))
              (i32.const 2))))
          (call $drop (local.get $subtask))))
      (i64.load (i32.const 0)))
    ;; An async write of 8 bytes, waited for when `BLOCKED` (on a new set): its result.
    (func $write-8 (param $w i32) (result i32) (local $r i32) (local $set i32)
      (local.set $r (call $write (local.get $w) (i32.const 1024) (i32.const 8)))
      (if (i32.eq (local.get $r) (i32.const -1))
        (then
          (local.set $set (call $new-set))
          (call $join (local.get $w) (local.get $set))
          (local.set $r (call $event-of (local.get $set) (local.get $w)))
          (call $join (local.get $w) (i32.const 0))))
      (local.get $r))
    ;; `x`'s low 12 bits times 2^`shift`.
    (func $bits (param $x i32) (param $shift i64) (result i64)
      (i64.shl (i64.extend_i32_u (i32.and (local.get $x) (i32.const 0xfff))) (local.get $shift)))
    ;; An async write of 8 bytes to `consume-stream-slowly`, cancelled (sync) when `BLOCKED`:
    ;; the host's result, plus the cancel's result times 2^40, plus 2^62 when it was blocked.
    (func (export "cancel-write") (result i64)
      (local $ends i64) (local $w i32) (local $status i32) (local $r i32) (local $c i32)
      (local.set $ends (call $new))
      (local.set $w (i32.wrap_i64 (i64.shr_u (local.get $ends) (i64.const 32))))
      (local.set $status (call $consume-slowly (i32.wrap_i64 (local.get $ends)) (i32.const 0)))
      (local.set $r (call $write (local.get $w) (i32.const 1024) (i32.const 8)))
      (local.set $c (i32.const 0xfff))
      (if (i32.eq (local.get $r) (i32.const -1))
        (then (local.set $c (call $cancel-w (local.get $w)))))
      (call $drop-w (local.get $w))
      (i64.add (i64.add (call $finish (local.get $status)) (call $bits (local.get $c) (i64.const 40)))
        (i64.shl (i64.extend_i32_u (i32.eq (local.get $r) (i32.const -1))) (i64.const 62))))
    ;; A write of 8 bytes to `consume-stream-once`, and a second when `second`: the host's
    ;; result, plus the first's result times 2^40.
    (func (export "after-drop") (param $second i32) (result i64)
      (local $ends i64) (local $w i32) (local $status i32) (local $r1 i32)
      (local.set $ends (call $new))
      (local.set $w (i32.wrap_i64 (i64.shr_u (local.get $ends) (i64.const 32))))
      (local.set $status (call $consume-once (i32.wrap_i64 (local.get $ends)) (i32.const 0)))
      (local.set $r1 (call $write-8 (local.get $w)))
      (if (local.get $second) (then (drop (call $write-8 (local.get $w)))))
      (call $drop-w (local.get $w))
      (i64.add (call $finish (local.get $status)) (call $bits (local.get $r1) (i64.const 40))))
    ;; An async write of 16 bytes made before the readable end is passed to the host (slowly
    ;; or not), waited for: the host's result, plus the write's first result times 2^40 and
    ;; its event's times 2^52.
    (func (export "write-first") (param $slow i32) (result i64)
      (local $ends i64) (local $w i32) (local $status i32) (local $r i32) (local $e i32)
      (local $set i32)
      (local.set $ends (call $new))
      (local.set $w (i32.wrap_i64 (i64.shr_u (local.get $ends) (i64.const 32))))
      (local.set $r (call $write (local.get $w) (i32.const 1024) (i32.const 16)))
      (local.set $status (if (result i32) (local.get $slow)
        (then (call $consume-slowly (i32.wrap_i64 (local.get $ends)) (i32.const 0)))
        (else (call $consume (i32.wrap_i64 (local.get $ends)) (i32.const 0)))))
      (local.set $e (i32.const 0xfff))
      (if (i32.eq (local.get $r) (i32.const -1))
        (then
          (local.set $set (call $new-set))
          (call $join (local.get $w) (local.get $set))
          (local.set $e (call $event-of (local.get $set) (local.get $w)))
          (call $join (local.get $w) (i32.const 0))))
      (call $drop-w (local.get $w))
      (i64.add (i64.add (call $finish (local.get $status)) (call $bits (local.get $r) (i64.const 40)))
        (call $bits (local.get $e) (i64.const 52))))
    ;; A stream whose writable end is dropped before its readable end is passed: the
    ;; host's result, once its call has returned.
    (func (export "drop-first") (result i64)
      (local $ends i64)
      (local.set $ends (call $new))
      (call $drop-w (i32.wrap_i64 (i64.shr_u (local.get $ends) (i64.const 32))))
      (call $finish (call $consume (i32.wrap_i64 (local.get $ends)) (i32.const 0))))
    ;; The first async write's result, raw (the stream and the host's call are left).
    (func (export "first-write") (param $size i32) (param $slow i32) (result i32)
      (local $ends i64) (local $w i32)
      (local.set $ends (call $new))
      (local.set $w (i32.wrap_i64 (i64.shr_u (local.get $ends) (i64.const 32))))
      (drop (if (result i32) (local.get $slow)
        (then (call $consume-slowly (i32.wrap_i64 (local.get $ends)) (i32.const 0)))
        (else (call $consume (i32.wrap_i64 (local.get $ends)) (i32.const 0)))))
      (call $write (local.get $w) (i32.const 1024) (local.get $size))))
  (core instance $i (instantiate $M (with "" (instance
    (export "mem" (memory $memory "mem"))
    (export "consume" (func $consume))
    (export "consume-slowly" (func $consume-slowly))
    (export "consume-once" (func $consume-once))
    (export "cancel-w" (func $cancel-w))
    (export "new" (func $new))
    (export "write" (func $write))
    (export "write-sync" (func $write-sync))
    (export "drop-w" (func $drop-w))
    (export "new-set" (func $new-set))
    (export "join" (func $join))
    (export "wait" (func $wait))
    (export "drop" (func $drop))))))
  (func (export "send") async (param "chunks" u32) (param "size" u32) (param "sync" u32)
    (param "slow" u32) (result u64) (canon lift (core func $i "send")))
  (func (export "cancel-write") async (result u64) (canon lift (core func $i "cancel-write")))
  (func (export "after-drop") async (param "second" u32) (result u64)
    (canon lift (core func $i "after-drop")))
  (func (export "drop-first") async (result u64) (canon lift (core func $i "drop-first")))
  (func (export "write-first") async (param "slow" u32) (result u64)
    (canon lift (core func $i "write-first")))
  (func (export "first-write") async (param "size" u32) (param "slow" u32) (result u32)
    (canon lift (core func $i "first-write"))))

(component instance $a $StreamToHost)
(assert_return (invoke "send" (u32.const 1) (u32.const 16) (u32.const 0) (u32.const 0)) (u64.const 4503668346848088))
(assert_return (invoke "send" (u32.const 4) (u32.const 4096) (u32.const 0) (u32.const 0)) (u64.const 4611756387173654528))
(assert_return (invoke "send" (u32.const 3) (u32.const 100) (u32.const 1) (u32.const 0)) (u64.const 84443781503421030))
(assert_return (invoke "send" (u32.const 0) (u32.const 0) (u32.const 0) (u32.const 0)) (u64.const 0))
(assert_return (invoke "send" (u32.const 2) (u32.const 0) (u32.const 0) (u32.const 0)) (u64.const 0))
(assert_return (invoke "first-write" (u32.const 8) (u32.const 0)) (u32.const 128))
(assert_return (invoke "send" (u32.const 2) (u32.const 8) (u32.const 1) (u32.const 0)) (u64.const 4503668346847648))
;; The host takes each write after yielding: async writes are `BLOCKED`, sync ones wait.
(assert_return (invoke "send" (u32.const 1) (u32.const 16) (u32.const 0) (u32.const 1)) (u64.const 1157425172953695064))
(assert_return (invoke "send" (u32.const 4) (u32.const 4096) (u32.const 0) (u32.const 1)) (u64.const 9223442405601042432))
(assert_return (invoke "send" (u32.const 3) (u32.const 100) (u32.const 1) (u32.const 1)) (u64.const 84443781503421030))
(assert_return (invoke "send" (u32.const 2) (u32.const 0) (u32.const 0) (u32.const 1)) (u64.const 2305843009213693952))
(assert_return (invoke "first-write" (u32.const 8) (u32.const 1)) (u32.const 4294967295))
(assert_return (invoke "send" (u32.const 5) (u32.const 33) (u32.const 0) (u32.const 1)) (u64.const 5811051602861115935))
;; A write the host has not taken, cancelled; a write the host takes as it drops its end,
;; and one after that.
(assert_return (invoke "cancel-write") (u64.const 4611826790275481804))
(assert_return (invoke "after-drop" (u32.const 0)) (u64.const 141871359721676))
(assert_trap (invoke "after-drop" (u32.const 1)) "cannot write after being notified that the readable end dropped")

;; A write made before the readable end is passed; a writable end dropped before.
(component instance $b $StreamToHost)
(assert_return (invoke "drop-first") (u64.const 0))
(assert_return (invoke "write-first" (u32.const 0)) (u64.const 1157424073442066432))
(assert_return (invoke "write-first" (u32.const 1)) (u64.const 1157424073442066432))

;; Streams the host passes in (a host function's result): the guest reads them, async and
;; sync, in reads of a given size, until the host's end is dropped; with `slow`, the host
;; answers each read after yielding once (an async read is `BLOCKED` first). Also a read
;; cancelled while the host has not answered it, and the readable end dropped early.
(component definition $StreamFromHost
  (import "host" (instance $host
    (export "produce-stream" (func async (param "n" u32) (param "chunk" u32) (param "slow" bool)
      (result (stream u8))))))
  (alias export $host "produce-stream" (func $produce))
  (type $s (stream u8))
  (core module $Memory (memory (export "mem") 1))
  (core instance $memory (instantiate $Memory))
  (core func $produce (canon lower (func $produce) async (memory $memory "mem")))
  (core func $read (canon stream.read $s async (memory $memory "mem")))
  (core func $read-sync (canon stream.read $s (memory $memory "mem")))
  (core func $cancel-r (canon stream.cancel-read $s))
  (core func $drop-r (canon stream.drop-readable $s))
  (core func $new-set (canon waitable-set.new))
  (core func $join (canon waitable.join))
  (core func $wait (canon waitable-set.wait (memory $memory "mem")))
  (core func $drop (canon subtask.drop))
  (core module $M
    (import "" "mem" (memory 1))
    (import "" "produce" (func $produce (param i32 i32 i32 i32) (result i32)))
    (import "" "read" (func $read (param i32 i32 i32) (result i32)))
    (import "" "read-sync" (func $read-sync (param i32 i32 i32) (result i32)))
    (import "" "cancel-r" (func $cancel-r (param i32) (result i32)))
    (import "" "drop-r" (func $drop-r (param i32)))
    (import "" "new-set" (func $new-set (result i32)))
    (import "" "join" (func $join (param i32 i32)))
    (import "" "wait" (func $wait (param i32 i32) (result i32)))
    (import "" "drop" (func $drop (param i32)))
    ;; Events of `set` until one for `waitable`: its payload (the event at 64).
    (func $event-of (param $set i32) (param $waitable i32) (result i32)
      (loop $next
        (drop (call $wait (local.get $set) (i32.const 64)))
        (br_if $next (i32.ne (i32.load (i32.const 64)) (local.get $waitable))))
      (i32.load (i32.const 68)))
    ;; The readable end `produce-stream (n, chunk, slow)` returns (at 0), once its call has
    ;; returned.
    (func $open (param $n i32) (param $chunk i32) (param $slow i32) (result i32)
      (local $status i32) (local $set i32) (local $subtask i32)
      (local.set $status (call $produce (local.get $n) (local.get $chunk) (local.get $slow)
        (i32.const 0)))
      (if (i32.ne (i32.and (local.get $status) (i32.const 0xf)) (i32.const 2))
        (then
          (local.set $subtask (i32.shr_u (local.get $status) (i32.const 4)))
          (local.set $set (call $new-set))
          (call $join (local.get $subtask) (local.get $set))
          (loop $returned
            (br_if $returned (i32.ne (call $event-of (local.get $set) (local.get $subtask))
              (i32.const 2))))
          (call $drop (local.get $subtask))))
      (i32.load (i32.const 0)))
    ;; Reads the stream of `produce-stream (n, chunk, slow)` `size` bytes at a time (async
    ;; unless `sync`; a `BLOCKED` read waits for its event) until it ends: the sum of the
    ;; bytes, plus their count times 2^32, the count of reads times 2^44 and of `BLOCKED`
    ;; ones times 2^54.
    (func (export "receive") (param $n i32) (param $chunk i32) (param $slow i32) (param $size i32)
      (param $sync i32) (result i64)
      (local $r i32) (local $rs i32) (local $set i32) (local $res i32) (local $i i32)
      (local $sum i64) (local $len i64) (local $reads i64) (local $blocked i64)
      (local.set $r (call $open (local.get $n) (local.get $chunk) (local.get $slow)))
      (local.set $set (call $new-set))
      (block $ended
        (loop $more
          (if (local.get $sync)
            (then (local.set $res (call $read-sync (local.get $r) (i32.const 1024) (local.get $size))))
            (else
              (local.set $res (call $read (local.get $r) (i32.const 1024) (local.get $size)))
              (if (i32.eq (local.get $res) (i32.const -1))
                (then
                  (local.set $blocked (i64.add (local.get $blocked) (i64.const 1)))
                  (call $join (local.get $r) (local.get $set))
                  (local.set $res (call $event-of (local.get $set) (local.get $r)))
                  (call $join (local.get $r) (i32.const 0))))))
          (local.set $reads (i64.add (local.get $reads) (i64.const 1)))
          (local.set $i (i32.const 0))
          (block $summed
            (loop $each
              (br_if $summed (i32.ge_u (local.get $i) (i32.shr_u (local.get $res) (i32.const 4))))
              (local.set $sum (i64.add (local.get $sum)
                (i64.load8_u offset=1024 (local.get $i))))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br $each)))
          (local.set $len (i64.add (local.get $len)
            (i64.extend_i32_u (i32.shr_u (local.get $res) (i32.const 4)))))
          (br_if $ended (i32.eq (i32.and (local.get $res) (i32.const 0xf)) (i32.const 1)))
          (br_if $more (i64.lt_u (local.get $reads) (i64.const 1000)))))
      (call $drop-r (local.get $r))
      (i64.add (i64.add (local.get $sum) (i64.shl (local.get $len) (i64.const 32)))
        (i64.add (i64.shl (local.get $reads) (i64.const 44))
          (i64.shl (local.get $blocked) (i64.const 54)))))
    ;; An async read of 8 bytes of a slow stream, cancelled (sync) when `BLOCKED`, then the
    ;; readable end dropped: the read's result times 2^16 plus the cancel's (0xffff when the
    ;; read was not `BLOCKED`), plus the first cancelled byte times 2^32.
    (func (export "cancel-read") (result i64)
      (local $r i32) (local $res i32) (local $c i32)
      (local.set $r (call $open (i32.const 20) (i32.const 4) (i32.const 1)))
      (i32.store8 (i32.const 1024) (i32.const 0xee))
      (local.set $res (call $read (local.get $r) (i32.const 1024) (i32.const 8)))
      (local.set $c (i32.const 0xffff))
      (if (i32.eq (local.get $res) (i32.const -1))
        (then (local.set $c (call $cancel-r (local.get $r)))))
      (call $drop-r (local.get $r))
      (i64.or (i64.extend_i32_u (i32.or (i32.shl (i32.and (local.get $res) (i32.const 0xffff))
        (i32.const 16)) (i32.and (local.get $c) (i32.const 0xffff))))
        (i64.shl (i64.load8_u (i32.const 1024)) (i64.const 32))))
    ;; One read of `size` bytes, then the readable end dropped: the read's result.
    (func (export "read-once") (param $size i32) (result i32)
      (local $r i32) (local $res i32) (local $set i32)
      (local.set $r (call $open (i32.const 100) (i32.const 10) (i32.const 0)))
      (local.set $res (call $read (local.get $r) (i32.const 1024) (local.get $size)))
      (if (i32.eq (local.get $res) (i32.const -1))
        (then
          (local.set $set (call $new-set))
          (call $join (local.get $r) (local.get $set))
          (local.set $res (call $event-of (local.get $set) (local.get $r)))
          (call $join (local.get $r) (i32.const 0))))
      (call $drop-r (local.get $r))
      (local.get $res)))
  (core instance $i (instantiate $M (with "" (instance
    (export "mem" (memory $memory "mem"))
    (export "produce" (func $produce))
    (export "read" (func $read))
    (export "read-sync" (func $read-sync))
    (export "cancel-r" (func $cancel-r))
    (export "drop-r" (func $drop-r))
    (export "new-set" (func $new-set))
    (export "join" (func $join))
    (export "wait" (func $wait))
    (export "drop" (func $drop))))))
  (func (export "receive") async (param "n" u32) (param "chunk" u32) (param "slow" u32)
    (param "size" u32) (param "sync" u32) (result u64) (canon lift (core func $i "receive")))
  (func (export "cancel-read") async (result u64) (canon lift (core func $i "cancel-read")))
  (func (export "read-once") async (param "size" u32) (result u32)
    (canon lift (core func $i "read-once"))))

(component instance $c $StreamFromHost)
(assert_return (invoke "receive" (u32.const 10) (u32.const 100) (u32.const 0) (u32.const 16) (u32.const 0)) (u64.const 35227321761937))
(assert_return (invoke "receive" (u32.const 100) (u32.const 7) (u32.const 0) (u32.const 16) (u32.const 0)) (u64.const 281904473451366))
(assert_return (invoke "receive" (u32.const 100) (u32.const 30) (u32.const 0) (u32.const 16) (u32.const 1)) (u64.const 141166985096038))
(assert_return (invoke "receive" (u32.const 0) (u32.const 1) (u32.const 0) (u32.const 16) (u32.const 0)) (u64.const 17592186044416))
(assert_return (invoke "receive" (u32.const 50) (u32.const 8) (u32.const 1) (u32.const 16) (u32.const 0)) (u64.const 126241741803097741))
(assert_return (invoke "receive" (u32.const 50) (u32.const 8) (u32.const 1) (u32.const 5) (u32.const 1)) (u64.const 246505352990349))
(assert_return (invoke "receive" (u32.const 4000) (u32.const 4096) (u32.const 0) (u32.const 1000) (u32.const 0)) (u64.const 105140799914800))
(assert_return (invoke "cancel-read") (u64.const 8589869120))
(assert_return (invoke "read-once" (u32.const 4)) (u32.const 64))
(assert_return (invoke "receive" (u32.const 9) (u32.const 2) (u32.const 1) (u32.const 16) (u32.const 0)) (u64.const 90177584318382197))
