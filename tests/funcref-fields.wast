;; Struct and array fields of function references (`funcref`, typed, `nullfuncref`) in
;; reified modules, where a function reference is a closure (its function with its instance's
;; vmctx): a field holds the closure, so a function stored by one instance runs with that
;; instance's state wherever it is called from. Every module with such fields is reified once
;; one is, so that the struct type is one type in all of them (a value made in a reified
;; module passes `ref.test` in another that declares the same type), and a group with such
;; fields keeps its identity (closures erase which function type a typed reference has).
;; Also `array.new_elem` and `array.init_elem` from segments of function references. Each
;; result is compared with wasmtime's.

(component definition $Fields
  ;; Instantiated twice, each instance with its own global `$g` (set by `set`): `keep` stores
  ;; this instance's `get` in a struct field and in an array, `call-struct`/`call-array`
  ;; call what the other instance kept (through the `peer` import, as `anyref`).
  (core module $M
    (type $ft (func (result i32)))
    (type $s (struct (field (mut funcref)) (field (mut (ref null $ft))) (field nullfuncref)))
    (type $a (array (mut funcref)))
    (type $ta (array (mut (ref null $ft))))
    (global $g (mut i32) (i32.const 0))
    (global $kept (mut (ref null $s)) (ref.null $s))
    (global $arr (mut (ref null $a)) (ref.null $a))
    (func $get (type $ft) (global.get $g))
    (func $seven (type $ft) (i32.const 7))
    (elem declare func $get $seven)
    (func (export "set") (param i32) (global.set $g (local.get 0)))
    (func (export "keep")
      (global.set $kept
        (struct.new $s (ref.func $get) (ref.func $get) (ref.null nofunc)))
      (global.set $arr (array.new $a (ref.func $get) (i32.const 3)))
      (array.set $a (global.get $arr) (i32.const 1) (ref.func $seven)))
    (func (export "kept") (result anyref) (global.get $kept))
    (func (export "kept-array") (result anyref) (global.get $arr))
    (func (export "call-struct") (param $x anyref) (result i32)
      (call_ref $ft (ref.cast (ref $ft)
        (struct.get $s 0 (ref.cast (ref $s) (local.get $x))))))
    (func (export "call-typed") (param $x anyref) (result i32)
      (call_ref $ft (struct.get $s 1 (ref.cast (ref $s) (local.get $x)))))
    (func (export "null-field") (param $x anyref) (result i32)
      (ref.is_null (struct.get $s 2 (ref.cast (ref $s) (local.get $x)))))
    (func (export "call-array") (param $x anyref) (param $i i32) (result i32)
      (call_ref $ft (ref.cast (ref $ft)
        (array.get $a (ref.cast (ref $a) (local.get $x)) (local.get $i)))))
    ;; A typed array filled from a struct's field, copied, then called.
    (func (export "copy-typed") (param $x anyref) (result i32)
      (local $t (ref $ta))
      (local.set $t (array.new_default $ta (i32.const 2)))
      (array.set $ta (local.get $t) (i32.const 0)
        (struct.get $s 1 (ref.cast (ref $s) (local.get $x))))
      (array.copy $ta $ta (local.get $t) (i32.const 1) (local.get $t) (i32.const 0) (i32.const 1))
      (call_ref $ft (array.get $ta (local.get $t) (i32.const 1))))
    (func (export "is-func") (param $x anyref) (param $i i32) (result i32)
      (ref.test (ref $ft)
        (array.get $a (ref.cast (ref $a) (local.get $x)) (local.get $i))))
    (func (export "null-call") (result i32)
      (call_ref $ft (struct.get $s 1 (struct.new $s (ref.null func) (ref.null $ft)
        (ref.null nofunc))))))
  ;; Instantiated once, it declares the same types: a value made in a reified instance of
  ;; `$M` passes its casts, and it calls the functions held.
  (core module $N
    (type $ft (func (result i32)))
    (type $s (struct (field (mut funcref)) (field (mut (ref null $ft))) (field nullfuncref)))
    (func (export "test") (param $x anyref) (result i32)
      (ref.test (ref $s) (local.get $x)))
    (func (export "call") (param $x anyref) (result i32)
      (call_ref $ft (struct.get $s 1 (ref.cast (ref $s) (local.get $x))))))
  (core instance $a (instantiate $M))
  (core instance $b (instantiate $M))
  (core instance $n (instantiate $N))
  (core module $Glue
    (import "a" "kept" (func $a-kept (result anyref)))
    (import "a" "kept-array" (func $a-arr (result anyref)))
    (import "b" "call-struct" (func $b-call (param anyref) (result i32)))
    (import "b" "call-typed" (func $b-typed (param anyref) (result i32)))
    (import "b" "null-field" (func $b-null (param anyref) (result i32)))
    (import "b" "call-array" (func $b-arr (param anyref i32) (result i32)))
    (import "b" "copy-typed" (func $b-copy (param anyref) (result i32)))
    (import "b" "is-func" (func $b-is (param anyref i32) (result i32)))
    (import "n" "test" (func $n-test (param anyref) (result i32)))
    (import "n" "call" (func $n-call (param anyref) (result i32)))
    (func (export "struct") (result i32) (call $b-call (call $a-kept)))
    (func (export "typed") (result i32) (call $b-typed (call $a-kept)))
    (func (export "null") (result i32) (call $b-null (call $a-kept)))
    (func (export "array") (param i32) (result i32) (call $b-arr (call $a-arr) (local.get 0)))
    (func (export "copy") (result i32) (call $b-copy (call $a-kept)))
    (func (export "is-func") (param i32) (result i32) (call $b-is (call $a-arr) (local.get 0)))
    (func (export "n-test") (result i32) (call $n-test (call $a-kept)))
    (func (export "n-call") (result i32) (call $n-call (call $a-kept))))
  (core instance $glue (instantiate $Glue
    (with "a" (instance $a)) (with "b" (instance $b)) (with "n" (instance $n))))
  (func (export "set-a") (param "v" u32) (canon lift (core func $a "set")))
  (func (export "set-b") (param "v" u32) (canon lift (core func $b "set")))
  (func (export "keep-a") (canon lift (core func $a "keep")))
  (func (export "struct") (result u32) (canon lift (core func $glue "struct")))
  (func (export "typed") (result u32) (canon lift (core func $glue "typed")))
  (func (export "null") (result u32) (canon lift (core func $glue "null")))
  (func (export "array") (param "i" u32) (result u32) (canon lift (core func $glue "array")))
  (func (export "copy") (result u32) (canon lift (core func $glue "copy")))
  (func (export "is-func") (param "i" u32) (result u32) (canon lift (core func $glue "is-func")))
  (func (export "n-test") (result u32) (canon lift (core func $glue "n-test")))
  (func (export "n-call") (result u32) (canon lift (core func $glue "n-call")))
  (func (export "null-call") (result u32) (canon lift (core func $a "null-call"))))

