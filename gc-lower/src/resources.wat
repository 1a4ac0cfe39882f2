;; Resource handle tables and borrow scopes in wasm: what the `resource.new`, `resource.rep`
;; and `resource.drop` built-ins and FACT's `resource-transfer-own`/`-borrow` and
;; `enter-sync-call`/`exit-sync-call` imports do in wasmtime's host
;; (`wasmtime/src/runtime/vm/component/{resources.rs,handle_table.rs}`), with the same handle
;; numbering and the same traps. Each trap wasmtime reports with a message calls the function
;; exported as `trap:{reason}`, which the lowering makes its function of that reason (see
;; `template.rs`), so that the backtrace names it; the checks of the lowering's own invariants
;; execute `unreachable`.
;;
;; Bound by the lowering: type 0 is runtime-structs' HANDLES, type 1 HANDLE_TABLE; the imported
;; `table-for` returns the handle table of the component instance that owns a resource table
;; type, `owns` says whether that instance defines the resource itself; the imported globals
;; are the borrow scopes, created once per output; `host-lend-end` (k, handle) drops a handle
;; of the host's imported resource `k` (a borrow the host lent in, or the host's own handle
;; once no host call borrows it) with the guest core ABI's `[resource-drop]`.
;;
;; A slot is eight i32s at `8 * (h - 1)`: kind (0 free, 1 own, 2 borrow; 3-9 below), resource
;; table type, rep, and an extra word (free: the next free slot; own: the lend count; borrow:
;; its scope's id); words 4 and 5 are a waitable set's (below), 6 and 7 unused. Eight rather
;; than six keeps a handle's slot a shift away.
;;
;; Borrow scopes are wasmtime's per-task `CallContext`s: a scope per sync call and per task,
;; whose borrows and lends last until the task returns (validated at `task.return` or
;; `task.cancel`), so that
;; a task that goes on past its first call keeps them (`tasks.rs` detaches the scope from the
;; stack between the task's runs, and frees it when the task exits). A
;; scope is two i32s at `2 * id` in `scopes`: its count of live borrow handles (-1 when the id
;; is free), and the head of its lender list (-1: empty; a free id: the next free id). The
;; active scopes are a stack of ids (`scope-stack`, `depth` of them), the innermost last. A
;; lender is three i32s at `3 * index` in `lenders`: the resource table type of an own handle
;; lent to the scope's borrows (or `-1 - k` for a borrow handle of the host's resource `k`
;; that the host lent to the call, or `HOST_LENT - k`, at most `HOST_LENT`, for the host's
;; own handle of its resource `k` that the output lent to a host call), the handle, and the
;; next lender of the scope (or of the free list).
(module
  (type $handles (array (mut i32)))
  (type $table (struct (field $slots (mut (ref $handles))) (field $next (mut i32))
                       (field $len (mut i32))))

  (import "env" "table-for" (func $table_for (param i32) (result (ref $table))))
  (import "env" "owns" (func $owns (param i32) (result i32)))
  ;; The transmit template's `delivered` (record, side, whether the event ends the end's
  ;; operation) -> the event's count: a stream end's event is delivered.
  (import "env" "stream-delivered" (func $stream_delivered (param i32 i32 i32) (result i32)))
  (import "env" "scopes" (global $scopes (mut (ref $handles))))
  (import "env" "depth" (global $depth (mut i32)))
  (import "env" "lenders" (global $lenders (mut (ref $handles))))
  (import "env" "num-lenders" (global $num_lenders (mut i32)))
  (import "env" "scope-stack" (global $stack (mut (ref $handles))))
  (import "env" "num-scopes" (global $num_scopes (mut i32)))
  (import "env" "free-scope" (global $free_scope (mut i32)))
  (import "env" "free-lender" (global $free_lender (mut i32)))
  ;; The host's handles the output lends to host calls (`lend-to-host`), by handle: the count
  ;; of calls that borrow it, plus `DROP_PENDING` (0x40000000) once the guest has dropped it
  ;; meanwhile; or `HOST_BORROW` (0x20000000) for a borrow handle the host lent in, while
  ;; the call it lent it to lasts (`lend-from-host`).
  (import "env" "host-lent" (global $host_lent (mut (ref $handles))))
  (import "env" "host-lend-end" (func $host_lend_end (param i32 i32)))
  ;; The scheduler's `wake` (table, set, first of its waiting records + 1): an event for set
  ;; `set` wakes one of the records waiting on it in their callback loops.
  (import "env" "wake" (func $wake (param (ref $table) i32 i32)))

  ;; The traps, named for wasmtime's messages.
  (func $cannot_allocate (export "trap:cannot-allocate-another-handle") unreachable)
  (func $unknown_handle (export "trap:unknown-handle-index") unreachable)
  (func $wrong_type (export "trap:handle-used-with-the-wrong-type") unreachable)
  (func $borrowed (export "trap:cannot-remove-owned-resource-while-borrowed") unreachable)
  (func $own_from_borrow (export "trap:cannot-lift-own-resource-from-a-borrow") unreachable)
  (func $borrows_remain (export "trap:borrow-handles-still-remain-at-the-end-of-the-call")
    unreachable)

  (func $not_resource (export "trap:index-is-not-a-resource") unreachable)
  (func $not_set (export "trap:handle-is-not-a-waitable-set") unreachable)
  (func $not_subtask (export "trap:handle-is-not-a-subtask") unreachable)
  (func $not_waitable (export "trap:handle-is-not-a-waitable") unreachable)
  (func $has_waiters (export "trap:cannot-drop-waitable-set-with-waiters") unreachable)
  (func $has_members (export "trap:cannot-drop-waitable-set-with-members") unreachable)
  (func $not_future (export "trap:handle-is-not-a-future") unreachable)
  (func $other_future (export "trap:handle-is-a-future-of-a-different-type") unreachable)
  (func $not_stream (export "trap:handle-is-not-a-stream") unreachable)
  (func $other_stream (export "trap:handle-is-a-stream-of-a-different-type") unreachable)
  (func $not_resolved (export "trap:cannot-drop-a-subtask-which-has-not-yet-resolved")
    unreachable)
  (func $after_terminal (export "trap:subtask-cancel-called-after-terminal-status-delivered")
    unreachable)
  (func $sync_in_set
    (export "trap:waitable-cannot-be-used-synchronously-while-added-to-a-waitable-set")
    unreachable)

  ;; `a`, or a copy of it at least `need` elements long.
  (func $reserve (param $a (ref $handles)) (param $need i32) (result (ref $handles))
    (local $b (ref $handles))
    (if (i32.le_u (local.get $need) (array.len (local.get $a))) (then (return (local.get $a))))
    (local.set $b (array.new_default $handles
      (select (local.get $need) (i32.shl (array.len (local.get $a)) (i32.const 1))
        (i32.gt_u (local.get $need) (i32.shl (array.len (local.get $a)) (i32.const 1))))))
    (array.copy $handles $handles (local.get $b) (i32.const 0) (local.get $a) (i32.const 0)
      (array.len (local.get $a)))
    (local.get $b))

  ;; `HandleTable::insert`: takes the first free slot (a new one when none is free), returns
  ;; its handle.
  (func $insert (param $t (ref $table)) (param $kind i32) (param $ty i32) (param $rep i32)
    (param $extra i32) (result i32)
    (local $next i32) (local $s i32) (local $slots (ref $handles))
    (local.set $next (struct.get $table $next (local.get $t)))
    ;; MAX_HANDLE = 1 << 28
    (if (i32.ge_u (i32.add (local.get $next) (i32.const 1)) (i32.const 0x1000_0000))
      (then (call $cannot_allocate)))
    (if (i32.eq (local.get $next) (struct.get $table $len (local.get $t)))
      (then
        (struct.set $table $slots (local.get $t)
          (call $reserve (struct.get $table $slots (local.get $t))
            (i32.shl (i32.add (local.get $next) (i32.const 1)) (i32.const 3))))
        (local.set $slots (struct.get $table $slots (local.get $t)))
        (array.set $handles (local.get $slots) (i32.shl (local.get $next) (i32.const 3))
          (i32.const 0))
        (array.set $handles (local.get $slots)
          (i32.add (i32.shl (local.get $next) (i32.const 3)) (i32.const 3))
          (i32.add (local.get $next) (i32.const 1)))
        (struct.set $table $len (local.get $t) (i32.add (local.get $next) (i32.const 1)))))
    (local.set $slots (struct.get $table $slots (local.get $t)))
    (local.set $s (i32.shl (local.get $next) (i32.const 3)))
    (struct.set $table $next (local.get $t)
      (array.get $handles (local.get $slots) (i32.add (local.get $s) (i32.const 3))))
    (array.set $handles (local.get $slots) (local.get $s) (local.get $kind))
    (array.set $handles (local.get $slots) (i32.add (local.get $s) (i32.const 1)) (local.get $ty))
    (array.set $handles (local.get $slots) (i32.add (local.get $s) (i32.const 2)) (local.get $rep))
    (array.set $handles (local.get $slots) (i32.add (local.get $s) (i32.const 3)) (local.get $extra))
    (array.set $handles (local.get $slots) (i32.add (local.get $s) (i32.const 4)) (i32.const 0))
    (i32.add (local.get $next) (i32.const 1)))

  ;; The first word of the slot of handle `h`; traps on an unknown (free or out of range)
  ;; handle.
  (func $slot (param $t (ref $table)) (param $h i32) (result i32)
    (local $s i32)
    (if (i32.eqz (local.get $h)) (then (call $unknown_handle)))
    (if (i32.ge_u (i32.sub (local.get $h) (i32.const 1)) (struct.get $table $len (local.get $t)))
      (then (call $unknown_handle)))
    (local.set $s (i32.shl (i32.sub (local.get $h) (i32.const 1)) (i32.const 3)))
    (if (i32.eqz (array.get $handles (struct.get $table $slots (local.get $t)) (local.get $s)))
      (then (call $unknown_handle)))
    (local.get $s))

  ;; Word `k` of the slot at `s`.
  (func $word (param $t (ref $table)) (param $s i32) (param $k i32) (result i32)
    (array.get $handles (struct.get $table $slots (local.get $t))
      (i32.add (local.get $s) (local.get $k))))

  (func $set_word (param $t (ref $table)) (param $s i32) (param $k i32) (param $v i32)
    (array.set $handles (struct.get $table $slots (local.get $t))
      (i32.add (local.get $s) (local.get $k)) (local.get $v)))

  ;; `TypedResource::rep`: the rep of the slot at `s`, trapping when it holds another type.
  (func $rep_of (param $t (ref $table)) (param $s i32) (param $ty i32) (result i32)
    ;; "index is not a resource": a waitable set or a subtask
    (if (i32.gt_u (call $word (local.get $t) (local.get $s) (i32.const 0)) (i32.const 2))
      (then (call $not_resource)))
    (if (i32.ne (call $word (local.get $t) (local.get $s) (i32.const 1)) (local.get $ty))
      (then (call $wrong_type)))
    (call $word (local.get $t) (local.get $s) (i32.const 2)))

  ;; `HandleTable::remove`: frees handle `h` (slot `s`) onto the free list.
  (func $free (param $t (ref $table)) (param $h i32) (param $s i32)
    (if (call $waitable (local.get $t) (local.get $s))
      (then (call $count_in_set (local.get $t) (local.get $s) (i32.const -1))))
    (call $set_word (local.get $t) (local.get $s) (i32.const 0) (i32.const 0))
    (call $set_word (local.get $t) (local.get $s) (i32.const 3) (struct.get $table $next (local.get $t)))
    (struct.set $table $next (local.get $t) (i32.sub (local.get $h) (i32.const 1))))

  ;; `resource_drop` / `remove_resource`: removes handle `h` of type `ty`. Returns
  ;; `(rep << 1) | 1` for an own handle (its destructor must run) and 0 for a borrow.
  (func $remove (param $ty i32) (param $h i32) (result i64)
    (local $t (ref $table)) (local $s i32) (local $rep i32) (local $scope i32)
    (local.set $t (call $table_for (local.get $ty)))
    (local.set $s (call $slot (local.get $t) (local.get $h)))
    (if (i32.eq (call $word (local.get $t) (local.get $s) (i32.const 0)) (i32.const 1))
      (then
        ;; "cannot remove owned resource while borrowed"
        (if (call $word (local.get $t) (local.get $s) (i32.const 3)) (then (call $borrowed)))
        (local.set $rep (call $rep_of (local.get $t) (local.get $s) (local.get $ty)))
        (call $free (local.get $t) (local.get $h) (local.get $s))
        (return (i64.or (i64.shl (i64.extend_i32_u (local.get $rep)) (i64.const 1))
          (i64.const 1)))))
    (drop (call $rep_of (local.get $t) (local.get $s) (local.get $ty)))
    (local.set $scope (call $word (local.get $t) (local.get $s) (i32.const 3)))
    (call $free (local.get $t) (local.get $h) (local.get $s))
    ;; The borrow's scope (maybe another task's) has one live borrow less.
    (if (i32.le_s (call $count (local.get $scope)) (i32.const 0)) (then unreachable))
    (call $set_count (local.get $scope) (i32.sub (call $count (local.get $scope)) (i32.const 1)))
    (i64.const 0))

  ;; resource.new (ty, rep) -> handle
  (func (export "new") (param $ty i32) (param $rep i32) (result i32)
    (call $insert (call $table_for (local.get $ty)) (i32.const 1) (local.get $ty) (local.get $rep)
      (i32.const 0)))

  ;; resource.rep (ty, handle) -> rep
  (func (export "rep") (param $ty i32) (param $h i32) (result i32)
    (local $t (ref $table))
    (local.set $t (call $table_for (local.get $ty)))
    (call $rep_of (local.get $t) (call $slot (local.get $t) (local.get $h)) (local.get $ty)))

  ;; resource.drop (ty, handle) -> (rep << 1) | 1 when a destructor must run, else 0
  (func (export "drop") (param $ty i32) (param $h i32) (result i64)
    (call $remove (local.get $ty) (local.get $h)))

  ;; resource-transfer-own (handle, src ty, dst ty) -> handle in the destination table.
  (func (export "transfer-own") (param $h i32) (param $src i32) (param $dst i32) (result i32)
    (local $r i64)
    (local.set $r (call $remove (local.get $src) (local.get $h)))
    ;; "cannot lift own resource from a borrow"
    (if (i64.eqz (local.get $r)) (then (call $own_from_borrow)))
    (call $insert (call $table_for (local.get $dst)) (i32.const 1) (local.get $dst)
      (i32.wrap_i64 (i64.shr_u (local.get $r) (i64.const 1))) (i32.const 0)))

  ;; resource-transfer-borrow (handle, src ty, dst ty) -> handle in the destination table, or
  ;; the rep itself when the destination instance defines the resource.
  (func (export "transfer-borrow") (param $h i32) (param $src i32) (param $dst i32) (result i32)
    (local $t (ref $table)) (local $s i32) (local $rep i32)
    (local.set $t (call $table_for (local.get $src)))
    (local.set $s (call $slot (local.get $t) (local.get $h)))
    (local.set $rep (call $rep_of (local.get $t) (local.get $s) (local.get $src)))
    (if (i32.eq (call $word (local.get $t) (local.get $s) (i32.const 0)) (i32.const 1))
      (then
        ;; Lend the own handle to the current scope.
        (call $set_word (local.get $t) (local.get $s) (i32.const 3)
          (i32.add (call $word (local.get $t) (local.get $s) (i32.const 3)) (i32.const 1)))
        (call $lend (call $current) (local.get $src) (local.get $h))))
    (call $lower_borrow (local.get $rep) (local.get $dst)))

  ;; lower_borrow (rep, dst ty) -> the rep itself when the destination instance defines the
  ;; resource, else a borrow handle counted in the current scope.
  (func $lower_borrow (export "lower-borrow") (param $rep i32) (param $dst i32) (result i32)
    (local $scope i32)
    (if (call $owns (local.get $dst)) (then (return (local.get $rep))))
    (local.set $scope (call $current))
    (call $set_count (local.get $scope) (i32.add (call $count (local.get $scope)) (i32.const 1)))
    (call $insert (call $table_for (local.get $dst)) (i32.const 2) (local.get $dst) (local.get $rep)
      (local.get $scope)))

  ;; The live borrow count of scope `id`, and its setter.
  (func $count (param $id i32) (result i32)
    (array.get $handles (global.get $scopes) (i32.shl (local.get $id) (i32.const 1))))
  (func $set_count (param $id i32) (param $v i32)
    (array.set $handles (global.get $scopes) (i32.shl (local.get $id) (i32.const 1))
      (local.get $v)))
  ;; The head of scope `id`'s lender list, and its setter.
  (func $head (param $id i32) (result i32)
    (array.get $handles (global.get $scopes)
      (i32.add (i32.shl (local.get $id) (i32.const 1)) (i32.const 1))))
  (func $set_head (param $id i32) (param $v i32)
    (array.set $handles (global.get $scopes)
      (i32.add (i32.shl (local.get $id) (i32.const 1)) (i32.const 1)) (local.get $v)))

  ;; The innermost active scope's id.
  (func $current (result i32)
    (if (i32.eqz (global.get $depth)) (then unreachable))
    (array.get $handles (global.get $stack) (i32.sub (global.get $depth) (i32.const 1))))

  ;; attach-call (id): makes scope `id` the innermost (a task's, while the task runs).
  (func $push (export "attach-call") (param $id i32)
    (global.set $stack (call $reserve (global.get $stack)
      (i32.add (global.get $depth) (i32.const 1))))
    (array.set $handles (global.get $stack) (global.get $depth) (local.get $id))
    (global.set $depth (i32.add (global.get $depth) (i32.const 1))))

  ;; detach-call -> id: removes the innermost scope from the stack, which lives on (a task's
  ;; that goes on past this call).
  (func $pop (export "detach-call") (result i32)
    (local $id i32)
    (local.set $id (call $current))
    (global.set $depth (i32.sub (global.get $depth) (i32.const 1)))
    (local.get $id))

  ;; Adds (`ty`, `h`) to the lenders of scope `id`.
  (func $lend (param $id i32) (param $ty i32) (param $h i32)
    (local $e i32)
    (if (i32.ge_s (global.get $free_lender) (i32.const 0))
      (then
        (local.set $e (global.get $free_lender))
        (global.set $free_lender (array.get $handles (global.get $lenders)
          (i32.add (i32.mul (local.get $e) (i32.const 3)) (i32.const 2)))))
      (else
        (local.set $e (global.get $num_lenders))
        (global.set $num_lenders (i32.add (local.get $e) (i32.const 1)))
        (global.set $lenders (call $reserve (global.get $lenders)
          (i32.mul (global.get $num_lenders) (i32.const 3))))))
    (array.set $handles (global.get $lenders) (i32.mul (local.get $e) (i32.const 3))
      (local.get $ty))
    (array.set $handles (global.get $lenders)
      (i32.add (i32.mul (local.get $e) (i32.const 3)) (i32.const 1)) (local.get $h))
    (array.set $handles (global.get $lenders)
      (i32.add (i32.mul (local.get $e) (i32.const 3)) (i32.const 2)) (call $head (local.get $id)))
    (call $set_head (local.get $id) (local.get $e)))

  ;; lend-from-host (k, h): the host lent its borrow handle `h` of its resource `k` to the
  ;; current call, which drops it when its scope ends.
  ;; The handle is marked `HOST_BORROW` in `host-lent` while the call lasts: the output's
  ;; borrows of it lend nothing (`lend-to-host`).
  (func (export "lend-from-host") (param $k i32) (param $h i32)
    (global.set $host_lent (call $reserve (global.get $host_lent) (i32.add (local.get $h) (i32.const 1))))
    (array.set $handles (global.get $host_lent) (local.get $h) (i32.const 0x20000000 (; HOST_BORROW ;)))
    (call $lend (call $current) (i32.sub (i32.const -1) (local.get $k)) (local.get $h)))

  ;; wasmtime's `validate_scope_exit` for scope `id`: traps when borrow handles of the scope
  ;; remain ("borrow handles still remain at the end of the call"), then ends its lends, the
  ;; newest first.
  (func $validate (param $id i32)
    (local $e i32) (local $at i32) (local $ty i32) (local $h i32) (local $next i32)
    (local $t (ref $table)) (local $s i32)
    (if (call $count (local.get $id)) (then (call $borrows_remain)))
    (local.set $e (call $head (local.get $id)))
    (call $set_head (local.get $id) (i32.const -1))
    (block $done
      (loop $next
        (br_if $done (i32.lt_s (local.get $e) (i32.const 0)))
        (local.set $at (i32.mul (local.get $e) (i32.const 3)))
        (local.set $ty (array.get $handles (global.get $lenders) (local.get $at)))
        (local.set $h (array.get $handles (global.get $lenders)
          (i32.add (local.get $at) (i32.const 1))))
        (local.set $next (array.get $handles (global.get $lenders)
          (i32.add (local.get $at) (i32.const 2))))
        ;; The entry goes onto the free list; its successor is next.
        (array.set $handles (global.get $lenders) (i32.add (local.get $at) (i32.const 2))
          (global.get $free_lender))
        (global.set $free_lender (local.get $e))
        (local.set $e (local.get $next))
        (if (i32.le_s (local.get $ty) (i32.const -65536 (; HOST_LENT ;)))
          (then (call $unlend_host (i32.sub (i32.const -65536) (local.get $ty)) (local.get $h)))
        (else (if (i32.lt_s (local.get $ty) (i32.const 0))
          (then
            (array.set $handles (global.get $host_lent) (local.get $h) (i32.const 0))
            (call $host_lend_end (i32.sub (i32.const -1) (local.get $ty)) (local.get $h)))
          (else
            (local.set $t (call $table_for (local.get $ty)))
            (local.set $s (call $slot (local.get $t) (local.get $h)))
            (call $set_word (local.get $t) (local.get $s) (i32.const 3)
              (i32.sub (call $word (local.get $t) (local.get $s) (i32.const 3)) (i32.const 1)))))))
        (br $next))))

  ;; lend-to-host (k, w): the output lends the host's own handle `w` of its resource `k` to
  ;; the host's call being made, in the call's scope (wasmtime counts that lend). A borrow
  ;; handle the host lent in (`HOST_BORROW`) lends nothing, as in wasmtime.
  (func (export "lend-to-host") (param $k i32) (param $w i32)
    (global.set $host_lent (call $reserve (global.get $host_lent) (i32.add (local.get $w) (i32.const 1))))
    (if (i32.and (array.get $handles (global.get $host_lent) (local.get $w))
          (i32.const 0x20000000 (; HOST_BORROW ;)))
      (then (return)))
    (array.set $handles (global.get $host_lent) (local.get $w)
      (i32.add (array.get $handles (global.get $host_lent) (local.get $w)) (i32.const 1)))
    (call $lend (call $current) (i32.sub (i32.const -65536) (local.get $k)) (local.get $w)))

  ;; The end of one host call's lend of handle `w` of resource `k`: the guest's drop of it,
  ;; if it came meanwhile, is made once no call borrows it.
  (func $unlend_host (param $k i32) (param $w i32)
    (local $n i32)
    (local.set $n (i32.sub (array.get $handles (global.get $host_lent) (local.get $w)) (i32.const 1)))
    (if (i32.eq (local.get $n) (i32.const 0x40000000 (; DROP_PENDING ;)))
      (then
        (local.set $n (i32.const 0))
        (call $host_lend_end (local.get $k) (local.get $w))))
    (array.set $handles (global.get $host_lent) (local.get $w) (local.get $n)))

  ;; give-host (w): the host's own handle `w` moves to the host. wasmtime refuses that while a
  ;; host call that goes on borrows it through the output (`lend-to-host`), where natively a
  ;; borrow passed on from a borrow lends nothing: a limit.
  (func $lent_own_to_host
    (export "trap:unsupported-own-handle-to-the-host-while-a-host-call-borrows-it") unreachable)
  (func (export "give-host") (param $w i32)
    (if (i32.lt_u (local.get $w) (array.len (global.get $host_lent)))
      (then
        (if (i32.and (array.get $handles (global.get $host_lent) (local.get $w))
              (i32.const 0x1fffffff (; the count ;)))
          (then (call $lent_own_to_host))))))

  ;; drop-host (k, w): the guest dropped its own handle of the host's resource `k`, the host's
  ;; handle `w`: `[resource-drop]` now, or once the host calls that borrow it have ended.
  (func (export "drop-host") (param $k i32) (param $w i32)
    (if (i32.lt_u (local.get $w) (array.len (global.get $host_lent)))
      (then
        (if (array.get $handles (global.get $host_lent) (local.get $w))
          (then
            (array.set $handles (global.get $host_lent) (local.get $w)
              (i32.or (array.get $handles (global.get $host_lent) (local.get $w))
                (i32.const 0x40000000 (; DROP_PENDING ;))))
            (return)))))
    (call $host_lend_end (local.get $k) (local.get $w)))

  ;; enter-sync-call: a new scope, the innermost.
  (func (export "enter-call")
    (local $id i32)
    (if (i32.ge_s (global.get $free_scope) (i32.const 0))
      (then
        (local.set $id (global.get $free_scope))
        (global.set $free_scope (call $head (local.get $id))))
      (else
        (local.set $id (global.get $num_scopes))
        (global.set $num_scopes (i32.add (local.get $id) (i32.const 1)))
        (global.set $scopes (call $reserve (global.get $scopes)
          (i32.shl (global.get $num_scopes) (i32.const 1))))))
    (call $set_count (local.get $id) (i32.const 0))
    (call $set_head (local.get $id) (i32.const -1))
    (call $push (local.get $id)))

  ;; `task.return`'s and `task.cancel`'s check (wasmtime's `task_complete`): validates the
  ;; innermost scope, the task's own, which lives on until the task exits.
  (func (export "validate-scope") (call $validate (call $current)))

  ;; exit-sync-call: validates the innermost scope, removes it from the stack and frees it.
  (func (export "exit-call")
    (local $id i32)
    (local.set $id (call $pop))
    (call $validate (local.get $id))
    (call $set_count (local.get $id) (i32.const -1))
    (call $set_head (local.get $id) (global.get $free_scope))
    (global.set $free_scope (local.get $id)))

  ;; Waitable sets, subtasks, and stream and future ends (the async ABI, `CanonicalABI.md`)
  ;; share the table with resources, as in wasmtime (`Slot::WaitableSet`, `Slot::GuestTask`,
  ;; `Slot::Future`, `Slot::Stream`).
  ;; A set's slot is kind 3, its word 1 the count of tasks waiting on it, word 2 the count of
  ;; its members, word 3 the count of its members with an event awaiting delivery (so that
  ;; the scheduler's test of a set is one read, whatever the size of the table), word 4 the
  ;; head of the list of task records waiting on it in their callback loops (`tasks.wat`,
  ;; record + 1; 0: none), one of which `wake` takes off for each event (`$mark_ready`), and
  ;; word 5, while word 3 is above 0, a slot at or before every member with an event (where
  ;; `take-event` starts looking). The
  ;; waitables' word 1 is the set they have joined (0: none), and bit 4 of word 3 is set while
  ;; an event awaits delivery; words 1 and 3 of a waitable are written through
  ;; `$set_waitable_word`, which keeps its set's counts. A subtask's is kind 4: word 2 its task record, word 3 its state (`Subtask.State`:
  ;; 0 starting, 1 started, 2 returned, 3 cancelled before it started, 4 cancelled before it
  ;; returned) in bits 0-3. A future's readable end is
  ;; kind 5, its writable end kind 6, a stream's kinds 7 and 8: word 2 the transmit's record (`transmit.wat`), word 3 the end's
  ;; local state in bits 0-1 (0 idle, 1 done, 2 busy: a read or write is pending), in bit 2
  ;; whether the awaiting event ends that operation, in bits 5-7 the event's copy result
  ;; (0 completed, 1 dropped, 2 cancelled; a stream event's count is in the record), and the
  ;; future or stream type above bit 8. An error context's slot is kind 9, word 2 its rep in the
  ;; registry of `error_context.wat`, which makes, reads and removes those slots.

  ;; The slot of waitable set `h`; traps unless `h` is one.
  (func $set_slot (export "set-slot") (param $t (ref $table)) (param $h i32) (result i32)
    (local $s i32)
    (local.set $s (call $slot (local.get $t) (local.get $h)))
    (if (i32.ne (call $word (local.get $t) (local.get $s) (i32.const 0)) (i32.const 3))
      (then (call $not_set)))
    (local.get $s))

  ;; waitable-set.new (table) -> handle
  (func (export "waitable-set-new") (param $t (ref $table)) (result i32)
    (call $insert (local.get $t) (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 0)))

  ;; Adds `delta` to the waiter count of set `h`.
  (func (export "waiters") (param $t (ref $table)) (param $h i32) (param $delta i32)
    (local $s i32)
    (local.set $s (call $set_slot (local.get $t) (local.get $h)))
    (call $set_word (local.get $t) (local.get $s) (i32.const 1)
      (i32.add (call $word (local.get $t) (local.get $s) (i32.const 1)) (local.get $delta))))

  ;; A record begins to wait on set `h`: one more waiter, and `head` (record + 1) first in
  ;; the set's list of waiting records; returns the previous first (0: none).
  (func (export "add-waiter") (param $t (ref $table)) (param $h i32) (param $head i32)
    (result i32)
    (local $s i32) (local $old i32)
    (local.set $s (call $set_slot (local.get $t) (local.get $h)))
    (call $set_word (local.get $t) (local.get $s) (i32.const 1)
      (i32.add (call $word (local.get $t) (local.get $s) (i32.const 1)) (i32.const 1)))
    (local.set $old (call $word (local.get $t) (local.get $s) (i32.const 4)))
    (call $set_word (local.get $t) (local.get $s) (i32.const 4) (local.get $head))
    (local.get $old))

  ;; A record no longer waits on set `h`: one waiter less, and the list starts at `head`
  ;; unless it is -1 (the record was not first).
  (func (export "remove-waiter") (param $t (ref $table)) (param $h i32) (param $head i32)
    (local $s i32)
    (local.set $s (call $set_slot (local.get $t) (local.get $h)))
    (call $set_word (local.get $t) (local.get $s) (i32.const 1)
      (i32.sub (call $word (local.get $t) (local.get $s) (i32.const 1)) (i32.const 1)))
    (if (i32.ge_s (local.get $head) (i32.const 0))
      (then (call $set_word (local.get $t) (local.get $s) (i32.const 4) (local.get $head)))))

  ;; waitable-set.drop (table, handle): traps while a task waits on the set, or while a
  ;; waitable is in it (`WaitableSet.drop` in `CanonicalABI.md`; wasmtime's table refuses to
  ;; delete a set with members, "resource has children").
  (func (export "waitable-set-drop") (param $t (ref $table)) (param $h i32)
    (local $s i32)
    (local.set $s (call $set_slot (local.get $t) (local.get $h)))
    (if (call $word (local.get $t) (local.get $s) (i32.const 1)) (then (call $has_waiters)))
    (if (call $word (local.get $t) (local.get $s) (i32.const 2)) (then (call $has_members)))
    (call $free (local.get $t) (local.get $h) (local.get $s)))

  ;; Whether the slot at `s` is a waitable (a subtask, or a future or stream end).
  (func $waitable (param $t (ref $table)) (param $s i32) (result i32)
    (i32.lt_u (i32.sub (call $word (local.get $t) (local.get $s) (i32.const 0)) (i32.const 4))
      (i32.const 5)))

  ;; Adds `delta` (1 or -1) to the member count of the set that the waitable at slot `s` has
  ;; joined, if any, and to its count of members with an event when the waitable has one.
  (func $count_in_set (param $t (ref $table)) (param $s i32) (param $delta i32)
    (local $a (ref $handles)) (local $set i32) (local $events i32)
    ;; The slots, read once: nothing here replaces them.
    (local.set $a (struct.get $table $slots (local.get $t)))
    (local.set $set (array.get $handles (local.get $a) (i32.add (local.get $s) (i32.const 1))))
    (if (i32.eqz (local.get $set)) (then (return)))
    ;; The set's slot: it stays a set while it has members (`waitable-set-drop`).
    (local.set $set (i32.shl (i32.sub (local.get $set) (i32.const 1)) (i32.const 3)))
    (array.set $handles (local.get $a) (i32.add (local.get $set) (i32.const 2))
      (i32.add (array.get $handles (local.get $a) (i32.add (local.get $set) (i32.const 2)))
        (local.get $delta)))
    (if (i32.eqz (i32.and (array.get $handles (local.get $a) (i32.add (local.get $s) (i32.const 3)))
          (i32.const 16)))
      (then (return)))
    (local.set $events (array.get $handles (local.get $a) (i32.add (local.get $set) (i32.const 3))))
    (array.set $handles (local.get $a) (i32.add (local.get $set) (i32.const 3))
      (i32.add (local.get $events) (local.get $delta)))
    (if (i32.lt_s (local.get $delta) (i32.const 0)) (then (return)))
    (if (i32.or (i32.eqz (local.get $events))
          (i32.lt_u (local.get $s)
            (array.get $handles (local.get $a) (i32.add (local.get $set) (i32.const 5)))))
      (then (array.set $handles (local.get $a) (i32.add (local.get $set) (i32.const 5))
        (local.get $s)))))

  ;; The waitable at slot `s` has been given an event, or joined a set with one (wasmtime's
  ;; `Waitable::mark_ready`): when it is in a set that records wait on, one of them wakes.
  (func $mark_ready (export "mark-ready") (param $t (ref $table)) (param $s i32)
    (local $a (ref $handles)) (local $set i32) (local $head i32)
    (local.set $a (struct.get $table $slots (local.get $t)))
    (local.set $set (array.get $handles (local.get $a) (i32.add (local.get $s) (i32.const 1))))
    (if (i32.eqz (local.get $set)) (then (return)))
    (if (i32.eqz (i32.and (array.get $handles (local.get $a) (i32.add (local.get $s) (i32.const 3)))
          (i32.const 16)))
      (then (return)))
    (local.set $head (array.get $handles (local.get $a)
      (i32.add (i32.shl (i32.sub (local.get $set) (i32.const 1)) (i32.const 3)) (i32.const 4))))
    (if (local.get $head) (then (call $wake (local.get $t) (local.get $set) (local.get $head)))))

  ;; Word `k` of the waitable at slot `s` set to `v`, its set's counts kept.
  (func $set_waitable_word (export "set-waitable-word") (param $t (ref $table)) (param $s i32)
    (param $k i32) (param $v i32)
    (call $count_in_set (local.get $t) (local.get $s) (i32.const -1))
    (call $set_word (local.get $t) (local.get $s) (local.get $k) (local.get $v))
    (call $count_in_set (local.get $t) (local.get $s) (i32.const 1)))

  ;; waitable.join (table, waitable, set): `set` 0 leaves the waitable's set.
  (func $join (export "waitable-join") (param $t (ref $table)) (param $w i32) (param $set i32)
    (local $s i32)
    (local.set $s (call $slot (local.get $t) (local.get $w)))
    (if (i32.eqz (call $waitable (local.get $t) (local.get $s)))
      (then (call $not_waitable)))
    (if (local.get $set) (then (drop (call $set_slot (local.get $t) (local.get $set)))))
    (call $set_waitable_word (local.get $t) (local.get $s) (i32.const 1) (local.get $set))
    (call $mark_ready (local.get $t) (local.get $s)))

  ;; A started subtask of task record `task`: its handle.
  (func (export "subtask-new") (param $t (ref $table)) (param $task i32) (result i32)
    (call $insert (local.get $t) (i32.const 4) (i32.const 0) (local.get $task) (i32.const 1)))

  ;; The same for a task whose start is deferred: state 0, starting.
  (func (export "subtask-new-starting") (param $t (ref $table)) (param $task i32) (result i32)
    (call $insert (local.get $t) (i32.const 4) (i32.const 0) (local.get $task) (i32.const 0)))

  ;; Subtask `h`'s task was cancelled before it started (`CANCELLED_BEFORE_STARTED`, 3): a
  ;; state the canceller gets as `subtask.cancel`'s result, with no event.
  (func (export "subtask-start-cancelled") (param $t (ref $table)) (param $h i32)
    (call $set_waitable_word (local.get $t) (call $subtask_slot (local.get $t) (local.get $h))
      (i32.const 3) (i32.const 3)))

  ;; Subtask `h` has a new state `status` (1 started, after starting; 2 returned, 4 cancelled
  ;; before it returned): its event awaits delivery.
  (func (export "subtask-resolve") (param $t (ref $table)) (param $h i32) (param $status i32)
    (local $s i32)
    (local.set $s (call $slot (local.get $t) (local.get $h)))
    (if (i32.ne (call $word (local.get $t) (local.get $s) (i32.const 0)) (i32.const 4))
      (then unreachable))
    (call $set_waitable_word (local.get $t) (local.get $s) (i32.const 3)
      (i32.or (local.get $status) (i32.const 16)))
    (call $mark_ready (local.get $t) (local.get $s)))

  ;; The slot of subtask `h`; traps unless `h` is one.
  (func $subtask_slot (param $t (ref $table)) (param $h i32) (result i32)
    (local $s i32)
    (local.set $s (call $slot (local.get $t) (local.get $h)))
    (if (i32.ne (call $word (local.get $t) (local.get $s) (i32.const 0)) (i32.const 4))
      (then (call $not_subtask)))
    (local.get $s))

  ;; subtask.cancel's look-up (table, handle, sync) -> the subtask's task record, or -1 when
  ;; the subtask has resolved; traps unless `h` is a subtask, and for a sync cancel while it
  ;; is in a waitable set (wasmtime's `trap_if_in_waitable_set`).
  (func (export "subtask-cancel-task") (param $t (ref $table)) (param $h i32) (param $sync i32)
    (result i32)
    (local $s i32)
    (local.set $s (call $subtask_slot (local.get $t) (local.get $h)))
    (if (i32.and (local.get $sync)
          (i32.ne (call $word (local.get $t) (local.get $s) (i32.const 1)) (i32.const 0)))
      (then (call $sync_in_set)))
    (if (i32.gt_u (i32.and (call $word (local.get $t) (local.get $s) (i32.const 3)) (i32.const 15))
          (i32.const 1))
      (then (return (i32.const -1))))
    (call $word (local.get $t) (local.get $s) (i32.const 2)))

  ;; Whether subtask `h` has resolved (its state is past 0 starting and 1 started).
  (func (export "subtask-resolved") (param $t (ref $table)) (param $h i32) (result i32)
    (i32.gt_u (i32.and (call $word (local.get $t)
      (call $subtask_slot (local.get $t) (local.get $h)) (i32.const 3)) (i32.const 15))
      (i32.const 1)))

  ;; subtask.cancel's result: takes subtask `h`'s event, its resolved state; traps when the
  ;; event was delivered already (wasmtime's `SubtaskCancelAfterTerminal`).
  (func (export "subtask-take") (param $t (ref $table)) (param $h i32) (result i32)
    (local $s i32) (local $w3 i32)
    (local.set $s (call $subtask_slot (local.get $t) (local.get $h)))
    (local.set $w3 (call $word (local.get $t) (local.get $s) (i32.const 3)))
    (if (i32.eqz (i32.and (local.get $w3) (i32.const 16))) (then (call $after_terminal)))
    (call $set_waitable_word (local.get $t) (local.get $s) (i32.const 3)
      (i32.and (local.get $w3) (i32.const 15)))
    (i32.and (local.get $w3) (i32.const 15)))

  ;; subtask.drop (table, handle) -> its task record: traps unless the subtask has resolved
  ;; and its event was delivered (wasmtime's `subtask_drop`).
  (func (export "subtask-drop") (param $t (ref $table)) (param $h i32) (result i32)
    (local $s i32) (local $task i32) (local $w3 i32)
    (local.set $s (call $subtask_slot (local.get $t) (local.get $h)))
    (local.set $w3 (call $word (local.get $t) (local.get $s) (i32.const 3)))
    ;; Resolved (2 returned, 3 cancelled before it started, 4 before it returned), and its
    ;; event delivered.
    (if (i32.or (i32.lt_u (local.get $w3) (i32.const 2)) (i32.gt_u (local.get $w3) (i32.const 4)))
      (then (call $not_resolved)))
    (local.set $task (call $word (local.get $t) (local.get $s) (i32.const 2)))
    (call $free (local.get $t) (local.get $h) (local.get $s))
    (local.get $task))

  ;; The slot of the first waitable of set `set` (in handle order) with an event awaiting
  ;; delivery, or -1. The pass starts at the set's word 5, which it leaves at the slot found.
  (func $ready (param $t (ref $table)) (param $set i32) (result i32)
    (local $i i32) (local $s i32) (local $set_s i32) (local $a (ref $handles)) (local $len i32)
    (local.set $set_s (call $set_slot (local.get $t) (local.get $set)))
    (local.set $a (struct.get $table $slots (local.get $t)))
    (local.set $len (struct.get $table $len (local.get $t)))
    (if (i32.eqz (array.get $handles (local.get $a) (i32.add (local.get $set_s) (i32.const 3))))
      (then (return (i32.const -1))))
    (local.set $i (i32.shr_u
      (array.get $handles (local.get $a) (i32.add (local.get $set_s) (i32.const 5)))
      (i32.const 3)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (local.set $s (i32.shl (local.get $i) (i32.const 3)))
        ;; A waitable (kinds 4-8) of this set with an event.
        (if (i32.and
              (i32.and
                (i32.lt_u (i32.sub (array.get $handles (local.get $a) (local.get $s)) (i32.const 4))
                  (i32.const 5))
                (i32.eq (array.get $handles (local.get $a) (i32.add (local.get $s) (i32.const 1)))
                  (local.get $set)))
              (i32.ne (i32.and
                (array.get $handles (local.get $a) (i32.add (local.get $s) (i32.const 3)))
                (i32.const 16)) (i32.const 0)))
          (then
            (array.set $handles (local.get $a) (i32.add (local.get $set_s) (i32.const 5))
              (local.get $s))
            (return (local.get $s))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    ;; The count says a member has an event: the invariant of word 5 is broken.
    unreachable)

  ;; The number of members of set `set` with an event awaiting delivery.
  (func $set_events (param $t (ref $table)) (param $set i32) (result i32)
    (call $word (local.get $t) (call $set_slot (local.get $t) (local.get $set)) (i32.const 3)))

  ;; Whether set `set` has an event awaiting delivery.
  (func (export "has-event") (param $t (ref $table)) (param $set i32) (result i32)
    (i32.ne (call $set_events (local.get $t) (local.get $set)) (i32.const 0)))

  ;; Takes the next event of set `set`: (event code, waitable handle, payload), or (0, 0, 0)
  ;; (`EVENT_NONE`) when there is none.
  (func (export "take-event") (param $t (ref $table)) (param $set i32) (result i32 i32 i32)
    (local $s i32) (local $code i32) (local $payload i32)
    (local.set $s (call $ready (local.get $t) (local.get $set)))
    (if (i32.lt_s (local.get $s) (i32.const 0))
      (then (return (i32.const 0) (i32.const 0) (i32.const 0))))
    (call $take_slot (local.get $t) (local.get $s))
    (local.set $payload)
    (local.set $code)
    (local.get $code)
    (i32.add (i32.shr_u (local.get $s) (i32.const 3)) (i32.const 1))
    (local.get $payload))

  ;; Takes the event of the waitable at slot `s`: (event code, payload). A subtask's event is
  ;; `SUBTASK` (1) with its state; a future end's is `FUTURE_READ` (4) or `FUTURE_WRITE` (5),
  ;; a stream end's `STREAM_READ` (2) or `STREAM_WRITE` (3), with its copy result (a stream's
  ;; with its count, `count << 4 | result`), and its delivery ends the end's pending operation
  ;; (done when the result is dropped), as wasmtime's `on_delivery`.
  (func $take_slot (param $t (ref $table)) (param $s i32) (result i32 i32)
    (local $w3 i32) (local $status i32) (local $kind i32) (local $ends i32)
    (local.set $w3 (call $word (local.get $t) (local.get $s) (i32.const 3)))
    (local.set $kind (call $word (local.get $t) (local.get $s) (i32.const 0)))
    (if (i32.eq (local.get $kind) (i32.const 4))
      (then
        (local.set $status (i32.and (local.get $w3) (i32.const 15)))
        (call $set_waitable_word (local.get $t) (local.get $s) (i32.const 3) (local.get $status))
        (return (i32.const 1) (local.get $status))))
    (local.set $status (i32.and (i32.shr_u (local.get $w3) (i32.const 5)) (i32.const 7)))
    (local.set $ends (i32.ne (i32.and (local.get $w3) (i32.const 4)) (i32.const 0)))
    (if (local.get $ends)
      (then
        (local.set $w3 (i32.or (i32.and (local.get $w3) (i32.const -4))
          (i32.eq (local.get $status) (i32.const 1))))))
    (call $set_waitable_word (local.get $t) (local.get $s) (i32.const 3)
      (i32.and (local.get $w3) (i32.const -245)))
    (if (i32.ge_u (local.get $kind) (i32.const 7))
      (then
        (return (i32.sub (local.get $kind) (i32.const 5))
          (i32.or (local.get $status)
            (i32.shl
              (call $stream_delivered (call $word (local.get $t) (local.get $s) (i32.const 2))
                (i32.sub (local.get $kind) (i32.const 7)) (local.get $ends))
              (i32.const 4))))))
    (i32.sub (local.get $kind) (i32.const 1))
    (local.get $status))

  ;; The slot of end `h` of a future (`transmit` 0) or stream (1) of type `ty`; traps
  ;; unless it is one.
  (func (export "transmit-slot") (param $t (ref $table)) (param $h i32) (param $ty i32)
    (param $transmit i32) (result i32)
    (local $s i32) (local $kind i32)
    (local.set $s (call $slot (local.get $t) (local.get $h)))
    (local.set $kind (i32.sub (call $word (local.get $t) (local.get $s) (i32.const 0))
      (i32.add (i32.const 5) (i32.shl (local.get $transmit) (i32.const 1)))))
    (if (i32.gt_u (local.get $kind) (i32.const 1))
      (then (if (local.get $transmit) (then (call $not_stream)) (else (call $not_future)))))
    (if (i32.ne (i32.shr_u (call $word (local.get $t) (local.get $s) (i32.const 3)) (i32.const 8))
          (local.get $ty))
      (then (if (local.get $transmit) (then (call $other_stream))
        (else (call $other_future)))))
    (local.get $s))

  ;; The slot of handle `h`, any kind but free.
  (func (export "slot") (param $t (ref $table)) (param $h i32) (result i32)
    (call $slot (local.get $t) (local.get $h)))

  ;; Word `k` of the slot at `s` (written through `set-waitable-word`, for waitables).
  (func (export "word") (param $t (ref $table)) (param $s i32) (param $k i32) (result i32)
    (call $word (local.get $t) (local.get $s) (local.get $k)))

  ;; A new slot (kind, words 1-3): its handle.
  (func (export "insert") (param $t (ref $table)) (param $kind i32) (param $w1 i32)
    (param $w2 i32) (param $w3 i32) (result i32)
    (call $insert (local.get $t) (local.get $kind) (local.get $w1) (local.get $w2)
      (local.get $w3)))

  ;; Frees handle `h` (slot `s`).
  (func (export "remove") (param $t (ref $table)) (param $h i32) (param $s i32)
    (call $free (local.get $t) (local.get $h) (local.get $s)))

  ;; Whether the waitable `h` has an event awaiting delivery.
  (func (export "end-has-event") (param $t (ref $table)) (param $h i32) (result i32)
    (i32.ne (i32.and (call $word (local.get $t) (call $slot (local.get $t) (local.get $h))
      (i32.const 3)) (i32.const 16)) (i32.const 0)))

  ;; Takes the event of waitable `h`, which has one: its payload (see `$take_slot`).
  (func (export "take-end-event") (param $t (ref $table)) (param $h i32) (result i32)
    (local $payload i32)
    (call $take_slot (local.get $t) (call $slot (local.get $t) (local.get $h)))
    (local.set $payload)
    (drop)
    (local.get $payload))
)
