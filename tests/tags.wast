;; Exception tags in modules instantiated more than once (reified modules).
;; Tags are generative: each instance of a module that defines one has its
;; own, and a catch of one instance's tag must not catch another instance's
;; exception. Every result is checked against wasmtime's native run.

;; Two instances of one module that defines, throws and catches its tag;
;; `b` calls `a`'s thrower when `who` is 1. A throw of `a`'s tag reaches `b`'s
;; `catch $t` first, which must pass it on to the next clause.
(component
  (core module $M
    (tag $t (export "t") (param i32))
    (import "peer" "throw" (func $peer-throw (param i32)))
    (func $throw (export "throw") (param i32)
      (throw $t (local.get 0)))
    (func (export "classify") (param $who i32) (param $v i32) (result i32)
      (block $other
        (block $mine (result i32)
          (try_table (catch $t $mine) (catch_all $other)
            (if (local.get $who)
              (then (call $peer-throw (local.get $v)))
              (else (call $throw (local.get $v)))))
          (return (i32.const 0)))
        (return (i32.add (i32.const 1000))))
      (i32.const 2000)))
  (core module $Stub
    (func (export "throw") (param i32) unreachable))
  (core instance $stub (instantiate $Stub))
  (core instance $a (instantiate $M (with "peer" (instance $stub))))
  (core instance $b (instantiate $M (with "peer" (instance $a))))
  (func (export "classify") (param "who" u32) (param "v" u32) (result u32)
    (canon lift (core func $b "classify")))
)
(assert_return (invoke "classify" (u32.const 0) (u32.const 7)) (u32.const 1007))
(assert_return (invoke "classify" (u32.const 1) (u32.const 7)) (u32.const 2000))

;; Clause order across several tags: `b` catches `a`'s tag (imported) and its
;; own, in either order, with values of several types; `catch_ref` of the
;; imported tag and `throw_ref` of what it caught; a branch out of the body
;; through `br_table`; a `try_table` that takes a parameter.
(component
  (core module $A
    (tag $ta (export "ta") (param i32 i64))
    (func (export "throw-a") (param i32)
      (throw $ta (local.get 0) (i64.const 0x100000000))))
  (core module $B
    (import "a" "ta" (tag $ta (param i32 i64)))
    (import "a" "throw-a" (func $throw-a (param i32)))
    (tag $tb (param f64))
    (func $throw-b (param i32)
      (throw $tb (f64.convert_i32_s (local.get 0))))
    ;; what: 0 throw a's, 1 throw b's, anything else return normally.
    (func $raise (param $what i32) (param $v i32)
      (block $out
        (block $b
          (block $a
            (br_table $a $b $out (local.get $what)))
          (call $throw-a (local.get $v)))
        (call $throw-b (local.get $v))))
    ;; a first: 100 + v for a's tag (its i64 folded in), 200 + v for b's.
    (func (export "a-first") (param $what i32) (param $v i32) (result i32)
      (block $b (result f64)
        (block $a (result i32 i64)
          (try_table (catch $ta $a) (catch $tb $b)
            (call $raise (local.get $what) (local.get $v)))
          (return (i32.const 0)))
        (i64.shr_u (i64.const 32))
        (i32.wrap_i64)
        (i32.add)
        (return (i32.add (i32.const 99))))
      (i32.trunc_f64_s)
      (i32.add (i32.const 200)))
    ;; b first, and a `br_table` out of the body past both handlers.
    (func (export "b-first") (param $what i32) (param $v i32) (result i32)
      (block $done (result i32)
        (block $a (result i32 i64)
          (block $b (result f64)
            (try_table (catch $tb $b) (catch $ta $a)
              (call $raise (local.get $what) (local.get $v))
              (i32.const 3)
              (br_table $done $done (i32.sub (local.get $what) (i32.const 2))))
            (return (i32.const 0)))
          (return (i32.add (i32.trunc_f64_s) (i32.const 200))))
        (drop)
        (return (i32.add (i32.const 100))))
      (i32.add (i32.const 40)))
    ;; A `br_if` out of the body past the handler.
    (func (export "leave") (param $what i32) (result i32)
      (block $out (result i32)
        (block $a (result i32 i64)
          (try_table (catch $ta $a)
            (br_if $out (i32.const 50) (i32.eq (local.get $what) (i32.const 2)))
            (drop)
            (call $raise (local.get $what) (i32.const 1)))
          (return (i32.const 0)))
        (drop)
        (drop)
        (i32.const 60)))
    ;; catch_ref of a's tag, rethrown to a catch_all outside.
    (func (export "rethrow") (param $v i32) (result i32)
      (block $outer
        (block $a (result i32 i64 exnref)
          (try_table (catch_ref $ta $a)
            (call $throw-a (local.get $v)))
          (return (i32.const 0)))
        (local.set 0 (i32.const 5))
        (try_table (param exnref) (catch_all $outer)
          (throw_ref))
        (unreachable))
      (local.get $v))
    ;; A try_table with a parameter, caught by its own tag.
    (func (export "param") (param $v i32) (result i32)
      (block $b (result f64)
        (local.get $v)
        (try_table (param i32) (catch $tb $b)
          (call $throw-b))
        (return (i32.const 0)))
      (i32.trunc_f64_s)))
  (core instance $a1 (instantiate $A))
  (core instance $a2 (instantiate $A))
  (core instance $b1 (instantiate $B (with "a" (instance $a1))))
  (core instance $b2 (instantiate $B (with "a" (instance $a2))))
  (func (export "a-first") (param "what" u32) (param "v" u32) (result u32)
    (canon lift (core func $b2 "a-first")))
  (func (export "b-first") (param "what" u32) (param "v" u32) (result u32)
    (canon lift (core func $b2 "b-first")))
  (func (export "leave") (param "what" u32) (result u32)
    (canon lift (core func $b2 "leave")))
  (func (export "rethrow") (param "v" u32) (result u32)
    (canon lift (core func $b1 "rethrow")))
  (func (export "param") (param "v" u32) (result u32)
    (canon lift (core func $b1 "param")))
)
(assert_return (invoke "a-first" (u32.const 0) (u32.const 5)) (u32.const 105))
(assert_return (invoke "a-first" (u32.const 1) (u32.const 5)) (u32.const 205))
(assert_return (invoke "a-first" (u32.const 2) (u32.const 5)) (u32.const 0))
(assert_return (invoke "b-first" (u32.const 0) (u32.const 5)) (u32.const 105))
(assert_return (invoke "b-first" (u32.const 1) (u32.const 5)) (u32.const 205))
(assert_return (invoke "b-first" (u32.const 2) (u32.const 5)) (u32.const 43))
(assert_return (invoke "b-first" (u32.const 3) (u32.const 5)) (u32.const 43))
(assert_return (invoke "leave" (u32.const 0)) (u32.const 60))
(assert_return (invoke "leave" (u32.const 2)) (u32.const 50))
(assert_return (invoke "leave" (u32.const 5)) (u32.const 0))
(assert_return (invoke "rethrow" (u32.const 9)) (u32.const 5))
(assert_return (invoke "param" (u32.const 12)) (u32.const 12))