(component instance $f $Fields)
(invoke "set-a" (u32.const 11))
(invoke "set-b" (u32.const 22))
(invoke "keep-a")
;; `a`'s function, called from `b`, reads `a`'s global.
(assert_return (invoke "struct") (u32.const 11))
(assert_return (invoke "typed") (u32.const 11))
(assert_return (invoke "null") (u32.const 1))
(assert_return (invoke "array" (u32.const 0)) (u32.const 11))
(assert_return (invoke "array" (u32.const 1)) (u32.const 7))
(assert_return (invoke "copy") (u32.const 11))
(assert_return (invoke "is-func" (u32.const 2)) (u32.const 1))
(assert_return (invoke "n-test") (u32.const 1))
(assert_return (invoke "n-call") (u32.const 11))
(invoke "set-a" (u32.const 33))
(assert_return (invoke "n-call") (u32.const 33))
(assert_trap (invoke "array" (u32.const 3)) "out of bounds array access")
(component instance $f2 $Fields)
(assert_trap (invoke "null-call") "null reference")

;; The case that `tests/gc-types.wast` once named as unsupported: a module instantiated twice
;; and one instantiated once declare `(struct (field funcref))`.
(component
  (core module $a (type $s (struct (field funcref)))
    (func (export "mk") (result anyref) (struct.new $s (ref.null func))))
  (core module $b (type $s (struct (field funcref)))
    (import "a" "mk" (func $mk (result anyref)))
    (func (export "run") (result i32) (ref.test (ref $s) (call $mk))))
  (core instance $a1 (instantiate $a))
  (core instance $a2 (instantiate $a))
  (core instance $b1 (instantiate $b (with "a" (instance $a1))))
  (func (export "run") (result u32) (canon lift (core func $b1 "run"))))
