;; Named core modules with named state, for the output's name section: every index space
;; the extended name section covers.
;;
;; `$Shared` is instantiated twice, so its memory, boxed table (`$slots`), globals, element
;; and data segments become vmctx fields (named in the fields subsection), and its static
;; table (`$callbacks`: private, filled once with its own functions) an output table;
;; `$Single` keeps its state in the output's own index spaces unless `--reify all`, where its
;; table is static too.
(component
  (core module $Shared
    (type $unary (func (param i32) (result i32)))
    (memory $heap 1)
    (table $callbacks 1 funcref)
    (table $slots 1 funcref)
    (global $counter (mut i32) (i32.const 0))
    (func $bump (type $unary) (global.set $counter (i32.add (global.get $counter) (local.get 0)))
      (global.get $counter))
    (elem $init (i32.const 0) func $bump)
    (data $greeting (i32.const 8) "hi")
    (func (export "run") (result i32)
      (table.set $slots (i32.const 0) (ref.func $bump))
      (call_indirect $callbacks (type $unary) (i32.load8_u $heap (i32.const 8)) (i32.const 0))))
  (core module $Single
    (memory $arena 1)
    (table $handlers 1 funcref)
    (global $limit i32 (i32.const 7))
    (func $seven (result i32) (global.get $limit))
    (elem $handlers_init (i32.const 0) func $seven)
    (data $banner (i32.const 0) "x")
    (func (export "run") (result i32) (i32.load8_u $arena (i32.const 0))))

  (core instance $a (instantiate $Shared))
  (core instance $b (instantiate $Shared))
  (core instance $c (instantiate $Single))

  (func (export "shared-run") (result s32) (canon lift (core func $a "run")))
  (func (export "single-run") (result s32) (canon lift (core func $c "run")))
)
