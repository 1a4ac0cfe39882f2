;; A reified memory's byte array holds the memory only up to the highest address accessed so
;; far: a helper's access past it swaps a longer array into the memory's box, and before a
;; loop whose accesses are inline the array is extended to the whole memory. These cases check
;; that a loop's inline accesses reach the box's current array after partial extensions of
;; every kind: a helper store before the loop, a callee and a helper store in an outer loop,
;; `memory.fill` and `memory.copy` in the loop, a store through a second index of the same
;; imported memory. Each case has a memory of its own, of 8 pages and no data, so its array
;; starts empty (the first assertion is the first access to its memory).
(component
  (core module $Mem (memory (export "mem") (export "same-mem") 8))
  (core instance $mem1 (instantiate $Mem))
  (core instance $mem2 (instantiate $Mem))
  (core instance $mem3 (instantiate $Mem))
  (core instance $mem4 (instantiate $Mem))
  (core module $M
    (import "host" "mem" (memory $m 8))
    (import "host" "same-mem" (memory $alias 8))
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
    (func $poke (param $a i32) (param $v i32) (i32.store (local.get $a) (local.get $v)))

;; Each case below adds to a counter at a low address with an inline load and store
    ;; (`$bump`, inside the loop) after something that may have swapped in a longer array, and
    ;; returns what a helper load outside any loop reads there afterwards, plus 1000 times a
    ;; sum read inline: a copy of the array that missed a swap would have written its counter
    ;; into the old array.

    ;; A store outside any loop (a helper) extends the array; the loop after it reads it.
    (func (export "helper-then-loop") (param $a i32) (result i32) (local $s i32) (local $i i32)
      (i32.store (local.get $a) (i32.const 5))
      (loop $next
        (local.set $s (i32.add (local.get $s) (i32.load (i32.add (local.get $a) (local.get $i)))))
        (i32.store (i32.const 16) (i32.add (i32.load (i32.const 16)) (i32.const 1)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br_if $next (i32.lt_u (local.get $i) (i32.const 16))))
      (i32.add (i32.mul (local.get $s) (i32.const 1000)) (i32.load (i32.const 16))))

    ;; Each round of the outer loop calls a function that writes to an even page and stores
    ;; (a helper: the loop calls) to the odd page after it, each of which may extend the
    ;; array; the inner loop, without calls, sums the words written and bumps the counter.
    (func (export "callee-in-outer-loop") (param $rounds i32) (result i32)
      (local $s i32) (local $r i32) (local $i i32)
      (loop $round
        (call $poke (i32.mul (local.get $r) (i32.const 131072)) (i32.add (local.get $r) (i32.const 1)))
        (i32.store (i32.add (i32.mul (local.get $r) (i32.const 131072)) (i32.const 65536))
          (i32.const 100))
        (local.set $i (i32.const 0))
        (loop $inner
          (local.set $s (i32.add (local.get $s)
            (i32.load (i32.add (i32.mul (local.get $r) (i32.const 131072)) (local.get $i)))))
          (i32.store (i32.const 20)
            (i32.add (i32.load (i32.const 20)) (i32.add (local.get $r) (i32.const 1))))
          (local.set $i (i32.add (local.get $i) (i32.const 65536)))
          (br_if $inner (i32.lt_u (local.get $i) (i32.const 131072))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br_if $round (i32.lt_u (local.get $r) (local.get $rounds))))
      (i32.add (i32.mul (local.get $s) (i32.const 1000)) (i32.load (i32.const 20))))

    ;; `memory.fill` and `memory.copy` inside a loop of inline accesses, each reaching further.
    (func (export "bulk-in-loop") (result i32) (local $s i32) (local $k i32) (local $at i32)
      (loop $next
        (local.set $at (i32.mul (i32.add (local.get $k) (i32.const 1)) (i32.const 100000)))
        (memory.fill $m (local.get $at) (i32.const 1) (i32.const 4))
        (i32.store (i32.const 24) (i32.add (i32.load (i32.const 24)) (i32.const 1)))
        (local.set $s (i32.add (local.get $s) (i32.load8_u (local.get $at))))
        (memory.copy $m $m (i32.add (local.get $at) (i32.const 50000)) (local.get $at) (i32.const 4))
        (i32.store (i32.const 24) (i32.add (i32.load (i32.const 24)) (i32.const 1)))
        (local.set $s (i32.add (local.get $s) (i32.load8_u (i32.add (local.get $at) (i32.const 50000)))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br_if $next (i32.lt_u (local.get $k) (i32.const 4))))
      (i32.add (i32.mul (local.get $s) (i32.const 1000)) (i32.load (i32.const 24))))

    ;; Stores through one index of the memory extend the array that accesses through the
    ;; other index read and write.
    (func (export "two-indices") (result i32) (local $s i32) (local $k i32) (local $at i32)
      (loop $next
        (local.set $at (i32.add (i32.mul (local.get $k) (i32.const 131072)) (i32.const 65548)))
        (i32.store $alias (local.get $at) (i32.add (local.get $k) (i32.const 10)))
        (i32.store $m (i32.const 28) (i32.add (i32.load $m (i32.const 28)) (i32.const 1)))
        (local.set $s (i32.add (local.get $s) (i32.load $m (local.get $at))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br_if $next (i32.lt_u (local.get $k) (i32.const 4))))
      (i32.add (i32.mul (local.get $s) (i32.const 1000)) (i32.load $alias (i32.const 28))))

    (func (export "sum") (param i32 i32) (result i32) (call $sum (local.get 0) (local.get 1)))
    (func (export "size") (result i32) (memory.size $m))
    (func (export "grow") (param i32) (result i32) (memory.grow $m (local.get 0))))
  ;; Each case has a memory of its own, whose array starts empty.
  (core instance $a1 (instantiate $M (with "host" (instance $mem1))))
  (core instance $a2 (instantiate $M (with "host" (instance $mem2))))
  (core instance $a3 (instantiate $M (with "host" (instance $mem3))))
  (core instance $a4 (instantiate $M (with "host" (instance $mem4))))
  (core instance $b (instantiate $M (with "host" (instance $mem1))))
  (func (export "helper-then-loop") (param "a" u32) (result u32)
    (canon lift (core func $a1 "helper-then-loop")))
  (func (export "callee-in-outer-loop") (param "rounds" u32) (result u32)
    (canon lift (core func $a2 "callee-in-outer-loop")))
  (func (export "bulk-in-loop") (result u32) (canon lift (core func $a3 "bulk-in-loop")))
  (func (export "two-indices") (result u32) (canon lift (core func $a4 "two-indices")))
  (func (export "sum") (param "a" u32) (param "n" u32) (result u32) (canon lift (core func $b "sum")))
  (func (export "grow") (param "d" u32) (result s32) (canon lift (core func $b "grow")))
)
(assert_return (invoke "helper-then-loop" (u32.const 65544)) (u32.const 5004))
(assert_return (invoke "callee-in-outer-loop" (u32.const 4)) (u32.const 410020))
(assert_return (invoke "bulk-in-loop") (u32.const 8008))
(assert_return (invoke "two-indices") (u32.const 46004))
;; Both instances share the memory: what one wrote, the other reads.
(assert_return (invoke "sum" (u32.const 0) (u32.const 4)) (u32.const 0))
(assert_return (invoke "sum" (u32.const 65544) (u32.const 1)) (u32.const 5))
;; Growing allocates nothing; the new pages read as zero, and an access past them traps.
(assert_return (invoke "grow" (u32.const 1000)) (s32.const 8))
(assert_return (invoke "sum" (u32.const 66060284) (u32.const 1)) (u32.const 0))
(assert_trap (invoke "sum" (u32.const 66060285) (u32.const 1)) "out of bounds memory access")
