;; call_indirect through tables that hold functions of other instances: the
;; callee runs with its own instance's state, whichever instance's table the
;; call goes through. Plain function types of different modules are one type
;; when their signatures are equal (see type-identity.wast for rec groups); a
;; mismatch and a null entry trap.
(component
  (core module $Lib
    (import "cfg" "step" (global $step i32))
    (global $n (mut i32) (i32.const 0))
    (func (export "bump") (result i32)
      (global.set $n (i32.add (global.get $n) (global.get $step)))
      (global.get $n))
    (func (export "add") (param i32 i32) (result i32)
      (i32.add (i32.mul (local.get 0) (global.get $step)) (local.get 1))))
  (core module $Step1 (global (export "step") i32 (i32.const 1)))
  (core module $Step100 (global (export "step") i32 (i32.const 100)))
  ;; Holds the two libraries' functions in its own table.
  (core module $Disp
    (type $bump (func (result i32)))
    (type $add (func (param i32 i32) (result i32)))
    (import "l1" "bump" (func $bump1 (result i32)))
    (import "l2" "bump" (func $bump2 (result i32)))
    (import "l1" "add" (func $add1 (param i32 i32) (result i32)))
    (import "l2" "add" (func $add2 (param i32 i32) (result i32)))
    (table $t (export "tab") 6 funcref)
    (elem (i32.const 0) func $bump1 $bump2 $add1 $add2)
    (func (export "call-bump") (param i32) (result i32)
      (call_indirect (type $bump) (local.get 0)))
    (func (export "call-add") (param i32 i32 i32) (result i32)
      (call_indirect (type $add) (local.get 1) (local.get 2) (local.get 0)))
    (func (export "swap")
      (local $tmp funcref)
      (local.set $tmp (table.get $t (i32.const 0)))
      (table.set $t (i32.const 0) (table.get $t (i32.const 1)))
      (table.set $t (i32.const 1) (local.get $tmp))))
  ;; Imports the dispatcher's table, twice instantiated; calls through it and
  ;; writes its own function into it.
  (core module $User
    (type $bump (func (result i32)))
    (import "disp" "tab" (table $t 6 funcref))
    (import "cfg" "step" (global $tag i32))
    (func $mine (result i32) (global.get $tag))
    (elem declare func $mine)
    (func (export "call") (param i32) (result i32)
      (call_indirect (type $bump) (local.get 0)))
    (func (export "install") (param i32)
      (table.set $t (local.get 0) (ref.func $mine))))
  (core instance $s1 (instantiate $Step1))
  (core instance $s100 (instantiate $Step100))
  (core instance $l1 (instantiate $Lib (with "cfg" (instance $s1))))
  (core instance $l2 (instantiate $Lib (with "cfg" (instance $s100))))
  (core instance $d (instantiate $Disp (with "l1" (instance $l1)) (with "l2" (instance $l2))))
  (core instance $u1 (instantiate $User (with "disp" (instance $d)) (with "cfg" (instance $s1))))
  (core instance $u2 (instantiate $User (with "disp" (instance $d)) (with "cfg" (instance $s100))))
  (func (export "call-bump") (param "i" u32) (result u32) (canon lift (core func $d "call-bump")))
  (func (export "call-add") (param "i" u32) (param "x" u32) (param "y" u32) (result u32)
    (canon lift (core func $d "call-add")))
  (func (export "swap") (canon lift (core func $d "swap")))
  (func (export "bump-l1") (result u32) (canon lift (core func $l1 "bump")))
  (func (export "u1-call") (param "i" u32) (result u32) (canon lift (core func $u1 "call")))
  (func (export "u2-call") (param "i" u32) (result u32) (canon lift (core func $u2 "call")))
  (func (export "u1-install") (param "i" u32) (canon lift (core func $u1 "install")))
  (func (export "u2-install") (param "i" u32) (canon lift (core func $u2 "install")))
)

