;; `call_indirect` through type 9 in a module with one type.
;; expect: unknown type
(component
  (core module $M
    (table 1 funcref)
    (func (export "f") (result i32) (call_indirect (type 9) (i32.const 0))))
  (core instance $a (instantiate $M))
  (core instance $b (instantiate $M))
  (func (export "f") (result s32) (canon lift (core func $a "f"))))
