;; A module instantiated twice loading from memory 7 with one memory: the rewrite of
;; reified modules indexed the memory list with it and panicked, before function bodies were
;; validated. Every entry point must reject it.
(component
  (core module $M
    (memory 1)
    (func (export "f") (result i32) (i32.load 7 (i32.const 0))))
  (core instance $a (instantiate $M))
  (core instance $b (instantiate $M))
  (func (export "f") (result s32) (canon lift (core func $a "f"))))
