;; Which tables of reified modules become static tables (one output table for
;; every instance, `call_indirect` with the caller's vmctx): only `$Own`'s.
;; Each other module breaks one condition and keeps a table box. Every module
;; is instantiated twice, so `--reify auto` reifies it.
(component
  (core module $Lib
    (func (export "ext") (param i32) (result i32) (local.get 0)))
  (core instance $lib (instantiate $Lib))
  ;; Qualifies: private, filled by active segments at constant offsets with the
  ;; module's own functions and nulls, reached by `call_indirect` and
  ;; `table.size` only.
  (core module $Own
    (type $op (func (param i32) (result i32)))
    (table 4 funcref)
    (func $f (type $op) (local.get 0))
    (elem (i32.const 0) func $f $f)
    (elem (table 0) (i32.const 3) funcref (ref.null func))
    (func (export "call") (param i32) (result i32)
      (call_indirect (type $op) (i32.const 1) (local.get 0)))
    (func (export "size") (result i32) (table.size 0)))
  ;; Exported.
  (core module $Exported
    (type $op (func (param i32) (result i32)))
    (table (export "t") 2 funcref)
    (func $f (type $op) (local.get 0))
    (elem (i32.const 0) func $f)
    (func (export "call") (param i32) (result i32)
      (call_indirect (type $op) (i32.const 1) (local.get 0))))
  ;; Read with `table.get`.
  (core module $Gets
    (table 2 funcref)
    (func $f)
    (elem (i32.const 0) func $f)
    (func (export "get") (result funcref) (table.get 0 (i32.const 0))))
  ;; Written with `table.set`.
  (core module $Sets
    (table 2 funcref)
    (func $f)
    (elem declare func $f)
    (func (export "set") (table.set 0 (i32.const 1) (ref.func $f))))
  ;; Grown.
  (core module $Grows
    (table 2 funcref)
    (func (export "grow") (result i32) (table.grow 0 (ref.null func) (i32.const 1))))
  ;; Filled by `table.init` from a passive segment.
  (core module $Inits
    (table 2 funcref)
    (func $f)
    (elem $p func $f)
    (func (export "init") (table.init 0 $p (i32.const 0) (i32.const 0) (i32.const 1))))
  ;; Holds an imported function.
  (core module $Imports
    (type $op (func (param i32) (result i32)))
    (import "lib" "ext" (func $ext (type $op)))
    (table 2 funcref)
    (elem (i32.const 0) func $ext)
    (func (export "call") (param i32) (result i32)
      (call_indirect (type $op) (i32.const 1) (local.get 0))))
  ;; A segment at an offset that is not a constant.
  (core module $Offset
    (global $at i32 (i32.const 1))
    (table 2 funcref)
    (func $f)
    (elem (global.get $at) func $f))
  ;; A segment past the table's initial size (instantiation would trap).
  (core module $Past
    (table 1 funcref)
    (func $f)
    (elem (i32.const 1) func $f))
  ;; Larger than the runtime's limit of 10 000 000 elements (instantiation would trap).
  (core module $Huge
    (table 10000001 funcref))
  (core instance $own1 (instantiate $Own))
  (core instance $own2 (instantiate $Own))
  (core instance $exported1 (instantiate $Exported))
  (core instance $exported2 (instantiate $Exported))
  (core instance $gets1 (instantiate $Gets))
  (core instance $gets2 (instantiate $Gets))
  (core instance $sets1 (instantiate $Sets))
  (core instance $sets2 (instantiate $Sets))
  (core instance $grows1 (instantiate $Grows))
  (core instance $grows2 (instantiate $Grows))
  (core instance $inits1 (instantiate $Inits))
  (core instance $inits2 (instantiate $Inits))
  (core instance $imports1 (instantiate $Imports (with "lib" (instance $lib))))
  (core instance $imports2 (instantiate $Imports (with "lib" (instance $lib))))
  (core instance $offset1 (instantiate $Offset))
  (core instance $offset2 (instantiate $Offset))
  (core instance $past1 (instantiate $Past))
  (core instance $past2 (instantiate $Past))
  (core instance $huge1 (instantiate $Huge))
  (core instance $huge2 (instantiate $Huge))
  (func (export "call") (param "x" u32) (result u32) (canon lift (core func $own1 "call")))
  (func (export "size") (result u32) (canon lift (core func $own2 "size"))))
