;; A nested component instantiated twice: its core instances (memory, global,
;; table) exist once per component instance, including a component nested two
;; levels deep, and components that share a sibling's instance.
(component
  (component $Cell
    (core module $M
      (type $v (func (result i32)))
      (memory 1)
      (global $writes (mut i32) (i32.const 0))
      (table 2 funcref)
      (func $plain (result i32) (i32.load (i32.const 0)))
      (func $doubled (result i32) (i32.shl (i32.load (i32.const 0)) (i32.const 1)))
      (elem (i32.const 0) func $plain $doubled)
      (func (export "set") (param i32)
        (i32.store (i32.const 0) (local.get 0))
        (global.set $writes (i32.add (global.get $writes) (i32.const 1))))
      (func (export "get") (param i32) (result i32)
        (call_indirect (type $v) (local.get 0)))
      (func (export "writes") (result i32) (global.get $writes)))
    (core instance $m (instantiate $M))
    (func (export "set") (param "v" u32) (canon lift (core func $m "set")))
    (func (export "get") (param "doubled" bool) (result u32) (canon lift (core func $m "get")))
    (func (export "writes") (result u32) (canon lift (core func $m "writes"))))
  (instance $c1 (instantiate $Cell))
  (instance $c2 (instantiate $Cell))
  (func (export "set-1") (alias export $c1 "set"))
  (func (export "set-2") (alias export $c2 "set"))
  (func (export "get-1") (alias export $c1 "get"))
  (func (export "get-2") (alias export $c2 "get"))
  (func (export "writes-1") (alias export $c1 "writes"))
  (func (export "writes-2") (alias export $c2 "writes"))
)

(assert_return (invoke "set-1" (u32.const 21)))
(assert_return (invoke "get-1" (bool.const false)) (u32.const 21))
(assert_return (invoke "get-1" (bool.const true)) (u32.const 42))
(assert_return (invoke "get-2" (bool.const true)) (u32.const 0))
(assert_return (invoke "set-2" (u32.const 5)))
(assert_return (invoke "set-2" (u32.const 6)))
(assert_return (invoke "get-2" (bool.const true)) (u32.const 12))
(assert_return (invoke "get-1" (bool.const false)) (u32.const 21))
(assert_return (invoke "writes-1") (u32.const 1))
(assert_return (invoke "writes-2") (u32.const 2))

;; Two levels of nesting: the outer instantiates $Outer twice, and each
;; $Outer instantiates $Inner twice, so four instances of the core module.
(component
  (component $Outer
    (component $Inner
      (core module $M
        (global $n (mut i64) (i64.const 0))
        (func (export "add") (param i64) (result i64)
          (global.set $n (i64.add (global.get $n) (local.get 0)))
          (global.get $n)))
      (core instance $m (instantiate $M))
      (func (export "add") (param "d" u64) (result u64) (canon lift (core func $m "add"))))
    (instance $i1 (instantiate $Inner))
    (instance $i2 (instantiate $Inner))
    (export "add-1" (func $i1 "add"))
    (export "add-2" (func $i2 "add")))
  (instance $o1 (instantiate $Outer))
  (instance $o2 (instantiate $Outer))
  (func (export "o1-add-1") (alias export $o1 "add-1"))
  (func (export "o1-add-2") (alias export $o1 "add-2"))
  (func (export "o2-add-1") (alias export $o2 "add-1"))
  (func (export "o2-add-2") (alias export $o2 "add-2"))
)

(assert_return (invoke "o1-add-1" (u64.const 1)) (u64.const 1))
(assert_return (invoke "o1-add-2" (u64.const 10)) (u64.const 10))
(assert_return (invoke "o2-add-1" (u64.const 100)) (u64.const 100))
(assert_return (invoke "o2-add-2" (u64.const 1000)) (u64.const 1000))
(assert_return (invoke "o1-add-1" (u64.const 1)) (u64.const 2))
(assert_return (invoke "o2-add-2" (u64.const 0x8000_0000_0000_0000)) (u64.const 0x8000_0000_0000_03e8))
(assert_return (invoke "o1-add-2" (u64.const 0)) (u64.const 10))

;; A nested component instantiated twice, both instances importing the same
;; service instance: the service's state is shared, each client's is not.
(component
  (component $Svc
    (core module $M
      (global $n (mut i32) (i32.const 0))
      (func (export "next") (result i32)
        (global.set $n (i32.add (global.get $n) (i32.const 1)))
        (global.get $n)))
    (core instance $m (instantiate $M))
    (func (export "next") (result u32) (canon lift (core func $m "next"))))
  (component $Client
    (import "next" (func $next (result u32)))
    (core func $next-lowered (canon lower (func $next)))
    (core module $M
      (import "svc" "next" (func $next (result i32)))
      (global $sum (mut i32) (i32.const 0))
      (func (export "pull") (result i32)
        (global.set $sum (i32.add (global.get $sum) (call $next)))
        (global.get $sum)))
    (core instance $m (instantiate $M
      (with "svc" (instance (export "next" (func $next-lowered))))))
    (func (export "pull") (result u32) (canon lift (core func $m "pull"))))
  (instance $svc (instantiate $Svc))
  (instance $a (instantiate $Client (with "next" (func $svc "next"))))
  (instance $b (instantiate $Client (with "next" (func $svc "next"))))
  (func (export "pull-a") (alias export $a "pull"))
  (func (export "pull-b") (alias export $b "pull"))
)

(assert_return (invoke "pull-a") (u32.const 1))
(assert_return (invoke "pull-a") (u32.const 3))
(assert_return (invoke "pull-b") (u32.const 3))
(assert_return (invoke "pull-a") (u32.const 7))
(assert_return (invoke "pull-b") (u32.const 8))
