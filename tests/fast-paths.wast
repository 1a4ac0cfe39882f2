;; Fast paths outside loops in a function with more loads and stores than the default limit
;; (8), which calls the helpers for them by default and has them inline with
;; `--inline-accesses all` (the `inline` configuration of `gc-lower/tests/wast.rs`). The
;; fast path keeps the memory's word array and bound in locals; these cases make a callee,
;; a `memory.grow` and a `memory.fill` in the function swap a longer array into the box or
;; raise the size, then read and write below the old bound, where stale locals would reach
;; the old array. The module is instantiated twice, so both reify modes reify it; each
;; memory starts empty (a new memory's array is empty, and grows as it is touched).
(component
  (core module $M
    (memory 1)
    ;; Grows the memory by 3 pages, stores `v` far away at `p` (which extends the array
    ;; past its first 4 KiB) and `v + 1` at 12 (below the old bound).
    (func $far (param $p i32) (param $v i32)
      (drop (memory.grow (i32.const 3)))
      (i32.store (local.get $p) (local.get $v))
      (i32.store (i32.const 12) (i32.add (local.get $v) (i32.const 1))))
    ;; Twelve accesses around a call of $far; the first two after it are below the old
    ;; bound: 1 + 2 + 3 + 101 + 50 + (100 + 2) + 7 = 266 for `p` = 0x30000.
    (func (export "around-call") (param $p i32) (result i32) (local $x i32)
      (i32.store (i32.const 0) (i32.const 1))
      (i32.store (i32.const 4) (i32.const 2))
      (i32.store (i32.const 8) (i32.const 3))
      (call $far (local.get $p) (i32.const 100))
      (local.set $x (i32.load (i32.const 12)))
      (i32.store (i32.const 16) (i32.const 50))
      (i32.store (local.get $p) (i32.add (i32.load (local.get $p)) (i32.const 2)))
      (i32.store offset=4 (local.get $p) (i32.const 7))
      (i32.add
        (i32.add (i32.load (i32.const 0)) (i32.load (i32.const 4)))
        (i32.add
          (i32.add (i32.load (i32.const 8)) (i32.add (local.get $x) (i32.load (i32.const 16))))
          (i32.add (i32.load (local.get $p)) (i32.load offset=4 (local.get $p))))))
    ;; Ten accesses around a `memory.grow` and a `memory.fill` in the function itself: the
    ;; last page's first word is out of bounds before the grow, in bounds after it; the fill
    ;; writes bytes of 0x11 below the old bound.
    (func (export "around-grow") (result i32) (local $before i32) (local $last i32)
      (i32.store (i32.const 64) (i32.const 5))
      (i32.store16 (i32.const 68) (i32.const 0x1234))
      (local.set $last (i32.mul (memory.size) (i32.const 65536)))
      (drop (memory.grow (i32.const 1)))
      (i32.store (local.get $last) (i32.const 9))
      (memory.fill (i32.const 72) (i32.const 0x11) (i32.const 8))
      (i32.store8 (i32.const 73) (i32.const 0x22))
      (i32.add
        (i32.add (i32.load (i32.const 64)) (i32.load16_u (i32.const 68)))
        (i32.add
          (i32.add (i32.load (local.get $last)) (i32.load (i32.const 72)))
          (i32.add (i32.load8_u (i32.const 73)) (i32.load (i32.const 76))))))
    ;; Nine loads, the last past the memory's end: traps, after reading the others.
    (func (export "past-end") (param $p i32) (result i32)
      (i32.add
        (i32.add
          (i32.add (i32.load (i32.const 0)) (i32.load (i32.const 4)))
          (i32.add (i32.load (i32.const 8)) (i32.load (i32.const 12))))
        (i32.add
          (i32.add (i32.load (i32.const 16)) (i32.load (i32.const 20)))
          (i32.add (i32.load (i32.const 24))
            (i32.add (i32.load (i32.const 28)) (i32.load offset=2 (local.get $p))))))))
  (core instance $a (instantiate $M))
  (core instance $b (instantiate $M))
  (func (export "around-call") (param "p" u32) (result u32)
    (canon lift (core func $a "around-call")))
  (func (export "around-grow") (result u32) (canon lift (core func $a "around-grow")))
  (func (export "past-end") (param "p" u32) (result u32) (canon lift (core func $a "past-end")))
  (func (export "b-around-call") (param "p" u32) (result u32)
    (canon lift (core func $b "around-call")))
  (func (export "b-around-grow") (result u32) (canon lift (core func $b "around-grow"))))

(assert_return (invoke "around-call" (u32.const 0x30000)) (u32.const 266))
(assert_return (invoke "b-around-grow") (u32.const 572671366))
(assert_return (invoke "around-grow") (u32.const 572671366))
(assert_return (invoke "b-around-call" (u32.const 0x40000)) (u32.const 266))
;; Memory $a is 5 pages now: its last word is at 0x4fffc.
(assert_return (invoke "past-end" (u32.const 0x4fffa)) (u32.const 157))
(assert_trap (invoke "past-end" (u32.const 0x4fffb)) "out of bounds memory access")
