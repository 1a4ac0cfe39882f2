;; Components that do not link: an import the host does not have, and one it has with
;; another type. Natively and lowered (re-wrapped), instantiation must fail.

(assert_unlinkable
  (component
    (import "host-return-three" (func $f (result u32)))
    (core func $f (canon lower (func $f)))
    (core module $M (import "" "f" (func (result i32))))
    (core instance (instantiate $M (with "" (instance (export "f" (func $f)))))))
  "host-return-three")

(assert_unlinkable
  (component
    (import "host-return-two" (func $f (param "x" u32) (result u32)))
    (core func $f (canon lower (func $f)))
    (core module $M (import "" "f" (func (param i32) (result i32))))
    (core instance (instantiate $M (with "" (instance (export "f" (func $f)))))))
  "host-return-two")

;; The same import with its right type links.
(component
  (import "host-return-two" (func $f (result u32)))
  (core func $f (canon lower (func $f)))
  (core module $M
    (import "" "f" (func $f (result i32)))
    (func (export "g") (result i32) (call $f)))
  (core instance $i (instantiate $M (with "" (instance (export "f" (func $f))))))
  (func (export "g") (result u32) (canon lift (core func $i "g"))))
(assert_return (invoke "g") (u32.const 2))
