;; Components importing the host that wasmtime's wast harness links into every component
;; test (mirrored in gc-lower/src/wast/spectest.rs): root and nested functions, a string,
;; and the host's resource with its constructor, methods and statics. Natively and lowered,
;; the components call the same host.

(component
  (import "host-return-two" (func $two (result u32)))
  (import "host" (instance $host
    (export "return-three" (func (result u32)))
    (export "nested" (instance (export "return-four" (func (result u32)))))
  ))
  (alias export $host "nested" (instance $nested))
  (core func $two (canon lower (func $two)))
  (core func $three (canon lower (func $host "return-three")))
  (core func $four (canon lower (func $nested "return-four")))
  (core module $M
    (import "" "two" (func $two (result i32)))
    (import "" "three" (func $three (result i32)))
    (import "" "four" (func $four (result i32)))
    (func (export "sum") (result i32)
      (i32.add (call $two) (i32.add (call $three) (call $four)))))
  (core instance $i (instantiate $M (with "" (instance
    (export "two" (func $two))
    (export "three" (func $three))
    (export "four" (func $four))))))
  (func (export "sum") (result u32) (canon lift (core func $i "sum")))
)
(assert_return (invoke "sum") (u32.const 9))

(component
  (import "host" (instance $host
    (export "return-hi" (func (result string)))))
  (core module $Mem
    (memory (export "memory") 1)
    (global $next (mut i32) (i32.const 1024))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32)
      (local.set $p (global.get $next))
      (global.set $next (i32.add (local.get $p) (local.get 3)))
      (local.get $p)))
  (core instance $mem (instantiate $Mem))
  (core func $hi (canon lower (func $host "return-hi")
    (memory $mem "memory") (realloc (func $mem "realloc"))))
  (core module $M
    (import "" "memory" (memory 1))
    (import "" "hi" (func $hi (param i32)))
    ;; The length of the string, times 1000, plus its first byte.
    (func (export "hi") (result i32)
      (call $hi (i32.const 16))
      (i32.add
        (i32.mul (i32.load (i32.const 20)) (i32.const 1000))
        (i32.load8_u (i32.load (i32.const 16))))))
  (core instance $i (instantiate $M (with "" (instance
    (export "memory" (memory $mem "memory"))
    (export "hi" (func $hi))))))
  (func (export "hi") (result u32) (canon lift (core func $i "hi")))
)
(assert_return (invoke "hi") (u32.const 2104))

(component
  (import "host" (instance $host
    (export "resource1" (type $r (sub resource)))
    (export "[constructor]resource1" (func (param "r" u32) (result (own $r))))
    (export "[static]resource1.last-drop" (func (result u32)))
    (export "[static]resource1.drops" (func (result u32)))
    (export "[method]resource1.simple" (func (param "self" (borrow $r)) (param "rep" u32)))
    (export "[method]resource1.take-borrow"
      (func (param "self" (borrow $r)) (param "b" (borrow $r))))
    (export "[method]resource1.take-own"
      (func (param "self" (borrow $r)) (param "b" (own $r))))
  ))
  (alias export $host "resource1" (type $r))
  (core func $ctor (canon lower (func $host "[constructor]resource1")))
  (core func $last (canon lower (func $host "[static]resource1.last-drop")))
  (core func $drops (canon lower (func $host "[static]resource1.drops")))
  (core func $simple (canon lower (func $host "[method]resource1.simple")))
  (core func $take-borrow (canon lower (func $host "[method]resource1.take-borrow")))
  (core func $take-own (canon lower (func $host "[method]resource1.take-own")))
  (core func $drop (canon resource.drop $r))
  (core module $M
    (import "" "ctor" (func $ctor (param i32) (result i32)))
    (import "" "last" (func $last (result i32)))
    (import "" "drops" (func $drops (result i32)))
    (import "" "simple" (func $simple (param i32 i32)))
    (import "" "take-borrow" (func $take-borrow (param i32 i32)))
    (import "" "take-own" (func $take-own (param i32 i32)))
    (import "" "drop" (func $drop (param i32)))
    ;; A resource made by the host, borrowed back to it, dropped: the host saw its rep.
    (func (export "round-trip") (param $rep i32) (result i32)
      (local $h i32)
      (local.set $h (call $ctor (local.get $rep)))
      (call $simple (local.get $h) (local.get $rep))
      (call $take-borrow (local.get $h) (local.get $h))
      (call $drop (local.get $h))
      (call $last))
    (func (export "drops") (result i32) (call $drops))
    ;; Passes one handle borrowed and a second owned: the host owns the second now.
    (func (export "give") (param $rep i32)
      (local $h i32)
      (local.set $h (call $ctor (local.get $rep)))
      (call $take-own (local.get $h) (call $ctor (i32.add (local.get $rep) (i32.const 1))))
      (call $drop (local.get $h)))
    ;; The host traps: the rep it is told is not the resource's.
    (func (export "simple-wrong") (param $rep i32)
      (call $simple (call $ctor (local.get $rep)) (i32.add (local.get $rep) (i32.const 1)))))
  (core instance $i (instantiate $M (with "" (instance
    (export "ctor" (func $ctor))
    (export "last" (func $last))
    (export "drops" (func $drops))
    (export "simple" (func $simple))
    (export "take-borrow" (func $take-borrow))
    (export "take-own" (func $take-own))
    (export "drop" (func $drop))))))
  (func (export "round-trip") (param "rep" u32) (result u32)
    (canon lift (core func $i "round-trip")))
  (func (export "drops") (result u32) (canon lift (core func $i "drops")))
  (func (export "give") (param "rep" u32) (canon lift (core func $i "give")))
  (func (export "simple-wrong") (param "rep" u32) (canon lift (core func $i "simple-wrong")))
)
(assert_return (invoke "round-trip" (u32.const 42)) (u32.const 42))
(assert_return (invoke "drops") (u32.const 1))
(invoke "give" (u32.const 7))
(assert_return (invoke "drops") (u32.const 2))
(assert_trap (invoke "simple-wrong" (u32.const 5)) "rep 5 is not 6")
