;; Atomic instructions on an unshared memory, in modules instantiated once: with `--reify
;; auto` the memory stays native and the atomics pass through; with `--reify all` the module is
;; reified and atomics on a reified memory are reported as not supported yet (skipped).
(component
  (core module $M
    (memory 1 1)
    (data (i32.const 8) "\01\00\00\00\00\00\00\00")
    (func (export "load") (param i32) (result i32) (i32.atomic.load (local.get 0)))
    (func (export "load64") (param i32) (result i64) (i64.atomic.load (local.get 0)))
    (func (export "store") (param i32 i32) (i32.atomic.store (local.get 0) (local.get 1)))
    (func (export "add") (param i32 i32) (result i32)
      (i32.atomic.rmw.add (local.get 0) (local.get 1)))
    (func (export "sub8") (param i32 i32) (result i32)
      (i32.atomic.rmw8.sub_u (local.get 0) (local.get 1)))
    (func (export "xchg64") (param i32 i64) (result i64)
      (i64.atomic.rmw.xchg (local.get 0) (local.get 1)))
    (func (export "cmpxchg") (param i32 i32 i32) (result i32)
      (i32.atomic.rmw.cmpxchg (local.get 0) (local.get 1) (local.get 2)))
    (func (export "notify") (param i32 i32) (result i32)
      (memory.atomic.notify (local.get 0) (local.get 1)))
    (func (export "wait") (param i32 i32) (result i32)
      (memory.atomic.wait32 (local.get 0) (local.get 1) (i64.const 0)))
    (func (export "fence") atomic.fence))
  (core instance $m (instantiate $M))
  (func (export "load") (param "addr" u32) (result u32) (canon lift (core func $m "load")))
  (func (export "load64") (param "addr" u32) (result u64) (canon lift (core func $m "load64")))
  (func (export "store") (param "addr" u32) (param "v" u32) (canon lift (core func $m "store")))
  (func (export "add") (param "addr" u32) (param "v" u32) (result u32) (canon lift (core func $m "add")))
  (func (export "sub8") (param "addr" u32) (param "v" u32) (result u32) (canon lift (core func $m "sub8")))
  (func (export "xchg64") (param "addr" u32) (param "v" u64) (result u64) (canon lift (core func $m "xchg64")))
  (func (export "cmpxchg") (param "addr" u32) (param "expected" u32) (param "v" u32) (result u32) (canon lift (core func $m "cmpxchg")))
  (func (export "notify") (param "addr" u32) (param "count" u32) (result u32) (canon lift (core func $m "notify")))
  (func (export "wait") (param "addr" u32) (param "expected" u32) (result u32) (canon lift (core func $m "wait")))
  (func (export "fence") (canon lift (core func $m "fence")))
)

(assert_return (invoke "load" (u32.const 8)) (u32.const 1))
(assert_return (invoke "add" (u32.const 8) (u32.const 41)) (u32.const 1))
(assert_return (invoke "load" (u32.const 8)) (u32.const 42))
(assert_return (invoke "sub8" (u32.const 8) (u32.const 43)) (u32.const 42))
(assert_return (invoke "load" (u32.const 8)) (u32.const 0xff))
(assert_return (invoke "cmpxchg" (u32.const 8) (u32.const 0) (u32.const 7)) (u32.const 0xff))
(assert_return (invoke "cmpxchg" (u32.const 8) (u32.const 0xff) (u32.const 7)) (u32.const 0xff))
(assert_return (invoke "load" (u32.const 8)) (u32.const 7))
(assert_return (invoke "xchg64" (u32.const 8) (u64.const 0x1_0000_0002)) (u64.const 7))
(assert_return (invoke "load64" (u32.const 8)) (u64.const 0x1_0000_0002))
(assert_return (invoke "store" (u32.const 16) (u32.const 5)))
(assert_return (invoke "load" (u32.const 16)) (u32.const 5))
(assert_return (invoke "notify" (u32.const 16) (u32.const 1)) (u32.const 0))
(assert_return (invoke "fence"))
;; `memory.atomic.wait32` on an unshared memory traps.
(assert_trap (invoke "wait" (u32.const 16) (u32.const 5)) "atomic wait on non-shared memory")

;; An unaligned atomic access traps, an aligned one at the end of memory does not.
(component
  (core module $M
    (memory 1 1)
    (func (export "load") (param i32) (result i32) (i32.atomic.load (local.get 0))))
  (core instance $m (instantiate $M))
  (func (export "load") (param "addr" u32) (result u32) (canon lift (core func $m "load")))
)
(assert_return (invoke "load" (u32.const 65532)) (u32.const 0))
(assert_trap (invoke "load" (u32.const 2)) "unaligned atomic")

;; An out-of-bounds atomic access traps.
(component
  (core module $M
    (memory 1 1)
    (func (export "add") (param i32) (result i32) (i32.atomic.rmw.add (local.get 0) (i32.const 1))))
  (core instance $m (instantiate $M))
  (func (export "add") (param "addr" u32) (result u32) (canon lift (core func $m "add")))
)
(assert_trap (invoke "add" (u32.const 65536)) "out of bounds memory access")
