;; `ref.func` of functions of two instances of one module, imported by a module instantiated
;; once: each closure calls its own instance (under `--reify all` the importer's closures are
;; made once each and kept, one per function and instance). Results are compared with
;; wasmtime's.
(component
  (core module $A
    (global $g (mut i32) (i32.const 0))
    (func (export "set") (param i32) (global.set $g (local.get 0)))
    (func (export "get") (result i32) (global.get $g)))
  (core instance $a1 (instantiate $A))
  (core instance $a2 (instantiate $A))
  (core module $B
    (import "a1" "get" (func $get1 (result i32)))
    (import "a2" "get" (func $get2 (result i32)))
    (import "a1" "set" (func $set1 (param i32)))
    (import "a2" "set" (func $set2 (param i32)))
    (type $t (func (result i32)))
    (elem declare func $get1 $get2 $own)
    (global $calls (mut i32) (i32.const 0))
    (func $own (result i32)
      (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
      (global.get $calls))
    ;; run (x): a1's state x, a2's 2x; then each instance's `get` through its closure, made
    ;; twice each, and this module's own function's: a1 + 100 a2 + 10000 own.
    (func (export "run") (param $x i32) (result i32)
      (local $sum i32) (local $i i32)
      (call $set1 (local.get $x))
      (call $set2 (i32.shl (local.get $x) (i32.const 1)))
      (block $done
        (loop $twice
          (br_if $done (i32.eq (local.get $i) (i32.const 2)))
          (local.set $sum (i32.add (local.get $sum)
            (i32.add (call_ref $t (ref.func $get1))
              (i32.add (i32.mul (call_ref $t (ref.func $get2)) (i32.const 100))
                (i32.mul (call_ref $t (ref.func $own)) (i32.const 10000))))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $twice)))
      (local.get $sum)))
  (core instance $b (instantiate $B (with "a1" (instance $a1)) (with "a2" (instance $a2))))
  (func (export "run") (param "x" u32) (result u32) (canon lift (core func $b "run"))))

(assert_return (invoke "run" (u32.const 3)) (u32.const 31206))
(assert_return (invoke "run" (u32.const 5)) (u32.const 72010))
