;;! component_model_async = true
;; Stream and future ends in the types of host functions. The output bridges only those in
;; host imports' types (`tests/async-host-streams.wast`, `tests/async-host-futures.wast`): the
;; component is lowered, and another end that would cross the boundary (here, returned by
;; an export) traps at a limit of the lowering
;; (`gc-lower:trap:unsupported-stream-or-future-at-the-host-boundary`), which the runner
;; records as a skip with that reason, after wasmtime's checks of an end passed out (the
;; spec's `async/trap-if-done.wast` and `trap-if-transfer-in-waitable-set.wast` trap in
;; them). Calls in which no end crosses run as natively.
(component definition $Ends
  (type $FT (future u8))
  (type $ST (stream u8))
  (core module $Memory (memory (export "mem") 1))
  (core instance $memory (instantiate $Memory))
  (core func $future.new (canon future.new $FT))
  (core func $stream.new (canon stream.new $ST))
  (core module $M
    (import "" "future.new" (func $future.new (result i64)))
    (import "" "stream.new" (func $stream.new (result i64)))
    ;; The readable end of a new future, or a trap before any end crosses.
    (func (export "future") (param $make i32) (result i32)
      (if (i32.eqz (local.get $make)) (then unreachable))
      (i32.wrap_i64 (call $future.new)))
    (func (export "stream") (param $make i32) (result i32)
      (if (i32.eqz (local.get $make)) (then unreachable))
      (i32.wrap_i64 (call $stream.new)))
    (func (export "add") (param i32 i32) (result i32)
      (i32.add (local.get 0) (local.get 1))))
  (core instance $i (instantiate $M (with "" (instance
    (export "future.new" (func $future.new))
    (export "stream.new" (func $stream.new))))))
  (func (export "future") async (param "make" bool) (result $FT)
    (canon lift (core func $i "future")))
  (func (export "stream") async (param "make" bool) (result $ST)
    (canon lift (core func $i "stream")))
  (func (export "add") async (param "a" u32) (param "b" u32) (result u32)
    (canon lift (core func $i "add"))))

(component instance $e $Ends)
(assert_return (invoke "add" (u32.const 40) (u32.const 2)) (u32.const 42))
(assert_trap (invoke "future" (bool.const false)) "unreachable")
(component instance $e2 $Ends)
(assert_trap (invoke "stream" (bool.const false)) "unreachable")
(component instance $e3 $Ends)
(assert_return (invoke "add" (u32.const 1) (u32.const 2)) (u32.const 3))
(invoke "future" (bool.const true))
(component instance $e4 $Ends)
(invoke "stream" (bool.const true))

;; A future in the type of a sync function, in a component with no other async construct: its
;; ends are handles of the async runtime all the same.
(component definition $SyncEnds
  (type $FT (future u8))
  (core module $M
    (func (export "take") (param i32))
    (func (export "add") (param i32 i32) (result i32)
      (i32.add (local.get 0) (local.get 1))))
  (core instance $i (instantiate $M))
  (func (export "take") (param "f" $FT) (canon lift (core func $i "take")))
  (func (export "add") (param "a" u32) (param "b" u32) (result u32)
    (canon lift (core func $i "add"))))
(component instance $s $SyncEnds)
(assert_return (invoke "add" (u32.const 20) (u32.const 22)) (u32.const 42))
