;; A callee's realloc that returns a misaligned or out-of-bounds pointer traps
;; in the adapter, before the callee runs. The callee component is instantiated
;; twice (its memory is reified); each case gets its own instance.
(component definition $Realloc
  (component $Callee
    (core module $M
      (memory (export "mem") 1)
      (global $mode (mut i32) (i32.const 0))
      (func (export "set-mode") (param i32) (global.set $mode (local.get 0)))
      ;; mode 0: a good pointer; 1: misaligned for u32; 2: past the end of memory.
      (func (export "realloc") (param i32 i32 i32 i32) (result i32)
        (if (i32.eq (global.get $mode) (i32.const 1)) (then (return (i32.const 1026))))
        (if (i32.eq (global.get $mode) (i32.const 2)) (then (return (i32.const 0xffff_fff0))))
        (i32.const 1024))
      (func (export "sum") (param $p i32) (param $n i32) (result i32)
        (local $acc i32)
        (block $done
          (loop $l
            (br_if $done (i32.eqz (local.get $n)))
            (local.set $acc (i32.add (local.get $acc) (i32.load (local.get $p))))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (local.set $n (i32.sub (local.get $n) (i32.const 1)))
            (br $l)))
        (local.get $acc)))
    (core instance $m (instantiate $M))
    (func (export "set-mode") (param "m" u32) (canon lift (core func $m "set-mode")))
    (func (export "sum") (param "xs" (list u32)) (result u32)
      (canon lift (core func $m "sum") (memory $m "mem") (realloc (func $m "realloc")))))
  (component $Caller
    (import "sum" (func $sum (param "xs" (list u32)) (result u32)))
    (core module $Libc (memory (export "mem") 1))
    (core instance $libc (instantiate $Libc))
    (core func $sum (canon lower (func $sum) (memory $libc "mem")))
    (core module $M
      (import "" "mem" (memory 1))
      (import "" "sum" (func $sum (param i32 i32) (result i32)))
      (data (i32.const 64) "\01\00\00\00\02\00\00\00\03\00\00\00")
      (func (export "run") (result i32) (call $sum (i32.const 64) (i32.const 3))))
    (core instance $i (instantiate $M (with "" (instance
      (export "mem" (memory $libc "mem"))
      (export "sum" (func $sum))))))
    (func (export "run") (result u32) (canon lift (core func $i "run"))))
  (instance $c1 (instantiate $Callee))
  (instance $c2 (instantiate $Callee))
  (instance $a1 (instantiate $Caller (with "sum" (func $c1 "sum"))))
  (instance $a2 (instantiate $Caller (with "sum" (func $c2 "sum"))))
  (export "set-mode-1" (func $c1 "set-mode"))
  (export "run-1" (func $a1 "run"))
  (export "run-2" (func $a2 "run"))
)

(component instance $good $Realloc)
(assert_return (invoke $good "run-1") (u32.const 6))
(assert_return (invoke $good "run-2") (u32.const 6))

(component instance $misaligned $Realloc)
(invoke $misaligned "set-mode-1" (u32.const 1))
(assert_trap (invoke $misaligned "run-1") "unaligned pointer")

(component instance $out-of-bounds $Realloc)
(invoke $out-of-bounds "set-mode-1" (u32.const 2))
(assert_trap (invoke $out-of-bounds "run-1") "list content out-of-bounds")
