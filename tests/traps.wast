;; Traps and instance state. Bounds are per instance: the same address is in
;; bounds for one instance of a module and out of bounds for another. An
;; active segment out of bounds, or a trapping start function, makes the whole
;; component's instantiation trap. After a trap wasmtime refuses to re-enter
;; the component.

;; Two instances of one module with memories of different sizes.
(component
  (core module $M
    (memory 1)
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
    (func (export "store") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
    (func (export "load") (param i32) (result i32) (i32.load (local.get 0))))
  (core instance $a (instantiate $M))
  (core instance $b (instantiate $M))
  (func (export "grow-b") (param "pages" u32) (result s32) (canon lift (core func $b "grow")))
  (func (export "store-a") (param "addr" u32) (param "v" u32) (canon lift (core func $a "store")))
  (func (export "store-b") (param "addr" u32) (param "v" u32) (canon lift (core func $b "store")))
  (func (export "load-a") (param "addr" u32) (result u32) (canon lift (core func $a "load")))
  (func (export "load-b") (param "addr" u32) (result u32) (canon lift (core func $b "load")))
)
(assert_return (invoke "grow-b" (u32.const 1)) (s32.const 1))
(assert_return (invoke "store-b" (u32.const 100000) (u32.const 0xb)))
(assert_return (invoke "store-a" (u32.const 100) (u32.const 0xa)))
(assert_return (invoke "load-b" (u32.const 100000)) (u32.const 0xb))
(assert_return (invoke "load-b" (u32.const 100)) (u32.const 0))
(assert_trap (invoke "load-a" (u32.const 100000)) "out of bounds memory access")
;; The trap poisons the component instance: no export can be entered again.
(assert_trap (invoke "load-b" (u32.const 100000)) "cannot enter component instance")

;; The same with tables: a call_indirect index valid in one instance's table
;; and not in the other's.
(component
  (core module $M
    (type $v (func (result i32)))
    (table 1 funcref)
    (func $f (result i32) (i32.const 5))
    (elem declare func $f)
    (func (export "grow") (param i32) (result i32) (table.grow (ref.func $f) (local.get 0)))
    (func (export "call") (param i32) (result i32) (call_indirect (type $v) (local.get 0))))
  (core instance $a (instantiate $M))
  (core instance $b (instantiate $M))
  (func (export "grow-a") (param "n" u32) (result s32) (canon lift (core func $a "grow")))
  (func (export "call-a") (param "i" u32) (result u32) (canon lift (core func $a "call")))
  (func (export "call-b") (param "i" u32) (result u32) (canon lift (core func $b "call")))
)
(assert_return (invoke "grow-a" (u32.const 2)) (s32.const 1))
(assert_return (invoke "call-a" (u32.const 2)) (u32.const 5))
(assert_trap (invoke "call-b" (u32.const 2)) "undefined element")

;; `unreachable` in an instance that is not the first of its module.
(component
  (core module $M
    (func (export "boom") (param i32) (result i32)
      (if (local.get 0) (then unreachable))
      (i32.const 1)))
  (core instance $a (instantiate $M))
  (core instance $b (instantiate $M))
  (func (export "boom-b") (param "x" bool) (result u32) (canon lift (core func $b "boom")))
)
(assert_return (invoke "boom-b" (bool.const false)) (u32.const 1))
(assert_trap (invoke "boom-b" (bool.const true)) "unreachable")

;; An active data segment out of bounds: the instantiation traps, even though
;; the first instance of the module (with a larger imported memory) was fine.
(assert_trap
  (component
    (core module $Mem1 (memory (export "m") 1))
    (core module $Mem2 (memory (export "m") 2))
    (core module $M
      (import "env" "m" (memory 1))
      (data (i32.const 70000) "x"))
    (core instance $m2 (instantiate $Mem2))
    (core instance $m1 (instantiate $Mem1))
    (core instance (instantiate $M (with "env" (instance $m2))))
    (core instance (instantiate $M (with "env" (instance $m1))))
  )
  "out of bounds memory access")

;; The same for a segment ending one byte past the end of a memory of the
;; module's own.
(assert_trap
  (component
    (core module $M
      (memory 1)
      (data (i32.const 65534) "abc"))
    (core instance (instantiate $M))
  )
  "out of bounds memory access")

;; An active element segment out of bounds.
(assert_trap
  (component
    (core module $M
      (table 2 funcref)
      (func $f)
      (elem (i32.const 1) func $f $f))
    (core instance (instantiate $M))
    (core instance (instantiate $M))
  )
  "out of bounds table access")

;; A start function that traps in the second instance only.
(assert_trap
  (component
    (core module $Count
      (global $n (mut i32) (i32.const 0))
      (func (export "next") (result i32)
        (global.set $n (i32.add (global.get $n) (i32.const 1)))
        (global.get $n)))
    (core module $M
      (import "c" "next" (func $next (result i32)))
      (func $start (if (i32.eq (call $next) (i32.const 2)) (then unreachable)))
      (start $start))
    (core instance $c (instantiate $Count))
    (core instance (instantiate $M (with "c" (instance $c))))
    (core instance (instantiate $M (with "c" (instance $c))))
  )
  "unreachable")

;; A component instantiated after a failed one works normally.
(component
  (core module $M
    (memory 1)
    (data (i32.const 65535) "z")
    (func (export "last") (result i32) (i32.load8_u (i32.const 65535))))
  (core instance $a (instantiate $M))
  (core instance $b (instantiate $M))
  (func (export "last") (result char) (canon lift (core func $b "last")))
)
(assert_return (invoke "last") (char.const "z"))

;; A post-return that calls out of its instance: wasmtime runs post-return functions with their
;; instance's may-leave flag cleared, so the call traps, to the host and to another
;; component alike.
(component
  (import "host-return-two" (func $two (result u32)))
  (core func $two (canon lower (func $two)))
  (core module $M
    (import "" "two" (func $two (result i32)))
    (func (export "f") (result i32) (i32.const 1))
    (func (export "f-post") (param i32) (drop (call $two))))
  (core instance $i (instantiate $M (with "" (instance (export "two" (func $two))))))
  (func (export "f") (result u32)
    (canon lift (core func $i "f") (post-return (func $i "f-post")))))
(assert_trap (invoke "f") "cannot leave component instance")

(component
  (component $B
    (core module $M (func (export "g") (result i32) (i32.const 2)))
    (core instance $i (instantiate $M))
    (func (export "g") (result u32) (canon lift (core func $i "g"))))
  (component $A
    (import "g" (func $g (result u32)))
    (core func $g (canon lower (func $g)))
    (core module $M
      (import "" "g" (func $g (result i32)))
      (func (export "f") (result i32) (i32.const 1))
      (func (export "f-post") (param i32) (drop (call $g))))
    (core instance $i (instantiate $M (with "" (instance (export "g" (func $g))))))
    (func (export "f") (result u32)
      (canon lift (core func $i "f") (post-return (func $i "f-post")))))
  (instance $b (instantiate $B))
  (instance $a (instantiate $A (with "g" (func $b "g"))))
  (export "f" (func $a "f")))
(assert_trap (invoke "f") "cannot leave component instance")
