;;! component_model_async = true
;;! exceptions = true
;; The async ABI's edges: start functions run in a task that may not block; an exception may
;; not cross an async adapter; a post-return may not leave its instance and sees its task's
;; context; callback tasks that go on past the call that started them; and the limit of the
;; lowering where wasmtime suspends a callee's stack (the output traps in
;; `gc-lower:trap:unsupported-…`, which the runner records as a skip with that reason).

;; A start function that sync-lowers an `async` function: wasmtime runs start functions in a
;; task that may not block.
(assert_trap
  (component
    (component $C
      (core module $M
        (import "" "ret" (func $ret (param i32)))
        (func (export "c") (result i32) (call $ret (i32.const 5)) (i32.const 0))
        (func (export "cb") (param i32 i32 i32) (result i32) unreachable))
      (core func $ret (canon task.return (result u32)))
      (core instance $i (instantiate $M (with "" (instance (export "ret" (func $ret))))))
      (func (export "c") async (result u32)
        (canon lift (core func $i "c") async (callback (func $i "cb")))))
    (component $S
      (import "c" (func $c async (result u32)))
      (core func $c (canon lower (func $c)))
      (core module $M
        (import "" "c" (func $c (result i32)))
        (func $start (drop (call $c)))
        (start $start))
      (core instance (instantiate $M (with "" (instance (export "c" (func $c)))))))
    (instance $c (instantiate $C))
    (instance (instantiate $S (with "c" (func $c "c")))))
  "cannot block a synchronous task")

