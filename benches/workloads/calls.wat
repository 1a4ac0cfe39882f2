;; Call-heavy kernels: calls from one core instance into another,
;; `call_indirect` through a table that another instance owns, and through an
;; instance's own private table.
;;
;; `$Callee` is instantiated twice (`$b1`, `$b2`); each instance counts the
;; calls it receives in a global. `$Direct` (instantiated once) calls `f` of
;; both in a loop. `$Indirect` (instantiated once) imports `$b1`'s table and
;; calls through it; sharing that table makes `--reify auto` reify it too,
;; while `$Direct` shares only functions and stays linear. `$Callee`'s second
;; table, `$own`, is private and holds its own functions for good (as clang's
;; `__indirect_function_table` does); `own-indirect` calls through it.
(component
  (core module $Callee
    (type $op (func (param i32 i32) (result i32)))
    (table (export "ops") 4 funcref)
    (global $calls (mut i32) (i32.const 0))
    (func $f (export "f") (param i32 i32) (result i32)
      (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
      (i32.add (i32.mul (local.get 0) (i32.const 31)) (local.get 1)))
    (func $g (param i32 i32) (result i32)
      (i32.xor (i32.rotl (local.get 0) (i32.const 5)) (local.get 1)))
    (func $h (param i32 i32) (result i32)
      (i32.sub (local.get 0) (i32.mul (local.get 1) (i32.const 7))))
    (func $k (param i32 i32) (result i32)
      (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
      (i32.add (local.get 0) (i32.const 0x9e3779b9)))
    (elem (i32.const 0) func $f $g $h $k)
    (table $own 4 funcref)
    (elem (table $own) (i32.const 0) func $f $g $h $k)
    ;; n calls through the private table, cycling over its four entries.
    (func (export "own-indirect") (param $n i32) (result i32)
      (local $i i32) (local $acc i32)
      (block $done
        (loop $l
          (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
          (local.set $acc (call_indirect $own (type $op) (local.get $acc) (local.get $i)
            (i32.and (local.get $i) (i32.const 3))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $l)))
      (local.get $acc))
    (func (export "calls") (result i32) (global.get $calls)))

  (core instance $b1 (instantiate $Callee))
  (core instance $b2 (instantiate $Callee))

  (core module $Direct
    (import "b1" "f" (func $f1 (param i32 i32) (result i32)))
    (import "b2" "f" (func $f2 (param i32 i32) (result i32)))
    ;; 2n calls, alternating between the two instances.
    (func (export "cross") (param $n i32) (result i32)
      (local $i i32) (local $acc i32)
      (block $done
        (loop $l
          (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
          (local.set $acc (call $f1 (local.get $acc) (local.get $i)))
          (local.set $acc (call $f2 (local.get $acc) (local.get $i)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $l)))
      (local.get $acc)))
  (core instance $direct (instantiate $Direct
    (with "b1" (instance $b1)) (with "b2" (instance $b2))))

  (core module $Indirect
    (type $op (func (param i32 i32) (result i32)))
    (import "b1" "ops" (table 4 funcref))
    ;; n calls through the table, cycling over its four entries.
    (func (export "indirect") (param $n i32) (result i32)
      (local $i i32) (local $acc i32)
      (block $done
        (loop $l
          (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
          (local.set $acc (call_indirect (type $op) (local.get $acc) (local.get $i)
            (i32.and (local.get $i) (i32.const 3))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $l)))
      (local.get $acc)))
  (core instance $indirect (instantiate $Indirect (with "b1" (instance $b1))))

  (func (export "cross") (param "n" u32) (result u32) (canon lift (core func $direct "cross")))
  (func (export "indirect") (param "n" u32) (result u32) (canon lift (core func $indirect "indirect")))
  (func (export "own-indirect") (param "n" u32) (result u32) (canon lift (core func $b1 "own-indirect")))
  (func (export "calls-b1") (result u32) (canon lift (core func $b1 "calls")))
  (func (export "calls-b2") (result u32) (canon lift (core func $b2 "calls")))
)
