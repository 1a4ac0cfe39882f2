;;! wide_arithmetic = true
;; Leading `;;!` lines set the engines' wasm features, as in wasmtime's own test scripts:
;; wide arithmetic is off by default, so without the line above the component below would
;; not compile natively and its assertions would be skipped as native failures.

(component
  (core module $M
    ;; The high 64 bits of the 128-bit sum of two 64-bit values (zero-extended).
    (func (export "carry") (param i64 i64) (result i64)
      (i64.add128 (local.get 0) (i64.const 0) (local.get 1) (i64.const 0))
      (return)))
  (core instance $i (instantiate $M))
  (func (export "carry") (param "a" u64) (param "b" u64) (result u64)
    (canon lift (core func $i "carry"))))
(assert_return (invoke "carry" (u64.const 1) (u64.const 2)) (u64.const 0))
(assert_return (invoke "carry" (u64.const 0xffffffffffffffff) (u64.const 2)) (u64.const 1))
