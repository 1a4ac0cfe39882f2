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
;; A loop whose 4- and 8-byte accesses address a local that it only steps by a
;; multiple of 4 (up or down) takes the unchecked version only when that local
;; is a multiple of 4 at its entry, and there reads and writes their elements
;; without testing the alignment: both must agree with core wasm, aligned or not.
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

    ;; Copies n words from p to p + 0x100, down from the last one (the pointer
    ;; steps by -4 with i32.sub); returns the xor of the words copied. Its
    ;; accesses are aligned in the unchecked version when p is a multiple of 4.
    (func (export "copy-down") (param $p i32) (param $n i32) (result i32)
      (local $x i32)
      (local.set $p (i32.add (local.get $p) (i32.shl (i32.sub (local.get $n) (i32.const 1)) (i32.const 2))))
      (loop $l
        (i32.store offset=0x100 (local.get $p)
          (local.tee $x (i32.xor (local.get $x) (i32.load (local.get $p)))))
        (local.set $p (i32.sub (local.get $p) (i32.const 4)))
        (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
      (local.get $x))

    ;; The sum of the n double words from p (a step of 8, f64 and i64 loads).
    (func (export "sum64") (param $p i32) (param $n i32) (result i64)
      (local $s i64)
      (loop $l
        (local.set $s (i64.add (local.get $s)
          (i64.add (i64.load (local.get $p))
                   (i64.reinterpret_f64 (f64.load offset=0 (local.get $p))))))
        (local.set $p (i32.add (i32.const 8) (local.get $p)))
        (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
      (local.get $s))

    ;; The sum of the n words from p, stepping by 2: its address is not kept aligned.
    (func (export "sum-step2") (param $p i32) (param $n i32) (result i32)
      (local $s i32)
      (loop $l
        (local.set $s (i32.add (local.get $s) (i32.load (local.get $p))))
        (local.set $p (i32.add (local.get $p) (i32.const 2)))
        (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
      (local.get $s))

    ;; Writes i + v at base + (i << 2) for i below n: aligned in the unchecked
    ;; version when base is a multiple of 4, whatever i.
    (func (export "store-index") (param $base i32) (param $n i32) (param $v i32)
      (local $i i32)
      (loop $l
        (i32.store (i32.add (local.get $base) (i32.shl (local.get $i) (i32.const 2)))
          (i32.add (local.get $i) (local.get $v)))
        (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n)))))

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
  (func (export "copy-down") (param "p" u32) (param "n" u32) (result u32) (canon lift (core func $a "copy-down")))
  (func (export "sum64") (param "p" u32) (param "n" u32) (result u64) (canon lift (core func $a "sum64")))
  (func (export "sum-step2") (param "p" u32) (param "n" u32) (result u32) (canon lift (core func $a "sum-step2")))
  (func (export "store-index") (param "base" u32) (param "n" u32) (param "v" u32) (canon lift (core func $a "store-index")))
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
(assert_return (invoke "sum" (u32.const 9) (u32.const 2)) (u32.const 0x0e0c0a08))
(assert_return (invoke "copy-down" (u32.const 8) (u32.const 3)) (u32.const 0x000f0e0d))
(assert_return (invoke "peek" (u32.const 0x110)) (u32.const 0x0c0b0a09))
(assert_return (invoke "copy-down" (u32.const 9) (u32.const 2)) (u32.const 0x0c0c0404))
(assert_return (invoke "peek" (u32.const 0x10d)) (u32.const 0x09080706))
(assert_return (invoke "sum64" (u32.const 8) (u32.const 1)) (u64.const 0x100e0c0a08060402))
(assert_return (invoke "sum64" (u32.const 12) (u32.const 2)) (u64.const 0x18161412100e0c0a))
(assert_return (invoke "sum-step2" (u32.const 8) (u32.const 3)) (u32.const 0x120f0c09))
(assert_return (invoke "store-index" (u32.const 0x200) (u32.const 3) (u32.const 0x61626364)))
(assert_return (invoke "sum" (u32.const 0x200) (u32.const 3)) (u32.const 0x24272a2f))
(assert_return (invoke "store-index" (u32.const 0x301) (u32.const 2) (u32.const 0x01020304)))
(assert_return (invoke "peek" (u32.const 0x300)) (u32.const 0x02030400))
(assert_return (invoke "peek" (u32.const 0x304)) (u32.const 0x02030501))
(assert_return (invoke "peek" (u32.const 0x308)) (u32.const 0x00000001))
(assert_trap (invoke "sum" (u32.const 65532) (u32.const 2)) "out of bounds memory access")

(component instance $i $C)
(assert_trap (invoke "store-index" (u32.const 65524) (u32.const 4) (u32.const 7)) "out of bounds memory access")

(component instance $i $C)
(assert_trap (invoke "copy-down" (u32.const 65280) (u32.const 1)) "out of bounds memory access")

(component instance $i $C)
(assert_trap (invoke "sum64" (u32.const 65528) (u32.const 2)) "out of bounds memory access")

;; An unaligned pointer that steps by 4 runs the checked version.
(component instance $i $C)
(assert_trap (invoke "sum" (u32.const 65529) (u32.const 2)) "out of bounds memory access")

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
