;; Loads and stores of reified memories keep the memory's byte array and
;; bound (its size, once the array holds the whole memory) in locals: these
;; cases check that the cached bound follows every grow (the function's own, a
;; callee's, another instance's sharing the memory), that the logical size, not
;; the array's length (the array grows geometrically), bounds every access, and
;; unaligned accesses at the end.

;; `$Mem` defines a memory and a grow function; `$User` imports both and
;; accesses the memory around calls. Each module is instantiated twice, each
;; `$User` instance bound to its own `$Mem` instance, so every memory is boxed.
(component
  (core module $Mem
    (memory (export "mem") 1)
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
    (func (export "size") (result i32) (memory.size)))
  (core module $User
    (import "m" "mem" (memory 1))
    (import "m" "grow" (func $grow (param i32) (result i32)))
    ;; Grows by `n` pages through the exporter, then stores and loads at `p`,
    ;; which only the grown memory holds.
    (func (export "grow-call-then-access") (param $n i32) (param $p i32) (result i32)
      (i32.store (i32.const 0) (i32.const 0x01020304))
      (drop (call $grow (local.get $n)))
      (i32.store (local.get $p) (i32.add (i32.load (i32.const 0)) (local.get $p)))
      (i32.load (local.get $p)))
    ;; Grows with the function's own `memory.grow`, then accesses at `p`.
    (func (export "grow-then-access") (param $n i32) (param $p i32) (result i64)
      (i64.store8 (i32.const 5) (i64.const 9))
      (drop (memory.grow (local.get $n)))
      (i64.store (local.get $p) (i64.const 0x0102030405060708))
      (i64.add (i64.load (local.get $p)) (i64.load8_u (i32.const 5))))
    ;; A loop of byte stores and loads around a call that grows by one page
    ;; per iteration.
    (func (export "loop-grow") (param $k i32) (result i32)
      (local $i i32) (local $s i32) (local $p i32)
      (loop $l
        (drop (call $grow (i32.const 1)))
        (local.set $p (i32.sub (i32.shl (memory.size) (i32.const 16)) (i32.const 1)))
        (i32.store8 (local.get $p) (local.get $i))
        (local.set $s (i32.add (local.get $s) (i32.load8_u (local.get $p))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $i) (local.get $k))))
      (local.get $s))
    ;; An outer loop that grows by one page through a call, around an inner
    ;; loop without calls (whose accesses are inline) that writes the new
    ;; page's last byte and reads it back: the cache is reloaded after the
    ;; call although the call is not in the loop of the accesses.
    (func (export "nested-loop-grow") (param $k i32) (result i32)
      (local $i i32) (local $s i32) (local $p i32) (local $j i32)
      (loop $l
        (drop (call $grow (i32.const 1)))
        (local.set $p (i32.sub (i32.shl (memory.size) (i32.const 16)) (i32.const 1)))
        (local.set $j (i32.const 0))
        (loop $inner
          (i32.store8 (local.get $p) (i32.add (local.get $i) (local.get $j)))
          (local.set $s (i32.add (local.get $s) (i32.load8_u (local.get $p))))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br_if $inner (i32.lt_u (local.get $j) (i32.const 2))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $i) (local.get $k))))
      (local.get $s))
    (func (export "load8") (param i32) (result i32) (i32.load8_u (local.get 0)))
    (func (export "load16") (param i32) (result i32) (i32.load16_s (local.get 0)))
    (func (export "load32") (param i32) (result i32) (i32.load (local.get 0)))
    (func (export "load64") (param i32) (result i64) (i64.load (local.get 0)))
    (func (export "loadf64") (param i32) (result f64) (f64.load offset=3 (local.get 0)))
    (func (export "store32") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
    (func (export "store64") (param i32 i64) (i64.store (local.get 0) (local.get 1)))
    (func (export "storef32") (param i32 f32) (f32.store offset=1 (local.get 0) (local.get 1))))
  (core instance $m1 (instantiate $Mem))
  (core instance $m2 (instantiate $Mem))
  (core instance $a (instantiate $User (with "m" (instance $m1))))
  (core instance $b (instantiate $User (with "m" (instance $m2))))
  (func (export "a-grow-call-then-access") (param "n" u32) (param "p" u32) (result u32)
    (canon lift (core func $a "grow-call-then-access")))
  (func (export "a-grow-then-access") (param "n" u32) (param "p" u32) (result u64)
    (canon lift (core func $a "grow-then-access")))
  (func (export "b-loop-grow") (param "k" u32) (result u32) (canon lift (core func $b "loop-grow")))
  (func (export "b-nested-loop-grow") (param "k" u32) (result u32)
    (canon lift (core func $b "nested-loop-grow")))
  (func (export "a-load8") (param "p" u32) (result u32) (canon lift (core func $a "load8")))
  (func (export "a-load16") (param "p" u32) (result s32) (canon lift (core func $a "load16")))
  (func (export "a-load32") (param "p" u32) (result u32) (canon lift (core func $a "load32")))
  (func (export "a-load64") (param "p" u32) (result u64) (canon lift (core func $a "load64")))
  (func (export "a-loadf64") (param "p" u32) (result f64) (canon lift (core func $a "loadf64")))
  (func (export "a-store32") (param "p" u32) (param "v" u32) (canon lift (core func $a "store32")))
  (func (export "a-store64") (param "p" u32) (param "v" u64) (canon lift (core func $a "store64")))
  (func (export "a-storef32") (param "p" u32) (param "v" f32) (canon lift (core func $a "storef32")))
  (func (export "a-size") (result u32) (canon lift (core func $m1 "size")))
  (func (export "b-size") (result u32) (canon lift (core func $m2 "size")))
  (func (export "b-load32") (param "p" u32) (result u32) (canon lift (core func $b "load32")))
)
;; One page: the grow through the call makes page 1 reachable in the same
;; function.
(assert_return (invoke "a-grow-call-then-access" (u32.const 1) (u32.const 0x10006))
  (u32.const 0x0103030a))
