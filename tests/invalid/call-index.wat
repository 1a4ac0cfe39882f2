;; `call 1` in a module with one function: it must not be bound to another module's function.
;; expect: unknown function
(component
  (core module $Other
    (func (export "g") (result i32) (i32.const 42)))
  (core module $M
    (func (export "f") (result i32) (call 1)))
  (core instance $o (instantiate $Other))
  (core instance $a (instantiate $M))
  (core instance $b (instantiate $M))
  (func (export "f") (result s32) (canon lift (core func $a "f")))
  (func (export "g") (result s32) (canon lift (core func $o "g"))))