(assert_return (invoke "run") (u32.const 1))

;; Type identity: closures erase which function type a typed reference has, and `nullfuncref`
;; is `nullref`, so a group with such fields is mirrored twice (its copy keeps the identity):
;; `$b` tests `$a`'s values against types that differ from theirs only there, and against
;; identical ones, also in rec groups with function types, and subtypes.
(component
  (core module $a
    (type $f (func))
    (type $typed (struct (field (ref null $f))))
    (type $nf (struct (field nullfuncref)))
    (rec (type $m (struct (field funcref))) (type $mf (func)))
    (type $base (sub (struct (field funcref))))
    (type $sub (sub $base (struct (field funcref) (field i32))))
    (func (export "typed") (result anyref) (struct.new_default $typed))
    (func (export "nf") (result anyref) (struct.new_default $nf))
    (func (export "m") (result anyref) (struct.new_default $m))
    (func (export "sub") (result anyref) (struct.new $sub (ref.null func) (i32.const 4))))
  (core module $b
    (type $g (func (param i32)))
    (type $f (func))
    (type $typed-g (struct (field (ref null $g))))
    (type $typed-f (struct (field (ref null $f))))
    (type $nr (struct (field nullref)))
    (type $nf (struct (field nullfuncref)))
    (rec (type $m (struct (field funcref))) (type $mf (func)))
    (rec (type $m2 (struct (field funcref))) (type $mf2 (func (param i32))))
    (type $base (sub (struct (field funcref))))
    (type $sub (sub $base (struct (field funcref) (field i32))))
    (import "a" "typed" (func $typed (result anyref)))
    (import "a" "nf" (func $nf (result anyref)))
    (import "a" "m" (func $m (result anyref)))
    (import "a" "sub" (func $sub (result anyref)))
    (func (export "run") (result i32)
      ;; Bit k: test k passed.
      (i32.or (i32.or (i32.or
        (ref.test (ref $typed-g) (call $typed))
        (i32.shl (ref.test (ref $typed-f) (call $typed)) (i32.const 1)))
        (i32.or
          (i32.shl (ref.test (ref $nr) (call $nf)) (i32.const 2))
          (i32.shl (ref.test (ref $nf) (call $nf)) (i32.const 3))))
        (i32.or (i32.or
          (i32.shl (ref.test (ref $m) (call $m)) (i32.const 4))
          (i32.shl (ref.test (ref $m2) (call $m)) (i32.const 5)))
          (i32.or
            (i32.shl (ref.test (ref $base) (call $sub)) (i32.const 6))
            (i32.shl (struct.get $sub 1 (ref.cast (ref $sub) (call $sub))) (i32.const 7)))))))
  (core instance $a1 (instantiate $a))
  (core instance $a2 (instantiate $a))
  (core instance $b1 (instantiate $b (with "a" (instance $a2))))
  (func (export "run") (result u32) (canon lift (core func $b1 "run"))))
;; 0b10_0101_1010: typed-f, nf, m, base and the field (4 << 7).
(assert_return (invoke "run") (u32.const 0x25a))

