;; memory.copy, memory.fill, memory.init and data.drop in a module
;; instantiated twice. Dropping a passive data segment is per instance: the
;; other instance can still initialise from its own copy of the segment.
(component
  (core module $M
    (memory 1)
    (data $hello "hello, world")
    (data $digits "0123456789")
    (data (i32.const 1000) "\01\02\03\04\05\06\07\08")
    (func (export "copy") (param i32 i32 i32)
      (memory.copy (local.get 0) (local.get 1) (local.get 2)))
    (func (export "fill") (param i32 i32 i32)
      (memory.fill (local.get 0) (local.get 1) (local.get 2)))
    (func (export "init-hello") (param i32 i32 i32)
      (memory.init $hello (local.get 0) (local.get 1) (local.get 2)))
    (func (export "init-digits") (param i32 i32 i32)
      (memory.init $digits (local.get 0) (local.get 1) (local.get 2)))
    (func (export "drop-hello") (data.drop $hello))
    (func (export "load8") (param i32) (result i32) (i32.load8_u (local.get 0)))
    (func (export "load64") (param i32) (result i64) (i64.load (local.get 0))))
  (core instance $a (instantiate $M))
  (core instance $b (instantiate $M))
  (func (export "copy-a") (param "dst" u32) (param "src" u32) (param "len" u32) (canon lift (core func $a "copy")))
  (func (export "fill-a") (param "dst" u32) (param "byte" u32) (param "len" u32) (canon lift (core func $a "fill")))
  (func (export "fill-b") (param "dst" u32) (param "byte" u32) (param "len" u32) (canon lift (core func $b "fill")))
  (func (export "init-hello-a") (param "dst" u32) (param "src" u32) (param "len" u32) (canon lift (core func $a "init-hello")))
  (func (export "init-hello-b") (param "dst" u32) (param "src" u32) (param "len" u32) (canon lift (core func $b "init-hello")))
  (func (export "init-digits-a") (param "dst" u32) (param "src" u32) (param "len" u32) (canon lift (core func $a "init-digits")))
  (func (export "drop-hello-a") (canon lift (core func $a "drop-hello")))
  (func (export "load8-a") (param "addr" u32) (result u32) (canon lift (core func $a "load8")))
  (func (export "load8-b") (param "addr" u32) (result u32) (canon lift (core func $b "load8")))
  (func (export "load64-a") (param "addr" u32) (result u64) (canon lift (core func $a "load64")))
  (func (export "load64-b") (param "addr" u32) (result u64) (canon lift (core func $b "load64")))
)

;; memory.copy, non-overlapping, then overlapping in both directions.
(assert_return (invoke "copy-a" (u32.const 2000) (u32.const 1000) (u32.const 8)))
(assert_return (invoke "load64-a" (u32.const 2000)) (u64.const 0x0807060504030201))
(assert_return (invoke "copy-a" (u32.const 2002) (u32.const 2000) (u32.const 6)))
(assert_return (invoke "load64-a" (u32.const 2000)) (u64.const 0x0605040302010201))
(assert_return (invoke "copy-a" (u32.const 1000) (u32.const 1003) (u32.const 5)))
(assert_return (invoke "load64-a" (u32.const 1000)) (u64.const 0x0807060807060504))
(assert_return (invoke "load64-b" (u32.const 1000)) (u64.const 0x0807060504030201))
(assert_return (invoke "load64-b" (u32.const 2000)) (u64.const 0))
;; A zero-length copy at the very end of memory is in bounds.
(assert_return (invoke "copy-a" (u32.const 65536) (u32.const 65536) (u32.const 0)))

;; memory.fill truncates the value to a byte.
(assert_return (invoke "fill-a" (u32.const 3000) (u32.const 0x1ab) (u32.const 5)))
(assert_return (invoke "load64-a" (u32.const 3000)) (u64.const 0xab_abab_abab))
(assert_return (invoke "load64-a" (u32.const 2999)) (u64.const 0xab_abab_abab_00))
(assert_return (invoke "load8-b" (u32.const 3000)) (u32.const 0))
(assert_return (invoke "fill-b" (u32.const 65535) (u32.const 0x77) (u32.const 1)))
(assert_return (invoke "load8-b" (u32.const 65535)) (u32.const 0x77))
(assert_return (invoke "load8-a" (u32.const 65535)) (u32.const 0))
;; A fill longer than the 64-byte prefix that a reified memory fills before
;; copying it, and than the 32 KiB blocks it copies, at an odd address; then
;; an empty fill at the end.
(assert_return (invoke "fill-b" (u32.const 10001) (u32.const 0x3c) (u32.const 40000)))
(assert_return (invoke "load64-b" (u32.const 10000)) (u64.const 0x3c3c_3c3c_3c3c_3c00))
(assert_return (invoke "load64-b" (u32.const 42765)) (u64.const 0x3c3c_3c3c_3c3c_3c3c))
(assert_return (invoke "load64-b" (u32.const 49994)) (u64.const 0x003c_3c3c_3c3c_3c3c))
(assert_return (invoke "fill-b" (u32.const 65536) (u32.const 0x11) (u32.const 0)))
(assert_return (invoke "load8-b" (u32.const 65534)) (u32.const 0))