(assert_return (invoke "call-bump" (u32.const 0)) (u32.const 1))
(assert_return (invoke "call-bump" (u32.const 1)) (u32.const 100))
(assert_return (invoke "call-bump" (u32.const 0)) (u32.const 2))
(assert_return (invoke "bump-l1") (u32.const 3))
(assert_return (invoke "call-add" (u32.const 2) (u32.const 7) (u32.const 5)) (u32.const 12))
(assert_return (invoke "call-add" (u32.const 3) (u32.const 7) (u32.const 5)) (u32.const 705))
(assert_return (invoke "swap"))
(assert_return (invoke "call-bump" (u32.const 0)) (u32.const 200))
(assert_return (invoke "call-bump" (u32.const 1)) (u32.const 4))
;; The users share the dispatcher's table.
(assert_return (invoke "u1-call" (u32.const 0)) (u32.const 300))
(assert_return (invoke "u2-call" (u32.const 1)) (u32.const 5))
(assert_return (invoke "u1-install" (u32.const 4)))
(assert_return (invoke "u2-install" (u32.const 5)))
(assert_return (invoke "u2-call" (u32.const 4)) (u32.const 1))
(assert_return (invoke "u1-call" (u32.const 5)) (u32.const 100))
(assert_return (invoke "call-bump" (u32.const 5)) (u32.const 100))
(assert_return (invoke "u1-install" (u32.const 1)))
(assert_return (invoke "call-bump" (u32.const 1)) (u32.const 1))
(assert_return (invoke "call-bump" (u32.const 0)) (u32.const 400))

;; A signature mismatch traps: slot 2 holds `add`, called as `bump`.
(component
  (core module $Lib
    (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
    (func (export "one") (result i32) (i32.const 1)))
  (core module $Disp
    (type $bump (func (result i32)))
    (import "lib" "add" (func $add (param i32 i32) (result i32)))
    (import "lib" "one" (func $one (result i32)))
    (table 2 funcref)
    (elem (i32.const 0) func $one $add)
    (func (export "call") (param i32) (result i32)
      (call_indirect (type $bump) (local.get 0))))
  (core instance $l1 (instantiate $Lib))
  (core instance $l2 (instantiate $Lib))
  (core instance $d1 (instantiate $Disp (with "lib" (instance $l1))))
  (core instance $d2 (instantiate $Disp (with "lib" (instance $l2))))
  (func (export "call") (param "i" u32) (result u32) (canon lift (core func $d2 "call")))
)
(assert_return (invoke "call" (u32.const 0)) (u32.const 1))
(assert_trap (invoke "call" (u32.const 1)) "indirect call type mismatch")

;; A mismatch in the result type only, also a trap.
(component
  (core module $M
    (type $i64 (func (result i64)))
    (func $f (result i32) (i32.const 1))
    (table 1 funcref)
    (elem (i32.const 0) func $f)
    (func (export "call") (result i64) (call_indirect (type $i64) (i32.const 0))))
  (core instance $a (instantiate $M))
  (core instance $b (instantiate $M))
  (func (export "call") (result u64) (canon lift (core func $a "call")))
)
(assert_trap (invoke "call") "indirect call type mismatch")

;; A null entry traps.
(component
  (core module $M
    (type $v (func (result i32)))
    (func $f (result i32) (i32.const 7))
    (table 3 funcref)
    (elem (i32.const 1) func $f)
    (func (export "call") (param i32) (result i32) (call_indirect (type $v) (local.get 0))))
  (core instance $a (instantiate $M))
  (core instance $b (instantiate $M))
  (func (export "call") (param "i" u32) (result u32) (canon lift (core func $b "call")))
)
(assert_return (invoke "call" (u32.const 1)) (u32.const 7))
(assert_trap (invoke "call" (u32.const 2)) "uninitialized element")

;; An index past the end of the table traps.
(component
  (core module $M
    (type $v (func (result i32)))
    (func $f (result i32) (i32.const 7))
    (table 1 funcref)
    (elem (i32.const 0) func $f)
    (func (export "call") (param i32) (result i32) (call_indirect (type $v) (local.get 0))))
  (core instance $a (instantiate $M))
  (core instance $b (instantiate $M))
  (func (export "call") (param "i" u32) (result u32) (canon lift (core func $a "call")))
)
(assert_trap (invoke "call" (u32.const 1)) "undefined element")