;; A loop of inline loads in two versions (call-free, over a reified memory:
;; the versions sit in an `if`, one block more) inside a try_table that catches
;; a tag: its branches to the try_table's own label and to a block inside it.
(component
  (core module $M
    (memory 1)
    (tag $t (param i32))
    (func (export "scan") (param $n i32) (param $limit i32) (result i32)
      (local $i i32) (local $s i32)
      (block $caught (result i32)
        (try_table (catch $t $caught)
          (block $found
            (loop $l
              (br_if 2 (i32.ge_u (local.get $i) (local.get $n)))
              (local.set $s
                (i32.add (local.get $s) (i32.load (i32.shl (local.get $i) (i32.const 2)))))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $found (i32.gt_u (local.get $s) (local.get $limit)))
              (br $l)))
          (throw $t (local.get $s)))
        (return (local.get $s)))
      (i32.add (i32.const 1000)))
    (data (i32.const 0) "\01\00\00\00\02\00\00\00\03\00\00\00"))
  (core instance $a (instantiate $M))
  (core instance $b (instantiate $M))
  (func (export "scan") (param "n" u32) (param "limit" u32) (result u32)
    (canon lift (core func $b "scan")))
)
(assert_return (invoke "scan" (u32.const 3) (u32.const 100)) (u32.const 6))
(assert_return (invoke "scan" (u32.const 3) (u32.const 2)) (u32.const 1003))

