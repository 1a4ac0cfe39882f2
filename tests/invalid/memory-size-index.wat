;; `memory.size` of memory 5 in a module with one memory.
;; expect: unknown memory 5
(component
  (core module $M
    (memory 1)
    (func (export "f") (result i32) (memory.size 5)))
  (core instance $a (instantiate $M))
  (core instance $b (instantiate $M))
  (func (export "f") (result s32) (canon lift (core func $a "f"))))
