;;! component_model_async = true
;;! component_model_more_async_builtins = true
;; Bounds of the lists in stream and future items, checked as wasmtime's `load_list` and
;; `LowerContext::realloc` check them: an empty `list<string>` may start at the end of the
;; writer's memory, not past it (no element is read, yet the copy traps), a list of 4 GiB
;; lies past any 32-bit memory, and the reader's `realloc` result must lie within its
;; memory. Compared with wasmtime.
(component definition $L
  (component $W
    (type $F (future (list string)))
    (core module $Memory (memory (export "mem") 1))
    (core instance $memory (instantiate $Memory))
    (core func $new (canon future.new $F))
    (core func $write (canon future.write $F async (memory $memory "mem")))
    (core func $drop (canon future.drop-writable $F))
    (core func $ret (canon task.return (result $F)))
    (core module $M
      (import "" "mem" (memory 1))
      (import "" "new" (func $new (result i64)))
      (import "" "write" (func $write (param i32 i32) (result i32)))
      (import "" "drop" (func $drop (param i32)))
      (import "" "ret" (func $ret (param i32)))
      (global $w (mut i32) (i32.const 0))
      (global $p (mut i32) (i32.const 0))
      (func (export "f") (param $p i32) (result i32)
        (local $rw i64)
        (local.set $rw (call $new))
        (global.set $w (i32.wrap_i64 (i64.shr_u (local.get $rw) (i64.const 32))))
        (global.set $p (local.get $p))
        (call $ret (i32.wrap_i64 (local.get $rw)))
        (i32.const 1))
      (func (export "cb") (param i32 i32 i32) (result i32)
        ;; The item high up, so that the strings a list at 0 holds are empty; at 0, a list
        ;; of 2^29 strings: 4 GiB.
        (i32.store (i32.const 60000) (global.get $p))
        (i32.store (i32.const 60004)
          (select (i32.const 0) (i32.const 0x2000_0000) (global.get $p)))
        (drop (call $write (global.get $w) (i32.const 60000)))
        (call $drop (global.get $w))
        (i32.const 0)))
    (core instance $m (instantiate $M (with "" (instance (export "mem" (memory $memory "mem"))
      (export "new" (func $new)) (export "write" (func $write)) (export "drop" (func $drop))
      (export "ret" (func $ret))))))
    (func (export "f") async (param "p" u32) (result $F)
      (canon lift (core func $m "f") async (callback (func $m "cb")))))
  (component $R
    (type $F (future (list string)))
    (import "f" (func $f async (param "p" u32) (result $F)))
    ;; `realloc` gives the block that `run` chose.
    (core module $Alloc (memory (export "mem") 1)
      (global $q (export "q") (mut i32) (i32.const 4096))
      (func (export "realloc") (param i32 i32 i32 i32) (result i32) (global.get $q)))
    (core instance $alloc (instantiate $Alloc))
    (core func $f (canon lower (func $f)))
    (core func $read (canon future.read $F (memory $alloc "mem") (realloc (func $alloc "realloc"))))
    (core module $M
      (import "" "f" (func $f (param i32) (result i32)))
      (import "" "read" (func $read (param i32 i32) (result i32)))
      (import "" "mem" (memory 1))
      (import "" "q" (global $q (mut i32)))
      ;; The writer's list of no strings at `p`; the reader's `realloc` gives `q`.
      (func (export "run") (param $p i32) (param $q i32) (result i32)
        (global.set $q (local.get $q))
        (drop (call $read (call $f (local.get $p)) (i32.const 200)))
        (i32.load (i32.const 204))))
    (core instance $m (instantiate $M (with "" (instance (export "f" (func $f))
      (export "read" (func $read)) (export "mem" (memory $alloc "mem"))
      (export "q" (global $alloc "q"))))))
    (func (export "run") async (param "p" u32) (param "q" u32) (result u32)
      (canon lift (core func $m "run"))))
  (instance $w (instantiate $W))
  (instance $r (instantiate $R (with "f" (func $w "f"))))
  (export "run" (func $r "run")))
(component instance $a $L)
(assert_return (invoke "run" (u32.const 65536) (u32.const 65536)) (u32.const 0))
(component instance $b $L)
(assert_trap (invoke "run" (u32.const 65540) (u32.const 16)) "list pointer/length out of bounds")
(component instance $c $L)
(assert_trap (invoke "run" (u32.const 16) (u32.const 65540)) "realloc return: beyond end of memory")
(component instance $d $L)
(assert_trap (invoke "run" (u32.const 0) (u32.const 16)) "list pointer/length out of bounds")
