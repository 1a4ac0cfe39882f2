;; Rec groups that mix function types with struct types, in a module instantiated
;; twice (so its state is reified and its functions become closures) and in a
;; module instantiated once that declares the same group. Core Wasm GC gives a
;; type the identity of its rec group and position: the struct type $s of every
;; module here is one type, and so is the function type $f, while $g (the same
;; signature as $f, in a group of its own) is another.
;;
;;   $maker   instantiated once: `make` builds an $s, `get` (type $f) reads it
;;   $m       instantiated twice: the first instance imports $maker's `make`, the
;;            second the first's; both import $maker's `get` into table slot 2
;;            (slot 0: their own `get` of type $f, slot 1: `get2` of type $g)
;; Each trap gets a fresh instance (a trap poisons the component instance).

(component definition $mixed
  (core module $maker
    (rec (type $s (struct (field (mut i32)))) (type $f (func (param (ref null $s)) (result i32))))
    (func (export "make") (param i32) (result (ref null $s)) (struct.new $s (local.get 0)))
    (func (export "get") (type $f) (i32.add (i32.const 1000) (struct.get $s 0 (local.get 0)))))
  (core instance $maker (instantiate $maker))
  (core module $m
    (rec (type $s (struct (field (mut i32)))) (type $f (func (param (ref null $s)) (result i32))))
    (type $g (func (param (ref null $s)) (result i32)))
    (import "up" "make" (func $make (param i32) (result (ref null $s))))
    (import "maker" "get" (func $ext (type $f)))
    (global $bias (mut i32) (i32.const 0))
    (table $t 3 funcref)
    (elem (table $t) (i32.const 0) func $get $get2 $ext)
    (func $get (type $f) (i32.add (global.get $bias) (struct.get $s 0 (local.get 0))))
    (func $get2 (type $g) (i32.add (i32.const 100) (struct.get $s 0 (local.get 0))))
    ;; Builds through the imported `make`, then adds this instance's bias to the field,
    ;; so the value shows which instances it went through.
    (func (export "make") (param i32) (result (ref null $s))
      (local $v (ref null $s))
      (local.set $v (call $make (local.get 0)))
      (struct.set $s 0 (local.get $v)
        (i32.add (struct.get $s 0 (local.get $v)) (i32.const 10)))
      (local.get $v))
    (func (export "set-bias") (param i32) (global.set $bias (local.get 0)))
    (func (export "via-f") (param i32 i32) (result i32)
      (call_indirect $t (type $f) (call $make (local.get 0)) (local.get 1)))
    (func (export "via-g") (param i32 i32) (result i32)
      (call_indirect $t (type $g) (call $make (local.get 0)) (local.get 1)))
    ;; A value made elsewhere is an $s here, and not an $f.
    (func (export "is-s") (param i32) (result i32)
      (ref.test (ref $s) (call $make (local.get 0))))
    (func (export "field") (param i32) (result i32)
      (struct.get $s 0 (ref.cast (ref $s) (call $make (local.get 0))))))
  (core instance $m1 (instantiate $m
    (with "up" (instance (export "make" (func $maker "make"))))
    (with "maker" (instance $maker))))
  (core instance $m2 (instantiate $m
    (with "up" (instance (export "make" (func $m1 "make"))))
    (with "maker" (instance $maker))))
  (func (export "set-bias1") (param "b" u32) (canon lift (core func $m1 "set-bias")))
  (func (export "set-bias2") (param "b" u32) (canon lift (core func $m2 "set-bias")))
  (func (export "via-f1") (param "x" u32) (param "slot" u32) (result u32)
    (canon lift (core func $m1 "via-f")))
  (func (export "via-f2") (param "x" u32) (param "slot" u32) (result u32)
    (canon lift (core func $m2 "via-f")))
  (func (export "via-g2") (param "x" u32) (param "slot" u32) (result u32)
    (canon lift (core func $m2 "via-g")))
  (func (export "is-s2") (param "x" u32) (result u32) (canon lift (core func $m2 "is-s")))
  (func (export "field2") (param "x" u32) (result u32) (canon lift (core func $m2 "field"))))

(component instance $i $mixed)
(invoke "set-bias1" (u32.const 1))
(invoke "set-bias2" (u32.const 2))
;; $m1 calls its own `get` (bias 1) on a value made by $maker.
(assert_return (invoke "via-f1" (u32.const 7) (u32.const 0)) (u32.const 8))
;; $m2's values went through $m1 (+10): own `get`, $maker's `get` through slot 2.
(assert_return (invoke "via-f2" (u32.const 7) (u32.const 0)) (u32.const 19))
(assert_return (invoke "via-f2" (u32.const 7) (u32.const 2)) (u32.const 1017))
(assert_return (invoke "via-g2" (u32.const 7) (u32.const 1)) (u32.const 117))
(assert_return (invoke "is-s2" (u32.const 5)) (u32.const 1))
(assert_return (invoke "field2" (u32.const 5)) (u32.const 15))

;; $g is not $f, and $f is not $g.
(component instance $j $mixed)
(assert_trap (invoke "via-f2" (u32.const 7) (u32.const 1)) "indirect call type mismatch")
(component instance $k $mixed)
(assert_trap (invoke "via-g2" (u32.const 7) (u32.const 0)) "indirect call type mismatch")
(component instance $l $mixed)
(assert_trap (invoke "via-g2" (u32.const 7) (u32.const 2)) "indirect call type mismatch")

