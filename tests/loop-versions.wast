;; Loops over a reified memory in both of their versions: a call-free loop is
;; emitted twice, and the version whose accesses leave the bounds check to the
;; engine's array check runs only when the memory's word array holds exactly
;; the whole memory. A memory whose loops run first gets an array of its size
;; (the unchecked version); one whose array an access outside any loop has
;; extended past its size (a doubling, after `memory.grow`) runs the checked
;; version. Both must give the same results and trap where core wasm traps:
;; an access ending past the memory, and one whose `addr + offset` passes 4 GiB.
;; The loops also branch out of themselves (`br_if` to an enclosing block, `br`
;; from inside an `if`) and take a parameter, which the second copy must keep.
(component definition $C
  (core module $M
    (memory 1 4)
    (data (i32.const 8) "\01\02\03\04\05\06\07\08\09\0a\0b\0c")

    ;; Sum of the n words from p: leaves the loop with a br_if to a block.
    (func (export "sum") (param $p i32) (param $n i32) (result i32)
      (local $s i32)
      (block $done
        (loop $l
          (br_if $done (i32.eqz (local.get $n)))
          (local.set $s (i32.add (local.get $s) (i32.load (local.get $p))))
          (local.set $p (i32.add (local.get $p) (i32.const 4)))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $l)))
      (local.get $s))

    ;; The same with the sum as the loop's parameter (n >= 1), and an offset.
    (func (export "sum-param") (param $p i32) (param $n i32) (result i32)
      (i32.const 0)
      (loop $l (param i32) (result i32)
        (i32.add (i32.load offset=4 (local.get $p)))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))

    ;; Writes n bytes v, v+1, ... from p (unaligned i64 stores of 8 bytes, then
    ;; the rest a byte at a time); leaves through a br inside an if.
    (func (export "fill") (param $p i32) (param $n i32) (param $v i32)
      (block $done
        (loop $l
          (if (i32.ge_u (local.get $n) (i32.const 8))
            (then
              (i64.store offset=1 (i32.sub (local.get $p) (i32.const 1))
                (i64.add
                  (i64.mul (i64.extend_i32_u (i32.and (local.get $v) (i32.const 0xff)))
                           (i64.const 0x0101010101010101))
                  (i64.const 0x0706050403020100)))
              (local.set $p (i32.add (local.get $p) (i32.const 8)))
              (local.set $v (i32.add (local.get $v) (i32.const 8)))
              (local.set $n (i32.sub (local.get $n) (i32.const 8)))
              (br $l)))
          (if (i32.eqz (local.get $n)) (then (br $done)))
          (i32.store8 (local.get $p) (local.get $v))
          (local.set $p (i32.add (local.get $p) (i32.const 1)))
          (local.set $v (i32.add (local.get $v) (i32.const 1)))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $l))))

    ;; The xor of the 16-bit halves from p to p + 2n, read at odd addresses.
    (func (export "xor16") (param $p i32) (param $n i32) (result i32)
      (local $x i32)
      (loop $l
        (local.set $x (i32.xor (local.get $x) (i32.load16_u offset=1 (local.get $p))))
        (local.set $p (i32.add (local.get $p) (i32.const 2)))
        (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
      (local.get $x))

    ;; One load in a loop at p + 0xfffffff0: past 4 GiB when p >= 0x10.
    (func (export "far") (param $p i32) (result i32)
      (loop (result i32) (i32.load offset=0xfffffff0 (local.get $p))))
    ;; One i64 store in a loop at p + 0xfffffffc.
    (func (export "far-store") (param $p i32)
      (loop (i64.store offset=0xfffffffc (local.get $p) (i64.const -1))))

    ;; Outside any loop: a load extends the word array (doubling).
    (func (export "peek") (param $p i32) (result i32) (i32.load (local.get $p)))
    (func (export "grow") (param $n i32) (result i32) (memory.grow (local.get $n))))
  (core instance $a (instantiate $M))
  (core instance $b (instantiate $M))
  (func (export "sum") (param "p" u32) (param "n" u32) (result u32) (canon lift (core func $a "sum")))
  (func (export "sum-param") (param "p" u32) (param "n" u32) (result u32) (canon lift (core func $a "sum-param")))
  (func (export "fill") (param "p" u32) (param "n" u32) (param "v" u32) (canon lift (core func $a "fill")))
  (func (export "xor16") (param "p" u32) (param "n" u32) (result u32) (canon lift (core func $a "xor16")))
  (func (export "far") (param "p" u32) (result u32) (canon lift (core func $a "far")))
  (func (export "far-store") (param "p" u32) (canon lift (core func $a "far-store")))
  (func (export "peek") (param "p" u32) (result u32) (canon lift (core func $a "peek")))
  (func (export "grow") (param "n" u32) (result s32) (canon lift (core func $a "grow")))
  (func (export "b-sum") (param "p" u32) (param "n" u32) (result u32) (canon lift (core func $b "sum"))))

