;; A memory defined by one core instance and imported by two others (two
;; instances of the same importing module): a store or a `memory.grow` through
;; any of them is seen by all three, and growing past the maximum fails with -1
;; without changing the size.
(component
  (core module $Owner
    (memory (export "mem") 1 4)
    (func (export "size") (result i32) (memory.size))
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
    (func (export "load") (param i32) (result i32) (i32.load (local.get 0))))
  (core module $User
    (import "owner" "mem" (memory 1 4))
    (global $base (mut i32) (i32.const 0))
    (func (export "size") (result i32) (memory.size))
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
    (func (export "store") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
    (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
    ;; Writes at the last word of the memory as it is now.
    (func (export "store-last") (param i32)
      (i32.store (i32.sub (i32.mul (memory.size) (i32.const 65536)) (i32.const 4))
        (local.get 0)))
    (func (export "load-last") (result i32)
      (i32.load (i32.sub (i32.mul (memory.size) (i32.const 65536)) (i32.const 4)))))
  (core instance $owner (instantiate $Owner))
  (core instance $u1 (instantiate $User (with "owner" (instance $owner))))
  (core instance $u2 (instantiate $User (with "owner" (instance $owner))))
  (func (export "owner-size") (result u32) (canon lift (core func $owner "size")))
  (func (export "owner-grow") (param "pages" u32) (result s32) (canon lift (core func $owner "grow")))
  (func (export "owner-load") (param "addr" u32) (result u32) (canon lift (core func $owner "load")))
  (func (export "u1-size") (result u32) (canon lift (core func $u1 "size")))
  (func (export "u2-size") (result u32) (canon lift (core func $u2 "size")))
  (func (export "u1-grow") (param "pages" u32) (result s32) (canon lift (core func $u1 "grow")))
  (func (export "u2-grow") (param "pages" u32) (result s32) (canon lift (core func $u2 "grow")))
  (func (export "u1-store") (param "addr" u32) (param "v" u32) (canon lift (core func $u1 "store")))
  (func (export "u2-load") (param "addr" u32) (result u32) (canon lift (core func $u2 "load")))
  (func (export "u1-store-last") (param "v" u32) (canon lift (core func $u1 "store-last")))
  (func (export "u2-load-last") (result u32) (canon lift (core func $u2 "load-last")))
)

(assert_return (invoke "owner-size") (u32.const 1))
(assert_return (invoke "u1-size") (u32.const 1))
(assert_return (invoke "u2-size") (u32.const 1))

;; A store through one importer is seen by the other importer and the owner.
(assert_return (invoke "u1-store" (u32.const 100) (u32.const 0xdeadbeef)))
(assert_return (invoke "u2-load" (u32.const 100)) (u32.const 0xdeadbeef))
(assert_return (invoke "owner-load" (u32.const 100)) (u32.const 0xdeadbeef))

;; Grown by an importer: the old size is returned, everyone sees the new size,
;; and the old contents survive the grow.
(assert_return (invoke "u1-grow" (u32.const 1)) (s32.const 1))
(assert_return (invoke "owner-size") (u32.const 2))
(assert_return (invoke "u1-size") (u32.const 2))
(assert_return (invoke "u2-size") (u32.const 2))
(assert_return (invoke "u2-load" (u32.const 100)) (u32.const 0xdeadbeef))

;; The new page is usable through the other importer.
(assert_return (invoke "u1-store-last" (u32.const 77)))
(assert_return (invoke "u2-load-last") (u32.const 77))
(assert_return (invoke "owner-load" (u32.const 131068)) (u32.const 77))
(assert_return (invoke "u2-load" (u32.const 131068)) (u32.const 77))

;; Grown by the owner and by the second importer.
(assert_return (invoke "owner-grow" (u32.const 1)) (s32.const 2))
(assert_return (invoke "u2-grow" (u32.const 0)) (s32.const 3))
(assert_return (invoke "u1-size") (u32.const 3))
(assert_return (invoke "u2-load-last") (u32.const 0))
(assert_return (invoke "u2-load" (u32.const 131068)) (u32.const 77))

;; Past the maximum of 4 pages: -1, and nothing changes.
(assert_return (invoke "u2-grow" (u32.const 2)) (s32.const -1))
(assert_return (invoke "owner-grow" (u32.const 0x10000)) (s32.const -1))
(assert_return (invoke "u1-grow" (u32.const 0xffff_ffff)) (s32.const -1))
(assert_return (invoke "owner-size") (u32.const 3))
(assert_return (invoke "u1-size") (u32.const 3))
(assert_return (invoke "u2-size") (u32.const 3))

;; Up to the maximum exactly, then one more page fails.
(assert_return (invoke "u2-grow" (u32.const 1)) (s32.const 3))
(assert_return (invoke "u1-size") (u32.const 4))
(assert_return (invoke "owner-grow" (u32.const 1)) (s32.const -1))
(assert_return (invoke "u1-store-last" (u32.const 5)))
(assert_return (invoke "owner-load" (u32.const 262140)) (u32.const 5))
(assert_return (invoke "u2-load" (u32.const 100)) (u32.const 0xdeadbeef))

;; A memory without a declared maximum, exported by an instance of a module
;; that is itself instantiated twice: each owner's memory is shared only with
;; its own importer.
(component
  (core module $Owner
    (memory (export "mem") 0)
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))
  (core module $User
    (import "owner" "mem" (memory 0))
    (func (export "size") (result i32) (memory.size))
    (func (export "store8") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
    (func (export "load8") (param i32) (result i32) (i32.load8_u (local.get 0))))
  (core instance $o1 (instantiate $Owner))
  (core instance $o2 (instantiate $Owner))
  (core instance $u1 (instantiate $User (with "owner" (instance $o1))))
  (core instance $u2 (instantiate $User (with "owner" (instance $o2))))
  (func (export "grow-1") (param "pages" u32) (result s32) (canon lift (core func $o1 "grow")))
  (func (export "grow-2") (param "pages" u32) (result s32) (canon lift (core func $o2 "grow")))
  (func (export "size-1") (result u32) (canon lift (core func $u1 "size")))
  (func (export "size-2") (result u32) (canon lift (core func $u2 "size")))
  (func (export "store8-1") (param "addr" u32) (param "v" u32) (canon lift (core func $u1 "store8")))
  (func (export "store8-2") (param "addr" u32) (param "v" u32) (canon lift (core func $u2 "store8")))
  (func (export "load8-1") (param "addr" u32) (result u32) (canon lift (core func $u1 "load8")))
  (func (export "load8-2") (param "addr" u32) (result u32) (canon lift (core func $u2 "load8")))
)

(assert_return (invoke "size-1") (u32.const 0))
(assert_return (invoke "size-2") (u32.const 0))
(assert_return (invoke "grow-1" (u32.const 2)) (s32.const 0))
(assert_return (invoke "size-1") (u32.const 2))
(assert_return (invoke "size-2") (u32.const 0))
(assert_return (invoke "store8-1" (u32.const 70000) (u32.const 9)))
(assert_return (invoke "load8-1" (u32.const 70000)) (u32.const 9))
(assert_return (invoke "grow-2" (u32.const 1)) (s32.const 0))
(assert_return (invoke "load8-2" (u32.const 0)) (u32.const 0))
(assert_return (invoke "store8-2" (u32.const 65535) (u32.const 3)))
(assert_return (invoke "load8-1" (u32.const 65535)) (u32.const 0))
(assert_return (invoke "load8-2" (u32.const 65535)) (u32.const 3))
;; A trap poisons the component instance, so it comes last.
(assert_trap (invoke "load8-2" (u32.const 70000)) "out of bounds memory access")

;; An access to a memory of zero pages traps; growing it makes the access
;; valid. Two component instances of one nested component: growing the memory
;; of one does not make accesses to the other's valid.
(component
  (component $C
    (core module $Owner
      (memory (export "mem") 0)
      (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))
    (core module $User
      (import "owner" "mem" (memory 0))
      (func (export "store8") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
      (func (export "load8") (param i32) (result i32) (i32.load8_u (local.get 0))))
    (core instance $o (instantiate $Owner))
    (core instance $u (instantiate $User (with "owner" (instance $o))))
    (func (export "grow") (param "pages" u32) (result s32) (canon lift (core func $o "grow")))
    (func (export "store8") (param "addr" u32) (param "v" u32) (canon lift (core func $u "store8")))
    (func (export "load8") (param "addr" u32) (result u32) (canon lift (core func $u "load8"))))
  (instance $c1 (instantiate $C))
  (instance $c2 (instantiate $C))
  (func (export "store8-1") (alias export $c1 "store8"))
  (func (export "load8-2") (alias export $c2 "load8"))
  (func (export "grow-2") (alias export $c2 "grow"))
  (func (export "store8-2") (alias export $c2 "store8"))
)

(assert_return (invoke "grow-2" (u32.const 1)) (s32.const 0))
(assert_return (invoke "store8-2" (u32.const 0) (u32.const 0x1ff)))
(assert_return (invoke "load8-2" (u32.const 0)) (u32.const 0xff))
(assert_trap (invoke "store8-1" (u32.const 0) (u32.const 1)) "out of bounds memory access")
