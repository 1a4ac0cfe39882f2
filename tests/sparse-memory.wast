;; A reified memory's accesses far past its word array (a page starting at or past 16 MiB and
;; twice the array's length) read and write sparse pages of 64 KiB instead of extending the
;; array up to them; extending the array later (an access nearer it, `memory.fill`,
;; `memory.copy`, a loop with inline accesses) moves the pages it reaches into it. Each case
;; has an instance of its own of a module instantiated four times (reified in both modes),
;; whose memory grows from 1 page to 1 024 (64 MiB) and starts with an empty array.
(component
  (core module $M
    (memory 1)
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
    (func (export "poke") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
    (func (export "peek") (param i32) (result i32) (i32.load (local.get 0)))
    (func (export "poke8") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
    (func (export "peek8s") (param i32) (result i32) (i32.load8_s (local.get 0)))
    (func (export "peek16s") (param i32) (result i32) (i32.load16_s (local.get 0)))
    (func (export "peek32s") (param i32) (result i64) (i64.load32_s (local.get 0)))
    (func (export "poke64") (param i32 i64) (i64.store (local.get 0) (local.get 1)))
    (func (export "peek64") (param i32) (result i64) (i64.load (local.get 0)))
    (func (export "pokef64") (param i32 f64) (f64.store offset=8 (local.get 0) (local.get 1)))
    (func (export "peekf64") (param i32) (result f64) (f64.load offset=8 (local.get 0)))
    ;; The xor of the `n` words from `a`: loads in a loop without calls, emitted inline (the
    ;; array is first extended to the whole memory).
    (func (export "xor-words") (param $a i32) (param $n i32) (result i32) (local $x i32)
      (block $done
        (loop $next
          (br_if $done (i32.eqz (local.get $n)))
          (local.set $x (i32.xor (local.get $x) (i32.load (local.get $a))))
          (local.set $a (i32.add (local.get $a) (i32.const 4)))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $next)))
      (local.get $x))
    (func (export "fill") (param i32 i32 i32)
      (memory.fill (local.get 0) (local.get 1) (local.get 2)))
    (func (export "copy") (param i32 i32 i32)
      (memory.copy (local.get 0) (local.get 1) (local.get 2))))
  (core instance $a (instantiate $M))
  (core instance $b (instantiate $M))
  (core instance $c (instantiate $M))
  (core instance $d (instantiate $M))
  (func (export "grow") (param "d" u32) (result s32) (canon lift (core func $a "grow")))
  (func (export "poke") (param "a" u32) (param "v" u32) (canon lift (core func $a "poke")))
  (func (export "peek") (param "a" u32) (result u32) (canon lift (core func $a "peek")))
  (func (export "poke8") (param "a" u32) (param "v" u32) (canon lift (core func $a "poke8")))
  (func (export "peek8s") (param "a" u32) (result s32) (canon lift (core func $a "peek8s")))
  (func (export "peek16s") (param "a" u32) (result s32) (canon lift (core func $a "peek16s")))
  (func (export "peek32s") (param "a" u32) (result s64) (canon lift (core func $a "peek32s")))
  (func (export "poke64") (param "a" u32) (param "v" u64) (canon lift (core func $a "poke64")))
  (func (export "peek64") (param "a" u32) (result u64) (canon lift (core func $a "peek64")))
  (func (export "pokef64") (param "a" u32) (param "v" f64) (canon lift (core func $a "pokef64")))
  (func (export "peekf64") (param "a" u32) (result f64) (canon lift (core func $a "peekf64")))
  (func (export "xor-words") (param "a" u32) (param "n" u32) (result u32)
    (canon lift (core func $a "xor-words")))
  (func (export "grow-b") (param "d" u32) (result s32) (canon lift (core func $b "grow")))
  (func (export "poke-b") (param "a" u32) (param "v" u32) (canon lift (core func $b "poke")))
  (func (export "peek-b") (param "a" u32) (result u32) (canon lift (core func $b "peek")))
  (func (export "copy-b") (param "d" u32) (param "s" u32) (param "n" u32)
    (canon lift (core func $b "copy")))
  (func (export "grow-c") (param "d" u32) (result s32) (canon lift (core func $c "grow")))
  (func (export "poke-c") (param "a" u32) (param "v" u32) (canon lift (core func $c "poke")))
  (func (export "peek-c") (param "a" u32) (result u32) (canon lift (core func $c "peek")))
  (func (export "fill-c") (param "d" u32) (param "v" u32) (param "n" u32)
    (canon lift (core func $c "fill")))
  (func (export "grow-d") (param "d" u32) (result s32) (canon lift (core func $d "grow")))
  (func (export "poke-d") (param "a" u32) (param "v" u32) (canon lift (core func $d "poke")))
  (func (export "peek-d") (param "a" u32) (result u32) (canon lift (core func $d "peek")))
)

;; $a: words at 48 MiB (0x3000000), on sparse pages 767 and 768.
(assert_return (invoke "grow" (u32.const 1023)) (s32.const 1))
;; Nothing written yet there: zero, with no page table.
(assert_return (invoke "peek" (u32.const 0x3000000)) (u32.const 0))
(assert_return (invoke "poke" (u32.const 0x3000000) (u32.const 0x11223344)))
(assert_return (invoke "peek" (u32.const 0x3000000)) (u32.const 0x11223344))
(assert_return (invoke "peek8s" (u32.const 0x3000003)) (s32.const 0x11))
(assert_return (invoke "peek16s" (u32.const 0x3000001)) (s32.const 0x2233))
;; A page written never: zero, with a page table.
(assert_return (invoke "peek" (u32.const 0x3800000)) (u32.const 0))
;; Eight bytes across the boundary of pages 767 and 768: 08 07 06 | 05 04 03 02 01.
(assert_return (invoke "poke64" (u32.const 0x2fffffd) (u64.const 0x0102030405060708)))
(assert_return (invoke "peek64" (u32.const 0x2fffffd)) (u64.const 0x0102030405060708))
(assert_return (invoke "peek" (u32.const 0x3000000)) (u32.const 0x02030405))
(assert_return (invoke "peek32s" (u32.const 0x3000001)) (s64.const 0x01020304))
(assert_return (invoke "poke8" (u32.const 0x3000004) (u32.const 0x1ff)))
(assert_return (invoke "peek8s" (u32.const 0x3000004)) (s32.const -1))
(assert_return (invoke "pokef64" (u32.const 0x3000064) (f64.const 3.5)))
(assert_return (invoke "peekf64" (u32.const 0x3000064)) (f64.const 3.5))
(assert_return (invoke "peek8s" (u32.const 0x3fffffe)) (s32.const 0))
;; Low memory: the word array.
(assert_return (invoke "poke" (u32.const 16) (u32.const 7)))
(assert_return (invoke "peek" (u32.const 16)) (u32.const 7))
;; A loop with inline loads extends the array to the whole memory, taking the pages in:
;; 0x06070800 ^ 0x02030405 ^ 0x000000ff.
(assert_return (invoke "xor-words" (u32.const 0x2fffff0) (u32.const 8)) (u32.const 0x04040cfa))
(assert_return (invoke "peek64" (u32.const 0x2fffffd)) (u64.const 0xff02030405060708))
(assert_return (invoke "peekf64" (u32.const 0x3000064)) (f64.const 3.5))
(assert_return (invoke "peek" (u32.const 16)) (u32.const 7))

;; $b: `memory.copy` from a sparse page extends the array over it first.
(assert_return (invoke "grow-b" (u32.const 1023)) (s32.const 1))
(assert_return (invoke "poke-b" (u32.const 0x3000000) (u32.const 0x55667788)))
(assert_return (invoke "copy-b" (u32.const 0x100) (u32.const 0x2fffffe) (u32.const 8)))
(assert_return (invoke "peek-b" (u32.const 0x102)) (u32.const 0x55667788))
(assert_return (invoke "peek-b" (u32.const 0x3000000)) (u32.const 0x55667788))

;; $c: `memory.fill` next to a word on a sparse page keeps it.
(assert_return (invoke "grow-c" (u32.const 1023)) (s32.const 1))
(assert_return (invoke "poke-c" (u32.const 0x3000008) (u32.const 9)))
(assert_return (invoke "fill-c" (u32.const 0x3000000) (u32.const 0xab) (u32.const 4)))
(assert_return (invoke "peek-c" (u32.const 0x3000000)) (u32.const 0xabababab))
(assert_return (invoke "peek-c" (u32.const 0x3000004)) (u32.const 0))
(assert_return (invoke "peek-c" (u32.const 0x3000008)) (u32.const 9))

;; $d: the array, 8 MiB long, doubles twice by accesses near its end, the second time over a
;; sparse page written at 17 MiB (far when it was written: at least twice 8 MiB).
(assert_return (invoke "grow-d" (u32.const 1023)) (s32.const 1))
(assert_return (invoke "poke-d" (u32.const 0x7ffffc) (u32.const 1)))
(assert_return (invoke "poke-d" (u32.const 0x1100000) (u32.const 0x1234)))
(assert_return (invoke "peek-d" (u32.const 0x1100000)) (u32.const 0x1234))
(assert_return (invoke "poke-d" (u32.const 0xc00000) (u32.const 5)))
(assert_return (invoke "peek-d" (u32.const 0x1100000)) (u32.const 0x1234))
(assert_return (invoke "poke-d" (u32.const 0x1400000) (u32.const 6)))
(assert_return (invoke "peek-d" (u32.const 0x1100000)) (u32.const 0x1234))
(assert_return (invoke "peek-d" (u32.const 0x1400000)) (u32.const 6))
(assert_return (invoke "peek-d" (u32.const 0x7ffffc)) (u32.const 1))
(assert_return (invoke "peek-d" (u32.const 0xc00000)) (u32.const 5))

;; Last (a trap leaves the component instance unable to be entered again): partly past the
;; end of $a's memory (64 MiB), where its sparse pages are.
(assert_trap (invoke "poke" (u32.const 0x3fffffe) (u32.const 0x01010101)) "out of bounds memory access")
