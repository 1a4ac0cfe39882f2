;;! component_model_async = true
;; Async lowers of host functions. The output calls the host's function through a sync lowering
;; (the re-wrapped component imports it as the component does), so the guest's subtask has
;; returned by the time its lower returns: the status is `RETURNED` (2), where wasmtime may
;; give `STARTED` and a subtask whose event comes later (`echo-slowly` yields once). Guests
;; that handle both, as the canonical ABI requires, get the same values. wasmtime does not let
;; a task that may not block (one of an export whose type is not `async`) make a sync lowering
;; of an `async` host function, so there the output traps at a limit of the lowering
;; (`gc-lower:trap:unsupported-async-lower-of-the-host-in-a-sync-task`), which the runner
;; records as a skip with that reason.
(component definition $HostLowers
  (import "host-echo-u32" (func $echo async (param "v" u32) (result u32)))
  (import "host" (instance $host
    (export "echo-slowly" (func async (param "v" u32) (result u32)))))
  (alias export $host "echo-slowly" (func $slow))
  (core module $Memory (memory (export "mem") 1))
  (core instance $memory (instantiate $Memory))
  (core func $echo (canon lower (func $echo) async (memory $memory "mem")))
  (core func $slow (canon lower (func $slow) async (memory $memory "mem")))
  (core func $echo-sync (canon lower (func $echo)))
  (core func $ret (canon task.return (result u32)))
  (core func $new-set (canon waitable-set.new))
  (core func $join (canon waitable.join))
  (core func $drop (canon subtask.drop))
  (core module $M
    (import "" "mem" (memory 1))
    (import "" "echo" (func $echo (param i32 i32) (result i32)))
    (import "" "slow" (func $slow (param i32 i32) (result i32)))
    (import "" "echo-sync" (func $echo-sync (param i32) (result i32)))
    (import "" "ret" (func $ret (param i32)))
    (import "" "new-set" (func $new-set (result i32)))
    (import "" "join" (func $join (param i32 i32)))
    (import "" "drop" (func $drop (param i32)))
    (global $acc (mut i32) (i32.const 0))
    ;; The raw status of an async lower of `host-echo-u32`, which returns at once.
    (func (export "status") (param $v i32) (result i32)
      (call $echo (local.get $v) (i32.const 0)))
    ;; What the host wrote for that call.
    (func (export "status-result") (param $v i32) (result i32)
      (drop (call $echo (local.get $v) (i32.const 0)))
      (i32.load (i32.const 0)))
    ;; A callback task: echo(x) at once, then echo-slowly(y), waiting for it if it was
    ;; started; returns the sum.
    (func (export "sum") (param $x i32) (param $y i32) (result i32)
      (local $status i32) (local $set i32)
      (local.set $status (call $echo (local.get $x) (i32.const 0)))
      (if (i32.ne (local.get $status) (i32.const 2)) (then unreachable))
      (global.set $acc (i32.load (i32.const 0)))
      (local.set $status (call $slow (local.get $y) (i32.const 8)))
      (if (i32.eq (local.get $status) (i32.const 2))
        (then
          (call $ret (i32.add (global.get $acc) (i32.load (i32.const 8))))
          (return (i32.const 0 (; EXIT ;)))))
      (if (i32.ne (i32.and (local.get $status) (i32.const 0xf)) (i32.const 1))
        (then unreachable))
      (local.set $set (call $new-set))
      (call $join (i32.shr_u (local.get $status) (i32.const 4)) (local.get $set))
      (i32.or (i32.const 2 (; WAIT ;)) (i32.shl (local.get $set) (i32.const 4))))
    (func (export "sum-cb") (param $event i32) (param $handle i32) (param $code i32)
      (result i32)
      ;; A subtask's event (1), with its state `RETURNED` (2).
      (if (i32.ne (local.get $event) (i32.const 1)) (then unreachable))
      (if (i32.ne (local.get $code) (i32.const 2)) (then unreachable))
      (call $drop (local.get $handle))
      (call $ret (i32.add (global.get $acc) (i32.load (i32.const 8))))
      (i32.const 0 (; EXIT ;)))
    ;; The same import lowered sync and async in one task.
    (func (export "both") (param $v i32) (result i32)
      (drop (call $echo (local.get $v) (i32.const 4)))
      (i32.add (call $echo-sync (local.get $v)) (i32.load (i32.const 4)))))
  (core instance $i (instantiate $M (with "" (instance
    (export "mem" (memory $memory "mem"))
    (export "echo" (func $echo))
    (export "slow" (func $slow))
    (export "echo-sync" (func $echo-sync))
    (export "ret" (func $ret))
    (export "new-set" (func $new-set))
    (export "join" (func $join))
    (export "drop" (func $drop))))))
  (func (export "status") async (param "v" u32) (result u32)
    (canon lift (core func $i "status")))
  (func (export "status-sync") (param "v" u32) (result u32)
    (canon lift (core func $i "status")))
  (func (export "status-result") async (param "v" u32) (result u32)
    (canon lift (core func $i "status-result")))
  (func (export "sum") async (param "x" u32) (param "y" u32) (result u32)
    (canon lift (core func $i "sum") async (callback (func $i "sum-cb"))))
  (func (export "both") async (param "v" u32) (result u32)
    (canon lift (core func $i "both"))))

(component instance $h $HostLowers)
(assert_return (invoke "status" (u32.const 41)) (u32.const 2))
(assert_return (invoke "status-result" (u32.const 41)) (u32.const 41))
(assert_return (invoke "sum" (u32.const 40) (u32.const 2)) (u32.const 42))
(assert_return (invoke "sum" (u32.const 0) (u32.const 0)) (u32.const 0))
(assert_return (invoke "both" (u32.const 21)) (u32.const 42))
(assert_return (invoke "status-sync" (u32.const 41)) (u32.const 2))