;; Two groups alike but for where the function type's parameter points: into its own group
;; ($f) or into the other ($f2, at the first group's $s). Natively two types, so a function
;; of either is not the other through `call_indirect` (a static table of the module's own
;; functions: the signature check of its code form).
(component definition $apart
  (core module $m
    (rec (type $s (struct (field i32))) (type $f (func (param (ref null $s)) (result i32))))
    (rec (type $s2 (struct (field i32))) (type $f2 (func (param (ref null $s)) (result i32))))
    (table $t 2 funcref) (elem (table $t) (i32.const 0) func $h $h2)
    (func $h (type $f) (i32.const 1))
    (func $h2 (type $f2) (i32.const 2))
    (func (export "f") (param i32) (result i32)
      (call_indirect $t (type $f) (ref.null $s) (local.get 0)))
    (func (export "f2") (param i32) (result i32)
      (call_indirect $t (type $f2) (ref.null $s) (local.get 0))))
  (core instance $i (instantiate $m))
  (core instance $j (instantiate $m))
  (func (export "f") (param "slot" u32) (result u32) (canon lift (core func $j "f")))
  (func (export "f2") (param "slot" u32) (result u32) (canon lift (core func $j "f2"))))
(component instance $a1 $apart)
(assert_return (invoke "f" (u32.const 0)) (u32.const 1))
(assert_return (invoke "f2" (u32.const 1)) (u32.const 2))
(component instance $a2 $apart)
(assert_trap (invoke "f2" (u32.const 0)) "indirect call type mismatch")
(component instance $a3 $apart)
(assert_trap (invoke "f" (u32.const 1)) "indirect call type mismatch")

;; More shapes of mixed groups, in a reified module whose values come from an unreified one:
;; the function type first, subtyping between function types of the group (a call through
;; the supertype accepts the subtype's function, not the reverse), an array type, and a
;; struct type that refers to itself.
(component definition $shapes
  (core module $maker
    (rec (type $f (sub (func (param (ref null $node)) (result i32))))
         (type $node (struct (field i32) (field (ref null $node))))
         (type $g (sub $f (func (param (ref null $node)) (result i32))))
         (type $bytes (array (mut i8))))
    (func (export "cons") (param i32 (ref null $node)) (result (ref null $node))
      (struct.new $node (local.get 0) (local.get 1)))
    (func (export "bytes") (param i32) (result (ref null $bytes))
      (array.new $bytes (local.get 0) (i32.const 3))))
  (core instance $maker (instantiate $maker))
  (core module $m
    (rec (type $f (sub (func (param (ref null $node)) (result i32))))
         (type $node (struct (field i32) (field (ref null $node))))
         (type $g (sub $f (func (param (ref null $node)) (result i32))))
         (type $bytes (array (mut i8))))
    (import "maker" "cons" (func $cons (param i32 (ref null $node)) (result (ref null $node))))
    (import "maker" "bytes" (func $bytes (param i32) (result (ref null $bytes))))
    (table $t 2 funcref) (elem (table $t) (i32.const 0) func $sum $len)
    ;; The sum of a list's values.
    (func $sum (type $f) (local $n (ref null $node)) (local $acc i32)
      (local.set $n (local.get 0))
      (block $done
        (loop $next
          (br_if $done (ref.is_null (local.get $n)))
          (local.set $acc (i32.add (local.get $acc) (struct.get $node 0 (local.get $n))))
          (local.set $n (struct.get $node 1 (local.get $n)))
          (br $next)))
      (local.get $acc))
    ;; The length of a list.
    (func $len (type $g) (local $n (ref null $node)) (local $acc i32)
      (local.set $n (local.get 0))
      (block $done
        (loop $next
          (br_if $done (ref.is_null (local.get $n)))
          (local.set $acc (i32.add (local.get $acc) (i32.const 1)))
          (local.set $n (struct.get $node 1 (local.get $n)))
          (br $next)))
      (local.get $acc))
    (func $list (result (ref null $node))
      (call $cons (i32.const 1) (call $cons (i32.const 2) (call $cons (i32.const 4) (ref.null $node)))))
    (func (export "via-f") (param i32) (result i32)
      (call_indirect $t (type $f) (call $list) (local.get 0)))
    (func (export "via-g") (param i32) (result i32)
      (call_indirect $t (type $g) (call $list) (local.get 0)))
    (func (export "byte") (param i32) (result i32)
      (array.get_u $bytes (ref.cast (ref $bytes) (call $bytes (local.get 0))) (i32.const 2))))
  (core instance $i (instantiate $m (with "maker" (instance $maker))))
  (core instance $j (instantiate $m (with "maker" (instance $maker))))
  (func (export "via-f") (param "slot" u32) (result u32) (canon lift (core func $j "via-f")))
  (func (export "via-g") (param "slot" u32) (result u32) (canon lift (core func $j "via-g")))
  (func (export "byte") (param "b" u32) (result u32) (canon lift (core func $j "byte"))))
(component instance $s1 $shapes)
(assert_return (invoke "via-f" (u32.const 0)) (u32.const 7))
(assert_return (invoke "via-f" (u32.const 1)) (u32.const 3))
(assert_return (invoke "via-g" (u32.const 1)) (u32.const 3))
(assert_return (invoke "byte" (u32.const 200)) (u32.const 200))
(component instance $s2 $shapes)
(assert_trap (invoke "via-g" (u32.const 0)) "indirect call type mismatch")

;; A struct field of a function reference in a mixed group of a reified module: the struct
;; type holds a closure there, and is mirrored in the group's second copy with the function
;; types (`tests/funcref-fields.wast`).
(component
  (core module $m
    (rec (type $s (struct (field (mut funcref)))) (type $f (func)))
    (func $x (type $f)) (elem declare func $x)
    (func (export "run") (result i32)
      (ref.is_null (struct.get $s 0 (struct.new $s (ref.func $x))))))
  (core instance $a (instantiate $m))
  (core instance $b (instantiate $m))
  (func (export "run") (result u32) (canon lift (core func $a "run"))))
(assert_return (invoke "run") (u32.const 0))
