;; The same cases as loads-stores.wast with every load and store inside a
;; loop (that runs once): reified memories are accessed inline in loops and
;; through helper calls elsewhere, so this covers the inline form.
;; Loads and stores of every width and sign, with static offsets and
;; unaligned addresses, in a module instantiated twice. Values are little
;; endian; narrow loads sign- or zero-extend; narrow stores truncate.
(component
  (core module $M
    (memory 1)
    (data (i32.const 0) "\80\81\82\83\84\85\86\87\88\89\8a\8b\8c\8d\8e\8f")
    (data (i32.const 16) "\7f\ff\01\00\fe\ff\ff\7f")

    (func (export "i32.load") (param i32) (result i32) (loop (result i32) (i32.load (local.get 0))))
    (func (export "i32.load.off") (param i32) (result i32) (loop (result i32) (i32.load offset=3 (local.get 0))))
    (func (export "i32.load8_s") (param i32) (result i32) (loop (result i32) (i32.load8_s offset=1 (local.get 0))))
    (func (export "i32.load8_u") (param i32) (result i32) (loop (result i32) (i32.load8_u offset=1 (local.get 0))))
    (func (export "i32.load16_s") (param i32) (result i32) (loop (result i32) (i32.load16_s offset=2 (local.get 0))))
    (func (export "i32.load16_u") (param i32) (result i32) (loop (result i32) (i32.load16_u offset=2 (local.get 0))))

    (func (export "i64.load") (param i32) (result i64) (loop (result i64) (i64.load (local.get 0))))
    (func (export "i64.load.off") (param i32) (result i64) (loop (result i64) (i64.load offset=5 (local.get 0))))
    (func (export "i64.load8_s") (param i32) (result i64) (loop (result i64) (i64.load8_s (local.get 0))))
    (func (export "i64.load8_u") (param i32) (result i64) (loop (result i64) (i64.load8_u (local.get 0))))
    (func (export "i64.load16_s") (param i32) (result i64) (loop (result i64) (i64.load16_s offset=1 (local.get 0))))
    (func (export "i64.load16_u") (param i32) (result i64) (loop (result i64) (i64.load16_u offset=1 (local.get 0))))
    (func (export "i64.load32_s") (param i32) (result i64) (loop (result i64) (i64.load32_s offset=7 (local.get 0))))
    (func (export "i64.load32_u") (param i32) (result i64) (loop (result i64) (i64.load32_u offset=7 (local.get 0))))

    (func (export "f32.load") (param i32) (result f32) (loop (result f32) (f32.load offset=2 (local.get 0))))
    (func (export "f64.load") (param i32) (result f64) (loop (result f64) (f64.load offset=6 (local.get 0))))

    (func (export "i32.store") (param i32 i32) (loop (i32.store offset=1 (local.get 0) (local.get 1))))
    (func (export "i32.store8") (param i32 i32) (loop (i32.store8 offset=2 (local.get 0) (local.get 1))))
    (func (export "i32.store16") (param i32 i32) (loop (i32.store16 offset=3 (local.get 0) (local.get 1))))
    (func (export "i64.store") (param i32 i64) (loop (i64.store offset=4 (local.get 0) (local.get 1))))
    (func (export "i64.store8") (param i32 i64) (loop (i64.store8 (local.get 0) (local.get 1))))
    (func (export "i64.store16") (param i32 i64) (loop (i64.store16 offset=1 (local.get 0) (local.get 1))))
    (func (export "i64.store32") (param i32 i64) (loop (i64.store32 offset=2 (local.get 0) (local.get 1))))
    (func (export "f32.store") (param i32 f32) (loop (f32.store offset=3 (local.get 0) (local.get 1))))
    (func (export "f64.store") (param i32 f64) (loop (f64.store offset=1 (local.get 0) (local.get 1))))

    ;; The highest addresses of the page: a full-width access ending exactly
    ;; at the end of memory is in bounds.
    (func (export "store-top") (param i64) (loop (i64.store offset=65528 (i32.const 0) (local.get 0))))
    (func (export "load-top") (result i64) (loop (result i64) (i64.load (i32.const 65528))))
    (func (export "load-top-byte") (result i32) (loop (result i32) (i32.load8_u offset=65535 (i32.const 0)))))
  (core instance $a (instantiate $M))
  (core instance $b (instantiate $M))

  (func (export "a-i32-load") (param "addr" u32) (result u32) (canon lift (core func $a "i32.load")))
  (func (export "a-i32-load-off") (param "addr" u32) (result u32) (canon lift (core func $a "i32.load.off")))
  (func (export "a-i32-load8-s") (param "addr" u32) (result s32) (canon lift (core func $a "i32.load8_s")))
  (func (export "a-i32-load8-u") (param "addr" u32) (result s32) (canon lift (core func $a "i32.load8_u")))
  (func (export "a-i32-load16-s") (param "addr" u32) (result s32) (canon lift (core func $a "i32.load16_s")))
  (func (export "a-i32-load16-u") (param "addr" u32) (result s32) (canon lift (core func $a "i32.load16_u")))
  (func (export "a-i64-load") (param "addr" u32) (result u64) (canon lift (core func $a "i64.load")))
  (func (export "a-i64-load-off") (param "addr" u32) (result u64) (canon lift (core func $a "i64.load.off")))
  (func (export "a-i64-load8-s") (param "addr" u32) (result s64) (canon lift (core func $a "i64.load8_s")))
  (func (export "a-i64-load8-u") (param "addr" u32) (result s64) (canon lift (core func $a "i64.load8_u")))
  (func (export "a-i64-load16-s") (param "addr" u32) (result s64) (canon lift (core func $a "i64.load16_s")))
  (func (export "a-i64-load16-u") (param "addr" u32) (result s64) (canon lift (core func $a "i64.load16_u")))
  (func (export "a-i64-load32-s") (param "addr" u32) (result s64) (canon lift (core func $a "i64.load32_s")))
  (func (export "a-i64-load32-u") (param "addr" u32) (result s64) (canon lift (core func $a "i64.load32_u")))
  (func (export "a-f32-load") (param "addr" u32) (result f32) (canon lift (core func $a "f32.load")))
  (func (export "a-f64-load") (param "addr" u32) (result f64) (canon lift (core func $a "f64.load")))
  (func (export "a-i32-store") (param "addr" u32) (param "v" u32) (canon lift (core func $a "i32.store")))
  (func (export "a-i32-store8") (param "addr" u32) (param "v" u32) (canon lift (core func $a "i32.store8")))
  (func (export "a-i32-store16") (param "addr" u32) (param "v" u32) (canon lift (core func $a "i32.store16")))
  (func (export "a-i64-store") (param "addr" u32) (param "v" u64) (canon lift (core func $a "i64.store")))
  (func (export "a-i64-store8") (param "addr" u32) (param "v" u64) (canon lift (core func $a "i64.store8")))
  (func (export "a-i64-store16") (param "addr" u32) (param "v" u64) (canon lift (core func $a "i64.store16")))
  (func (export "a-i64-store32") (param "addr" u32) (param "v" u64) (canon lift (core func $a "i64.store32")))
  (func (export "a-f32-store") (param "addr" u32) (param "v" f32) (canon lift (core func $a "f32.store")))
  (func (export "a-f64-store") (param "addr" u32) (param "v" f64) (canon lift (core func $a "f64.store")))
  (func (export "a-store-top") (param "v" u64) (canon lift (core func $a "store-top")))
  (func (export "a-load-top") (result u64) (canon lift (core func $a "load-top")))
  (func (export "a-load-top-byte") (result u32) (canon lift (core func $a "load-top-byte")))
  (func (export "b-i32-load") (param "addr" u32) (result u32) (canon lift (core func $b "i32.load")))
  (func (export "b-i64-load") (param "addr" u32) (result u64) (canon lift (core func $b "i64.load")))
  (func (export "b-f64-load") (param "addr" u32) (result f64) (canon lift (core func $b "f64.load")))
  (func (export "b-load-top") (result u64) (canon lift (core func $b "load-top")))
)