;; `array.new_elem` and `array.init_elem` from element segments of function references in a
;; reified module (its segments are arrays of closures in its vmctx; a dropped one is empty),
;; with the bounds checks in wasmtime's order: the destination array (null, then its bounds),
;; then the segment.
(component definition $E
  (core module $M
    (type $ft (func (result i32)))
    (type $a (array (mut funcref)))
    (type $ta (array (mut (ref null $ft))))
    (global $g (mut i32) (i32.const 5))
    (func $get (type $ft) (global.get $g))
    (func $one (type $ft) (i32.const 1))
    (elem $seg func $get $one)
    (elem $tseg (ref null $ft) (ref.func $one) (ref.null $ft) (ref.func $get))
    (func (export "set") (param i32) (global.set $g (local.get 0)))
    (func (export "new") (param i32 i32 i32) (result i32)
      (call_ref $ft (ref.cast (ref $ft) (array.get $a
        (array.new_elem $a $seg (local.get 0) (local.get 1)) (local.get 2)))))
    (func (export "len") (param i32 i32) (result i32)
      (array.len (array.new_elem $a $seg (local.get 0) (local.get 1))))
    (func (export "typed") (param i32) (result i32)
      (call_ref $ft (array.get $ta (array.new_elem $ta $tseg (i32.const 0) (i32.const 3))
        (local.get 0))))
    (func (export "init") (param $d i32) (param $s i32) (param $n i32) (param $i i32) (result i32)
      (local $x (ref $a))
      (local.set $x (array.new_default $a (i32.const 3)))
      (array.init_elem $a $seg (local.get $x) (local.get $d) (local.get $s) (local.get $n))
      (ref.is_null (array.get $a (local.get $x) (local.get $i))))
    (func (export "init-null") (result i32)
      (array.init_elem $a $seg (ref.null $a) (i32.const 0) (i32.const 0) (i32.const 0))
      (i32.const 0))
    (func (export "drop") (elem.drop $seg)))
  (core instance $a (instantiate $M))
  (core instance $b (instantiate $M))
  (func (export "set") (param "v" u32) (canon lift (core func $a "set")))
  (func (export "new") (param "o" u32) (param "n" u32) (param "i" u32) (result u32) (canon lift (core func $a "new")))
  (func (export "len") (param "o" u32) (param "n" u32) (result u32) (canon lift (core func $a "len")))
  (func (export "typed") (param "i" u32) (result u32) (canon lift (core func $a "typed")))
  (func (export "init") (param "d" u32) (param "s" u32) (param "n" u32) (param "i" u32) (result u32) (canon lift (core func $a "init")))
  (func (export "init-null") (result u32) (canon lift (core func $a "init-null")))
  (func (export "drop") (canon lift (core func $a "drop")))
  (func (export "drop-b") (canon lift (core func $b "drop"))))
(component instance $e $E)
(invoke "set" (u32.const 9))
(assert_return (invoke "new" (u32.const 0) (u32.const 2) (u32.const 0)) (u32.const 9))
(assert_return (invoke "new" (u32.const 1) (u32.const 1) (u32.const 0)) (u32.const 1))
(assert_return (invoke "len" (u32.const 2) (u32.const 0)) (u32.const 0))
(assert_return (invoke "typed" (u32.const 2)) (u32.const 9))
(assert_return (invoke "init" (u32.const 1) (u32.const 0) (u32.const 2) (u32.const 0)) (u32.const 1))
(assert_return (invoke "init" (u32.const 1) (u32.const 0) (u32.const 2) (u32.const 2)) (u32.const 0))
(assert_return (invoke "init" (u32.const 3) (u32.const 2) (u32.const 0) (u32.const 0)) (u32.const 1))
(invoke "drop-b")
(assert_return (invoke "len" (u32.const 0) (u32.const 2)) (u32.const 2))
(invoke "drop")
(assert_return (invoke "len" (u32.const 0) (u32.const 0)) (u32.const 0))
(component instance $e $E)
(assert_trap (invoke "len" (u32.const 1) (u32.const 2)) "out of bounds table access")
(component instance $e $E)
(assert_trap (invoke "len" (u32.const 0xffffffff) (u32.const 2)) "out of bounds table access")
(component instance $e $E)
(assert_trap (invoke "typed" (u32.const 1)) "null")
(component instance $e $E)
(assert_trap (invoke "init" (u32.const 2) (u32.const 0) (u32.const 2) (u32.const 0)) "out of bounds array access")
(component instance $e $E)
(assert_trap (invoke "init" (u32.const 4) (u32.const 5) (u32.const 0) (u32.const 0)) "out of bounds array access")
(component instance $e $E)
(assert_trap (invoke "init" (u32.const 0) (u32.const 1) (u32.const 2) (u32.const 0)) "out of bounds table access")
(component instance $e $E)
(assert_trap (invoke "init-null") "null")
(component instance $e $E)
(invoke "drop")
(assert_trap (invoke "len" (u32.const 0) (u32.const 1)) "out of bounds table access")

