;; Futures between guest tasks in wasm: what wasmtime's `future.new`, `future.read`,
;; `future.write`, `future.cancel-read`, `future.cancel-write`, `future.drop-readable`,
;; `future.drop-writable` and FACT's `future-transfer` do
;; (`wasmtime/src/runtime/component/concurrent/futures_and_streams.rs`: `guest_new`,
;; `guest_read`, `guest_write`, `cancel_read`, `cancel_write`, `host_drop_reader`,
;; `host_drop_writer`, `lift_index_to_transmit`), with the same results, events and traps.
;;
;; A future's two ends are slots of the handle tables (`resources.wat`: kind 5 the readable
;; end, kind 6 the writable end, the end's local state and event in word 3). The future itself
;; is a record here, 16 i32s at `16 * id`:
;;   0 the read state (0 open, 1 a read is pending, 2 the readable end is dropped), or the next
;;     free record; 1 the write state (the same for the writable end); 2 whether the value has
;;     been delivered (or refused: `done`); 3-4 the pending read's site and address; 5-6 the
;;     readable end's component instance and handle; 7-8 the pending write's site and address;
;;     9-10 the writable end's instance and handle.
;; A site is a `future.read` or `future.write` built-in: its memory and payload layout, which
;; the imported `copy` dispatches on.
;;
;; Bound by the lowering: type 0 is runtime-structs' HANDLES, type 1 HANDLE_TABLE.
(module
  (type $handles (array (mut i32)))
  (type $table (struct (field $slots (mut (ref $handles))) (field $next (mut i32))
                       (field $len (mut i32))))

  ;; Component instance -> its handle table; future type -> its component instance.
  (import "env" "table-of" (func $table_of (param i32) (result (ref $table))))
  (import "env" "future-instance" (func $future_instance (param i32) (result i32)))
  ;; (write site, write address, read site, read address): moves the value.
  (import "env" "copy" (func $copy (param i32 i32 i32 i32)))
  ;; The resources template's slot operations.
  (import "env" "future-slot" (func $end_slot (param (ref $table) i32 i32) (result i32)))
  (import "env" "slot" (func $slot (param (ref $table) i32) (result i32)))
  (import "env" "word" (func $word (param (ref $table) i32 i32) (result i32)))
  (import "env" "set-word" (func $set_word (param (ref $table) i32 i32 i32)))
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
  (import "env" "records" (global $records (mut (ref $handles))))
  (import "env" "num-records" (global $num (mut i32)))
  (import "env" "free-record" (global $free (mut i32)))

  ;; The traps, named for wasmtime's messages.
  (func $concurrent (export "trap:cannot-have-concurrent-operations-active-on-a-future") unreachable)
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
  (func $no_write (export "trap:future-write-cancelled-when-no-write-is-pending") unreachable)
  (func $no_read (export "trap:future-read-cancelled-when-no-read-is-pending") unreachable)
  (func $read_end_passed (export "trap:passed-read-end-to-future-cancel-write") unreachable)
  (func $write_end_passed (export "trap:passed-write-end-to-future-cancel-read") unreachable)
  (func $not_readable (export "trap:handle-is-not-a-readable-end-of-a-future") unreachable)
  (func $busy (export "trap:cannot-remove-busy-future") unreachable)
  (func $drop_busy (export "trap:cannot-drop-busy-future") unreachable)
  (func $read_end_dropped (export "trap:passed-read-end-to-future-drop-writable") unreachable)
  (func $must_write (export "trap:cannot-drop-future-write-end-without-first-writing-a-value")
    unreachable)
  (func $lift_dropped
    (export "trap:cannot-lift-future-after-being-notified-that-the-writable-end-dropped")
    unreachable)
  (func $lift_in_set (export "trap:cannot-lift-future-while-its-in-a-waitable-set") unreachable)
  (func $lift_done (export "trap:cannot-lift-future-after-previous-read-succeeded") unreachable)
  (func $too_many (export "trap:cannot-allocate-another-future") unreachable)

  (func $get (param $id i32) (param $k i32) (result i32)
    (array.get $handles (global.get $records)
      (i32.add (i32.shl (local.get $id) (i32.const 4)) (local.get $k))))

  (func $set (param $id i32) (param $k i32) (param $v i32)
    (array.set $handles (global.get $records)
      (i32.add (i32.shl (local.get $id) (i32.const 4)) (local.get $k)) (local.get $v)))

  ;; A new future record, zeroed (both ends open, nothing delivered).
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

  ;; Gives the end `h` of component instance `i` an event: copy result `status`, ending its
  ;; pending operation when `ends`. With `keep`, an event already awaiting delivery stays
  ;; (wasmtime's `update_event`); else the new one replaces it (`set_event`).
  (func $event (param $i i32) (param $h i32) (param $status i32) (param $ends i32)
    (param $keep i32)
    (local $t (ref $table)) (local $s i32) (local $w3 i32)
    (local.set $t (call $table_of (local.get $i)))
    (local.set $s (call $slot (local.get $t) (local.get $h)))
    (local.set $w3 (call $word (local.get $t) (local.get $s) (i32.const 3)))
    (if (i32.and (local.get $keep) (i32.ne (i32.and (local.get $w3) (i32.const 16)) (i32.const 0)))
      (then (return)))
    (call $set_word (local.get $t) (local.get $s) (i32.const 3)
      (i32.or (i32.and (local.get $w3) (i32.const -245))
        (i32.or (i32.const 16)
          (i32.or (i32.shl (local.get $status) (i32.const 5))
            (i32.shl (local.get $ends) (i32.const 2)))))))

  ;; Sets the local state (0 idle, 1 done, 2 busy) of the end at slot `s`.
  (func $local (param $t (ref $table)) (param $s i32) (param $state i32)
    (call $set_word (local.get $t) (local.get $s) (i32.const 3)
      (i32.or (i32.and (call $word (local.get $t) (local.get $s) (i32.const 3)) (i32.const -4))
        (local.get $state))))

  ;; A sync read or write that is blocked: waits for the end's event and takes it (its copy
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

  ;; future.new in component instance `i`, of future type `ty`: `(writable << 32) | readable`.
  (func (export "new") (param $i i32) (param $ty i32) (result i64)
    (local $x i32) (local $t (ref $table)) (local $r i32) (local $w i32)
    (local.set $x (call $alloc))
    (local.set $t (call $table_of (local.get $i)))
    (local.set $r (call $insert (local.get $t) (i32.const 5) (i32.const 0) (local.get $x)
      (i32.shl (local.get $ty) (i32.const 8))))
    (local.set $w (call $insert (local.get $t) (i32.const 6) (i32.const 0) (local.get $x)
      (i32.shl (local.get $ty) (i32.const 8))))
    (call $set (local.get $x) (i32.const 5) (local.get $i))
    (call $set (local.get $x) (i32.const 6) (local.get $r))
    (call $set (local.get $x) (i32.const 9) (local.get $i))
    (call $set (local.get $x) (i32.const 10) (local.get $w))
    (i64.or (i64.shl (i64.extend_i32_u (local.get $w)) (i64.const 32))
      (i64.extend_i32_u (local.get $r))))

  ;; future.write (instance, type, site, async, handle, address) -> the copy result, or
  ;; 0xffff_ffff (`BLOCKED`) for a pending async write.
  (func (export "write") (param $i i32) (param $ty i32) (param $site i32) (param $async i32)
    (param $h i32) (param $addr i32) (result i32)
    (local $t (ref $table)) (local $s i32) (local $w3 i32) (local $x i32) (local $read i32)
    (local $result i32)
    (local.set $t (call $table_of (local.get $i)))
    (local.set $s (call $end_slot (local.get $t) (local.get $h) (local.get $ty)))
    (local.set $w3 (call $word (local.get $t) (local.get $s) (i32.const 3)))
    (if (i32.or (i32.ne (call $word (local.get $t) (local.get $s) (i32.const 0)) (i32.const 6))
          (i32.eq (i32.and (local.get $w3) (i32.const 3)) (i32.const 2)))
      (then (call $concurrent)))
    (if (i32.and (local.get $w3) (i32.const 1)) (then (call $write_dropped)))
    (call $local (local.get $t) (local.get $s) (i32.const 2))
    (local.set $x (call $word (local.get $t) (local.get $s) (i32.const 2)))
    (if (call $get (local.get $x) (i32.const 2)) (then (call $write_done)))
    (local.set $read (call $get (local.get $x) (i32.const 0)))
    (if (i32.eq (local.get $read) (i32.const 1))
      (then
        ;; A read is pending: the value moves, and the reader's read completes.
        (call $set (local.get $x) (i32.const 2) (i32.const 1))
        (call $set (local.get $x) (i32.const 0) (i32.const 0))
        (call $copy (local.get $site) (local.get $addr)
          (call $get (local.get $x) (i32.const 3)) (call $get (local.get $x) (i32.const 4)))
        (call $event (call $get (local.get $x) (i32.const 5)) (call $get (local.get $x) (i32.const 6))
          (i32.const 0) (i32.const 1) (i32.const 0))
        (local.set $result (i32.const 0)))
      (else
        (if (i32.eqz (local.get $read))
          (then
            (call $set (local.get $x) (i32.const 1) (i32.const 1))
            (call $set (local.get $x) (i32.const 7) (local.get $site))
            (call $set (local.get $x) (i32.const 8) (local.get $addr))
            (local.set $result (i32.const -1)))
          (else
            ;; The readable end is dropped.
            (call $set (local.get $x) (i32.const 2) (i32.const 1))
            (local.set $result (i32.const 1))))))
    (if (i32.and (i32.eq (local.get $result) (i32.const -1)) (i32.eqz (local.get $async)))
      (then (local.set $result (call $wait (local.get $t) (local.get $h)))))
    (if (i32.ne (local.get $result) (i32.const -1))
      (then (call $local (local.get $t) (call $slot (local.get $t) (local.get $h))
        (i32.eq (local.get $result) (i32.const 1)))))
    (local.get $result))

  ;; future.read (instance, type, site, async, handle, address) -> the copy result, or
  ;; `BLOCKED` for a pending async read.
  (func (export "read") (param $i i32) (param $ty i32) (param $site i32) (param $async i32)
    (param $h i32) (param $addr i32) (result i32)
    (local $t (ref $table)) (local $s i32) (local $w3 i32) (local $x i32) (local $write i32)
    (local $result i32)
    (local.set $t (call $table_of (local.get $i)))
    (local.set $s (call $end_slot (local.get $t) (local.get $h) (local.get $ty)))
    (local.set $w3 (call $word (local.get $t) (local.get $s) (i32.const 3)))
    (if (i32.or (i32.ne (call $word (local.get $t) (local.get $s) (i32.const 0)) (i32.const 5))
          (i32.eq (i32.and (local.get $w3) (i32.const 3)) (i32.const 2)))
      (then (call $concurrent)))
    (if (i32.and (local.get $w3) (i32.const 1)) (then (call $read_dropped)))
    (call $local (local.get $t) (local.get $s) (i32.const 2))
    (local.set $x (call $word (local.get $t) (local.get $s) (i32.const 2)))
    (if (call $get (local.get $x) (i32.const 2)) (then (call $read_done)))
    (local.set $write (call $get (local.get $x) (i32.const 1)))
    (if (i32.eq (local.get $write) (i32.const 1))
      (then
        ;; A write is pending: the value moves, and the writer's write completes.
        (call $set (local.get $x) (i32.const 2) (i32.const 1))
        (call $set (local.get $x) (i32.const 1) (i32.const 0))
        (call $copy (call $get (local.get $x) (i32.const 7)) (call $get (local.get $x) (i32.const 8))
          (local.get $site) (local.get $addr))
        (call $event (call $get (local.get $x) (i32.const 9))
          (call $get (local.get $x) (i32.const 10)) (i32.const 0) (i32.const 1) (i32.const 0))
        (local.set $result (i32.const 0)))
      (else
        (if (i32.eqz (local.get $write))
          (then
            (call $set (local.get $x) (i32.const 0) (i32.const 1))
            (call $set (local.get $x) (i32.const 3) (local.get $site))
            (call $set (local.get $x) (i32.const 4) (local.get $addr))
            (local.set $result (i32.const -1)))
          (else
            ;; The writable end is dropped.
            (local.set $result (i32.const 1))))))
    (if (i32.and (i32.eq (local.get $result) (i32.const -1)) (i32.eqz (local.get $async)))
      (then (local.set $result (call $wait (local.get $t) (local.get $h)))))
    (if (i32.ne (local.get $result) (i32.const -1))
      (then (call $local (local.get $t) (call $slot (local.get $t) (local.get $h)) (i32.const 0))))
    (local.get $result))

  ;; future.cancel-write (instance, type, async, handle) -> the copy result: the write's, when
  ;; its event came, else `CANCELLED` (2).
  (func (export "cancel-write") (param $i i32) (param $ty i32) (param $async i32) (param $h i32)
    (result i32)
    (local $t (ref $table)) (local $s i32) (local $x i32) (local $et (ref $table)) (local $eh i32)
    (local $result i32)
    (local.set $t (call $table_of (local.get $i)))
    (local.set $s (call $end_slot (local.get $t) (local.get $h) (local.get $ty)))
    (if (i32.ne (i32.and (call $word (local.get $t) (local.get $s) (i32.const 3)) (i32.const 3))
          (i32.const 2))
      (then
        (if (i32.eq (call $word (local.get $t) (local.get $s) (i32.const 0)) (i32.const 5))
          (then (call $read_end_passed)))
        (call $no_write)))
    (local.set $x (call $word (local.get $t) (local.get $s) (i32.const 2)))
    (local.set $et (call $table_of (call $get (local.get $x) (i32.const 9))))
    (local.set $eh (call $get (local.get $x) (i32.const 10)))
    (if (i32.eqz (local.get $async))
      (then
        (if (call $word (local.get $et) (call $slot (local.get $et) (local.get $eh)) (i32.const 1))
          (then (call $sync_and_async)))))
    (local.set $result (i32.const 2))
    (if (call $has_event (local.get $et) (local.get $eh))
      (then (local.set $result (call $take_event (local.get $et) (local.get $eh)))))
    (if (i32.eq (call $get (local.get $x) (i32.const 1)) (i32.const 1))
      (then (call $set (local.get $x) (i32.const 1) (i32.const 0))))
    (local.set $s (call $slot (local.get $t) (local.get $h)))
    (if (i32.eq (i32.and (call $word (local.get $t) (local.get $s) (i32.const 3)) (i32.const 3))
          (i32.const 2))
      (then
        ;; wasmtime's end becomes a writable one (`Write { done: false }`), whichever it was.
        (call $local (local.get $t) (local.get $s) (i32.const 0))
        (call $set_word (local.get $t) (local.get $s) (i32.const 0) (i32.const 6))))
    (local.get $result))

  ;; future.cancel-read (instance, type, async, handle) -> the copy result: the read's, when
  ;; its event came, else `CANCELLED` (2).
  (func (export "cancel-read") (param $i i32) (param $ty i32) (param $async i32) (param $h i32)
    (result i32)
    (local $t (ref $table)) (local $s i32) (local $x i32) (local $et (ref $table)) (local $eh i32)
    (local $result i32)
    (local.set $t (call $table_of (local.get $i)))
    (local.set $s (call $end_slot (local.get $t) (local.get $h) (local.get $ty)))
    (if (i32.ne (i32.and (call $word (local.get $t) (local.get $s) (i32.const 3)) (i32.const 3))
          (i32.const 2))
      (then
        (if (i32.eq (call $word (local.get $t) (local.get $s) (i32.const 0)) (i32.const 6))
          (then (call $write_end_passed)))
        (call $no_read)))
    (local.set $x (call $word (local.get $t) (local.get $s) (i32.const 2)))
    (local.set $et (call $table_of (call $get (local.get $x) (i32.const 5))))
    (local.set $eh (call $get (local.get $x) (i32.const 6)))
    (if (i32.eqz (local.get $async))
      (then
        (if (call $word (local.get $et) (call $slot (local.get $et) (local.get $eh)) (i32.const 1))
          (then (call $sync_and_async)))))
    (local.set $result (i32.const 2))
    (if (call $has_event (local.get $et) (local.get $eh))
      (then (local.set $result (call $take_event (local.get $et) (local.get $eh)))))
    (if (i32.eq (call $get (local.get $x) (i32.const 0)) (i32.const 1))
      (then (call $set (local.get $x) (i32.const 0) (i32.const 0))))
    (local.set $s (call $slot (local.get $t) (local.get $h)))
    (if (i32.eq (i32.and (call $word (local.get $t) (local.get $s) (i32.const 3)) (i32.const 3))
          (i32.const 2))
      (then
        ;; wasmtime's end becomes a readable one (`Read { done: false }`), whichever it was.
        (call $local (local.get $t) (local.get $s) (i32.const 0))
        (call $set_word (local.get $t) (local.get $s) (i32.const 0) (i32.const 5))))
    (local.get $result))

  ;; future.drop-readable (instance, type, handle): the writer learns of it.
  (func (export "drop-readable") (param $i i32) (param $ty i32) (param $h i32)
    (local $t (ref $table)) (local $s i32) (local $x i32) (local $write i32)
    (local.set $t (call $table_of (local.get $i)))
    (local.set $s (call $end_slot (local.get $t) (local.get $h) (local.get $ty)))
    ;; A busy end is only busy to wasmtime, which does not record which end it is.
    (if (i32.eq (i32.and (call $word (local.get $t) (local.get $s) (i32.const 3)) (i32.const 3))
          (i32.const 2))
      (then (call $busy)))
    (if (i32.eq (call $word (local.get $t) (local.get $s) (i32.const 0)) (i32.const 6))
      (then (call $not_readable)))
    (local.set $x (call $word (local.get $t) (local.get $s) (i32.const 2)))
    (call $remove (local.get $t) (local.get $h) (local.get $s))
    (call $set (local.get $x) (i32.const 0) (i32.const 2))
    (local.set $write (call $get (local.get $x) (i32.const 1)))
    (if (i32.eq (local.get $write) (i32.const 2))
      (then (call $release (local.get $x)) (return)))
    (call $set (local.get $x) (i32.const 1) (i32.const 0))
    (call $event (call $get (local.get $x) (i32.const 9)) (call $get (local.get $x) (i32.const 10))
      (i32.const 1) (local.get $write) (i32.const 1)))

  ;; future.drop-writable (instance, type, handle): traps unless the value was delivered (or
  ;; the reader dropped); the reader learns of it.
  (func (export "drop-writable") (param $i i32) (param $ty i32) (param $h i32)
    (local $t (ref $table)) (local $s i32) (local $w3 i32) (local $x i32) (local $read i32)
    (local.set $t (call $table_of (local.get $i)))
    (local.set $s (call $end_slot (local.get $t) (local.get $h) (local.get $ty)))
    (local.set $w3 (call $word (local.get $t) (local.get $s) (i32.const 3)))
    (if (i32.eq (i32.and (local.get $w3) (i32.const 3)) (i32.const 2)) (then (call $drop_busy)))
    (if (i32.eq (call $word (local.get $t) (local.get $s) (i32.const 0)) (i32.const 5))
      (then (call $read_end_dropped)))
    (local.set $x (call $word (local.get $t) (local.get $s) (i32.const 2)))
    (call $remove (local.get $t) (local.get $h) (local.get $s))
    (if (i32.eqz (i32.or (i32.and (local.get $w3) (i32.const 1))
          (call $get (local.get $x) (i32.const 2))))
      (then (call $must_write)))
    (call $set (local.get $x) (i32.const 1) (i32.const 2))
    (local.set $read (call $get (local.get $x) (i32.const 0)))
    (if (i32.eq (local.get $read) (i32.const 2))
      (then (call $release (local.get $x)) (return)))
    (call $set (local.get $x) (i32.const 0) (i32.const 0))
    (call $event (call $get (local.get $x) (i32.const 5)) (call $get (local.get $x) (i32.const 6))
      (i32.const 1) (local.get $read) (i32.const 1)))

  ;; FACT's future-transfer (handle, source type, destination type) -> the readable end's
  ;; handle in the destination instance's table.
  (func (export "transfer") (param $h i32) (param $src i32) (param $dst i32) (result i32)
    (local $st (ref $table)) (local $s i32) (local $w3 i32) (local $x i32) (local $di i32)
    (local $nh i32)
    (local.set $st (call $table_of (call $future_instance (local.get $src))))
    (local.set $s (call $end_slot (local.get $st) (local.get $h) (local.get $src)))
    (local.set $w3 (call $word (local.get $st) (local.get $s) (i32.const 3)))
    (if (i32.eq (i32.and (local.get $w3) (i32.const 3)) (i32.const 2)) (then (call $busy)))
    (if (i32.eq (call $word (local.get $st) (local.get $s) (i32.const 0)) (i32.const 6))
      (then (call $not_readable)))
    (local.set $x (call $word (local.get $st) (local.get $s) (i32.const 2)))
    (if (i32.and (local.get $w3) (i32.const 1)) (then (call $lift_dropped)))
    (if (call $word (local.get $st) (local.get $s) (i32.const 1)) (then (call $lift_in_set)))
    (call $remove (local.get $st) (local.get $h) (local.get $s))
    (if (call $get (local.get $x) (i32.const 2)) (then (call $lift_done)))
    (local.set $di (call $future_instance (local.get $dst)))
    ;; The end keeps an event that awaits delivery.
    (local.set $nh (call $insert (call $table_of (local.get $di)) (i32.const 5) (i32.const 0)
      (local.get $x)
      (i32.or (i32.shl (local.get $dst) (i32.const 8)) (i32.and (local.get $w3) (i32.const 0xf4)))))
    (call $set (local.get $x) (i32.const 5) (local.get $di))
    (call $set (local.get $x) (i32.const 6) (local.get $nh))
    (local.get $nh))

  ;; A site's value at `addr` of memory 0, `size` bytes (0, 1, 2, 4 or 8) aligned to `size`:
  ;; loaded (`load`) for a write site, stored (`store`) for a read site.
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

  ;; The bounds check of a read or write at `addr` of `size` bytes, as wasmtime makes before
  ;; anything else ("read pointer out of bounds of memory"): a range past the end of the
  ;; memory traps as the access does (a template cannot ask a boxed memory its size).
  (func $out_of_bounds (export "trap:pointer-out-of-bounds-of-memory") unreachable)
  (func (export "check") (param $addr i32) (param $size i32)
    (if (i32.gt_u (local.get $addr)
          (i32.sub (i32.const -1) (i32.sub (local.get $size) (i32.const 1))))
      (then (call $out_of_bounds)))
    (drop (i32.load8_u (i32.add (local.get $addr) (i32.sub (local.get $size) (i32.const 1))))))
)
