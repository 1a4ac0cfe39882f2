;; Two core modules with the same module name, `libc`, as a component composed of two
;; components would hold; each instantiated once, one exporting `f` to the other.
(component
  (core module $A (@name "libc")
    (func $get (export "get") (result i32) i32.const 1))
  (core module $B (@name "libc")
    (import "a" "get" (func $get (result i32)))
    (func $run (export "run") (result i32) (i32.add (call $get) (i32.const 1))))
  (core instance $a (instantiate $A))
  (core instance $b (instantiate $B (with "a" (instance $a))))
  (func (export "run") (result u32) (canon lift (core func $b "run"))))
