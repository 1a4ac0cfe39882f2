;; An `i32.load` aligned to 8 bytes.
;; expect: alignment must not be larger than natural
(component
  (core module $M
    (memory 1)
    (func (export "f") (result i32) (i32.load align=8 (i32.const 0))))
  (core instance $a (instantiate $M))
  (core instance $b (instantiate $M))
  (func (export "f") (result s32) (canon lift (core func $a "f"))))
