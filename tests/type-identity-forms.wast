;; A rec group that holds a `funcref` in one member: a module instantiated once
;; (not reified under `--reify auto`) and a module instantiated twice (reified)
;; declare the same group, so natively its types are one type in both. The
;; reified module calls the other's function through its table.
(component definition $forms
  (core module $A
    (rec (type $f (func (result i32))) (type $g (func (param funcref))))
    (func (export "f") (type $f) (i32.const 7)))
  (core module $B
    (rec (type $f (func (result i32))) (type $g (func (param funcref))))
    (import "a" "f" (func $f (type $f)))
    (table 1 funcref)
    (elem (i32.const 0) func $f)
    (func (export "call") (result i32) (call_indirect (type $f) (i32.const 0))))
  (core instance $a (instantiate $A))
  (core instance $b1 (instantiate $B (with "a" (instance $a))))
  (core instance $b2 (instantiate $B (with "a" (instance $a))))
  (func (export "call1") (result u32) (canon lift (core func $b1 "call")))
  (func (export "call2") (result u32) (canon lift (core func $b2 "call")))
)
(component instance $i $forms)
(assert_return (invoke $i "call1") (u32.const 7))
(assert_return (invoke $i "call2") (u32.const 7))

;; The other direction: a function of a module instantiated twice, called
;; through the table of a module instantiated once.
(component definition $forms-back
  (core module $A
    (rec (type $f (func (result i32))) (type $g (func (param funcref))))
    (global $k (mut i32) (i32.const 0))
    (func (export "set") (param i32) (global.set $k (local.get 0)))
    (func (export "f") (type $f) (global.get $k)))
  (core module $C
    (rec (type $f (func (result i32))) (type $g (func (param funcref))))
    (import "a" "f" (func $f (type $f)))
    (table 1 funcref)
    (elem (i32.const 0) func $f)
    (func (export "call") (result i32) (call_indirect (type $f) (i32.const 0))))
  (core instance $a1 (instantiate $A))
  (core instance $a2 (instantiate $A))
  (core instance $c (instantiate $C (with "a" (instance $a2))))
  (func (export "set1") (param "k" u32) (canon lift (core func $a1 "set")))
  (func (export "set2") (param "k" u32) (canon lift (core func $a2 "set")))
  (func (export "call") (result u32) (canon lift (core func $c "call")))
)
(component instance $j $forms-back)
(assert_return (invoke $j "set1" (u32.const 5)))
(assert_return (invoke $j "set2" (u32.const 9)))
(assert_return (invoke $j "call") (u32.const 9))