(component definition $Edges
  (import "host-return-two" (func $two (result u32)))
  (component $Callee
    (import "two" (func $two (result u32)))
    (core func $two (canon lower (func $two)))
    (core module $M
      (import "" "ret" (func $ret (param i32)))
      (import "" "two" (func $two (result i32)))
      (tag $e)
      (func (export "throw") (result i32) (throw $e))
      (func (export "cb") (param i32 i32 i32) (result i32) unreachable)
      (func (export "square") (param i32) (result i32) (i32.mul (local.get 0) (local.get 0)))
      ;; Calls an import from a post-return, which may not leave its instance.
      (func (export "square-post") (param i32) (drop (call $two)))
      ;; Yields once, then returns; or returns and then yields.
      (func (export "yield-first") (result i32) (i32.const 1 (; YIELD ;)))
      (func (export "yield-first-cb") (param i32 i32 i32) (result i32)
        (call $ret (i32.const 9))
        (i32.const 0 (; EXIT ;)))
      (func (export "yield-after") (result i32)
        (call $ret (i32.const 9))
        (i32.const 1 (; YIELD ;)))
      (func (export "yield-after-cb") (param i32 i32 i32) (result i32) (i32.const 0)))
    (core func $ret (canon task.return (result u32)))
    (core instance $i (instantiate $M (with "" (instance
      (export "ret" (func $ret))
      (export "two" (func $two))))))
    (func (export "throw") async (result u32)
      (canon lift (core func $i "throw") async (callback (func $i "cb"))))
    (func (export "square") async (param "x" u32) (result u32)
      (canon lift (core func $i "square") (post-return (func $i "square-post"))))
    (func (export "yield-first") async (result u32)
      (canon lift (core func $i "yield-first") async (callback (func $i "yield-first-cb"))))
    (func (export "yield-after") async (result u32)
      (canon lift (core func $i "yield-after") async (callback (func $i "yield-after-cb")))))

  ;; Calls $Callee's `yield-first` with a sync lower, inside its own callback task.
  (component $Middle
    (import "yield-first" (func $f async (result u32)))
    (core func $f (canon lower (func $f)))
    (core module $M
      (import "" "f" (func $f (result i32)))
      (import "" "ret" (func $ret (param i32)))
      (func (export "m") (result i32) (call $ret (call $f)) (i32.const 0))
      (func (export "cb") (param i32 i32 i32) (result i32) unreachable))
    (core func $ret (canon task.return (result u32)))
    (core instance $i (instantiate $M (with "" (instance
      (export "f" (func $f))
      (export "ret" (func $ret))))))
    (func (export "m") async (result u32)
      (canon lift (core func $i "m") async (callback (func $i "cb")))))

  (component $Caller
    (import "throw" (func $throw async (result u32)))
    (import "square" (func $square async (param "x" u32) (result u32)))
    (import "yield-first" (func $yield-first async (result u32)))
    (import "yield-after" (func $yield-after async (result u32)))
    (import "m" (func $m async (result u32)))
    (core module $Memory (memory (export "mem") 1))
    (core instance $memory (instantiate $Memory))
    (core func $throw (canon lower (func $throw)))
    (core func $square (canon lower (func $square) async (memory $memory "mem")))
    (core func $yield-first (canon lower (func $yield-first)))
    (core func $yield-first-async (canon lower (func $yield-first) async (memory $memory "mem")))
    (core func $yield-after (canon lower (func $yield-after)))
    (core func $m-async (canon lower (func $m) async (memory $memory "mem")))
    (core func $get0 (canon context.get i32 0))
    (core func $set0 (canon context.set i32 0))
    (core module $M
      (import "" "mem" (memory 1))
      (import "" "throw" (func $throw (result i32)))
      (import "" "square" (func $square (param i32 i32) (result i32)))
      (import "" "yield-first" (func $yield-first (result i32)))
      (import "" "yield-first-async" (func $yield-first-async (param i32) (result i32)))
      (import "" "yield-after" (func $yield-after (result i32)))
      (import "" "m-async" (func $m-async (param i32) (result i32)))
      (import "" "get0" (func $get0 (result i32)))
      (import "" "set0" (func $set0 (param i32)))
      ;; Catches what the callee throws, which wasmtime does not let through.
      (func (export "catch") (result i32)
        (block $caught
          (try_table (catch_all $caught)
            (return (call $throw))))
        (i32.const 77))
      (func (export "square") (param i32) (result i32)
        (drop (call $square (local.get 0) (i32.const 64)))
        (i32.load (i32.const 64)))
      (func (export "yield-first") (result i32) (call $yield-first))
      ;; The status and the result of an async lower, as one number.
      (func (export "yield-first-async") (result i32)
        (i32.add (i32.mul (call $yield-first-async (i32.const 64)) (i32.const 100))
                 (i32.load (i32.const 64))))
      ;; Traps unless the async lower returns `RETURNED`.
      (func (export "yield-first-checked") (result i32)
        (if (i32.ne (call $yield-first-async (i32.const 64)) (i32.const 2)) (then unreachable))
        (i32.load (i32.const 64)))
      (func (export "yield-after") (result i32) (call $yield-after))
      (func (export "m-async") (result i32)
        (i32.add (i32.mul (call $m-async (i32.const 64)) (i32.const 100))
                 (i32.load (i32.const 64))))
      ;; A post-return that sees its task's context slot.
      (func (export "context") (result i32) (call $set0 (i32.const 42)) (i32.const 1))
      (func (export "context-post") (param i32)
        (if (i32.ne (call $get0) (i32.const 42)) (then unreachable))))
    (core instance $i (instantiate $M (with "" (instance
      (export "mem" (memory $memory "mem"))
      (export "throw" (func $throw))
      (export "square" (func $square))
      (export "yield-first" (func $yield-first))
      (export "yield-first-async" (func $yield-first-async))
      (export "yield-after" (func $yield-after))
      (export "m-async" (func $m-async))
      (export "get0" (func $get0))
      (export "set0" (func $set0))))))
    (func (export "catch") async (result u32) (canon lift (core func $i "catch")))
    (func (export "square") async (param "x" u32) (result u32)
      (canon lift (core func $i "square")))
    (func (export "yield-first") async (result u32) (canon lift (core func $i "yield-first")))
    (func (export "yield-first-async") async (result u32)
      (canon lift (core func $i "yield-first-async")))
    (func (export "yield-first-checked") async (result u32)
      (canon lift (core func $i "yield-first-checked")))
    (func (export "yield-after") async (result u32) (canon lift (core func $i "yield-after")))
    (func (export "m-async") async (result u32) (canon lift (core func $i "m-async")))
    (func (export "context") (result u32)
      (canon lift (core func $i "context") (post-return (func $i "context-post")))))

  (instance $callee (instantiate $Callee (with "two" (func $two))))
  (instance $middle (instantiate $Middle (with "yield-first" (func $callee "yield-first"))))
  (instance $caller (instantiate $Caller
    (with "throw" (func $callee "throw"))
    (with "square" (func $callee "square"))
    (with "yield-first" (func $callee "yield-first"))
    (with "yield-after" (func $callee "yield-after"))
    (with "m" (func $middle "m"))))
  (export "catch" (func $caller "catch"))
  (export "square" (func $caller "square"))
  (export "yield-first" (func $caller "yield-first"))
  (export "yield-first-async" (func $caller "yield-first-async"))
  (export "yield-first-checked" (func $caller "yield-first-checked"))
  (export "yield-after" (func $caller "yield-after"))
  (export "m-async" (func $caller "m-async"))
  (export "context" (func $caller "context")))

;; A sync lower of a callee that yields first: its callback runs again at once.
(component instance $e $Edges)
(assert_return (invoke "yield-first") (u32.const 9))
(assert_return (invoke "context") (u32.const 1))
(assert_return (invoke "context") (u32.const 1))
(component instance $e $Edges)
(assert_trap (invoke "catch") "exception")
(component instance $e $Edges)
(assert_trap (invoke "square" (u32.const 3)) "cannot leave component instance")

;; Tasks that go on: an async lower whose callee yields gets `STARTED` (1) and subtask handle
;; 1, and the callee runs on when something blocks (here, the next call's sync lower); a
;; callee that yields after `task.return` runs on after its caller has its result.
(component instance $e $Edges)
(assert_return (invoke "yield-first-async") (u32.const 1700))
(assert_return (invoke "yield-first") (u32.const 9))
(component instance $e $Edges)
(assert_trap (invoke "yield-first-checked") "unreachable")
(component instance $e $Edges)
(assert_return (invoke "yield-after") (u32.const 9))
(assert_return (invoke "yield-after") (u32.const 9))

;; The limit: an async lower whose callee, in its first run, makes a call of its own that
;; starts a task. wasmtime suspends the callee's stack there and gives the caller `STARTED`;
;; the output has no stack switching. What follows a limit on the same instance is skipped
;; with its reason, and so is a native trap that the limit hides.
(component instance $e $Edges)
(assert_return (invoke "m-async") (u32.const 1700))
