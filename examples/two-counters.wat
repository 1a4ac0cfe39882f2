;; Two counters from one core module.
;;
;; The module `$Counter` is instantiated twice. Each instance has its own
;; memory (a log of the values it returned), its own global (the count) and
;; its own function table (how a step is taken: `inc` or `dec`). gc-lower emits
;; the module's code once and gives each instance a vmctx holding that state.
;;
;;   cargo run --release -p gc-lower -- examples/two-counters.wat -o single.wasm
(component
  (core module $Counter
    (type $step (func (param i32) (result i32)))
    (memory 1)
    (global $count (mut i32) (i32.const 0))
    (table $how 2 funcref)
    (func $inc (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
    (func $dec (param i32) (result i32) (i32.sub (local.get 0) (i32.const 1)))
    (elem (table $how) (i32.const 0) func $inc $dec)

    ;; Takes one step in the current direction, logs the new count in memory
    ;; and returns it.
    (func (export "step") (result i32)
      (global.set $count
        (call_indirect $how (type $step) (global.get $count) (i32.const 0)))
      (i32.store (i32.shl (i32.and (global.get $count) (i32.const 0x3fff)) (i32.const 2))
        (global.get $count))
      (global.get $count))

    ;; Swaps the directions: `step` then counts down instead of up.
    (func (export "reverse")
      (local $first funcref)
      (local.set $first (table.get $how (i32.const 0)))
      (table.set $how (i32.const 0) (table.get $how (i32.const 1)))
      (table.set $how (i32.const 1) (local.get $first)))

    (func (export "get") (result i32) (global.get $count))

    ;; Reads back the logged value for count `n`, 0 if never reached.
    (func (export "logged") (param i32) (result i32)
      (i32.load (i32.shl (i32.and (local.get 0) (i32.const 0x3fff)) (i32.const 2)))))

  (core instance $left (instantiate $Counter))
  (core instance $right (instantiate $Counter))

  (func (export "left-step") (result s32) (canon lift (core func $left "step")))
  (func (export "left-reverse") (canon lift (core func $left "reverse")))
  (func (export "left-get") (result s32) (canon lift (core func $left "get")))
  (func (export "left-logged") (param "n" s32) (result s32) (canon lift (core func $left "logged")))
  (func (export "right-step") (result s32) (canon lift (core func $right "step")))
  (func (export "right-reverse") (canon lift (core func $right "reverse")))
  (func (export "right-get") (result s32) (canon lift (core func $right "get")))
  (func (export "right-logged") (param "n" s32) (result s32) (canon lift (core func $right "logged")))
)
