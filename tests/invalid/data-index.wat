;; `memory.init` of data segment 4 in a module with one segment.
;; expect: unknown data segment
(component
  (core module $M
    (memory 1)
    (data "x")
    (func (export "f") (result i32) (memory.init 4 (i32.const 0) (i32.const 0) (i32.const 1)) (i32.const 0)))
  (core instance $a (instantiate $M))
  (core instance $b (instantiate $M))
  (func (export "f") (result s32) (canon lift (core func $a "f"))))
