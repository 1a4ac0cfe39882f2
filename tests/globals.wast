;; Mutable globals exported by one instance and imported by others: a
;; global.set through any importer is seen by the owner and by every other
;; importer, for each value type. Immutable imported globals parameterise
;; instances of one module.
(component
  (core module $Owner
    (global $i (export "i") (mut i32) (i32.const 1))
    (global $l (export "l") (mut i64) (i64.const 2))
    (global $f (export "f") (mut f32) (f32.const 3.5))
    (global $d (export "d") (mut f64) (f64.const -4.25))
    (func (export "get-i") (result i32) (global.get $i))
    (func (export "set-l") (param i64) (global.set $l (local.get 0))))
  (core module $User
    (import "o" "i" (global $i (mut i32)))
    (import "o" "l" (global $l (mut i64)))
    (import "o" "f" (global $f (mut f32)))
    (import "o" "d" (global $d (mut f64)))
    (global $own (mut i32) (i32.const 0))
    (func (export "add-i") (param i32) (result i32)
      (global.set $i (i32.add (global.get $i) (local.get 0)))
      (global.set $own (i32.add (global.get $own) (i32.const 1)))
      (global.get $i))
    (func (export "own") (result i32) (global.get $own))
    (func (export "get-l") (result i64) (global.get $l))
    (func (export "set-f") (param f32) (global.set $f (local.get 0)))
    (func (export "get-f") (result f32) (global.get $f))
    (func (export "scale-d") (param f64) (result f64)
      (global.set $d (f64.mul (global.get $d) (local.get 0)))
      (global.get $d)))
  (core instance $o (instantiate $Owner))
  (core instance $u1 (instantiate $User (with "o" (instance $o))))
  (core instance $u2 (instantiate $User (with "o" (instance $o))))
  (func (export "owner-get-i") (result s32) (canon lift (core func $o "get-i")))
  (func (export "owner-set-l") (param "v" u64) (canon lift (core func $o "set-l")))
  (func (export "u1-add-i") (param "d" s32) (result s32) (canon lift (core func $u1 "add-i")))
  (func (export "u2-add-i") (param "d" s32) (result s32) (canon lift (core func $u2 "add-i")))
  (func (export "u1-own") (result u32) (canon lift (core func $u1 "own")))
  (func (export "u2-own") (result u32) (canon lift (core func $u2 "own")))
  (func (export "u1-get-l") (result u64) (canon lift (core func $u1 "get-l")))
  (func (export "u2-get-l") (result u64) (canon lift (core func $u2 "get-l")))
  (func (export "u1-set-f") (param "v" f32) (canon lift (core func $u1 "set-f")))
  (func (export "u2-get-f") (result f32) (canon lift (core func $u2 "get-f")))
  (func (export "u1-scale-d") (param "k" f64) (result f64) (canon lift (core func $u1 "scale-d")))
  (func (export "u2-scale-d") (param "k" f64) (result f64) (canon lift (core func $u2 "scale-d")))
)

(assert_return (invoke "owner-get-i") (s32.const 1))
(assert_return (invoke "u1-add-i" (s32.const 10)) (s32.const 11))
(assert_return (invoke "u2-add-i" (s32.const -20)) (s32.const -9))
(assert_return (invoke "owner-get-i") (s32.const -9))
(assert_return (invoke "u1-add-i" (s32.const 0)) (s32.const -9))
(assert_return (invoke "u1-own") (u32.const 2))
(assert_return (invoke "u2-own") (u32.const 1))

(assert_return (invoke "u1-get-l") (u64.const 2))
(assert_return (invoke "owner-set-l" (u64.const 0xffff_ffff_0000_0001)))
(assert_return (invoke "u1-get-l") (u64.const 0xffff_ffff_0000_0001))
(assert_return (invoke "u2-get-l") (u64.const 0xffff_ffff_0000_0001))

(assert_return (invoke "u2-get-f") (f32.const 3.5))
(assert_return (invoke "u1-set-f" (f32.const -0x1.8p-3)))
(assert_return (invoke "u2-get-f") (f32.const -0x1.8p-3))

(assert_return (invoke "u1-scale-d" (f64.const 2)) (f64.const -8.5))
(assert_return (invoke "u2-scale-d" (f64.const 0.5)) (f64.const -4.25))
(assert_return (invoke "u1-scale-d" (f64.const -0)) (f64.const 0))

;; The owner is itself instantiated twice and each owner is shared by two
;; users: two disjoint groups, each with its own global.
(component
  (core module $Owner
    (global (export "g") (mut i32) (i32.const 0)))
  (core module $User
    (import "o" "g" (global $g (mut i32)))
    (func (export "inc") (result i32)
      (global.set $g (i32.add (global.get $g) (i32.const 1)))
      (global.get $g)))
  (core instance $o1 (instantiate $Owner))
  (core instance $o2 (instantiate $Owner))
  (core instance $a1 (instantiate $User (with "o" (instance $o1))))
  (core instance $b1 (instantiate $User (with "o" (instance $o1))))
  (core instance $a2 (instantiate $User (with "o" (instance $o2))))
  (core instance $b2 (instantiate $User (with "o" (instance $o2))))
  (func (export "a1") (result u32) (canon lift (core func $a1 "inc")))
  (func (export "b1") (result u32) (canon lift (core func $b1 "inc")))
  (func (export "a2") (result u32) (canon lift (core func $a2 "inc")))
  (func (export "b2") (result u32) (canon lift (core func $b2 "inc")))
)

(assert_return (invoke "a1") (u32.const 1))
(assert_return (invoke "b1") (u32.const 2))
(assert_return (invoke "a2") (u32.const 1))
(assert_return (invoke "a1") (u32.const 3))
(assert_return (invoke "b2") (u32.const 2))
(assert_return (invoke "b2") (u32.const 3))
(assert_return (invoke "b1") (u32.const 4))

;; A mutable global passed along a chain: an instance imports it and
;; re-exports it, and a second instance imports the re-export.
(component
  (core module $Owner
    (global $g (export "g") (mut i64) (i64.const 5))
    (func (export "get") (result i64) (global.get $g)))
  (core module $Relay
    (import "up" "g" (global $g (mut i64)))
    (export "g" (global $g))
    (func (export "double") (global.set $g (i64.shl (global.get $g) (i64.const 1)))))
  (core instance $o (instantiate $Owner))
  (core instance $r1 (instantiate $Relay (with "up" (instance $o))))
  (core instance $r2 (instantiate $Relay (with "up" (instance $r1))))
  (func (export "get") (result u64) (canon lift (core func $o "get")))
  (func (export "double-1") (canon lift (core func $r1 "double")))
  (func (export "double-2") (canon lift (core func $r2 "double")))
)

(assert_return (invoke "double-2"))
(assert_return (invoke "get") (u64.const 10))
(assert_return (invoke "double-1"))
(assert_return (invoke "double-2"))
(assert_return (invoke "get") (u64.const 40))
