;;! component_model_async = true
;;! component_model_more_async_builtins = true
;; A callback task that calls `task.return` in the sync call that started it and then waits
;; for its caller (a sync `future.write` that only the caller's read completes): wasmtime
;; suspends the task and resumes the caller. Without stack switching the task holds the wasm
;; stack, so the output traps at a limit of the lowering
;; (`gc-lower:trap:unsupported-wait-after-return-over-a-sync-caller`), which the runner records
;; as a skip with that reason, rather than in the deadlock trap.
(component
  (component $C
    (core module $Memory (memory (export "mem") 1))
    (core instance $memory (instantiate $Memory))
    (core module $CM
      (import "" "mem" (memory 1))
      (import "" "task.return" (func $task.return (param i32)))
      (import "" "future.new" (func $future.new (result i64)))
      (import "" "future.write" (func $future.write (param i32 i32) (result i32)))
      (import "" "future.drop-writable" (func $future.drop-writable (param i32)))
      (func (export "get") (result i32)
        (local $ret64 i64) (local $tx i32)
        (local.set $ret64 (call $future.new))
        (local.set $tx (i32.wrap_i64 (i64.shr_u (local.get $ret64) (i64.const 32))))
        (call $task.return (i32.wrap_i64 (local.get $ret64)))
        ;; A sync write after returning: it waits for the caller's read.
        (i32.store (i32.const 16) (i32.const 42))
        (if (i32.ne (call $future.write (local.get $tx) (i32.const 16)) (i32.const 0))
          (then unreachable))
        (call $future.drop-writable (local.get $tx))
        (i32.const 0 (; EXIT ;)))
      (func (export "get_cb") (param i32 i32 i32) (result i32) unreachable))
    (type $FT (future u32))
    (canon task.return (result $FT) (core func $task.return))
    (canon future.new $FT (core func $future.new))
    (canon future.write $FT (memory (core memory $memory "mem")) (core func $future.write))
    (canon future.drop-writable $FT (core func $future.drop-writable))
    (core instance $cm (instantiate $CM (with "" (instance
      (export "mem" (memory $memory "mem"))
      (export "task.return" (func $task.return))
      (export "future.new" (func $future.new))
      (export "future.write" (func $future.write))
      (export "future.drop-writable" (func $future.drop-writable))))))
    (func (export "get") async (result $FT) (canon lift (core func $cm "get") async
      (callback (func $cm "get_cb")))))
  (component $D
    (type $FT (future u32))
    (import "get" (func $get async (result $FT)))
    (core module $Memory (memory (export "mem") 1))
    (core instance $memory (instantiate $Memory))
    (core module $DM
      (import "" "mem" (memory 1))
      (import "" "get" (func $get (result i32)))
      (import "" "future.read" (func $future.read (param i32 i32) (result i32)))
      (import "" "future.drop-readable" (func $future.drop-readable (param i32)))
      (func (export "run") (result i32)
        (local $rx i32)
        (local.set $rx (call $get))
        (if (i32.ne (call $future.read (local.get $rx) (i32.const 8)) (i32.const 0))
          (then unreachable))
        (call $future.drop-readable (local.get $rx))
        (i32.load (i32.const 8))))
    (canon lower (func $get) (core func $get'))
    (canon future.read $FT async (memory (core memory $memory "mem")) (core func $future.read))
    (canon future.drop-readable $FT (core func $future.drop-readable))
    (core instance $dm (instantiate $DM (with "" (instance
      (export "mem" (memory $memory "mem"))
      (export "get" (func $get'))
      (export "future.read" (func $future.read))
      (export "future.drop-readable" (func $future.drop-readable))))))
    (func (export "run") async (result u32) (canon lift (core func $dm "run"))))
  (instance $c (instantiate $C))
  (instance $d (instantiate $D (with "get" (func $c "get"))))
  (func (export "run") (alias export $d "run")))
(assert_return (invoke "run") (u32.const 42))
