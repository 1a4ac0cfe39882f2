;; Active data segments of a module instantiated once: applied in order (a later segment
;; overwrites an earlier one), up to the very end of memory, dropped once applied; a segment
;; out of bounds traps the instantiation, after the segments before it.
(component
  (core module $M
    (memory 1)
    (data (i32.const 0) "\01\02\03\04")
    (data (i32.const 2) "\aa\bb")
    (data (i32.const 65532) "\05\06\07\08")
    (data (i32.const 65536) "")
    (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
    (func (export "init") (param i32) (memory.init 1 (i32.const 100) (i32.const 0) (local.get 0)))
    (func (export "drop") (data.drop 0)))
  (core instance $m (instantiate $M))
  (func (export "load") (param "addr" u32) (result u32) (canon lift (core func $m "load")))
  (func (export "init") (param "len" u32) (canon lift (core func $m "init")))
  (func (export "drop") (canon lift (core func $m "drop")))
)
(assert_return (invoke "load" (u32.const 0)) (u32.const 0xbbaa0201))
(assert_return (invoke "load" (u32.const 65532)) (u32.const 0x08070605))
(assert_return (invoke "drop"))
(assert_return (invoke "init" (u32.const 0)))
(assert_trap (invoke "init" (u32.const 1)) "out of bounds memory access")

;; One segment of the memory out of bounds: none of its segments can stay active, and the
;; instantiation traps.
(assert_trap
  (component
    (core module $M
      (memory 1)
      (data (i32.const 0) "\01")
      (data (i32.const 65535) "\02\03"))
    (core instance (instantiate $M)))
  "out of bounds memory access")

;; An offset from an imported global.
(component
  (core module $G (global (export "g") i32 (i32.const 8)))
  (core instance $g (instantiate $G))
  (core module $M
    (import "g" "g" (global $off i32))
    (memory 1)
    (data (global.get $off) "\2a")
    (data (i32.const 9) "\2b")
    (func (export "load") (param i32) (result i32) (i32.load16_u (local.get 0))))
  (core instance $m (instantiate $M (with "g" (instance $g))))
  (func (export "load") (param "addr" u32) (result u32) (canon lift (core func $m "load")))
)
(assert_return (invoke "load" (u32.const 8)) (u32.const 0x2b2a))
