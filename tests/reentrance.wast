;; Reentrance: a component may not call into its own child instance while it is
;; running (the call might re-enter it). The child component is instantiated
;; twice. After the trap the component cannot be entered again.
(component definition $Parent
  (component $Child
    (core module $M
      (global $n (mut i32) (i32.const 0))
      (func (export "bump") (result i32)
        (global.set $n (i32.add (global.get $n) (i32.const 1)))
        (global.get $n)))
    (core instance $m (instantiate $M))
    (func (export "bump") (result u32) (canon lift (core func $m "bump"))))
  (instance $c1 (instantiate $Child))
  (instance $c2 (instantiate $Child))
  (core func $bump (canon lower (func $c1 "bump")))
  (core module $P
    (import "" "bump" (func $bump (result i32)))
    (func (export "call-child") (result i32) (call $bump)))
  (core instance $p (instantiate $P (with "" (instance (export "bump" (func $bump))))))
  (func (export "call-child") (result u32) (canon lift (core func $p "call-child")))
  (export "bump-1" (func $c1 "bump"))
  (export "bump-2" (func $c2 "bump"))
)

(component instance $a $Parent)
(assert_return (invoke $a "bump-1") (u32.const 1))
(assert_trap (invoke $a "call-child") "cannot enter component instance")
(assert_trap (invoke $a "bump-1") "cannot enter component instance")

;; A fresh instance is unaffected.
(component instance $b $Parent)
(assert_return (invoke $b "bump-2") (u32.const 1))
(assert_return (invoke $b "bump-2") (u32.const 2))
(assert_return (invoke $b "bump-1") (u32.const 1))