;; A `catch_ref` whose label takes a non-null `(ref exn)`; forty clauses of one
;; tag (each handler goes through the clauses after it: linear in their number);
;; and `catch_all_ref` after a clause of another instance's tag.
(component
  (core module $M
    (tag $t (export "t"))
    (import "peer" "throw" (func $peer-throw))
    (func $throw (export "throw") (throw $t))
    (func (export "non-null") (param $who i32) (result i32)
      (block $h (result (ref exn))
        (try_table (catch_ref $t $h)
          (if (local.get $who) (then (call $throw))))
        (return (i32.const 0)))
      (drop)
      (i32.const 1))
    (func (export "many") (param $who i32) (result i32)
      (block $other
        (block $h
          (try_table (catch $t $h) (catch $t $h) (catch $t $h) (catch $t $h) (catch $t $h) (catch $t $h) (catch $t $h) (catch $t $h) (catch $t $h) (catch $t $h) (catch $t $h) (catch $t $h) (catch $t $h) (catch $t $h) (catch $t $h) (catch $t $h) (catch $t $h) (catch $t $h) (catch $t $h) (catch $t $h) (catch $t $h) (catch $t $h) (catch $t $h) (catch $t $h) (catch $t $h) (catch $t $h) (catch $t $h) (catch $t $h) (catch $t $h) (catch $t $h) (catch $t $h) (catch $t $h) (catch $t $h) (catch $t $h) (catch $t $h) (catch $t $h) (catch $t $h) (catch $t $h) (catch $t $h) (catch $t $h) (catch_all $other)
            (if (local.get $who) (then (call $peer-throw)) (else (call $throw))))
          (return (i32.const 0)))
        (return (i32.const 1)))
      (i32.const 2))
    (func (export "all-ref") (result i32)
      (block $all (result exnref)
        (block $h
          (try_table (catch $t $h) (catch_all_ref $all)
            (call $peer-throw))
          (return (i32.const 0)))
        (return (i32.const 1)))
      (drop)
      (i32.const 2)))
  (core module $Stub (func (export "throw")))
  (core instance $stub (instantiate $Stub))
  (core instance $a (instantiate $M (with "peer" (instance $stub))))
  (core instance $b (instantiate $M (with "peer" (instance $a))))
  (func (export "non-null") (param "who" u32) (result u32)
    (canon lift (core func $b "non-null")))
  (func (export "many") (param "who" u32) (result u32)
    (canon lift (core func $b "many")))
  (func (export "all-ref") (result u32)
    (canon lift (core func $b "all-ref")))
)
(assert_return (invoke "non-null" (u32.const 0)) (u32.const 0))
(assert_return (invoke "non-null" (u32.const 1)) (u32.const 1))
(assert_return (invoke "many" (u32.const 0)) (u32.const 1))
(assert_return (invoke "many" (u32.const 1)) (u32.const 2))
(assert_return (invoke "all-ref") (u32.const 2))

;; Nested try_tables in a module instantiated once that imports the tags of
;; two instances of another (so it is reified too): the inner one catches only
;; `a`'s tag, and `b`'s exception passes through its handler to the outer one.
(component
  (core module $M
    (tag $t (export "t") (param i32))
    (func (export "throw") (param i32)
      (throw $t (local.get 0))))
  (core module $C
    (import "a" "t" (tag $ta (param i32)))
    (import "a" "throw" (func $throw-a (param i32)))
    (import "b" "t" (tag $tb (param i32)))
    (import "b" "throw" (func $throw-b (param i32)))
    (func (export "nested") (param $who i32) (param $v i32) (result i32)
      (block $b (result i32)
        (block $a (result i32)
          (try_table (catch $tb $b)
            (try_table (catch $ta $a)
              (if (local.get $who)
                (then (call $throw-b (local.get $v)))
                (else (call $throw-a (local.get $v))))))
          (return (i32.const 0)))
        (return (i32.add (i32.const 300))))
      (i32.add (i32.const 400)))
    (func (export "uncaught")
      (block $h (result i32)
        (try_table (catch $ta $h)
          (call $throw-b (i32.const 1)))
        (return))
      (drop)))
  (core instance $a (instantiate $M))
  (core instance $b (instantiate $M))
  (core instance $c (instantiate $C (with "a" (instance $a)) (with "b" (instance $b))))
  (func (export "nested") (param "who" u32) (param "v" u32) (result u32)
    (canon lift (core func $c "nested")))
  (func (export "uncaught") (canon lift (core func $c "uncaught")))
)
(assert_return (invoke "nested" (u32.const 0) (u32.const 1)) (u32.const 301))
(assert_return (invoke "nested" (u32.const 1) (u32.const 1)) (u32.const 401))
;; An exception no catch matches leaves the component: a trap.
(assert_trap (invoke "uncaught") "thrown Wasm exception")