;; The data segments, read at every width.
(assert_return (invoke "a-i32-load" (u32.const 0)) (u32.const 0x83828180))
(assert_return (invoke "a-i32-load" (u32.const 1)) (u32.const 0x84838281))
(assert_return (invoke "a-i32-load-off" (u32.const 0)) (u32.const 0x86858483))
(assert_return (invoke "a-i32-load-off" (u32.const 10)) (u32.const 0x7f8f8e8d))
(assert_return (invoke "a-i32-load8-s" (u32.const 0)) (s32.const -127))
(assert_return (invoke "a-i32-load8-u" (u32.const 0)) (s32.const 0x81))
(assert_return (invoke "a-i32-load8-s" (u32.const 15)) (s32.const 0x7f))
(assert_return (invoke "a-i32-load8-s" (u32.const 16)) (s32.const -1))
(assert_return (invoke "a-i32-load16-s" (u32.const 0)) (s32.const -31870))
(assert_return (invoke "a-i32-load16-u" (u32.const 0)) (s32.const 0x8382))
(assert_return (invoke "a-i32-load16-s" (u32.const 15)) (s32.const 0x01ff))
(assert_return (invoke "a-i32-load16-s" (u32.const 14)) (s32.const -129))
(assert_return (invoke "a-i64-load" (u32.const 0)) (u64.const 0x8786858483828180))
(assert_return (invoke "a-i64-load" (u32.const 9)) (u64.const 0x7f8f8e8d8c8b8a89))
(assert_return (invoke "a-i64-load-off" (u32.const 0)) (u64.const 0x8c8b8a8988878685))
(assert_return (invoke "a-i64-load8-s" (u32.const 3)) (s64.const -125))
(assert_return (invoke "a-i64-load8-u" (u32.const 3)) (s64.const 0x83))
(assert_return (invoke "a-i64-load16-s" (u32.const 3)) (s64.const -31356))
(assert_return (invoke "a-i64-load16-u" (u32.const 3)) (s64.const 0x8584))
(assert_return (invoke "a-i64-load16-s" (u32.const 15)) (s64.const -129))
(assert_return (invoke "a-i64-load32-s" (u32.const 0)) (s64.const -1970698105))
(assert_return (invoke "a-i64-load32-u" (u32.const 0)) (s64.const 0x8a898887))
(assert_return (invoke "a-i64-load32-s" (u32.const 13)) (s64.const 0x7ffffffe))
(assert_return (invoke "a-i64-load32-s" (u32.const 14)) (s64.const 0x007fffff))
(assert_return (invoke "a-f32-load" (u32.const 0)) (f32.const -0x1.090704p-116))
(assert_return (invoke "a-f64-load" (u32.const 0)) (f64.const -0x1.c8b8a89888786p-807))

