;;! component_model_fixed_length_lists = true
;; Fixed-length lists between components: FACT passes `list<u32, 3>` flat, and
;; `list<u16, 4>` (more than one flat result) through the callee's return area and the
;; caller's, with a post-return. Results are compared with wasmtime's.

(component
  (component $Callee
    (core module $M
      (memory (export "mem") 1)
      (global $posts (mut i32) (i32.const 0))
      ;; pick (a, b, c, i): the `i`th of the three, or 99.
      (func (export "pick") (param i32 i32 i32 i32) (result i32)
        (if (i32.eqz (local.get 3)) (then (return (local.get 0))))
        (if (i32.eq (local.get 3) (i32.const 1)) (then (return (local.get 1))))
        (if (i32.eq (local.get 3) (i32.const 2)) (then (return (local.get 2))))
        (i32.const 99))
      ;; spread (x): [x, x + 1, x * 2, posts] at 64.
      (func (export "spread") (param i32) (result i32)
        (i32.store16 (i32.const 64) (local.get 0))
        (i32.store16 (i32.const 66) (i32.add (local.get 0) (i32.const 1)))
        (i32.store16 (i32.const 68) (i32.mul (local.get 0) (i32.const 2)))
        (i32.store16 (i32.const 70) (global.get $posts))
        (i32.const 64))
      (func (export "post") (param i32)
        (global.set $posts (i32.add (global.get $posts) (i32.const 1)))))
    (core instance $m (instantiate $M))
    (type $L3 (list u32 3))
    (type $L4 (list u16 4))
    (func (export "pick") (param "l" $L3) (param "i" u32) (result u32)
      (canon lift (core func $m "pick")))
    (func (export "spread") (param "x" u16) (result $L4)
      (canon lift (core func $m "spread") (memory $m "mem")
        (post-return (func $m "post")))))
  (instance $callee (instantiate $Callee))

  (component $Caller
    (type $L3 (list u32 3))
    (type $L4 (list u16 4))
    (import "pick" (func $pick' (param "l" $L3) (param "i" u32) (result u32)))
    (import "spread" (func $spread' (param "x" u16) (result $L4)))
    (core module $Mem (memory (export "mem") 1))
    (core instance $mem (instantiate $Mem))
    (core func $pick (canon lower (func $pick')))
    (core func $spread (canon lower (func $spread') (memory $mem "mem")))
    (core module $M
      (import "" "mem" (memory 1))
      (import "" "pick" (func $pick (param i32 i32 i32 i32) (result i32)))
      (import "" "spread" (func $spread (param i32 i32)))
      (func (export "pick") (param i32) (result i32)
        (call $pick (i32.const 10) (i32.const 20) (i32.const 30) (local.get 0)))
      ;; The four values of `spread (x)` packed: 8 bits each.
      (func (export "spread") (param i32) (result i32)
        (call $spread (local.get 0) (i32.const 200))
        (i32.or (i32.or (i32.load8_u (i32.const 200))
                        (i32.shl (i32.load8_u (i32.const 202)) (i32.const 8)))
                (i32.or (i32.shl (i32.load8_u (i32.const 204)) (i32.const 16))
                        (i32.shl (i32.load8_u (i32.const 206)) (i32.const 24))))))
    (core instance $m (instantiate $M (with "" (instance
      (export "mem" (memory $mem "mem"))
      (export "pick" (func $pick)) (export "spread" (func $spread))))))
    (func (export "pick") (param "i" u32) (result u32) (canon lift (core func $m "pick")))
    (func (export "spread") (param "x" u32) (result u32)
      (canon lift (core func $m "spread"))))
  (instance $caller (instantiate $Caller
    (with "pick" (func $callee "pick")) (with "spread" (func $callee "spread"))))
  (export "pick" (func $caller "pick"))
  (export "spread" (func $caller "spread")))

(assert_return (invoke "pick" (u32.const 0)) (u32.const 10))
(assert_return (invoke "pick" (u32.const 2)) (u32.const 30))
(assert_return (invoke "pick" (u32.const 7)) (u32.const 99))
(assert_return (invoke "spread" (u32.const 5)) (u32.const 656901))
(assert_return (invoke "spread" (u32.const 40)) (u32.const 22030632))