;; Loops first: the array is the memory's size (the unchecked version).
(component instance $i $C)
(assert_return (invoke "sum" (u32.const 8) (u32.const 3)) (u32.const 0x1815120f))
(assert_return (invoke "sum-param" (u32.const 4) (u32.const 3)) (u32.const 0x1815120f))
(assert_return (invoke "fill" (u32.const 65501) (u32.const 35) (u32.const 0x41)))
(assert_return (invoke "sum" (u32.const 65500) (u32.const 9)) (u32.const 0xede4db90))
(assert_return (invoke "xor16" (u32.const 65500) (u32.const 17)) (u32.const 0x4261))
(assert_return (invoke "sum" (u32.const 65532) (u32.const 1)) (u32.const 0x63626160))
(assert_return (invoke "b-sum" (u32.const 8) (u32.const 3)) (u32.const 0x1815120f))
(assert_trap (invoke "sum" (u32.const 65528) (u32.const 3)) "out of bounds memory access")

(component instance $i $C)
(assert_return (invoke "xor16" (u32.const 0) (u32.const 8)) (u32.const 0x0908))
(assert_trap (invoke "xor16" (u32.const 65530) (u32.const 3)) "out of bounds memory access")

(component instance $i $C)
(assert_trap (invoke "fill" (u32.const 65530) (u32.const 8) (u32.const 1)) "out of bounds memory access")

(component instance $i $C)
(assert_trap (invoke "far" (u32.const 0x20)) "out of bounds memory access")

(component instance $i $C)
(assert_trap (invoke "far-store" (u32.const 8)) "out of bounds memory access")

;; The array extended past the size: 4 KiB by a load at 0, then (after growing
;; to 3 pages) to 33 granules by a load in the third page, then doubled to 4
;; pages by a load near its end, one page past the size (the checked version).
(component instance $i $C)
(assert_return (invoke "peek" (u32.const 8)) (u32.const 0x04030201))
(assert_return (invoke "grow" (u32.const 2)) (s32.const 1))
(assert_return (invoke "peek" (u32.const 0x20000)) (u32.const 0))
(assert_return (invoke "peek" (u32.const 0x2f000)) (u32.const 0))
(assert_return (invoke "sum" (u32.const 8) (u32.const 3)) (u32.const 0x1815120f))
(assert_return (invoke "fill" (u32.const 196573) (u32.const 35) (u32.const 0x41)))
(assert_return (invoke "sum" (u32.const 196572) (u32.const 9)) (u32.const 0xede4db90))
(assert_return (invoke "sum-param" (u32.const 196568) (u32.const 9)) (u32.const 0xede4db90))
(assert_return (invoke "xor16" (u32.const 196572) (u32.const 17)) (u32.const 0x4261))
(assert_trap (invoke "sum" (u32.const 196600) (u32.const 3)) "out of bounds memory access")

(component instance $i $C)
(assert_return (invoke "peek" (u32.const 8)) (u32.const 0x04030201))
(assert_return (invoke "grow" (u32.const 2)) (s32.const 1))
(assert_return (invoke "peek" (u32.const 0x20000)) (u32.const 0))
(assert_return (invoke "peek" (u32.const 0x2f000)) (u32.const 0))
(assert_trap (invoke "fill" (u32.const 196602) (u32.const 8) (u32.const 1)) "out of bounds memory access")

(component instance $i $C)
(assert_return (invoke "peek" (u32.const 8)) (u32.const 0x04030201))
(assert_return (invoke "grow" (u32.const 2)) (s32.const 1))
(assert_return (invoke "peek" (u32.const 0x20000)) (u32.const 0))
(assert_return (invoke "peek" (u32.const 0x2f000)) (u32.const 0))
(assert_trap (invoke "far" (u32.const 0x20)) "out of bounds memory access")
