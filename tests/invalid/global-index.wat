;; A read of global 3 in a module with one global.
;; expect: unknown global
(component
  (core module $M
    (global i32 (i32.const 1))
    (func (export "f") (result i32) (global.get 3)))
  (core instance $a (instantiate $M))
  (core instance $b (instantiate $M))
  (func (export "f") (result s32) (canon lift (core func $a "f"))))