;; Constant expressions of a reified module that make closures inside structs and arrays: a
;; global's `struct.new` and `array.new_fixed` with `ref.func`, and a table's element
;; segment of structs; each closure keeps its instance.
(component definition $G
  (core module $M
    (type $ft (func (result i32)))
    (type $s (struct (field funcref) (field (ref null $ft))))
    (type $a (array funcref))
    (global $v (mut i32) (i32.const 3))
    (func $get (type $ft) (global.get $v))
    (global $k (ref null $s) (struct.new $s (ref.func $get) (ref.func $get)))
    (global $arr (ref null $a) (array.new_fixed $a 2 (ref.func $get) (ref.null func)))
    (table $t 2 (ref null $s))
    (elem (table $t) (i32.const 0) (ref null $s) (struct.new $s (ref.func $get) (ref.null $ft)))
    (func (export "set") (param i32) (global.set $v (local.get 0)))
    (func (export "k") (result anyref) (global.get $k))
    (func (export "call") (param anyref) (result i32)
      (call_ref $ft (struct.get $s 1 (ref.cast (ref $s) (local.get 0)))))
    (func (export "arr") (result i32)
      (call_ref $ft (ref.cast (ref $ft) (array.get $a (global.get $arr) (i32.const 0)))))
    (func (export "tab") (result i32)
      (call_ref $ft (ref.cast (ref $ft) (struct.get $s 0 (table.get $t (i32.const 0)))))))
  (core instance $a (instantiate $M))
  (core instance $b (instantiate $M))
  (core module $Glue
    (import "a" "k" (func $k (result anyref)))
    (import "b" "call" (func $call (param anyref) (result i32)))
    (func (export "go") (result i32) (call $call (call $k))))
  (core instance $g (instantiate $Glue (with "a" (instance $a)) (with "b" (instance $b))))
  (func (export "set-a") (param "v" u32) (canon lift (core func $a "set")))
  (func (export "go") (result u32) (canon lift (core func $g "go")))
  (func (export "arr") (result u32) (canon lift (core func $a "arr")))
  (func (export "tab") (result u32) (canon lift (core func $b "tab"))))
(component instance $x $G)
(invoke "set-a" (u32.const 8))
(assert_return (invoke "go") (u32.const 8))
(assert_return (invoke "arr") (u32.const 8))
(assert_return (invoke "tab") (u32.const 3))

;; A mixed group whose struct types reach no field of a function reference keeps the
;; unreified form's struct types, whether or not its module has such fields elsewhere: the
;; group is one type in `$r` (reified, with a struct of a `funcref` field) and in `$n` (with
;; none).
(component
  (core module $r
    (type $x (struct (field funcref)))
    (rec (type $s (struct (field i32))) (type $f (func)))
    (func (export "mk") (result anyref) (struct.new $s (i32.const 1))))
  (core module $n
    (rec (type $s (struct (field i32))) (type $f (func)))
    (import "r" "mk" (func $mk (result anyref)))
    (func (export "run") (result i32) (ref.test (ref $s) (call $mk))))
  (core instance $r1 (instantiate $r))
  (core instance $r2 (instantiate $r))
  (core instance $n1 (instantiate $n (with "r" (instance $r1))))
  (func (export "run") (result u32) (canon lift (core func $n1 "run"))))
(assert_return (invoke "run") (u32.const 1))

;; The module whose memory the host reads (for `name`'s string), instantiated once, with the
;; same struct type as a reified module: it is reified too, which `--reify all` would not do
;; for that module alone. (`name` itself is not called: in the module-graph form the host
;; reads that memory in place, and the runner's JavaScript bindings, made from the single
;; module's world with its exchange memory, would not match the graph.)
(component
  (core module $a (type $s (struct (field funcref)))
    (func (export "mk") (result anyref) (struct.new $s (ref.null func))))
  (core module $b (type $s (struct (field funcref)))
    (import "a" "mk" (func $mk (result anyref)))
    (memory (export "mem") 1)
    (data (i32.const 16) "ok")
    (func (export "run") (result i32) (ref.test (ref $s) (call $mk)))
    (func (export "name") (result i32)
      (i32.store (i32.const 0) (i32.const 16))
      (i32.store (i32.const 4) (i32.const 2))
      (i32.const 0)))
  (core instance $a1 (instantiate $a))
  (core instance $a2 (instantiate $a))
  (core instance $b1 (instantiate $b (with "a" (instance $a1))))
  (func (export "run") (result u32) (canon lift (core func $b1 "run")))
  (func (export "name") (result string) (canon lift (core func $b1 "name") (memory $b1 "mem"))))
(assert_return (invoke "run") (u32.const 1))
