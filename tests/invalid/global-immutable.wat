;; A write to an immutable global.
;; expect: global is immutable
(component
  (core module $M
    (global i32 (i32.const 1))
    (func (export "f") (result i32) (global.set 0 (i32.const 2)) (global.get 0)))
  (core instance $a (instantiate $M))
  (core instance $b (instantiate $M))
  (func (export "f") (result s32) (canon lift (core func $a "f"))))
