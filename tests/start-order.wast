;; Start functions run once per instance, in instantiation order: each start
;; takes a ticket from a shared counter and remembers its rank, so the rank of
;; every instance shows where its start function ran.
(component
  (core module $Counter
    (global $next (mut i32) (i32.const 0))
    (func (export "take") (result i32)
      (global.set $next (i32.add (global.get $next) (i32.const 1)))
      (global.get $next))
    (func (export "taken") (result i32) (global.get $next)))
  (core module $M
    (import "c" "take" (func $take (result i32)))
    (global $rank (mut i32) (i32.const 0))
    (func $start (global.set $rank (call $take)))
    (start $start)
    (func (export "rank") (result i32) (global.get $rank)))
  ;; A different module in between, with its own start function.
  (core module $N
    (import "c" "take" (func $take (result i32)))
    (memory 1)
    (func $start (i32.store (i32.const 0) (i32.mul (call $take) (i32.const 10))))
    (start $start)
    (func (export "rank") (result i32) (i32.load (i32.const 0))))
  (core instance $c (instantiate $Counter))
  (core instance $m1 (instantiate $M (with "c" (instance $c))))
  (core instance $n1 (instantiate $N (with "c" (instance $c))))
  (core instance $m2 (instantiate $M (with "c" (instance $c))))
  (core instance $m3 (instantiate $M (with "c" (instance $c))))
  (core instance $n2 (instantiate $N (with "c" (instance $c))))
  (func (export "taken") (result u32) (canon lift (core func $c "taken")))
  (func (export "rank-m1") (result u32) (canon lift (core func $m1 "rank")))
  (func (export "rank-m2") (result u32) (canon lift (core func $m2 "rank")))
  (func (export "rank-m3") (result u32) (canon lift (core func $m3 "rank")))
  (func (export "rank-n1") (result u32) (canon lift (core func $n1 "rank")))
  (func (export "rank-n2") (result u32) (canon lift (core func $n2 "rank")))
)

(assert_return (invoke "taken") (u32.const 5))
(assert_return (invoke "rank-m1") (u32.const 1))
(assert_return (invoke "rank-n1") (u32.const 20))
(assert_return (invoke "rank-m2") (u32.const 3))
(assert_return (invoke "rank-m3") (u32.const 4))
(assert_return (invoke "rank-n2") (u32.const 50))
;; Calling exports does not run start functions again.
(assert_return (invoke "taken") (u32.const 5))

;; Start functions inside nested component instances run in the order the
;; outer component instantiates them, interleaved with the outer core
;; instances. The ticket counter lives in its own component instance, which
;; the others call through canon lower / canon lift.
(component
  (component $Counter
    (core module $M
      (memory 1)
      (global $next (mut i32) (i32.const 0))
      (func (export "take") (param i32) (result i32)
        (i32.store8 (global.get $next) (local.get 0))
        (global.set $next (i32.add (global.get $next) (i32.const 1)))
        (global.get $next))
      (func (export "entry") (param i32) (result i32) (i32.load8_u (local.get 0))))
    (core instance $m (instantiate $M))
    (func (export "take") (param "tag" u32) (result u32) (canon lift (core func $m "take")))
    (func (export "entry") (param "i" u32) (result u32) (canon lift (core func $m "entry"))))
  (component $Child
    (import "take" (func $take (param "tag" u32) (result u32)))
    (import "tag" (core module $Tag (export "tag" (global i32))))
    (core func $take-lowered (canon lower (func $take)))
    (core module $Taker
      (import "c" "take" (func $take (param i32) (result i32)))
      (import "cfg" "tag" (global $tag i32))
      (global $rank (mut i32) (i32.const 0))
      (func $start (global.set $rank (call $take (global.get $tag))))
      (start $start)
      (func (export "rank") (result i32) (global.get $rank)))
    (core instance $tag (instantiate $Tag))
    (core instance $first (instantiate $Taker
      (with "c" (instance (export "take" (func $take-lowered))))
      (with "cfg" (instance $tag))))
    (core instance $second (instantiate $Taker
      (with "c" (instance (export "take" (func $take-lowered))))
      (with "cfg" (instance $tag))))
    (func (export "rank-first") (result u32) (canon lift (core func $first "rank")))
    (func (export "rank-second") (result u32) (canon lift (core func $second "rank"))))
  (core module $Tag1 (global (export "tag") i32 (i32.const 1)))
  (core module $Tag2 (global (export "tag") i32 (i32.const 2)))
  (instance $counter (instantiate $Counter))
  (instance $c1 (instantiate $Child (with "take" (func $counter "take")) (with "tag" (core module $Tag1))))
  (instance $c2 (instantiate $Child (with "take" (func $counter "take")) (with "tag" (core module $Tag2))))
  (instance $c3 (instantiate $Child (with "take" (func $counter "take")) (with "tag" (core module $Tag1))))
  (func (export "entry") (alias export $counter "entry"))
  (func (export "c1-first") (alias export $c1 "rank-first"))
  (func (export "c1-second") (alias export $c1 "rank-second"))
  (func (export "c2-first") (alias export $c2 "rank-first"))
  (func (export "c3-second") (alias export $c3 "rank-second"))
)

(assert_return (invoke "entry" (u32.const 0)) (u32.const 1))
(assert_return (invoke "entry" (u32.const 1)) (u32.const 1))
(assert_return (invoke "entry" (u32.const 2)) (u32.const 2))
(assert_return (invoke "entry" (u32.const 3)) (u32.const 2))
(assert_return (invoke "entry" (u32.const 4)) (u32.const 1))
(assert_return (invoke "entry" (u32.const 5)) (u32.const 1))
(assert_return (invoke "entry" (u32.const 6)) (u32.const 0))
(assert_return (invoke "c1-first") (u32.const 1))
(assert_return (invoke "c1-second") (u32.const 2))
(assert_return (invoke "c2-first") (u32.const 3))
(assert_return (invoke "c3-second") (u32.const 6))
