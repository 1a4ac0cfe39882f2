;; A non-nullable function reference, `(ref func)`, is a different type from
;; `funcref`: in a module whose state is reified (here, instantiated twice), where
;; `funcref` becomes a closure, gc-lower names it as unsupported rather than merging
;; the two. (Instantiated once, the module would keep its types.)
(component
  (core module $M
    (type $a (func (param (ref func)) (result i32)))
    (func $f (type $a) (i32.const 1))
    (func (export "g") (result i32) (call $f (ref.func $f)))
    (elem declare func $f))
  (core instance $i (instantiate $M))
  (core instance $j (instantiate $M))
  (func (export "g") (result u32) (canon lift (core func $i "g")))
  (func (export "h") (result u32) (canon lift (core func $j "g"))))
