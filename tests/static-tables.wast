;; Tables that hold the same functions in every instance, for good: a module's
;; own funcref table, filled by active segments at constant offsets with its own
;; functions, named by no export and by no instruction but `call_indirect`,
;; `return_call_indirect` and `table.size` (clang's and rustc's
;; `__indirect_function_table`). A reified module's such table is one output
;; table for all its instances, and each call passes the caller's vmctx
;; (`gc-lower IN --plan` shows it as a static table). The callee must run with
;; the calling instance's state: globals, memory (grown by the callee while the
;; caller loops over it), and its own further indirect calls.
;; Each trap gets a fresh instance (a trap poisons the component instance).

(component definition $two
  (core module $M
    (type $op (func (param i32) (result i32)))
    (type $none (func))
    (import "cfg" "base" (global $base i32))
    (memory 1)
    (global $calls (mut i32) (i32.const 0))
    (table $t 8 funcref)
    ;; Slots: 0 null, 1 $add, 2 $grow, 3 $twice, 4 $tail, 5 $bump (type $none),
    ;; 6 null, 7 $add again (a second segment).
    (elem (i32.const 1) func $add $grow $twice $tail $bump)
    (elem (table $t) (i32.const 7) funcref (ref.func $add))
    (func $add (type $op)
      (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
      (i32.add (local.get 0) (global.get $base)))
    ;; Grows the memory by one page and writes the caller's argument at the new
    ;; page's first word; returns the old size in pages.
    (func $grow (type $op) (local $old i32)
      (local.set $old (memory.grow (i32.const 1)))
      (i32.store (i32.mul (local.get $old) (i32.const 65536)) (local.get 0))
      (local.get $old))
    ;; Calls slot 1 through the table twice: nested indirect calls.
    (func $twice (type $op)
      (call_indirect (type $op)
        (call_indirect (type $op) (local.get 0) (i32.const 1)) (i32.const 1)))
    ;; A tail call through the table.
    (func $tail (type $op)
      (return_call_indirect (type $op) (i32.add (local.get 0) (i32.const 1000)) (i32.const 7)))
    (func $bump (type $none)
      (global.set $calls (i32.add (global.get $calls) (i32.const 100))))
    (func (export "call") (param i32 i32) (result i32)
      (call_indirect (type $op) (local.get 1) (local.get 0)))
    (func (export "bump") (param i32)
      (call_indirect (type $none) (local.get 0)))
    (func (export "calls") (result i32) (global.get $calls))
    (func (export "size") (result i32) (table.size $t))
    ;; Sums the memory's first word of every page, calling slot `$f` (with the
    ;; loop counter) between reads: when the callee grows the memory, the loop
    ;; must see the new page and what the callee wrote there.
    (func (export "grow-loop") (param $f i32) (param $n i32) (result i32)
      (local $i i32) (local $sum i32)
      (block $done
        (loop $l
          (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
          (drop (call_indirect (type $op) (i32.add (local.get $i) (i32.const 10)) (local.get $f)))
          (local.set $sum (i32.add (local.get $sum)
            (i32.load (i32.mul (i32.add (local.get $i) (i32.const 1)) (i32.const 65536)))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $l)))
      (local.get $sum))
    (func (export "pages") (result i32) (memory.size)))
  (core module $Base1 (global (export "base") i32 (i32.const 1)))
  (core module $Base100 (global (export "base") i32 (i32.const 100)))
  (core instance $c1 (instantiate $Base1))
  (core instance $c100 (instantiate $Base100))
  (core instance $a (instantiate $M (with "cfg" (instance $c1))))
  (core instance $b (instantiate $M (with "cfg" (instance $c100))))
  (func (export "call-a") (param "slot" u32) (param "x" u32) (result u32) (canon lift (core func $a "call")))
  (func (export "call-b") (param "slot" u32) (param "x" u32) (result u32) (canon lift (core func $b "call")))
  (func (export "bump-b") (param "slot" u32) (canon lift (core func $b "bump")))
  (func (export "calls-a") (result u32) (canon lift (core func $a "calls")))
  (func (export "calls-b") (result u32) (canon lift (core func $b "calls")))
  (func (export "size-b") (result u32) (canon lift (core func $b "size")))
  (func (export "grow-loop-a") (param "slot" u32) (param "n" u32) (result u32) (canon lift (core func $a "grow-loop")))
  (func (export "pages-a") (result u32) (canon lift (core func $a "pages")))
  (func (export "pages-b") (result u32) (canon lift (core func $b "pages"))))

(component instance $i1 $two)
(assert_return (invoke "call-a" (u32.const 1) (u32.const 5)) (u32.const 6))
(assert_return (invoke "call-b" (u32.const 1) (u32.const 5)) (u32.const 105))
(assert_return (invoke "call-b" (u32.const 7) (u32.const 5)) (u32.const 105))
(assert_return (invoke "call-a" (u32.const 3) (u32.const 5)) (u32.const 7))
(assert_return (invoke "call-b" (u32.const 3) (u32.const 5)) (u32.const 205))
(assert_return (invoke "call-a" (u32.const 4) (u32.const 5)) (u32.const 1006))
(assert_return (invoke "call-b" (u32.const 4) (u32.const 5)) (u32.const 1105))
(assert_return (invoke "calls-a") (u32.const 4))
(assert_return (invoke "calls-b") (u32.const 5))
(assert_return (invoke "bump-b" (u32.const 5)))
(assert_return (invoke "calls-a") (u32.const 4))
(assert_return (invoke "calls-b") (u32.const 105))
(assert_return (invoke "size-b") (u32.const 8))
(assert_return (invoke "call-b" (u32.const 2) (u32.const 77)) (u32.const 1))
(assert_return (invoke "pages-a") (u32.const 1))
(assert_return (invoke "pages-b") (u32.const 2))
;; 10 + 11 + 12: each call grows instance a's memory and writes its argument
;; at the new page, which the caller's loop reads next.
(assert_return (invoke "grow-loop-a" (u32.const 2) (u32.const 3)) (u32.const 33))
(assert_return (invoke "pages-a") (u32.const 4))
(assert_return (invoke "pages-b") (u32.const 2))
;; A function of another type in the slot.
(assert_trap (invoke "call-b" (u32.const 5) (u32.const 1)) "indirect call type mismatch")

(component instance $i2 $two)
(assert_trap (invoke "call-a" (u32.const 6) (u32.const 1)) "uninitialized element")

(component instance $i3 $two)
(assert_trap (invoke "call-b" (u32.const 8) (u32.const 1)) "undefined element")

(component instance $i4 $two)
(assert_trap (invoke "call-a" (u32.const 0xffffffff) (u32.const 1)) "undefined element")
