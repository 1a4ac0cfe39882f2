;; A load from memory 7 in a module with one memory.
;; expect: unknown memory 7
(component
  (core module $M
    (memory 1)
    (func (export "f") (result i32) (i32.load 7 (i32.const 0))))
  (core instance $a (instantiate $M))
  (core instance $b (instantiate $M))
  (func (export "f") (result s32) (canon lift (core func $a "f"))))
