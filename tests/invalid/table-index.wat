;; A read of table 2 in a module with one table.
;; expect: unknown table
(component
  (core module $M
    (table 1 funcref)
    (func (export "f") (result i32) (ref.is_null (table.get 2 (i32.const 0)))))
  (core instance $a (instantiate $M))
  (core instance $b (instantiate $M))
  (func (export "f") (result s32) (canon lift (core func $a "f"))))