;; Stores at every width, read back through loads of other widths.
(assert_return (invoke "a-i32-store" (u32.const 99) (u32.const 0x44332211)))
(assert_return (invoke "a-i32-load" (u32.const 100)) (u32.const 0x44332211))
(assert_return (invoke "a-i32-load8-u" (u32.const 101)) (s32.const 0x33))
(assert_return (invoke "a-i32-store8" (u32.const 100) (u32.const 0xabcd)))
(assert_return (invoke "a-i32-load" (u32.const 100)) (u32.const 0x44cd2211))
(assert_return (invoke "a-i32-store16" (u32.const 98) (u32.const 0x12345678)))
(assert_return (invoke "a-i32-load" (u32.const 100)) (u32.const 0x44567811))
(assert_return (invoke "a-i64-store" (u32.const 196) (u64.const 0x0807060504030201)))
(assert_return (invoke "a-i64-load" (u32.const 200)) (u64.const 0x0807060504030201))
(assert_return (invoke "a-i64-load16-u" (u32.const 202)) (s64.const 0x0504))
(assert_return (invoke "a-i64-store8" (u32.const 200) (u64.const 0xffff_ffff_ffff_ff99)))
(assert_return (invoke "a-i64-store16" (u32.const 201) (u64.const 0x7777_aabb)))
(assert_return (invoke "a-i64-store32" (u32.const 202) (u64.const 0xdead_beef_cafe_f00d)))
(assert_return (invoke "a-i64-load" (u32.const 200)) (u64.const 0xcafef00daabb0299))
(assert_return (invoke "a-f32-store" (u32.const 297) (f32.const -1.5)))
(assert_return (invoke "a-i32-load" (u32.const 300)) (u32.const 0xbfc00000))
(assert_return (invoke "a-f64-store" (u32.const 399) (f64.const 0x1.23456789abcdep+100)))
(assert_return (invoke "a-i64-load" (u32.const 400)) (u64.const 0x46323456789abcde))
(assert_return (invoke "a-f64-load" (u32.const 394)) (f64.const 0x1.23456789abcdep+100))
(assert_return (invoke "a-f32-store" (u32.const 497) (f32.const nan:0x200001)))
(assert_return (invoke "a-i32-load" (u32.const 500)) (u32.const 0x7fa00001))

;; The last bytes of the memory.
(assert_return (invoke "a-store-top" (u64.const 0xa1a2a3a4a5a6a7a8)))
(assert_return (invoke "a-load-top") (u64.const 0xa1a2a3a4a5a6a7a8))
(assert_return (invoke "a-load-top-byte") (u32.const 0xa1))

;; The other instance saw none of it.
(assert_return (invoke "b-i32-load" (u32.const 100)) (u32.const 0))
(assert_return (invoke "b-i64-load" (u32.const 200)) (u64.const 0))
(assert_return (invoke "b-i64-load" (u32.const 0)) (u64.const 0x8786858483828180))
(assert_return (invoke "b-f64-load" (u32.const 394)) (f64.const 0))
(assert_return (invoke "b-load-top") (u64.const 0))

