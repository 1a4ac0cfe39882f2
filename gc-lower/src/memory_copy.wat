;; `memory.copy` between a native memory and a memory box, for a reified module that reaches
;; one of its memories directly (an import every instance binds to the same native memory)
;; and the other through its vmctx.
;;
;; Bound by the lowering: memory 0 is the native memory; type 0 is runtime-structs' BYTES and
;; type 1 its MEMBOX (same fields: bytes, pages, max pages, bound); the import is the helper
;; `gc-lower:memory.touch`, which traps unless the box's memory holds `end` bytes and makes its
;; byte array hold them. The box comes as the last parameter, after `memory.copy`'s own
;; (d, s, n). Both ranges are checked before anything is written, as `memory.copy` does; the
;; two memories never overlap.
(module
  (type $bytes (array (mut i8)))
  (type $membox (struct (field $bytes (mut (ref $bytes))) (field $pages (mut i32))
                        (field $max_pages i32) (field $bound (mut i64))))
  (import "gc-lower" "memory.touch"
    (func $touch (param $end i64) (param $box (ref null $membox)) (result (ref $bytes) i64)))
  (memory 0)

  ;; Traps unless [addr, addr + n) lies in a memory of `len` bytes (computed in i64: no wrap).
  (func $check (param $addr i32) (param $n i32) (param $len i64)
    (if (i64.gt_u (i64.add (i64.extend_i32_u (local.get $addr)) (i64.extend_i32_u (local.get $n)))
                  (local.get $len))
      (then unreachable)))

  (func $native_len (result i64)
    (i64.shl (i64.extend_i32_u (memory.size)) (i64.const 16)))

  ;; The byte array of the box once it holds [addr, addr + n); traps when that range is out of
  ;; bounds. Zero bytes extend nothing (the copy loop then reads and writes nothing).
  (func $box_bytes (param $addr i32) (param $n i32) (param $box (ref null $membox))
    (result (ref $bytes))
    (if (i32.eqz (local.get $n))
      (then
        (call $check (local.get $addr) (i32.const 0)
          (i64.shl (i64.extend_i32_u (struct.get $membox $pages (local.get $box))) (i64.const 16)))
        (return (struct.get $membox $bytes (local.get $box)))))
    (call $touch
      (i64.add (i64.extend_i32_u (local.get $addr)) (i64.extend_i32_u (local.get $n)))
      (local.get $box))
    (drop))

  ;; The box is the source.
  (func (export "to-native") (param $d i32) (param $s i32) (param $n i32)
    (param $box (ref null $membox))
    (local $src (ref $bytes)) (local $i i32)
    (call $check (local.get $d) (local.get $n) (call $native_len))
    (local.set $src (call $box_bytes (local.get $s) (local.get $n) (local.get $box)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (i32.store8 (i32.add (local.get $d) (local.get $i))
          (array.get_u $bytes (local.get $src) (i32.add (local.get $s) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))

  ;; The box is the destination.
  (func (export "from-native") (param $d i32) (param $s i32) (param $n i32)
    (param $box (ref null $membox))
    (local $dst (ref $bytes)) (local $i i32)
    (call $check (local.get $s) (local.get $n) (call $native_len))
    (local.set $dst (call $box_bytes (local.get $d) (local.get $n) (local.get $box)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (array.set $bytes (local.get $dst) (i32.add (local.get $d) (local.get $i))
          (i32.load8_u (i32.add (local.get $s) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))
)