(assert_return (invoke "a-size") (u32.const 2))
;; Its own grow, to 3 pages, then an access in the new page: the byte array
;; is now 4 pages long (geometric growth), the memory 3.
(assert_return (invoke "a-grow-then-access" (u32.const 1) (u32.const 0x2fff8))
  (u64.const 0x0102030405060711))
(assert_return (invoke "a-size") (u32.const 3))
;; Unaligned accesses ending exactly at the end of the memory.
(assert_return (invoke "a-load8" (u32.const 0x2ffff)) (u32.const 1))
(assert_return (invoke "a-load16" (u32.const 0x2fffe)) (s32.const 0x0102))
(assert_return (invoke "a-load32" (u32.const 0x2fffc)) (u32.const 0x01020304))
(assert_return (invoke "a-load32" (u32.const 0x2fffb)) (u32.const 0x02030405))
(assert_return (invoke "a-load64" (u32.const 0x2fff8)) (u64.const 0x0102030405060708))
(assert_return (invoke "a-store32" (u32.const 0x2fffc) (u32.const 0xa1b2c3d4)))
(assert_return (invoke "a-load64" (u32.const 0x2fff8)) (u64.const 0xa1b2c3d405060708))
(assert_return (invoke "a-store64" (u32.const 0x2fff8) (u64.const 0xfffefdfcfbfaf9f8)))
(assert_return (invoke "a-load32" (u32.const 0x2fffc)) (u32.const 0xfffefdfc))
(assert_return (invoke "a-storef32" (u32.const 0x2fffb) (f32.const -0x1.8p+1)))
(assert_return (invoke "a-load32" (u32.const 0x2fffc)) (u32.const 0xc0400000))
(assert_return (invoke "a-store64" (u32.const 0x2fff8) (u64.const 0xc00c000000000000)))
(assert_return (invoke "a-loadf64" (u32.const 0x2fff5)) (f64.const -3.5))
;; The other user's memory grew in a loop around calls, one page at a time.
(assert_return (invoke "b-loop-grow" (u32.const 5)) (u32.const 10))
(assert_return (invoke "b-size") (u32.const 6))
(assert_return (invoke "b-load32" (u32.const 0x5fffc)) (u32.const 0x04000000))
;; Grown in an outer loop around an inner loop of inline accesses.
(assert_return (invoke "b-nested-loop-grow" (u32.const 3)) (u32.const 9))
(assert_return (invoke "b-size") (u32.const 9))
;; Past the logical end, inside the array: traps.
(assert_trap (invoke "a-load8" (u32.const 0x30000)) "out of bounds memory access")

