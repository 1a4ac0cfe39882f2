;; `elem.drop` of element segment 3 in a module with one segment.
;; expect: unknown elem segment
(component
  (core module $M
    (table 1 funcref)
    (elem func 0)
    (func (export "f") (result i32) (elem.drop 3) (i32.const 0)))
  (core instance $a (instantiate $M))
  (core instance $b (instantiate $M))
  (func (export "f") (result s32) (canon lift (core func $a "f"))))
