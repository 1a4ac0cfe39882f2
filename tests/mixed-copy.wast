;; A module instantiated twice (reified) with two memories: "shared", imported
;; from a module instantiated once and so reached directly, and its own, held
;; in a box. `memory.copy` between the two, both ways, and its bounds checks
;; (a partly out-of-bounds copy traps and writes nothing).
(component definition $Mixed
  (core module $Libc
    (memory (export "shared") 1)
    (data (i32.const 100) "hello, shared"))
  (core instance $libc (instantiate $Libc))
  (core module $M
    (import "libc" "shared" (memory $shared 1))
    (memory $own 1)
    (data (memory $own) (i32.const 200) "own bytes")
    ;; own[d..d+n] = shared[s..s+n]
    (func (export "pull") (param $d i32) (param $s i32) (param $n i32)
      (memory.copy $own $shared (local.get $d) (local.get $s) (local.get $n)))
    ;; shared[d..d+n] = own[s..s+n]
    (func (export "push") (param $d i32) (param $s i32) (param $n i32)
      (memory.copy $shared $own (local.get $d) (local.get $s) (local.get $n)))
    (func (export "own-u32") (param $a i32) (result i32) (i32.load $own (local.get $a)))
    (func (export "shared-u32") (param $a i32) (result i32) (i32.load $shared (local.get $a))))
  (core instance $a (instantiate $M (with "libc" (instance $libc))))
  (core instance $b (instantiate $M (with "libc" (instance $libc))))
  (func (export "pull-a") (param "d" u32) (param "s" u32) (param "n" u32)
    (canon lift (core func $a "pull")))
  (func (export "push-b") (param "d" u32) (param "s" u32) (param "n" u32)
    (canon lift (core func $b "push")))
  (func (export "own-a") (param "a" u32) (result u32) (canon lift (core func $a "own-u32")))
  (func (export "own-b") (param "a" u32) (result u32) (canon lift (core func $b "own-u32")))
  (func (export "shared") (param "a" u32) (result u32) (canon lift (core func $a "shared-u32")))
)

(component instance $i $Mixed)
(invoke $i "pull-a" (u32.const 0) (u32.const 100) (u32.const 13))
(assert_return (invoke $i "own-a" (u32.const 0)) (u32.const 0x6c6c6568))
(assert_return (invoke $i "own-a" (u32.const 8)) (u32.const 0x65726168))
;; Instance b's own memory is untouched.
(assert_return (invoke $i "own-b" (u32.const 0)) (u32.const 0))
(invoke $i "push-b" (u32.const 300) (u32.const 200) (u32.const 9))
(assert_return (invoke $i "shared" (u32.const 300)) (u32.const 0x206e776f))
(assert_return (invoke $i "shared" (u32.const 304)) (u32.const 0x65747962))
(invoke $i "pull-a" (u32.const 65530) (u32.const 0) (u32.const 6))
(assert_return (invoke $i "own-a" (u32.const 65532)) (u32.const 0))

(component instance $j $Mixed)
;; Source partly out of bounds: traps, nothing written.
(assert_trap (invoke $j "pull-a" (u32.const 0) (u32.const 65530) (u32.const 7)) "out of bounds")

(component instance $k $Mixed)
;; Destination partly out of bounds.
(assert_trap (invoke $k "push-b" (u32.const 65535) (u32.const 200) (u32.const 2)) "out of bounds")

(component instance $l $Mixed)
(assert_trap (invoke $l "pull-a" (u32.const 0xffff_fff0) (u32.const 0) (u32.const 0x20)) "out of bounds")

;; Unaligned both ways, four bytes at a time and the rest byte by byte (a reified memory keeps
;; four bytes per element): the own memory's bytes at 3 .. 16 from shared 101 .. 114, then
;; shared 401 .. 408 from own 202 .. 209.
(component instance $m $Mixed)
(invoke $m "pull-a" (u32.const 3) (u32.const 101) (u32.const 13))
(assert_return (invoke $m "own-a" (u32.const 0)) (u32.const 0x65000000))
(assert_return (invoke $m "own-a" (u32.const 3)) (u32.const 0x6f6c6c65))
(assert_return (invoke $m "own-a" (u32.const 7)) (u32.const 0x6873202c))
(assert_return (invoke $m "own-a" (u32.const 12)) (u32.const 0x00646572))
(assert_return (invoke $m "own-a" (u32.const 16)) (u32.const 0))
(invoke $m "push-b" (u32.const 401) (u32.const 202) (u32.const 7))
(assert_return (invoke $m "shared" (u32.const 400)) (u32.const 0x62206e00))
(assert_return (invoke $m "shared" (u32.const 404)) (u32.const 0x73657479))
(assert_return (invoke $m "shared" (u32.const 408)) (u32.const 0))
