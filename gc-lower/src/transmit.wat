;; Streams and futures between guest tasks in wasm: what wasmtime's `{stream,future}.new`,
;; `.read`, `.write`, `.cancel-read`, `.cancel-write`, `.drop-readable`, `.drop-writable` and
;; FACT's `stream-transfer`/`future-transfer` do
;; (`wasmtime/src/runtime/component/concurrent/futures_and_streams.rs`: `guest_new`,
;; `guest_read`, `guest_write`, `cancel_read`, `cancel_write`, `host_drop_reader`,
;; `host_drop_writer`, `lift_index_to_transmit`, `update_event`, `on_delivery`), with the
;; same results, events and traps. wasmtime calls the two together a *transmit*.
;;
;; Every operation takes `$kind`: 0 a future, 1 a stream. A transmit's two ends are slots of
;; the handle tables (`resources.wat`: kinds 5 and 6 a future's readable and writable end,
;; 7 and 8 a stream's; the end's local state and event in word 3). The transmit itself is a
;; record here, 16 i32s at `16 * id`, whose words come in pairs by *side* (0 the readable
;; end, 1 the writable end):
;;   0, 1 the side's state (0 open, 1 an operation is pending, 2 the end is dropped); word 0
;;     is the next free record while the record is free;
;;   2 whether a future's value has been delivered (or refused: wasmtime's `done`);
;;   3-6 the readable side: the pending read's site and address, the end's component
;;     instance and handle; 7-10 the same for the writable side;
;;   11, 12 the pending read's and write's remaining count (items);
;;   13, 14 the count of the event awaiting delivery at the readable and writable end;
;;   15 the size of one item in bytes.
;; A stream or future whose readable end crosses the host boundary is *bridged*
;; (`crate::host::HostTransmit`): one side of its record is the host's. When the guest passes
;; the readable end out, the readable side is a stream or future of the output's own instance
;; whose readable end the host got; when the host passes one in, the writable side is the
;; host's, read with the host's intrinsics. The host's side `b` has word `5 + 4b` -1, word
;; `6 + 4b` the bridge's end (in the output's instance), word `3 + 4b` its host stream `k`,
;; word `4 + 4b` and word `11 + b` the address and size (bytes) of the block in the exchange
;; memory that items are copied through. The guest's reads or writes go to the bridge
;; (`$host_copy`); one the host has not made at once is pending until the host's event
;; (`host-copied`).
;; A site is a `read` or `write` built-in: its memory and payload layout, which the imported
;; `copy` dispatches on. A count is below 2^28 (wasmtime's `ItemCount`); a future's is 1.
;;
;; Bound by the lowering: type 0 is runtime-structs' HANDLES, type 1 HANDLE_TABLE.
(module
  (type $handles (array (mut i32)))
  (type $table (struct (field $slots (mut (ref $handles))) (field $next (mut i32))
                       (field $len (mut i32))))

  ;; Component instance -> its handle table; (transmit type, kind) -> its component instance.
  (import "env" "table-of" (func $table_of (param i32) (result (ref $table))))
  (import "env" "transmit-instance" (func $transmit_instance (param i32 i32) (result i32)))
  ;; (write site, write address, read site, read address, count): moves `count` items.
  (import "env" "copy" (func $copy (param i32 i32 i32 i32 i32)))
  ;; The resources template's slot operations.
  (import "env" "transmit-slot" (func $end_slot (param (ref $table) i32 i32 i32) (result i32)))
  (import "env" "slot" (func $slot (param (ref $table) i32) (result i32)))
  (import "env" "word" (func $word (param (ref $table) i32 i32) (result i32)))
  (import "env" "set-waitable-word" (func $set_waitable_word (param (ref $table) i32 i32 i32)))
  (import "env" "mark-ready" (func $mark_ready (param (ref $table) i32)))
  (import "env" "insert" (func $insert (param (ref $table) i32 i32 i32 i32) (result i32)))
  (import "env" "remove" (func $remove (param (ref $table) i32 i32)))
  (import "env" "end-has-event" (func $has_event (param (ref $table) i32) (result i32)))
  (import "env" "take-end-event" (func $take_event (param (ref $table) i32) (result i32)))
  ;; The scheduler's: one step of the queued tasks for a caller that blocks (trapping when none
  ;; can run), and the count of blocked callers around it.
  (import "env" "blocked-step" (func $blocked_step))
  (import "env" "block" (func $block (param i32)))
  ;; Called before a sync read or write waits (the limit inside an `async`-lowered callee's
  ;; first call).
  (import "env" "before-wait" (func $before_wait))
  ;; The bridges to the host's streams and futures: the bridged type `k` of a host-side
  ;; table type of a kind passed out (0) or in (1) (-1: none), its site (in the exchange
  ;; memory), item size and kind, and the exchange module's `hs-new`, `hs-copy`,
  ;; `hs-cancel`, `hs-drop`, `hs-alloc`, `hs-free` (`crate::exchange`).
  (import "env" "host-transmit" (func $host_transmit (param i32 i32 i32) (result i32)))
  (import "env" "host-site" (func $host_site (param i32) (result i32)))
  (import "env" "host-size" (func $host_size (param i32) (result i32)))
  (import "env" "host-kind" (func $host_kind (param i32) (result i32)))
  (import "env" "hs-new" (func $hs_new (param i32) (result i64)))
  (import "env" "hs-copy" (func $hs_copy (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "hs-cancel" (func $hs_cancel (param i32 i32 i32) (result i32)))
  (import "env" "hs-drop" (func $hs_drop (param i32 i32)))
  (import "env" "hs-alloc" (func $hs_alloc (param i32) (result i32)))
  (import "env" "hs-free" (func $hs_free (param i32)))
  (import "env" "records" (global $records (mut (ref $handles))))
  (import "env" "num-records" (global $num (mut i32)))
  (import "env" "free-record" (global $free (mut i32)))

  ;; The traps, named for wasmtime's messages.
  (func $concurrent
    (export "trap:cannot-have-concurrent-operations-active-on-a-future-or-stream") unreachable)
  (func $write_dropped
    (export "trap:cannot-write-after-being-notified-that-the-readable-end-dropped") unreachable)
  (func $write_done
    (export "trap:cannot-write-to-future-after-previous-write-succeeded-or-readable-end-dropped")
    unreachable)
  (func $read_dropped
    (export "trap:cannot-read-after-being-notified-that-the-writable-end-dropped") unreachable)
  (func $read_done (export "trap:cannot-read-from-future-after-previous-read-succeeded")
    unreachable)
  (func $sync_and_async
    (export "trap:waitable-cannot-be-used-synchronously-while-added-to-a-waitable-set")
    unreachable)
  (func $no_write (export "trap:stream-or-future-write-cancelled-when-no-write-is-pending")
    unreachable)
  (func $no_read (export "trap:stream-or-future-read-cancelled-when-no-read-is-pending")
    unreachable)
  (func $read_end_passed (export "trap:passed-read-end-to-cancel-write") unreachable)
  (func $write_end_passed (export "trap:passed-write-end-to-cancel-read") unreachable)
  (func $not_readable_future (export "trap:handle-is-not-a-readable-end-of-a-future")
    unreachable)
  (func $not_readable_stream (export "trap:handle-is-not-a-readable-end-of-a-stream")
    unreachable)
  (func $busy_future (export "trap:cannot-remove-busy-future") unreachable)
  (func $busy_stream (export "trap:cannot-remove-busy-stream") unreachable)
  (func $drop_busy_future (export "trap:cannot-drop-busy-future") unreachable)
  (func $drop_busy_stream (export "trap:cannot-drop-busy-stream") unreachable)
  (func $read_end_dropped_future (export "trap:passed-read-end-to-future-drop-writable")
    unreachable)
  (func $read_end_dropped_stream (export "trap:passed-read-end-to-stream-drop-writable")
    unreachable)
  (func $must_write (export "trap:cannot-drop-future-write-end-without-first-writing-a-value")
    unreachable)
  (func $lift_dropped_future
    (export "trap:cannot-lift-future-after-being-notified-that-the-writable-end-dropped")
    unreachable)
  (func $lift_dropped_stream
    (export "trap:cannot-lift-stream-after-being-notified-that-the-writable-end-dropped")
    unreachable)
  (func $lift_in_set_future (export "trap:cannot-lift-future-while-its-in-a-waitable-set")
    unreachable)
  (func $lift_in_set_stream (export "trap:cannot-lift-stream-while-its-in-a-waitable-set")
    unreachable)
  (func $lift_done (export "trap:cannot-lift-future-after-previous-read-succeeded") unreachable)
  ;; An end crossing the host boundary that is not bridged: one whose items hold strings,
  ;; lists or handles, or one that is not in a host import's type.
  (func $at_host (export "trap:unsupported-stream-or-future-at-the-host-boundary") unreachable)
  (func $too_many (export "trap:cannot-allocate-another-future-or-stream") unreachable)

  (func $get (param $id i32) (param $k i32) (result i32)
    (array.get $handles (global.get $records)
      (i32.add (i32.shl (local.get $id) (i32.const 4)) (local.get $k))))

  (func $set (param $id i32) (param $k i32) (param $v i32)
    (array.set $handles (global.get $records)
      (i32.add (i32.shl (local.get $id) (i32.const 4)) (local.get $k)) (local.get $v)))

  ;; A new record, zeroed (both ends open, nothing delivered).
  (func $alloc (result i32)
    (local $id i32) (local $a (ref $handles)) (local $i i32)
    (if (i32.ge_s (global.get $free) (i32.const 0))
      (then
        (local.set $id (global.get $free))
        (global.set $free (call $get (local.get $id) (i32.const 0))))
      (else
        (local.set $id (global.get $num))
        (if (i32.ge_u (local.get $id) (i32.const 0x0800_0000)) (then (call $too_many)))
        (global.set $num (i32.add (local.get $id) (i32.const 1)))
        (if (i32.gt_u (i32.shl (global.get $num) (i32.const 4))
              (array.len (global.get $records)))
          (then
            (local.set $a (array.new_default $handles
              (i32.shl (array.len (global.get $records)) (i32.const 1))))
            (array.copy $handles $handles (local.get $a) (i32.const 0) (global.get $records)
              (i32.const 0) (array.len (global.get $records)))
            (global.set $records (local.get $a))))))
    (loop $clear
      (call $set (local.get $id) (local.get $i) (i32.const 0))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $clear (i32.lt_u (local.get $i) (i32.const 16))))
    (local.get $id))

  ;; Both ends are gone: the record is freed.
  (func $release (param $id i32)
    (call $set (local.get $id) (i32.const 0) (global.get $free))
    (global.set $free (local.get $id)))

  ;; The end of `side` of record `x`: its table and its slot.
  (func $end_table (param $x i32) (param $side i32) (result (ref $table))
    (call $table_of (call $get (local.get $x) (i32.add (i32.const 5) (i32.shl (local.get $side)
      (i32.const 2))))))
  (func $end_handle (param $x i32) (param $side i32) (result i32)
    (call $get (local.get $x) (i32.add (i32.const 6) (i32.shl (local.get $side) (i32.const 2)))))

  ;; Gives the end of `side` of record `x` an event: copy result `status` with `count` items,
  ;; ending its pending operation when `ends`. Without `keep` the event replaces any awaiting
  ;; one (wasmtime's `set_event`). With `keep` (a drop, `status` 1 and `count` 0) an awaiting
  ;; event stays (`update_event`): a future's as it was, a stream's with the new status, its
  ;; own count, and ending the operation if either does. Either way the end is ready again
  ;; (`mark-ready`).
  (func $event (param $x i32) (param $side i32) (param $status i32) (param $count i32)
    (param $ends i32) (param $keep i32) (param $kind i32)
    (local $t (ref $table)) (local $s i32) (local $w3 i32)
    (local.set $t (call $end_table (local.get $x) (local.get $side)))
    (local.set $s (call $slot (local.get $t) (call $end_handle (local.get $x) (local.get $side))))
    (local.set $w3 (call $word (local.get $t) (local.get $s) (i32.const 3)))
    (if (i32.and (local.get $keep) (i32.ne (i32.and (local.get $w3) (i32.const 16)) (i32.const 0)))
      (then
        ;; Kept as it was, and set again all the same (one more waiter wakes).
        (if (i32.eqz (local.get $kind))
          (then (call $mark_ready (local.get $t) (local.get $s)) (return)))
        (local.set $ends (i32.or (local.get $ends)
          (i32.ne (i32.and (local.get $w3) (i32.const 4)) (i32.const 0))))
        (local.set $count (call $get (local.get $x) (i32.add (i32.const 13) (local.get $side))))))
    (call $set (local.get $x) (i32.add (i32.const 13) (local.get $side)) (local.get $count))
    (call $set_waitable_word (local.get $t) (local.get $s) (i32.const 3)
      (i32.or (i32.and (local.get $w3) (i32.const -245))
        (i32.or (i32.const 16)
          (i32.or (i32.shl (local.get $status) (i32.const 5))
            (i32.shl (local.get $ends) (i32.const 2))))))
    (call $mark_ready (local.get $t) (local.get $s)))

  ;; The count of a completed event awaiting delivery at the end of `side` of record `x`,
  ;; which is taken (0 when there is none); wasmtime adds it to the next completion's.
  (func $take_completed (param $x i32) (param $side i32) (result i32)
    (local $t (ref $table)) (local $s i32) (local $w3 i32)
    (local.set $t (call $end_table (local.get $x) (local.get $side)))
    (local.set $s (call $slot (local.get $t) (call $end_handle (local.get $x) (local.get $side))))
    (local.set $w3 (call $word (local.get $t) (local.get $s) (i32.const 3)))
    (if (i32.eqz (i32.and (local.get $w3) (i32.const 16))) (then (return (i32.const 0))))
    (call $set_waitable_word (local.get $t) (local.get $s) (i32.const 3)
      (i32.and (local.get $w3) (i32.const -245)))
    (if (result i32) (i32.and (local.get $w3) (i32.const 0xe0))
      (then (i32.const 0))
      (else (call $get (local.get $x) (i32.add (i32.const 13) (local.get $side))))))

  ;; An event of the end of `side` of record `x` is delivered (`resources.wat` calls this for
  ;; a stream's ends): its count, and when it ends the end's operation, the side is open again
  ;; (wasmtime's `on_delivery`).
  (func (export "delivered") (param $x i32) (param $side i32) (param $ends i32) (result i32)
    (if (local.get $ends) (then (call $set (local.get $x) (local.get $side) (i32.const 0))))
    (call $get (local.get $x) (i32.add (i32.const 13) (local.get $side))))

  ;; Whether side `b` of record `x` is the host's (bridged).
  (func $bridged (param $x i32) (param $b i32) (result i32)
    (i32.eq (call $get (local.get $x) (i32.add (i32.const 5) (i32.shl (local.get $b) (i32.const 2))))
      (i32.const -1)))

  ;; A copy of `count` items at `addr` of site `site` on side `g` of bridged record `x` (the
  ;; guest's; the other side is the host's): a write's items are copied to the bridge's block
  ;; and written to the bridge, a read reads the bridge into the block and its items are
  ;; copied on. The host's copy result, or -1 (`BLOCKED`: the host's event comes later,
  ;; `host-copied`). A result of `DROPPED`: the host dropped its end.
  (func $host_copy (param $x i32) (param $g i32) (param $site i32) (param $addr i32)
    (param $count i32) (result i32)
    (local $b i32) (local $k i32) (local $bytes i32) (local $buf i32) (local $r i32)
    (local.set $b (i32.sub (i32.const 1) (local.get $g)))
    (local.set $k (call $get (local.get $x) (i32.add (i32.const 3) (i32.shl (local.get $b) (i32.const 2)))))
    (local.set $bytes (i32.mul (local.get $count) (call $get (local.get $x) (i32.const 15))))
    (local.set $buf (call $get (local.get $x) (i32.add (i32.const 4) (i32.shl (local.get $b) (i32.const 2)))))
    (if (i32.gt_u (local.get $bytes) (call $get (local.get $x) (i32.add (i32.const 11) (local.get $b))))
      (then
        (call $hs_free (local.get $buf))
        (local.set $buf (call $hs_alloc (local.get $bytes)))
        (call $set (local.get $x) (i32.add (i32.const 4) (i32.shl (local.get $b) (i32.const 2)))
          (local.get $buf))
        (call $set (local.get $x) (i32.add (i32.const 11) (local.get $b)) (local.get $bytes))))
    (if (local.get $g)
      (then
        (call $copy (local.get $site) (local.get $addr) (call $host_site (local.get $k))
          (local.get $buf) (local.get $count))))
    (local.set $r (call $hs_copy (local.get $k) (local.get $x)
      (call $get (local.get $x) (i32.add (i32.const 6) (i32.shl (local.get $b) (i32.const 2))))
      (local.get $buf) (local.get $count)))
    (if (i32.ne (local.get $r) (i32.const -1))
      (then
        ;; Only what moved is copied (a future's copy moves its value whatever the count).
        (if (i32.and (i32.eqz (local.get $g))
              (i32.ne (call $items (local.get $k) (local.get $r)) (i32.const 0)))
          (then
            (call $copy (call $host_site (local.get $k)) (local.get $buf) (local.get $site)
              (local.get $addr) (call $items (local.get $k) (local.get $r)))))
        (call $host_ended (local.get $x) (local.get $k) (local.get $g) (local.get $r))))
    (local.get $r))

  ;; The items a copy result `r` of bridged type `k` moved: a stream's count, a future's one
  ;; value when it completed.
  (func $items (param $k i32) (param $r i32) (result i32)
    (if (result i32) (call $host_kind (local.get $k))
      (then (i32.shr_u (local.get $r) (i32.const 4)))
      (else (i32.eqz (i32.and (local.get $r) (i32.const 0xf))))))

  ;; What a copy result `r` of bridged type `k` on the guest's side `g` of record `x` ends:
  ;; the host's side is dropped when it says so; a future's value is delivered (`done`)
  ;; when it moved, or when the host dropped the readable end of one the guest writes.
  (func $host_ended (param $x i32) (param $k i32) (param $g i32) (param $r i32)
    (local $status i32)
    (local.set $status (i32.and (local.get $r) (i32.const 0xf)))
    (if (i32.eq (local.get $status) (i32.const 1))
      (then (call $set (local.get $x) (i32.sub (i32.const 1) (local.get $g)) (i32.const 2))))
    (if (i32.and (i32.eqz (call $host_kind (local.get $k)))
          (i32.or (i32.eqz (local.get $status))
            (i32.and (local.get $g) (i32.eq (local.get $status) (i32.const 1)))))
      (then (call $set (local.get $x) (i32.const 2) (i32.const 1)))))

  ;; The host's copy result `r` of the pending copy of the guest's side `g` of bridged record
  ;; `x`: a read's items copied from the bridge's block to the read's buffer, the host's
  ;; side marked dropped when it was, the guest's side no longer pending.
  (func $host_settle (param $x i32) (param $g i32) (param $r i32)
    (local $k i32)
    (local.set $k (call $get (local.get $x) (i32.sub (i32.const 7) (i32.shl (local.get $g) (i32.const 2)))))
    (if (i32.and (i32.eqz (local.get $g))
          (i32.ne (call $items (local.get $k) (local.get $r)) (i32.const 0)))
      (then
        (call $copy (call $host_site (local.get $k))
          (call $get (local.get $x) (i32.const 8)) (call $get (local.get $x) (i32.const 3))
          (call $get (local.get $x) (i32.const 4)) (call $items (local.get $k) (local.get $r)))))
    (call $host_ended (local.get $x) (local.get $k) (local.get $g) (local.get $r))
    (call $set (local.get $x) (local.get $g) (i32.const 0)))

  ;; The host's copy result `r` of the pending copy of bridged record `x`: settled, and the
  ;; guest's end's event, as the other side's copy gives it.
  (func $host_copied (export "host-copied") (param $x i32) (param $r i32)
    (local $g i32) (local $kind i32)
    (local.set $g (call $bridged (local.get $x) (i32.const 0)))
    (local.set $kind (call $host_kind (call $get (local.get $x)
      (i32.sub (i32.const 7) (i32.shl (local.get $g) (i32.const 2))))))
    (call $host_settle (local.get $x) (local.get $g) (local.get $r))
    (call $event (local.get $x) (local.get $g) (i32.and (local.get $r) (i32.const 0xf))
      (select
        (i32.add (i32.shr_u (local.get $r) (i32.const 4)) (call $take_completed (local.get $x)
          (local.get $g)))
        (i32.const 0) (local.get $kind))
      (i32.const 1) (i32.const 0) (local.get $kind)))

  ;; Sets the local state (0 idle, 1 done, 2 busy) of the end at slot `s`.
  (func $local (param $t (ref $table)) (param $s i32) (param $state i32)
    (call $set_waitable_word (local.get $t) (local.get $s) (i32.const 3)
      (i32.or (i32.and (call $word (local.get $t) (local.get $s) (i32.const 3)) (i32.const -4))
        (local.get $state))))

  ;; A sync operation that is blocked: waits for the end's event and takes it (its copy
  ;; result), as wasmtime's `wait_for_event`.
  (func $wait (param $t (ref $table)) (param $h i32) (result i32)
    (if (call $word (local.get $t) (call $slot (local.get $t) (local.get $h)) (i32.const 1))
      (then (call $sync_and_async)))
    (call $before_wait)
    (call $block (i32.const 1))
    (block $done
      (loop $next
        (br_if $done (call $has_event (local.get $t) (local.get $h)))
        (call $blocked_step)
        (br $next)))
    (call $block (i32.const -1))
    (call $take_event (local.get $t) (local.get $h)))

  ;; `new` in component instance `i` of type `ty`, items of `size` bytes:
  ;; `(writable << 32) | readable`.
  (func (export "new") (param $i i32) (param $ty i32) (param $kind i32) (param $size i32)
    (result i64)
    (local $x i32) (local $t (ref $table)) (local $r i32) (local $w i32) (local $base i32)
    (local.set $base (i32.add (i32.const 5) (i32.shl (local.get $kind) (i32.const 1))))
    (local.set $x (call $alloc))
    (local.set $t (call $table_of (local.get $i)))
    (local.set $r (call $insert (local.get $t) (local.get $base) (i32.const 0) (local.get $x)
      (i32.shl (local.get $ty) (i32.const 8))))
    (local.set $w (call $insert (local.get $t) (i32.add (local.get $base) (i32.const 1))
      (i32.const 0) (local.get $x) (i32.shl (local.get $ty) (i32.const 8))))
    (call $set (local.get $x) (i32.const 5) (local.get $i))
    (call $set (local.get $x) (i32.const 6) (local.get $r))
    (call $set (local.get $x) (i32.const 9) (local.get $i))
    (call $set (local.get $x) (i32.const 10) (local.get $w))
    (call $set (local.get $x) (i32.const 15) (local.get $size))
    (i64.or (i64.shl (i64.extend_i32_u (local.get $w)) (i64.const 32))
      (i64.extend_i32_u (local.get $r))))

  ;; `read` (side 0) or `write` (side 1): (instance, type, kind, site, async, side, handle,
  ;; address, count) -> the copy result (`count << 4 | status`: 0 completed, 1 dropped), or
  ;; 0xffff_ffff (`BLOCKED`) for a pending async operation. The items move when a read and a
  ;; write meet: as many as the smaller side offers, the side with room left staying pending,
  ;; as wasmtime's `guest_write` and `guest_read`. A write that meets a pending zero-length
  ;; read completes that read with 0 and leaves it pending too (a zero-length write meeting it
  ;; completes only itself); a zero-length read that meets a pending write completes the
  ;; write with 0 and waits.
  (func (export "copy-op") (param $i i32) (param $ty i32) (param $kind i32) (param $site i32)
    (param $async i32) (param $side i32) (param $h i32) (param $addr i32) (param $count i32)
    (result i32)
    (local $t (ref $table)) (local $s i32) (local $w3 i32) (local $x i32) (local $other i32)
    (local $ostate i32) (local $ocount i32) (local $wc i32) (local $rc i32) (local $n i32)
    (local $mine_done i32) (local $other_done i32) (local $other_left i32) (local $total i32)
    (local $result i32)
    (local.set $other (i32.sub (i32.const 1) (local.get $side)))
    (local.set $t (call $table_of (local.get $i)))
    (local.set $s (call $end_slot (local.get $t) (local.get $h) (local.get $ty) (local.get $kind)))
    (local.set $w3 (call $word (local.get $t) (local.get $s) (i32.const 3)))
    (if (i32.or
          (i32.ne (call $word (local.get $t) (local.get $s) (i32.const 0))
            (i32.add (i32.add (i32.const 5) (i32.shl (local.get $kind) (i32.const 1)))
              (local.get $side)))
          (i32.eq (i32.and (local.get $w3) (i32.const 3)) (i32.const 2)))
      (then (call $concurrent)))
    (if (i32.and (local.get $w3) (i32.const 1))
      (then (if (local.get $side) (then (call $write_dropped)) (else (call $read_dropped)))))
    (call $local (local.get $t) (local.get $s) (i32.const 2))
    (local.set $x (call $word (local.get $t) (local.get $s) (i32.const 2)))
    (if (call $get (local.get $x) (i32.const 2))
      (then (if (local.get $side) (then (call $write_done)) (else (call $read_done)))))
    (local.set $ostate (call $get (local.get $x) (local.get $other)))
    (if (i32.ne (local.get $ostate) (i32.const 2))
      (then (call $set (local.get $x) (local.get $other) (i32.const 0))))
    (if (call $bridged (local.get $x) (local.get $other))
      (then
        ;; The other end is the host's: the items go through the bridge.
        (local.set $result (if (result i32) (i32.eq (local.get $ostate) (i32.const 2))
          (then (i32.const 1))
          (else (call $host_copy (local.get $x) (local.get $side) (local.get $site)
            (local.get $addr) (local.get $count))))))
      (else
    (if (i32.eq (local.get $ostate) (i32.const 1))
      (then
        ;; The other side is pending: the items move.
        (if (i32.eqz (local.get $kind)) (then (call $set (local.get $x) (i32.const 2) (i32.const 1))))
        (local.set $ocount (call $get (local.get $x) (i32.add (i32.const 11) (local.get $other))))
        (if (local.get $side)
          (then (local.set $wc (local.get $count)) (local.set $rc (local.get $ocount)))
          (else (local.set $wc (local.get $ocount)) (local.set $rc (local.get $count))))
        (local.set $n (select (local.get $count) (local.get $ocount)
          (i32.lt_u (local.get $count) (local.get $ocount))))
        ;; wasmtime: the write completes when it is empty or the read has room, the read when
        ;; the write is not empty.
        (if (local.get $side)
          (then
            (local.set $mine_done (i32.or (i32.eqz (local.get $wc)) (i32.ne (local.get $rc) (i32.const 0))))
            (local.set $other_done (i32.ne (local.get $wc) (i32.const 0)))
            ;; wasmtime's test is `count == 0 && read_count == 0` after `count` became the
            ;; number moved: a pending zero-length read stays, whatever the write's length.
            (local.set $other_left (i32.or (i32.lt_u (local.get $count) (local.get $ocount))
              (i32.eqz (local.get $ocount)))))
          (else
            (local.set $mine_done (i32.ne (local.get $wc) (i32.const 0)))
            (local.set $other_done (i32.or (i32.eqz (local.get $wc)) (i32.ne (local.get $rc) (i32.const 0))))
            (local.set $other_left (i32.lt_u (local.get $count) (local.get $ocount)))))
        (if (local.get $side)
          (then
            (call $copy (local.get $site) (local.get $addr)
              (call $get (local.get $x) (i32.const 3)) (call $get (local.get $x) (i32.const 4))
              (local.get $n)))
          (else
            (call $copy (call $get (local.get $x) (i32.const 7)) (call $get (local.get $x) (i32.const 8))
              (local.get $site) (local.get $addr) (local.get $n))))
        (if (local.get $other_done)
          (then
            (local.set $total (i32.add (local.get $n)
              (call $take_completed (local.get $x) (local.get $other))))
            (call $event (local.get $x) (local.get $other) (i32.const 0)
              (select (local.get $total) (i32.const 0) (local.get $kind))
              (i32.const 1) (i32.const 0) (local.get $kind))))
        (if (local.get $other_left)
          (then
            (call $set (local.get $x) (local.get $other) (i32.const 1))
            (call $set (local.get $x) (i32.add (i32.const 4) (i32.shl (local.get $other) (i32.const 2)))
              (i32.add (call $get (local.get $x) (i32.add (i32.const 4) (i32.shl (local.get $other) (i32.const 2))))
                (i32.mul (local.get $n) (call $get (local.get $x) (i32.const 15)))))
            (call $set (local.get $x) (i32.add (i32.const 11) (local.get $other))
              (i32.sub (local.get $ocount) (local.get $n)))))
        (local.set $result (i32.const -1))
        (if (local.get $mine_done)
          (then (local.set $result
            (i32.shl (select (local.get $n) (i32.const 0) (local.get $kind)) (i32.const 4))))))
      (else
        (if (i32.eqz (local.get $ostate))
          (then (local.set $result (i32.const -1)))
          (else
            ;; The other end is dropped.
            (if (i32.and (local.get $side) (i32.eqz (local.get $kind)))
              (then (call $set (local.get $x) (i32.const 2) (i32.const 1))))
            (local.set $result (i32.const 1))))))))
    (if (i32.eq (local.get $result) (i32.const -1))
      (then
        ;; This side waits with its buffer.
        (call $set (local.get $x) (local.get $side) (i32.const 1))
        (call $set (local.get $x) (i32.add (i32.const 3) (i32.shl (local.get $side) (i32.const 2)))
          (local.get $site))
        (call $set (local.get $x) (i32.add (i32.const 4) (i32.shl (local.get $side) (i32.const 2)))
          (local.get $addr))
        (call $set (local.get $x) (i32.add (i32.const 11) (local.get $side)) (local.get $count))
        (if (i32.eqz (local.get $async))
          (then (local.set $result (call $wait (local.get $t) (local.get $h)))))))
    ;; The end is idle again, done when the other end was seen dropped (a future's readable
    ;; end stays idle: its record's `done` says the rest).
    (if (i32.ne (local.get $result) (i32.const -1))
      (then (call $local (local.get $t) (call $slot (local.get $t) (local.get $h))
        (i32.and (i32.eq (i32.and (local.get $result) (i32.const 15)) (i32.const 1))
          (i32.or (local.get $side) (local.get $kind))))))
    (local.get $result))

  ;; `cancel-read` (side 0) or `cancel-write` (side 1): (instance, type, kind, async, side,
  ;; handle) -> the copy result: the operation's, when its event came (a stream's completed
  ;; count reported as cancelled), else `CANCELLED` (2).
  (func (export "cancel") (param $i i32) (param $ty i32) (param $kind i32) (param $async i32)
    (param $side i32) (param $h i32) (result i32)
    (local $t (ref $table)) (local $s i32) (local $x i32) (local $et (ref $table)) (local $eh i32)
    (local $base i32) (local $result i32)
    (local.set $base (i32.add (i32.const 5) (i32.shl (local.get $kind) (i32.const 1))))
    (local.set $t (call $table_of (local.get $i)))
    (local.set $s (call $end_slot (local.get $t) (local.get $h) (local.get $ty) (local.get $kind)))
    (if (i32.ne (i32.and (call $word (local.get $t) (local.get $s) (i32.const 3)) (i32.const 3))
          (i32.const 2))
      (then
        (if (i32.ne (call $word (local.get $t) (local.get $s) (i32.const 0))
              (i32.add (local.get $base) (local.get $side)))
          (then (if (local.get $side) (then (call $read_end_passed))
            (else (call $write_end_passed)))))
        (if (local.get $side) (then (call $no_write)) (else (call $no_read)))))
    (local.set $x (call $word (local.get $t) (local.get $s) (i32.const 2)))
    (local.set $et (call $end_table (local.get $x) (local.get $side)))
    (local.set $eh (call $end_handle (local.get $x) (local.get $side)))
    (if (i32.eqz (local.get $async))
      (then
        (if (call $word (local.get $et) (call $slot (local.get $et) (local.get $eh)) (i32.const 1))
          (then (call $sync_and_async)))))
    (if (i32.and (call $bridged (local.get $x) (i32.sub (i32.const 1) (local.get $side)))
          (i32.and (i32.eq (call $get (local.get $x) (local.get $side)) (i32.const 1))
            (i32.eqz (call $has_event (local.get $et) (local.get $eh)))))
      (then
        ;; A copy through the bridge that the guest's end has no event of yet: ended in the
        ;; host (the host's cancel waits, where wasmtime's async cancel may give `BLOCKED`),
        ;; its result the cancel's; the end is done when the host's end was dropped, as
        ;; the delivery of that result would make it.
        (local.set $result (call $hs_cancel
          (call $get (local.get $x) (i32.sub (i32.const 7) (i32.shl (local.get $side) (i32.const 2))))
          (call $get (local.get $x) (i32.sub (i32.const 10) (i32.shl (local.get $side) (i32.const 2))))
          (local.get $kind)))
        (call $host_settle (local.get $x) (local.get $side) (local.get $result))
        (call $local (local.get $et) (call $slot (local.get $et) (local.get $eh))
          (i32.eq (i32.and (local.get $result) (i32.const 15)) (i32.const 1))))
      (else
        (local.set $result (i32.const 2))
        (if (call $has_event (local.get $et) (local.get $eh))
          (then
            (local.set $result (call $take_event (local.get $et) (local.get $eh)))
            (if (i32.and (local.get $kind) (i32.eqz (i32.and (local.get $result) (i32.const 15))))
              (then (local.set $result (i32.or (local.get $result) (i32.const 2)))))))))
    (if (i32.eq (call $get (local.get $x) (local.get $side)) (i32.const 1))
      (then (call $set (local.get $x) (local.get $side) (i32.const 0))))
    (local.set $s (call $slot (local.get $t) (local.get $h)))
    (if (i32.eq (i32.and (call $word (local.get $t) (local.get $s) (i32.const 3)) (i32.const 3))
          (i32.const 2))
      (then
        ;; wasmtime's end becomes one of this side (`Read`/`Write { done: false }`),
        ;; whichever it was.
        (call $local (local.get $t) (local.get $s) (i32.const 0))
        (call $set_waitable_word (local.get $t) (local.get $s) (i32.const 0)
          (i32.add (local.get $base) (local.get $side)))))
    (local.get $result))

  ;; `drop-readable` (side 0) or `drop-writable` (side 1): (instance, type, kind, side,
  ;; handle). A future's writable end traps unless its value was delivered (or the reader
  ;; dropped). The other end learns of it.
  (func (export "drop") (param $i i32) (param $ty i32) (param $kind i32) (param $side i32)
    (param $h i32)
    (local $t (ref $table)) (local $s i32) (local $w3 i32) (local $x i32) (local $other i32)
    (local $ostate i32)
    (local.set $other (i32.sub (i32.const 1) (local.get $side)))
    (local.set $t (call $table_of (local.get $i)))
    (local.set $s (call $end_slot (local.get $t) (local.get $h) (local.get $ty) (local.get $kind)))
    (local.set $w3 (call $word (local.get $t) (local.get $s) (i32.const 3)))
    ;; A busy end is only busy to wasmtime, which does not record which end it is.
    (if (i32.eq (i32.and (local.get $w3) (i32.const 3)) (i32.const 2))
      (then
        (if (local.get $side)
          (then (if (local.get $kind) (then (call $drop_busy_stream))
            (else (call $drop_busy_future))))
          (else (if (local.get $kind) (then (call $busy_stream)) (else (call $busy_future)))))))
    (if (i32.ne (call $word (local.get $t) (local.get $s) (i32.const 0))
          (i32.add (i32.add (i32.const 5) (i32.shl (local.get $kind) (i32.const 1)))
            (local.get $side)))
      (then
        (if (local.get $side)
          (then (if (local.get $kind) (then (call $read_end_dropped_stream))
            (else (call $read_end_dropped_future))))
          (else (if (local.get $kind) (then (call $not_readable_stream))
            (else (call $not_readable_future)))))))
    (local.set $x (call $word (local.get $t) (local.get $s) (i32.const 2)))
    (call $remove (local.get $t) (local.get $h) (local.get $s))
    (if (i32.and (i32.and (local.get $side) (i32.eqz (local.get $kind)))
          (i32.eqz (i32.or (i32.and (local.get $w3) (i32.const 1))
            (call $get (local.get $x) (i32.const 2)))))
      (then (call $must_write)))
    (call $set (local.get $x) (local.get $side) (i32.const 2))
    ;; The guest's end of a bridge: the bridge's end is dropped too, and the record freed.
    (if (call $bridged (local.get $x) (local.get $other))
      (then
        (call $hs_drop
          (call $get (local.get $x) (i32.add (i32.const 3) (i32.shl (local.get $other) (i32.const 2))))
          (call $get (local.get $x) (i32.add (i32.const 6) (i32.shl (local.get $other) (i32.const 2)))))
        (call $hs_free
          (call $get (local.get $x) (i32.add (i32.const 4) (i32.shl (local.get $other) (i32.const 2)))))
        (call $release (local.get $x))
        (return)))
    (local.set $ostate (call $get (local.get $x) (local.get $other)))
    (if (i32.eq (local.get $ostate) (i32.const 2))
      (then (call $release (local.get $x)) (return)))
    (call $set (local.get $x) (local.get $other) (i32.const 0))
    (call $event (local.get $x) (local.get $other) (i32.const 1) (i32.const 0)
      (local.get $ostate) (i32.const 1) (local.get $kind)))

  ;; FACT's `future-transfer`/`stream-transfer` (handle, source type, destination type, kind)
  ;; -> the readable end's handle in the destination instance's table. A type of the host
  ;; adapters' host side (instance -1): an end the host passes in is a limit at once, one
  ;; passed to the host is lifted with wasmtime's checks first.
  (func (export "transfer") (param $h i32) (param $src i32) (param $dst i32) (param $kind i32)
    (result i32)
    (local $st (ref $table)) (local $s i32) (local $w3 i32) (local $x i32) (local $di i32)
    (local $nh i32) (local $si i32) (local $k i32) (local $ends i64) (local $r i32)
    (local.set $si (call $transmit_instance (local.get $src) (local.get $kind)))
    (if (i32.lt_s (local.get $si) (i32.const 0))
      (then
        ;; From the host: the end is bridged, the record's writable side the host's end,
        ;; read when the guest reads.
        (local.set $k (call $host_transmit (local.get $src) (local.get $kind) (i32.const 1)))
        (if (i32.lt_s (local.get $k) (i32.const 0)) (then (call $at_host)))
        (local.set $di (call $transmit_instance (local.get $dst) (local.get $kind)))
        (if (i32.lt_s (local.get $di) (i32.const 0)) (then (call $at_host)))
        (local.set $x (call $alloc))
        (local.set $nh (call $insert (call $table_of (local.get $di))
          (i32.add (i32.const 5) (i32.shl (local.get $kind) (i32.const 1))) (i32.const 0)
          (local.get $x) (i32.shl (local.get $dst) (i32.const 8))))
        (call $set (local.get $x) (i32.const 5) (local.get $di))
        (call $set (local.get $x) (i32.const 6) (local.get $nh))
        (call $set (local.get $x) (i32.const 9) (i32.const -1))
        (call $set (local.get $x) (i32.const 10) (local.get $h))
        (call $set (local.get $x) (i32.const 7) (local.get $k))
        (call $set (local.get $x) (i32.const 15) (call $host_size (local.get $k)))
        (return (local.get $nh))))
    (local.set $st (call $table_of (local.get $si)))
    (local.set $s (call $end_slot (local.get $st) (local.get $h) (local.get $src) (local.get $kind)))
    (local.set $w3 (call $word (local.get $st) (local.get $s) (i32.const 3)))
    (if (i32.eq (i32.and (local.get $w3) (i32.const 3)) (i32.const 2))
      (then (if (local.get $kind) (then (call $busy_stream)) (else (call $busy_future)))))
    (if (i32.ne (call $word (local.get $st) (local.get $s) (i32.const 0))
          (i32.add (i32.const 5) (i32.shl (local.get $kind) (i32.const 1))))
      (then (if (local.get $kind) (then (call $not_readable_stream))
        (else (call $not_readable_future)))))
    (local.set $x (call $word (local.get $st) (local.get $s) (i32.const 2)))
    (if (i32.and (local.get $w3) (i32.const 1))
      (then (if (local.get $kind) (then (call $lift_dropped_stream))
        (else (call $lift_dropped_future)))))
    (if (call $word (local.get $st) (local.get $s) (i32.const 1))
      (then (if (local.get $kind) (then (call $lift_in_set_stream))
        (else (call $lift_in_set_future)))))
    (call $remove (local.get $st) (local.get $h) (local.get $s))
    (if (call $get (local.get $x) (i32.const 2)) (then (call $lift_done)))
    (local.set $di (call $transmit_instance (local.get $dst) (local.get $kind)))
    (if (i32.lt_s (local.get $di) (i32.const 0))
      (then
        ;; To the host: the end is bridged, a readable end of the output's own given to the
        ;; host (not one the host passed in: its writable side is the host's already).
        (local.set $k (call $host_transmit (local.get $dst) (local.get $kind) (i32.const 0)))
        (if (i32.or (i32.lt_s (local.get $k) (i32.const 0)) (call $bridged (local.get $x) (i32.const 1)))
          (then (call $at_host)))
        (local.set $ends (call $hs_new (local.get $k)))
        (call $set (local.get $x) (i32.const 5) (i32.const -1))
        (call $set (local.get $x) (i32.const 6) (i32.wrap_i64 (i64.shr_u (local.get $ends) (i64.const 32))))
        (call $set (local.get $x) (i32.const 3) (local.get $k))
        (call $set (local.get $x) (i32.const 4) (i32.const 0))
        (call $set (local.get $x) (i32.const 11) (i32.const 0))
        ;; A writer dropped already: so is the bridge's, and the record is freed (the guest
        ;; holds neither end any more).
        (if (i32.eq (call $get (local.get $x) (i32.const 1)) (i32.const 2))
          (then
            (call $hs_drop (local.get $k) (call $get (local.get $x) (i32.const 6)))
            (call $release (local.get $x))
            (return (i32.wrap_i64 (local.get $ends)))))
        ;; A write already pending goes to the bridge.
        (if (i32.eq (call $get (local.get $x) (i32.const 1)) (i32.const 1))
          (then
            (local.set $r (call $host_copy (local.get $x) (i32.const 1) (call $get (local.get $x) (i32.const 7))
              (call $get (local.get $x) (i32.const 8)) (call $get (local.get $x) (i32.const 12))))
            (if (i32.ne (local.get $r) (i32.const -1))
              (then (call $host_copied (local.get $x) (local.get $r))))))
        (return (i32.wrap_i64 (local.get $ends)))))
    ;; The end keeps an event that awaits delivery.
    (local.set $nh (call $insert (call $table_of (local.get $di))
      (i32.add (i32.const 5) (i32.shl (local.get $kind) (i32.const 1))) (i32.const 0)
      (local.get $x)
      (i32.or (i32.shl (local.get $dst) (i32.const 8)) (i32.and (local.get $w3) (i32.const 0xf4)))))
    (call $set (local.get $x) (i32.const 5) (local.get $di))
    (call $set (local.get $x) (i32.const 6) (local.get $nh))
    (local.get $nh))

  ;; A future site's value at `addr` of memory 0, `size` bytes (0, 1, 2, 4 or 8) aligned to
  ;; `size`: loaded (`load`) for a write site, stored (`store`) for a read site.
  (memory 0)
  (memory 0)
  (func $unaligned_write (export "trap:write-pointer-not-aligned") unreachable)
  (func $unaligned_read (export "trap:read-pointer-not-aligned") unreachable)
  (func (export "load") (param $addr i32) (param $size i32) (result i64)
    (if (i32.and (local.get $addr) (i32.sub (local.get $size) (i32.const 1)))
      (then (call $unaligned_write)))
    (if (i32.eq (local.get $size) (i32.const 1))
      (then (return (i64.load8_u (local.get $addr)))))
    (if (i32.eq (local.get $size) (i32.const 2))
      (then (return (i64.load16_u (local.get $addr)))))
    (if (i32.eq (local.get $size) (i32.const 4))
      (then (return (i64.load32_u (local.get $addr)))))
    (i64.load (local.get $addr)))
  (func (export "store") (param $addr i32) (param $size i32) (param $v i64)
    (if (i32.and (local.get $addr) (i32.sub (local.get $size) (i32.const 1)))
      (then (call $unaligned_read)))
    (if (i32.eq (local.get $size) (i32.const 1))
      (then (i64.store8 (local.get $addr) (local.get $v)) (return)))
    (if (i32.eq (local.get $size) (i32.const 2))
      (then (i64.store16 (local.get $addr) (local.get $v)) (return)))
    (if (i32.eq (local.get $size) (i32.const 4))
      (then (i64.store32 (local.get $addr) (local.get $v)) (return)))
    (i64.store (local.get $addr) (local.get $v)))

  ;; A stream's items: `count` items of `size` bytes from `src` of memory 0 (the write site's)
  ;; to `dst` of memory 1 (the read site's), as `memmove` does when the two are one memory
  ;; (wasmtime's `copy_within`); both addresses aligned to `size` when anything moves.
  (func (export "copy-items") (param $src i32) (param $dst i32) (param $count i32)
    (param $size i32)
    (if (i32.eqz (i32.mul (local.get $count) (local.get $size))) (then (return)))
    (if (i32.and (local.get $src) (i32.sub (local.get $size) (i32.const 1)))
      (then (call $unaligned_write)))
    (if (i32.and (local.get $dst) (i32.sub (local.get $size) (i32.const 1)))
      (then (call $unaligned_read)))
    (memory.copy 1 0 (local.get $dst) (local.get $src)
      (i32.mul (local.get $count) (local.get $size))))

  ;; Payloads that not every bit pattern is a value of (`$check` 1 `bool`, 2 `char`): wasmtime
  ;; lifts each value and lowers it again, so a `bool` arrives as 0 or 1 and a `char` that is
  ;; not a Unicode scalar value traps; and it refuses them between a write and a read of one
  ;; component instance (`$intra`), after checking both addresses' alignment.
  (func $intra (export "trap:cannot-read-from-and-write-to-intra-component-future-or-stream-with-non-numeric-payload")
    unreachable)
  (func $bad_char (export "trap:converted-integer-out-of-range-for-char") unreachable)
  (func $checked (param $v i32) (param $check i32) (result i32)
    (if (i32.eq (local.get $check) (i32.const 1))
      (then (return (i32.ne (local.get $v) (i32.const 0)))))
    (if (i32.or (i32.ge_u (local.get $v) (i32.const 0x11_0000))
          (i32.eq (i32.and (local.get $v) (i32.const 0xff_f800)) (i32.const 0xd800)))
      (then (call $bad_char)))
    (local.get $v))

  ;; A future's value (loaded by the write site's `load`) stored at `addr` of memory 0.
  (func (export "store-checked") (param $addr i32) (param $size i32) (param $v i64)
    (param $intra i32) (param $check i32)
    (if (i32.and (local.get $addr) (i32.sub (local.get $size) (i32.const 1)))
      (then (call $unaligned_read)))
    (if (local.get $intra) (then (call $intra)))
    (local.set $v (i64.extend_i32_u
      (call $checked (i32.wrap_i64 (local.get $v)) (local.get $check))))
    (if (i32.eq (local.get $size) (i32.const 1))
      (then (i64.store8 (local.get $addr) (local.get $v)) (return)))
    (i64.store32 (local.get $addr) (local.get $v)))

  ;; A stream's `bool`s, as `copy-items` moves them, then each made 0 or 1 (a `stream<char>`
  ;; is not valid).
  (func (export "copy-checked") (param $src i32) (param $dst i32) (param $count i32)
    (param $size i32) (param $intra i32)
    (local $i i32) (local $bytes i32)
    (local.set $bytes (i32.mul (local.get $count) (local.get $size)))
    (if (local.get $bytes)
      (then
        (if (i32.and (local.get $src) (i32.sub (local.get $size) (i32.const 1)))
          (then (call $unaligned_write)))
        (if (i32.and (local.get $dst) (i32.sub (local.get $size) (i32.const 1)))
          (then (call $unaligned_read)))))
    (if (local.get $intra) (then (call $intra)))
    (if (i32.eqz (local.get $bytes)) (then (return)))
    (memory.copy 1 0 (local.get $dst) (local.get $src) (local.get $bytes))
    (loop $each
      (i32.store8 1 (i32.add (local.get $dst) (local.get $i))
        (i32.ne (i32.load8_u 1 (i32.add (local.get $dst) (local.get $i))) (i32.const 0)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $each (i32.lt_u (local.get $i) (local.get $bytes)))))

  ;; The bounds check of a read or write of `count` items of `size` bytes at `addr`, as
  ;; wasmtime makes before anything else ("read pointer out of bounds of memory"): a range
  ;; past the end of the memory traps as the access does (a template cannot ask a boxed memory
  ;; its size).
  (func $out_of_bounds (export "trap:pointer-out-of-bounds-of-memory") unreachable)
  (func (export "check") (param $addr i32) (param $size i32) (param $count i32)
    (local $bytes i64)
    (local.set $bytes (i64.mul (i64.extend_i32_u (local.get $size))
      (i64.extend_i32_u (local.get $count))))
    (if (i64.eqz (local.get $bytes)) (then (return)))
    (if (i64.gt_u (i64.add (i64.extend_i32_u (local.get $addr)) (local.get $bytes))
          (i64.const 0x1_0000_0000))
      (then (call $out_of_bounds)))
    (drop (i32.load8_u (i32.wrap_i64 (i64.sub
      (i64.add (i64.extend_i32_u (local.get $addr)) (local.get $bytes)) (i64.const 1))))))
)
