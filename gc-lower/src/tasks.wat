;; The scheduler of the async ABI in wasm: the records of suspended callback tasks and the loops
;; that run them while something blocks (`CanonicalABI.md`; wasmtime's event loop,
;; `runtime/component/concurrent.rs`). Tasks that finish inside the call that starts them need
;; none of this (see `tasks.rs`); a callback task that returns `YIELD` or `WAIT` from a call
;; gets a record here, and runs on, one callback call per step, when something blocks: a
;; `waitable-set.wait`, a sync-lowered call whose callee has not returned. A call whose start
;; is deferred (status 5) gets one when it is made.
;;
;; Bound by the lowering: type 0 is runtime-structs' HANDLES, type 1 HANDLE_TABLE. Imported:
;; `table-of` (component instance -> its handle table), `resume` (runs one step of a record:
;; restores its task, calls its callback with its event, and `park`s or ends it; for a
;; starting record, starts its deferred call), the
;; resources template's waitable-set operations, `host-step` and `host-poll`.
;;
;; A record is 32 i32s at `32 * id`:
;;   0 status: 0 free (word 1 then the next free record), 1 running (or a host function's
;;     call that an `async` lowering left pending, until `host-step` delivers its results),
;;     2 yielded, 3 waiting,
;;     4 exited, 5 starting (a call deferred until its instance may be entered: words 17-30
;;     then hold the caller's flat parameters), 6 woken (it waited, and an event for its set
;;     or its cancellation is to be delivered to it)
;;   1 the adapter whose callee the task is, 2 the callee's component instance,
;;   3 the waitable set it waits on, 4 its subtask handle in the caller's table (0: none),
;;   5 the caller's component instance, 6 the caller's return pointer, 7 its place in the
;;   run queue, 8 whether a sync caller waits for it to return, 9-12 its task state (the two
;;   context slots, whether it has returned, the result type its caller expects), 13 scratch
;;   for renumbering the queue, 14 its cancellation (bit 0: requested by `subtask.cancel`,
;;   bit 1: the `CANCELLED` event awaits delivery), 15 while it waits cancellably on the
;;   stack (wasmtime's `wake_on_cancel`): the set of its `waitable-set.wait`, or -1 in a
;;   `thread.yield`; else 0; 16 its borrow scope (`resources.wat`); 17-30 a starting call's
;;   flat parameters; while it waits (status 3), 17 and 18 the next and previous records
;;   waiting on its set (record + 1; 0: none; the list's head is in the set's slot); 31 its
;;   stamp: records made later have greater stamps (compared as `a - b < 0`, so that the
;;   count may wrap).
;;
;; Waiting and waking follow wasmtime (`WaitableSet::waiting`, `Waitable::mark_ready`): a
;; task that returns `WAIT` when its set has an event, or its cancellation, awaiting delivery
;; is woken at once; else it joins the set's list of waiting records (and its waiter count).
;; Each event for a set that records wait on wakes one of them, the one made first (wasmtime
;; takes the waiter with the least task id, and its table gives ids in order while none is
;; freed), and `subtask.cancel` wakes the task it cancels:
;; a woken record leaves the list and is queued with high priority from then on.
;;
;; The ready heap (`heap`, `heap-len` entries) is a binary min-heap of (key, record) pairs
;; ordered by `$key`, unsigned: it holds every yielded, starting and woken record under its
;; current key, so that a step takes the first record that can run without passing over the
;; others. An entry whose record is no longer queued under that key is stale and dropped when
;; it comes out; a woken record whose set's event was taken meanwhile waits again; one that
;; cannot run yet (its instance entered, or its start held by backpressure) is set aside
;; (`aside`) and goes back in after the step.
(module
  (type $handles (array (mut i32)))
  (type $table (struct (field $slots (mut (ref $handles))) (field $next (mut i32))
                       (field $len (mut i32))))

  (import "env" "table-of" (func $table_of (param i32) (result (ref $table))))
  (import "env" "resume" (func $resume (param i32)))
  (import "env" "has-event" (func $has_event (param (ref $table) i32) (result i32)))
  (import "env" "waiters" (func $waiters (param (ref $table) i32 i32)))
  (import "env" "set-slot" (func $set_slot (param (ref $table) i32) (result i32)))
  (import "env" "add-waiter" (func $add_waiter (param (ref $table) i32 i32) (result i32)))
  (import "env" "remove-waiter" (func $remove_waiter (param (ref $table) i32 i32)))
  ;; Waits for the host until a host function that an `async` lowering left pending returns,
  ;; and delivers its results (`crate::exchange`'s deferred calls): 1, or 0 when no host
  ;; call is pending.
  (import "env" "host-step" (func $host_step (result i32)))
  ;; Delivers the results of the host calls that have returned by now, after a yield to
  ;; the host, without blocking: what a task's yield lets happen natively.
  (import "env" "host-poll" (func $host_poll))
  (import "env" "records" (global $records (mut (ref $handles))))
  (import "env" "num-records" (global $num (mut i32)))
  (import "env" "free" (global $free (mut i32)))
  (import "env" "seq" (global $seq (mut i32)))
  (import "env" "loops" (global $loops (mut i32)))
  ;; Per component instance, how many of its calls are on the stack: a queued task of an
  ;; entered instance waits until it is left (wasmtime's `do_not_enter`).
  (import "env" "entered" (global $entered (mut (ref $handles))))
  ;; Per component instance, its backpressure counter (`backpressure.inc`/`dec`): while it is
  ;; above 0, or the instance is entered, calls into it wait to start (wasmtime's
  ;; `GuestCall::is_ready`).
  (import "env" "backpressure" (global $backpressure (mut (ref $handles))))
  ;; Per component instance, how many calls into it wait to start (status 5): a new call
  ;; queues behind them (wasmtime's `pending`, moved to the high-priority queue in order).
  (import "env" "starting" (global $starting (mut (ref $handles))))
  ;; The running task's: whether it called `task.return`, and its record (-1 while it runs
  ;; the call that started it).
  (import "env" "returned" (global $returned (mut i32)))
  (import "env" "current" (global $current (mut i32)))
  (import "env" "heap" (global $heap (mut (ref $handles))))
  (import "env" "heap-len" (global $heap_len (mut i32)))
  (import "env" "aside" (global $aside (mut (ref $handles))))
  (import "env" "stamps" (global $stamps (mut i32)))
  ;; The memory of a `waitable-set.wait` or `.poll` (bound per use).
  (memory 0)

  (func $deadlock (export "trap:deadlock-detected") unreachable)
  (func $blocked_under (export "trap:unsupported-wait-under-a-blocked-task") unreachable)
  (func $returned_over_caller
    (export "trap:unsupported-wait-after-return-over-a-sync-caller") unreachable)
  (func $bad_code (export "trap:bad-callback-code") unreachable)
  (func $too_many (export "trap:cannot-allocate-another-task") unreachable)
  (func $unaligned (export "trap:pointer-not-aligned") unreachable)

  ;; Writes an event's waitable handle and payload at `ptr` (two i32s, 4-aligned), as
  ;; `waitable-set.wait` and `.poll` deliver them.
  (func (export "store-event") (param $ptr i32) (param $index i32) (param $payload i32)
    (if (i32.and (local.get $ptr) (i32.const 3)) (then (call $unaligned)))
    (i32.store (local.get $ptr) (local.get $index))
    (i32.store offset=4 (local.get $ptr) (local.get $payload)))

  (func $get (export "get") (param $id i32) (param $k i32) (result i32)
    (array.get $handles (global.get $records)
      (i32.add (i32.shl (local.get $id) (i32.const 5)) (local.get $k))))

  (func $set (export "set") (param $id i32) (param $k i32) (param $v i32)
    (array.set $handles (global.get $records)
      (i32.add (i32.shl (local.get $id) (i32.const 5)) (local.get $k)) (local.get $v)))

  ;; A new running record for the callee of adapter `k` (in component instance `instance`,
  ;; called from `caller`): its id.
  (func (export "alloc") (param $k i32) (param $instance i32) (param $caller i32) (result i32)
    (local $id i32) (local $i i32)
    (if (i32.ge_s (global.get $free) (i32.const 0))
      (then
        (local.set $id (global.get $free))
        (global.set $free (call $get (local.get $id) (i32.const 1))))
      (else
        (local.set $id (global.get $num))
        (if (i32.ge_u (local.get $id) (i32.const 0x0400_0000)) (then (call $too_many)))
        (global.set $num (i32.add (local.get $id) (i32.const 1)))
        (global.set $records (call $room (global.get $records)
          (i32.shl (global.get $num) (i32.const 5))))))
    (local.set $i (i32.const 0))
    (loop $clear
      (call $set (local.get $id) (local.get $i) (i32.const 0))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $clear (i32.lt_u (local.get $i) (i32.const 32))))
    (call $set (local.get $id) (i32.const 0) (i32.const 1))
    (call $set (local.get $id) (i32.const 1) (local.get $k))
    (call $set (local.get $id) (i32.const 2) (local.get $instance))
    (call $set (local.get $id) (i32.const 5) (local.get $caller))
    (call $set (local.get $id) (i32.const 31) (global.get $stamps))
    (global.set $stamps (i32.add (global.get $stamps) (i32.const 1)))
    (local.get $id))

  (func $release (param $id i32)
    (call $set (local.get $id) (i32.const 0) (i32.const 0))
    (call $set (local.get $id) (i32.const 1) (global.get $free))
    (global.set $free (local.get $id)))

  ;; Component instance `i` is entered (`enter`) or left (`exit`) by a call.
  (func (export "enter") (param $i i32)
    (array.set $handles (global.get $entered) (local.get $i)
      (i32.add (array.get $handles (global.get $entered) (local.get $i)) (i32.const 1))))
  (func (export "is-entered") (param $i i32) (result i32)
    (array.get $handles (global.get $entered) (local.get $i)))
  (func (export "exit") (param $i i32)
    (array.set $handles (global.get $entered) (local.get $i)
      (i32.sub (array.get $handles (global.get $entered) (local.get $i)) (i32.const 1))))

  ;; Whether a call may start in component instance `i` now: it is not entered and has no
  ;; backpressure.
  (func $free (export "free") (param $i i32) (result i32)
    (i32.eqz (i32.or (array.get $handles (global.get $entered) (local.get $i))
      (array.get $handles (global.get $backpressure) (local.get $i)))))

  ;; Before a new call into instance `i` starts: the calls into it that wait to start and
  ;; may, and what is queued before them with high priority, run first (in wasmtime the new
  ;; call queues behind them, and its caller waits until the new call has run).
  (func (export "drain") (param $i i32)
    (local $bound i32)
    (if (i32.eqz (array.get $handles (global.get $starting) (local.get $i))) (then (return)))
    (local.set $bound (call $next_seq))
    (global.set $loops (i32.add (global.get $loops) (i32.const 1)))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (array.get $handles (global.get $starting) (local.get $i))))
        (br_if $next (call $step (local.get $bound)))))
    (global.set $loops (i32.sub (global.get $loops) (i32.const 1))))

  ;; `backpressure.inc` (1) and `backpressure.dec` (-1) of instance `i`: the counter stays in
  ;; 0..=0xffff (wasmtime's 16-bit counter), else the trap.
  (func $overflow (export "trap:backpressure-counter-overflow") unreachable)
  (func (export "backpressure-add") (param $i i32) (param $delta i32)
    (local $v i32)
    (local.set $v (i32.add (array.get $handles (global.get $backpressure) (local.get $i))
      (local.get $delta)))
    (if (i32.gt_u (local.get $v) (i32.const 0xffff)) (then (call $overflow)))
    (array.set $handles (global.get $backpressure) (local.get $i) (local.get $v)))

  ;; Record `id`'s call waits to start (status 5), queued behind what is queued now.
  (func (export "defer") (param $id i32)
    (local $i i32)
    (call $set (local.get $id) (i32.const 7) (call $next_seq))
    (call $set (local.get $id) (i32.const 0) (i32.const 5))
    (call $push (local.get $id))
    (local.set $i (call $get (local.get $id) (i32.const 2)))
    (array.set $handles (global.get $starting) (local.get $i)
      (i32.add (array.get $handles (global.get $starting) (local.get $i)) (i32.const 1))))

  ;; Record `id`'s call no longer waits to start (it starts, or was cancelled).
  (func (export "started") (param $id i32)
    (local $i i32)
    (local.set $i (call $get (local.get $id) (i32.const 2)))
    (array.set $handles (global.get $starting) (local.get $i)
      (i32.sub (array.get $handles (global.get $starting) (local.get $i)) (i32.const 1))))

  ;; The next place in the run queue. Places stay below 2^30 (`$key` adds 2^30 for yielded
  ;; tasks): when they would not, the queued records are renumbered by rank.
  (func $next_seq (result i32)
    (local $id i32) (local $other i32) (local $rank i32) (local $n i32)
    (if (i32.ge_u (global.get $seq) (i32.const 0x3fff_0000))
      (then
        (local.set $id (i32.const 0))
        (block $done
          (loop $each
            (br_if $done (i32.ge_u (local.get $id) (global.get $num)))
            (if (call $queued (local.get $id))
              (then
                (local.set $rank (i32.const 0))
                (local.set $other (i32.const 0))
                (block $counted
                  (loop $count
                    (br_if $counted (i32.ge_u (local.get $other) (global.get $num)))
                    (if (call $queued (local.get $other))
                      (then
                        (if (i32.lt_u (call $get (local.get $other) (i32.const 7))
                              (call $get (local.get $id) (i32.const 7)))
                          (then (local.set $rank (i32.add (local.get $rank) (i32.const 1)))))))
                    (local.set $other (i32.add (local.get $other) (i32.const 1)))
                    (br $count)))
                (call $set (local.get $id) (i32.const 13) (local.get $rank))
                (local.set $n (i32.add (local.get $n) (i32.const 1)))))
            (local.set $id (i32.add (local.get $id) (i32.const 1)))
            (br $each)))
        (local.set $id (i32.const 0))
        (block $done
          (loop $each
            (br_if $done (i32.ge_u (local.get $id) (global.get $num)))
            (if (call $queued (local.get $id))
              (then (call $set (local.get $id) (i32.const 7)
                (call $get (local.get $id) (i32.const 13)))))
            (local.set $id (i32.add (local.get $id) (i32.const 1)))
            (br $each)))
        (global.set $seq (local.get $n))
        (call $rebuild)))
    (global.set $seq (i32.add (global.get $seq) (i32.const 1)))
    (i32.sub (global.get $seq) (i32.const 1)))

  ;; Whether record `id` is in the run queue (yielded, waiting, starting or woken).
  (func $queued (param $id i32) (result i32)
    (local $status i32)
    (local.set $status (call $get (local.get $id) (i32.const 0)))
    (i32.or (i32.eq (i32.or (local.get $status) (i32.const 1)) (i32.const 3))
      (i32.lt_u (i32.sub (local.get $status) (i32.const 5)) (i32.const 2))))

  ;; After a callback call of record `id` returned `code` (`CallbackCode`): queues the task
  ;; (`YIELD`; `WAIT` on a set of its instance, checked), or traps on another code. `EXIT` is
  ;; the caller's to handle.
  (func (export "park") (param $id i32) (param $code i32)
    (local $set i32) (local $t (ref $table))
    (call $set (local.get $id) (i32.const 7) (call $next_seq))
    (if (i32.eq (i32.and (local.get $code) (i32.const 15)) (i32.const 1))
      (then
        (call $set (local.get $id) (i32.const 0) (i32.const 2))
        (call $push (local.get $id))
        (return)))
    (if (i32.ne (i32.and (local.get $code) (i32.const 15)) (i32.const 2)) (then (call $bad_code)))
    (local.set $set (i32.shr_u (local.get $code) (i32.const 4)))
    (local.set $t (call $table_of (call $get (local.get $id) (i32.const 2))))
    (drop (call $set_slot (local.get $t) (local.get $set)))
    (call $set (local.get $id) (i32.const 3) (local.get $set))
    (if (i32.or (call $has_event (local.get $t) (local.get $set))
          (i32.and (call $get (local.get $id) (i32.const 14)) (i32.const 2)))
      (then
        (call $set (local.get $id) (i32.const 0) (i32.const 6))
        (call $push (local.get $id)))
      (else (call $wait_on (local.get $t) (local.get $set) (local.get $id)))))

  ;; Record `id` waits on set `set` of table `t` (status 3): first in the set's list, and
  ;; counted among its waiters.
  (func $wait_on (param $t (ref $table)) (param $set i32) (param $id i32)
    (local $head i32)
    (local.set $head (call $add_waiter (local.get $t) (local.get $set)
      (i32.add (local.get $id) (i32.const 1))))
    (call $set (local.get $id) (i32.const 17) (local.get $head))
    (call $set (local.get $id) (i32.const 18) (i32.const 0))
    (if (local.get $head)
      (then (call $set (i32.sub (local.get $head) (i32.const 1)) (i32.const 18)
        (i32.add (local.get $id) (i32.const 1)))))
    (call $set (local.get $id) (i32.const 0) (i32.const 3)))

  ;; Record `id`, waiting on set `set` of table `t`, wakes (status 6): out of the set's list
  ;; and waiter count, queued with high priority from now.
  (func $woken (param $t (ref $table)) (param $set i32) (param $id i32)
    (local $next i32) (local $prev i32)
    (local.set $next (call $get (local.get $id) (i32.const 17)))
    (local.set $prev (call $get (local.get $id) (i32.const 18)))
    (if (local.get $prev)
      (then
        (call $set (i32.sub (local.get $prev) (i32.const 1)) (i32.const 17) (local.get $next))
        (call $remove_waiter (local.get $t) (local.get $set) (i32.const -1)))
      (else (call $remove_waiter (local.get $t) (local.get $set) (local.get $next))))
    (if (local.get $next)
      (then (call $set (i32.sub (local.get $next) (i32.const 1)) (i32.const 18) (local.get $prev))))
    (call $set (local.get $id) (i32.const 7) (call $next_seq))
    (call $set (local.get $id) (i32.const 0) (i32.const 6))
    (call $push (local.get $id)))

  ;; An event for set `set` of table `t`, whose list of waiting records starts at `head`
  ;; (record + 1): the one made first wakes.
  (func (export "wake") (param $t (ref $table)) (param $set i32) (param $head i32)
    (local $id i32) (local $least i32)
    (local.set $id (i32.sub (local.get $head) (i32.const 1)))
    (local.set $least (local.get $id))
    (loop $each
      (if (i32.lt_s (i32.sub (call $get (local.get $id) (i32.const 31))
            (call $get (local.get $least) (i32.const 31))) (i32.const 0))
        (then (local.set $least (local.get $id))))
      (local.set $id (i32.sub (call $get (local.get $id) (i32.const 17)) (i32.const 1)))
      (br_if $each (i32.ge_s (local.get $id) (i32.const 0))))
    (call $woken (local.get $t) (local.get $set) (local.get $least)))

  ;; `a`, or a copy of it twice as long when `need` elements do not fit.
  (func $room (param $a (ref $handles)) (param $need i32) (result (ref $handles))
    (local $b (ref $handles))
    (if (i32.le_u (local.get $need) (array.len (local.get $a))) (then (return (local.get $a))))
    (local.set $b (array.new_default $handles (i32.shl (array.len (local.get $a)) (i32.const 1))))
    (array.copy $handles $handles (local.get $b) (i32.const 0) (local.get $a) (i32.const 0)
      (array.len (local.get $a)))
    (local.get $b))

  ;; Puts record `id` (yielded, starting or woken) into the ready heap under its key.
  (func $push (param $id i32)
    (local $key i32) (local $i i32) (local $p i32) (local $h (ref $handles))
    (local.set $key (call $key (local.get $id)))
    (local.set $i (global.get $heap_len))
    (global.set $heap (call $room (global.get $heap)
      (i32.shl (i32.add (local.get $i) (i32.const 1)) (i32.const 1))))
    (global.set $heap_len (i32.add (local.get $i) (i32.const 1)))
    (local.set $h (global.get $heap))
    (block $done
      (loop $up
        (br_if $done (i32.eqz (local.get $i)))
        (local.set $p (i32.shr_u (i32.sub (local.get $i) (i32.const 1)) (i32.const 1)))
        (br_if $done (i32.le_u
          (array.get $handles (local.get $h) (i32.shl (local.get $p) (i32.const 1)))
          (local.get $key)))
        (call $move (local.get $h) (local.get $i) (local.get $p))
        (local.set $i (local.get $p))
        (br $up)))
    (array.set $handles (local.get $h) (i32.shl (local.get $i) (i32.const 1)) (local.get $key))
    (array.set $handles (local.get $h) (i32.add (i32.shl (local.get $i) (i32.const 1))
      (i32.const 1)) (local.get $id)))

  ;; Takes the entry with the least key out of the ready heap, which is not empty: (key,
  ;; record).
  (func $pop (result i32 i32)
    (local $key i32) (local $id i32) (local $last i32) (local $n i32) (local $i i32)
    (local $c i32) (local $h (ref $handles))
    (local.set $h (global.get $heap))
    (local.set $key (array.get $handles (local.get $h) (i32.const 0)))
    (local.set $id (array.get $handles (local.get $h) (i32.const 1)))
    (local.set $n (i32.sub (global.get $heap_len) (i32.const 1)))
    (global.set $heap_len (local.get $n))
    (local.set $last (array.get $handles (local.get $h) (i32.shl (local.get $n) (i32.const 1))))
    ;; The last entry moves down from the root to its place.
    (block $done
      (loop $down
        (local.set $c (i32.add (i32.shl (local.get $i) (i32.const 1)) (i32.const 1)))
        (br_if $done (i32.ge_u (local.get $c) (local.get $n)))
        (if (i32.lt_u (i32.add (local.get $c) (i32.const 1)) (local.get $n))
          (then
            (if (i32.lt_u
                  (array.get $handles (local.get $h)
                    (i32.shl (i32.add (local.get $c) (i32.const 1)) (i32.const 1)))
                  (array.get $handles (local.get $h) (i32.shl (local.get $c) (i32.const 1))))
              (then (local.set $c (i32.add (local.get $c) (i32.const 1)))))))
        (br_if $done (i32.le_u (local.get $last)
          (array.get $handles (local.get $h) (i32.shl (local.get $c) (i32.const 1)))))
        (call $move (local.get $h) (local.get $i) (local.get $c))
        (local.set $i (local.get $c))
        (br $down)))
    (call $move (local.get $h) (local.get $i) (local.get $n))
    (local.get $key)
    (local.get $id))

  ;; Entry `from` of heap `h` copied to entry `to`.
  (func $move (param $h (ref $handles)) (param $to i32) (param $from i32)
    (array.set $handles (local.get $h) (i32.shl (local.get $to) (i32.const 1))
      (array.get $handles (local.get $h) (i32.shl (local.get $from) (i32.const 1))))
    (array.set $handles (local.get $h) (i32.add (i32.shl (local.get $to) (i32.const 1)) (i32.const 1))
      (array.get $handles (local.get $h) (i32.add (i32.shl (local.get $from) (i32.const 1))
        (i32.const 1)))))

  ;; The ready heap made anew from the records (after `$next_seq` renumbered them).
  (func $rebuild
    (local $id i32)
    (global.set $heap_len (i32.const 0))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $id) (global.get $num)))
        (if (call $in_heap (local.get $id)) (then (call $push (local.get $id))))
        (local.set $id (i32.add (local.get $id) (i32.const 1)))
        (br $each))))

  ;; Whether record `id` belongs in the ready heap: yielded, starting or woken.
  (func $in_heap (param $id i32) (result i32)
    (local $status i32)
    (local.set $status (call $get (local.get $id) (i32.const 0)))
    (i32.or (i32.eq (local.get $status) (i32.const 2))
      (i32.lt_u (i32.sub (local.get $status) (i32.const 5)) (i32.const 2))))

  ;; Record `id`'s task has exited: the record is freed unless its subtask or a sync caller
  ;; still refers to it.
  (func (export "exited") (param $id i32)
    (call $set (local.get $id) (i32.const 0) (i32.const 4))
    (if (i32.eqz (i32.or (call $get (local.get $id) (i32.const 4))
                         (call $get (local.get $id) (i32.const 8))))
      (then (call $release (local.get $id)))))

  ;; The caller's last reference to record `id` is gone (its subtask dropped, or a sync
  ;; caller done waiting): frees it if its task has exited.
  (func (export "forget") (param $id i32)
    (call $set (local.get $id) (i32.const 4) (i32.const 0))
    (call $set (local.get $id) (i32.const 8) (i32.const 0))
    (if (i32.eq (call $get (local.get $id) (i32.const 0)) (i32.const 4))
      (then (call $release (local.get $id)))))

  ;; The order in which runnable record `id` runs: woken tasks and calls that may start
  ;; first, then yielded ones, each in the order they were queued (wasmtime's high- and
  ;; low-priority work queues).
  (func $key (param $id i32) (result i32)
    (i32.add (call $get (local.get $id) (i32.const 7))
      (select (i32.const 0x4000_0000) (i32.const 0)
        (i32.eq (call $get (local.get $id) (i32.const 0)) (i32.const 2)))))

  ;; Runs one step of the next queued task that can run (a yielded or woken one, or a call
  ;; waiting to start whose instance is free) and comes before `bound` in the order of
  ;; `$key`; 0 when none can. Takes entries out of the ready heap until one can run.
  (func $step (param $bound i32) (result i32)
    (local $id i32) (local $key i32) (local $status i32) (local $found i32) (local $n i32)
    (local $i i32)
    (local.set $found (i32.const -1))
    ;; When a task that yielded is next, the host's calls have their turn first, and the
    ;; tasks their results wake run before it (wasmtime polls the host's futures before it
    ;; takes from its low-priority queue).
    (if (global.get $heap_len)
      (then
        (if (i32.ge_u (array.get $handles (global.get $heap) (i32.const 0))
              (i32.const 0x4000_0000))
          (then (call $host_poll)))))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (global.get $heap_len)))
        (br_if $done (i32.ge_u (array.get $handles (global.get $heap) (i32.const 0))
          (local.get $bound)))
        (call $pop)
        (local.set $id)
        (local.set $key)
        ;; Stale: out of the heap's states, or in again under another key.
        (br_if $next (i32.eqz (call $in_heap (local.get $id))))
        (br_if $next (i32.ne (call $key (local.get $id)) (local.get $key)))
        (local.set $status (call $get (local.get $id) (i32.const 0)))
        ;; Woken for an event that was taken since (by a `waitable-set.poll`, or a wait on the
        ;; stack): it waits again.
        (if (i32.eq (local.get $status) (i32.const 6))
          (then
            (if (i32.eqz (i32.or
                  (i32.and (call $get (local.get $id) (i32.const 14)) (i32.const 2))
                  (call $has_event (call $table_of (call $get (local.get $id) (i32.const 2)))
                    (call $get (local.get $id) (i32.const 3)))))
              (then
                (call $wait_on (call $table_of (call $get (local.get $id) (i32.const 2)))
                  (call $get (local.get $id) (i32.const 3)) (local.get $id))
                (br $next)))))
        (if (i32.eqz (array.get $handles (global.get $entered)
              (call $get (local.get $id) (i32.const 2))))
          (then
            (if (i32.or (i32.ne (local.get $status) (i32.const 5))
                  (call $free (call $get (local.get $id) (i32.const 2))))
              (then
                (local.set $found (local.get $id))
                (br $done)))))
        ;; Its instance is entered, or its start is held by backpressure: set aside.
        (global.set $aside (call $room (global.get $aside) (i32.add (local.get $n) (i32.const 1))))
        (array.set $handles (global.get $aside) (local.get $n) (local.get $id))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $next)))
    (block $back
      (loop $each
        (br_if $back (i32.ge_u (local.get $i) (local.get $n)))
        (call $push (array.get $handles (global.get $aside) (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each)))
    (if (i32.lt_s (local.get $found) (i32.const 0)) (then (return (i32.const 0))))
    (call $resume (local.get $found))
    (i32.const 1))

  ;; `subtask.cancel` of record `id`'s task, which has not resolved: the cancellation is
  ;; requested and its event awaits delivery. Returns 1 when the task is to get it at once
  ;; (wasmtime's `wake_on_cancel`: the task waits in its callback loop and was not woken; it
  ;; wakes now), 2 when it waits cancellably further down the stack on a set that has no
  ;; event or in a yield (word 15), else 0 (it gets the event when it next runs, waits or
  ;; yields).
  (func (export "request-cancel") (param $id i32) (result i32)
    (local $status i32) (local $wake i32) (local $t (ref $table))
    (call $set (local.get $id) (i32.const 14) (i32.const 3))
    (local.set $status (call $get (local.get $id) (i32.const 0)))
    (local.set $t (call $table_of (call $get (local.get $id) (i32.const 2))))
    (if (i32.eq (local.get $status) (i32.const 3))
      (then
        (call $woken (local.get $t) (call $get (local.get $id) (i32.const 3)) (local.get $id))
        (return (i32.const 1))))
    (local.set $wake (call $get (local.get $id) (i32.const 15)))
    (if (i32.and (i32.eq (local.get $status) (i32.const 1))
          (i32.ne (local.get $wake) (i32.const 0)))
      (then
        (if (i32.lt_s (local.get $wake) (i32.const 0)) (then (return (i32.const 2))))
        (if (i32.eqz (call $has_event (local.get $t) (local.get $wake)))
          (then (return (i32.const 2))))))
    (i32.const 0))

  ;; Whether the task of record `id` (-1: a task in its first run, which has none) awaits
  ;; the `CANCELLED` event; takes the event when it does.
  (func (export "take-cancel") (param $id i32) (result i32)
    (if (i32.lt_s (local.get $id) (i32.const 0)) (then (return (i32.const 0))))
    (if (i32.eqz (i32.and (call $get (local.get $id) (i32.const 14)) (i32.const 2)))
      (then (return (i32.const 0))))
    (call $set (local.get $id) (i32.const 14)
      (i32.and (call $get (local.get $id) (i32.const 14)) (i32.const 1)))
    (i32.const 1))

  ;; Whether cancellation of the task of record `id` (-1: none) was requested.
  (func (export "cancel-requested") (param $id i32) (result i32)
    (if (i32.lt_s (local.get $id) (i32.const 0)) (then (return (i32.const 0))))
    (i32.and (call $get (local.get $id) (i32.const 14)) (i32.const 1)))

  ;; Nothing can run: the host's pending calls are waited for first (one may be what the
  ;; stuck tasks wait for; wasmtime's event loop waits for the host's futures too, so a
  ;; deadlock with a host call pending that never returns hangs there as well); without any,
  ;; wasmtime's deadlock, unless another loop is blocked below this one, whose task
  ;; wasmtime could resume on its own fiber, or the waiting task has returned in the call
  ;; that started it, a sync one (an async one is the limit before any wait), whose caller
  ;; wasmtime resumes.
  (func $stuck
    (if (call $host_step) (then (return)))
    (if (i32.gt_u (global.get $loops) (i32.const 1)) (then (call $blocked_under)))
    (if (i32.and (global.get $returned) (i32.eq (global.get $current) (i32.const -1)))
      (then (call $returned_over_caller)))
    (call $deadlock))

  ;; For a caller that blocks on a condition of its own (a sync future read or write): `block`
  ;; counts it in (1) and out (-1) of the blocked callers, `blocked-step` runs one step of the
  ;; queued tasks, trapping when none can run.
  (func (export "block") (param $delta i32)
    (global.set $loops (i32.add (global.get $loops) (local.get $delta))))
  (func (export "blocked-step")
    (if (i32.eqz (call $step (i32.const -1))) (then (call $stuck))))

  ;; Runs queued tasks until record `id`'s task has returned or exited (a sync caller's
  ;; wait).
  (func (export "wait-task") (param $id i32)
    (global.set $loops (i32.add (global.get $loops) (i32.const 1)))
    (block $done
      (loop $next
        (br_if $done (call $get (local.get $id) (i32.const 11)))
        (br_if $done (i32.eq (call $get (local.get $id) (i32.const 0)) (i32.const 4)))
        (if (i32.eqz (call $step (i32.const -1))) (then (call $stuck)))
        (br $next)))
    (global.set $loops (i32.sub (global.get $loops) (i32.const 1))))

  ;; `thread.yield` of a task that may block: runs the queued tasks that wasmtime runs before
  ;; the yielding one comes back (those whose event has come, and those that yielded before),
  ;; each as often as it can before then.
  (func (export "yield")
    (local $bound i32)
    (call $host_poll)
    (local.set $bound (i32.add (call $next_seq) (i32.const 0x4000_0000)))
    (global.set $loops (i32.add (global.get $loops) (i32.const 1)))
    (loop $next
      (br_if $next (call $step (local.get $bound))))
    (global.set $loops (i32.sub (global.get $loops) (i32.const 1))))

  ;; Runs queued tasks until set `set` of table `t` has an event (`waitable-set.wait`).
  (func (export "wait-set") (param $t (ref $table)) (param $set i32)
    (drop (call $set_slot (local.get $t) (local.get $set)))
    (if (call $has_event (local.get $t) (local.get $set)) (then (return)))
    (global.set $loops (i32.add (global.get $loops) (i32.const 1)))
    (call $waiters (local.get $t) (local.get $set) (i32.const 1))
    (block $done
      (loop $next
        (br_if $done (call $has_event (local.get $t) (local.get $set)))
        (if (i32.eqz (call $step (i32.const -1))) (then (call $stuck)))
        (br $next)))
    (call $waiters (local.get $t) (local.get $set) (i32.const -1))
    (global.set $loops (i32.sub (global.get $loops) (i32.const 1))))
)
