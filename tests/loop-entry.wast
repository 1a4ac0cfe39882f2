;; A loop whose loads are inline reads the memory's word array and bound at its entry: from
;; the box when the box's bound is the memory's size already (the array holds the whole
;; memory), through `gc-lower:memory.whole`, which first extends the array, otherwise. These
;; steps reach both: a first loop over a barely touched memory, the same loop again, loops
;; after `memory.grow` when the array is shorter than the new size and when (grown
;; geometrically past the old size) it already holds it. The module is instantiated twice, so
;; both reify modes reify it; each instance's memory starts empty.
(component
  (core module $M
    (memory 1 8)
    ;; The sum of the `n` words from `a`, in a loop without calls (inline loads).
    (func $sum (param $a i32) (param $n i32) (result i32) (local $s i32)
      (block $done
        (loop $next
          (br_if $done (i32.eqz (local.get $n)))
          (local.set $s (i32.add (local.get $s) (i32.load (local.get $a))))
          (local.set $a (i32.add (local.get $a) (i32.const 4)))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $next)))
      (local.get $s))
    (func (export "sum") (param i32 i32) (result i32) (call $sum (local.get 0) (local.get 1)))
    (func (export "poke") (param $a i32) (param $v i32) (i32.store (local.get $a) (local.get $v)))
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))
  (core instance $a (instantiate $M))
  (core instance $b (instantiate $M))
  (func (export "sum") (param "a" u32) (param "n" u32) (result u32)
    (canon lift (core func $a "sum")))
  (func (export "poke") (param "a" u32) (param "v" u32) (canon lift (core func $a "poke")))
  (func (export "grow") (param "n" u32) (result s32) (canon lift (core func $a "grow")))
  (func (export "b-sum") (param "a" u32) (param "n" u32) (result u32)
    (canon lift (core func $b "sum"))))

;; One word touched, then a loop over the first page: the array is extended first.
(assert_return (invoke "poke" (u32.const 8) (u32.const 1)))
(assert_return (invoke "sum" (u32.const 0) (u32.const 16384)) (u32.const 1))
;; Again: the array holds the whole memory.
(assert_return (invoke "poke" (u32.const 65532) (u32.const 2)))
(assert_return (invoke "sum" (u32.const 0) (u32.const 16384)) (u32.const 3))
;; Grown by a page: the array is shorter than the new size, the loop extends it.
(assert_return (invoke "grow" (u32.const 1)) (s32.const 1))
(assert_return (invoke "sum" (u32.const 65532) (u32.const 2)) (u32.const 2))
(assert_return (invoke "poke" (u32.const 131068) (u32.const 4)))
;; Grown by one page and then another, a loop between and after: the array, grown past the
;; size once, may already hold the next page.
(assert_return (invoke "grow" (u32.const 1)) (s32.const 2))
(assert_return (invoke "sum" (u32.const 131064) (u32.const 4)) (u32.const 4))
(assert_return (invoke "grow" (u32.const 1)) (s32.const 3))
(assert_return (invoke "poke" (u32.const 196612) (u32.const 9)))
(assert_return (invoke "sum" (u32.const 196604) (u32.const 4)) (u32.const 9))
(assert_return (invoke "sum" (u32.const 0) (u32.const 65536)) (u32.const 16))
;; The other instance's memory is untouched.
(assert_return (invoke "b-sum" (u32.const 0) (u32.const 16384)) (u32.const 0))
;; Past the end of the fourth page: traps where native traps (last: a trap ends the instance).
(assert_trap (invoke "sum" (u32.const 262140) (u32.const 2)) "out of bounds memory access")