;; Out of bounds: each trap poisons the component instance, so each case gets
;; its own component, with the module instantiated twice as above.

;; `addr + offset` is computed without wrapping: 1 + 0xffff_ffff is 4 GiB, out
;; of bounds, not address 0 (which holds a non-zero value here).
(component
  (core module $M
    (memory 1)
    (data (i32.const 0) "\2a")
    (func (export "load-wrap") (param i32) (result i32)
      (i32.load8_u offset=0xffffffff (local.get 0)))
    (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0))))
  (core instance $a (instantiate $M))
  (core instance $b (instantiate $M))
  (func (export "load") (param "addr" u32) (result u32) (canon lift (core func $a "load")))
  (func (export "load-wrap") (param "addr" u32) (result u32) (canon lift (core func $b "load-wrap")))
)
(assert_return (invoke "load" (u32.const 0)) (u32.const 42))
(assert_trap (invoke "load-wrap" (u32.const 1)) "out of bounds memory access")

(component
  (core module $M
    (memory 1)
    (data (i32.const 0) "\2a\2a\2a\2a")
    (func (export "store-wrap") (param i32)
      (i32.store offset=0xfffffffc (local.get 0) (i32.const 7))))
  (core instance $a (instantiate $M))
  (core instance $b (instantiate $M))
  (func (export "store-wrap") (param "addr" u32) (canon lift (core func $b "store-wrap")))
)
(assert_trap (invoke "store-wrap" (u32.const 4)) "out of bounds memory access")

(component
  (core module $M
    (memory 1)
    (func (export "load") (param i32) (result i64) (i64.load offset=0xfffffff8 (local.get 0))))
  (core instance $a (instantiate $M))
  (core instance $b (instantiate $M))
  (func (export "load") (param "addr" u32) (result u64) (canon lift (core func $a "load")))
)
(assert_trap (invoke "load" (u32.const 0xffff_ffff)) "out of bounds memory access")

;; A load that starts in bounds and ends past the end of memory traps.
(component
  (core module $M
    (memory 1)
    (func (export "load") (param i32) (result i32) (i32.load offset=1 (local.get 0))))
  (core instance $a (instantiate $M))
  (core instance $b (instantiate $M))
  (func (export "load") (param "addr" u32) (result u32) (canon lift (core func $b "load")))
)
(assert_return (invoke "load" (u32.const 65531)) (u32.const 0))
(assert_trap (invoke "load" (u32.const 65532)) "out of bounds memory access")

;; A store that is partly out of bounds traps and must write nothing (core
;; wasm semantics). After a trap wasmtime refuses every further call into the
;; component ("cannot enter component instance"), so the untouched bytes
;; cannot be read back here; what is checked is that the store traps, with the
;; bytes it would have overwritten holding known values beforehand.
(component
  (core module $M
    (memory 1)
    (func (export "store") (param i32 i64) (i64.store (local.get 0) (local.get 1)))
    (func (export "load") (param i32) (result i32) (i32.load (local.get 0))))
  (core instance $a (instantiate $M))
  (core instance $b (instantiate $M))
  (func (export "store") (param "addr" u32) (param "v" u64) (canon lift (core func $a "store")))
  (func (export "load") (param "addr" u32) (result u32) (canon lift (core func $a "load")))
)
(assert_return (invoke "store" (u32.const 65528) (u64.const 0x1111111122222222)))
(assert_return (invoke "load" (u32.const 65532)) (u32.const 0x11111111))
(assert_trap (invoke "store" (u32.const 65532) (u64.const 0x3333333344444444)) "out of bounds memory access")

;; A function whose memory is cached in locals (it has a loop) and that also
;; sets an exported (boxed) mutable i64 global: setting the global must not
;; reuse the local holding the memory's cached byte length, or the next
;; access compares against the global's value and traps. Found by the
;; differential fuzzer.
(component
  (core module $M
    (memory 1)
    (global $g (export "g") (mut i64) (i64.const 0))
    (func (export "set-then-load") (param i32) (result i32)
      (global.set $g (i64.const 0))
      (loop (result i32) (i32.load (local.get 0)))))
  (core instance $a (instantiate $M))
  (core instance $b (instantiate $M))
  (func (export "set-then-load") (param "addr" u32) (result u32) (canon lift (core func $b "set-then-load")))
)
(assert_return (invoke "set-then-load" (u32.const 100)) (u32.const 0))
(assert_return (invoke "set-then-load" (u32.const 65532)) (u32.const 0))
(assert_trap (invoke "set-then-load" (u32.const 65533)) "out of bounds memory access")