(component
  (core module $Mem
    (memory (export "mem") 1)
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))
  (core module $User
    (import "m" "mem" (memory 1))
    (func (export "load32") (param i32) (result i32) (i32.load (local.get 0))))
  (core instance $m1 (instantiate $Mem))
  (core instance $m2 (instantiate $Mem))
  (core instance $a (instantiate $User (with "m" (instance $m1))))
  (core instance $b (instantiate $User (with "m" (instance $m2))))
  (func (export "grow") (param "n" u32) (result s32) (canon lift (core func $m1 "grow")))
  (func (export "load32") (param "p" u32) (result u32) (canon lift (core func $a "load32")))
)
;; Two grows of one page, from 1 to 3: the array holds 4 pages.
(assert_return (invoke "grow" (u32.const 1)) (s32.const 1))
(assert_return (invoke "grow" (u32.const 1)) (s32.const 2))
(assert_return (invoke "load32" (u32.const 0x2fffc)) (u32.const 0))
;; An unaligned word that crosses the logical end traps.
(assert_trap (invoke "load32" (u32.const 0x2fffd)) "out of bounds memory access")

(component
  (core module $M
    (memory 1)
    (func (export "load-hi") (param i32) (result i32)
      (i32.load offset=0xfffffff0 (local.get 0))))
  (core instance $a (instantiate $M))
  (core instance $b (instantiate $M))
  (func (export "load-hi") (param "p" u32) (result u32) (canon lift (core func $a "load-hi")))
)
;; 0x10 + 0xfffffff0 is 4 GiB: out of bounds, although it wraps to 0 in 32 bits.
(assert_trap (invoke "load-hi" (u32.const 0x10)) "out of bounds memory access")

;; A callee grows the memory, then an exception unwinds past the call to a
;; `catch_all` in the function that caches the memory: the handler's target
;; reloads it. The tag lives in a module instantiated once: native under
;; `--reify auto`, reified (its tag carrying its instance's identity) under
;; `--reify all`.
(component
  (core module $Thrower
    (tag $t)
    (func (export "throw") (throw $t)))
  (core instance $thr (instantiate $Thrower))
  (core module $Mem
    (import "t" "throw" (func $throw))
    (memory (export "mem") 1)
    (func (export "grow-then-throw") (drop (memory.grow (i32.const 1))) (call $throw)))
  (core instance $m1 (instantiate $Mem (with "t" (instance $thr))))
  (core instance $m2 (instantiate $Mem (with "t" (instance $thr))))
  (core module $User
    (import "m" "mem" (memory 1))
    (import "m" "grow-then-throw" (func $gt))
    (func (export "catch-then-access") (param $p i32) (result i32)
      (i32.store (i32.const 0) (i32.const 5))
      (block $caught
        (try_table (catch_all $caught)
          (call $gt)))
      (i32.store (local.get $p) (i32.const 0x1234))
      (i32.add (i32.load (local.get $p)) (i32.load (i32.const 0)))))
  (core instance $a (instantiate $User (with "m" (instance $m1))))
  (core instance $b (instantiate $User (with "m" (instance $m2))))
  (func (export "catch-then-access") (param "p" u32) (result u32)
    (canon lift (core func $a "catch-then-access")))
)
(assert_return (invoke "catch-then-access" (u32.const 0x10000)) (u32.const 0x1239))