;; memory.init from a passive segment, at an offset inside the segment.
(assert_return (invoke "init-hello-a" (u32.const 4000) (u32.const 7) (u32.const 5)))
(assert_return (invoke "load8-a" (u32.const 4000)) (u32.const 0x77))
(assert_return (invoke "load8-a" (u32.const 4004)) (u32.const 0x64))
(assert_return (invoke "load8-a" (u32.const 4005)) (u32.const 0))
(assert_return (invoke "init-digits-a" (u32.const 4005) (u32.const 8) (u32.const 2)))
(assert_return (invoke "load8-a" (u32.const 4006)) (u32.const 0x39))

;; data.drop in instance a: a zero-length init of the dropped segment still
;; works, instance b's segment is intact, and a's other segment too.
(assert_return (invoke "drop-hello-a"))
(assert_return (invoke "drop-hello-a"))
(assert_return (invoke "init-hello-a" (u32.const 5000) (u32.const 0) (u32.const 0)))
(assert_return (invoke "init-hello-b" (u32.const 5000) (u32.const 0) (u32.const 8)))
(assert_return (invoke "load64-b" (u32.const 5000)) (u64.const 0x77202c6f6c6c6568))
(assert_return (invoke "load64-a" (u32.const 5000)) (u64.const 0))
(assert_return (invoke "init-digits-a" (u32.const 5000) (u32.const 0) (u32.const 8)))
(assert_return (invoke "load64-a" (u32.const 5000)) (u64.const 0x3736353433323130))
;; A non-empty init from the dropped segment traps.
(assert_trap (invoke "init-hello-a" (u32.const 5000) (u32.const 0) (u32.const 1)) "out of bounds memory access")

;; Bounds of the bulk operations: each trap gets its own component.
(component
  (core module $M
    (memory 1)
    (data $seg "abcd")
    (func (export "fill") (param i32 i32 i32)
      (memory.fill (local.get 0) (local.get 1) (local.get 2)))
    (func (export "load8") (param i32) (result i32) (i32.load8_u (local.get 0))))
  (core instance $a (instantiate $M))
  (core instance $b (instantiate $M))
  (func (export "fill") (param "dst" u32) (param "byte" u32) (param "len" u32) (canon lift (core func $b "fill")))
  (func (export "load8") (param "addr" u32) (result u32) (canon lift (core func $b "load8")))
)
(assert_return (invoke "fill" (u32.const 65530) (u32.const 1) (u32.const 6)))
(assert_return (invoke "load8" (u32.const 65535)) (u32.const 1))
(assert_trap (invoke "fill" (u32.const 65531) (u32.const 2) (u32.const 6)) "out of bounds memory access")

(component
  (core module $M
    (memory 1)
    (func (export "copy") (param i32 i32 i32)
      (memory.copy (local.get 0) (local.get 1) (local.get 2))))
  (core instance $a (instantiate $M))
  (core instance $b (instantiate $M))
  (func (export "copy") (param "dst" u32) (param "src" u32) (param "len" u32) (canon lift (core func $a "copy")))
)
(assert_trap (invoke "copy" (u32.const 0) (u32.const 0xffff_fff0) (u32.const 0x20)) "out of bounds memory access")

(component
  (core module $M
    (memory 1)
    (data $seg "abcd")
    (func (export "init") (param i32 i32 i32)
      (memory.init $seg (local.get 0) (local.get 1) (local.get 2))))
  (core instance $a (instantiate $M))
  (core instance $b (instantiate $M))
  (func (export "init") (param "dst" u32) (param "src" u32) (param "len" u32) (canon lift (core func $a "init")))
)
(assert_return (invoke "init" (u32.const 0) (u32.const 4) (u32.const 0)))
(assert_trap (invoke "init" (u32.const 0) (u32.const 2) (u32.const 3)) "out of bounds memory access")

;; memory.copy between two memories of one module (multi-memory), with one
;; memory imported from another instance of the same module.
(component
  (core module $M
    (import "peer" "mem" (memory $other 1))
    (memory $own (export "mem") 1)
    (func (export "pull") (param i32 i32 i32)
      (memory.copy $own $other (local.get 0) (local.get 1) (local.get 2)))
    (func (export "store") (param i32 i32) (i32.store $own (local.get 0) (local.get 1)))
    (func (export "load") (param i32) (result i32) (i32.load $own (local.get 0))))
  (core module $Base (memory (export "mem") 1) (data (i32.const 0) "\11\22\33\44"))
  (core instance $base (instantiate $Base))
  (core instance $a (instantiate $M (with "peer" (instance $base))))
  (core instance $b (instantiate $M (with "peer" (instance $a))))
  (func (export "pull-a") (param "dst" u32) (param "src" u32) (param "len" u32) (canon lift (core func $a "pull")))
  (func (export "pull-b") (param "dst" u32) (param "src" u32) (param "len" u32) (canon lift (core func $b "pull")))
  (func (export "load-a") (param "addr" u32) (result u32) (canon lift (core func $a "load")))
  (func (export "load-b") (param "addr" u32) (result u32) (canon lift (core func $b "load")))
)
(assert_return (invoke "pull-a" (u32.const 8) (u32.const 0) (u32.const 4)))
(assert_return (invoke "load-a" (u32.const 8)) (u32.const 0x44332211))
(assert_return (invoke "load-b" (u32.const 8)) (u32.const 0))
(assert_return (invoke "pull-b" (u32.const 17) (u32.const 9) (u32.const 3)))
(assert_return (invoke "load-b" (u32.const 16)) (u32.const 0x44332200))
