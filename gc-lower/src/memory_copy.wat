;; `memory.copy` between a native memory and a memory box, for a reified module that reaches
;; one of its memories directly (an import every instance binds to the same native memory)
;; and the other through its vmctx.
;;
;; Bound by the lowering: memory 0 is the native memory; type 0 is runtime-structs' WORDS,
;; type 1 its MEMBOX (same fields: words, pages, max pages, bound, sparse pages) and type 2
;; its SPARSE; the import is the helper
;; `gc-lower:memory.touch`, which traps unless the box's memory holds `end` bytes and makes its
;; word array hold them. Byte `a` of a box's memory is byte `a & 3` (little-endian) of element
;; `a >> 2` of its word array. The box comes as the last parameter, after `memory.copy`'s own
;; (d, s, n). Both ranges are checked before anything is written, as `memory.copy` does; the
;; two memories never overlap.
(module
  (type $words (array (mut i32)))
  (type $membox (struct (field $words (mut (ref $words))) (field $pages (mut i32))
                        (field $max_pages i32) (field $bound (mut i64))
                        (field $sparse (mut (ref null $sparse)))))
  (type $sparse (array (mut (ref null $words))))
  (import "gc-lower" "memory.touch"
    (func $touch (param $end i64) (param $box (ref null $membox)) (result (ref $words) i64)))
  (memory 0)

  ;; Traps unless [addr, addr + n) lies in a memory of `len` bytes (computed in i64: no wrap).
  (func $check (param $addr i32) (param $n i32) (param $len i64)
    (if (i64.gt_u (i64.add (i64.extend_i32_u (local.get $addr)) (i64.extend_i32_u (local.get $n)))
                  (local.get $len))
      (then unreachable)))

  (func $native_len (result i64)
    (i64.shl (i64.extend_i32_u (memory.size)) (i64.const 16)))

  ;; The word array of the box once it holds [addr, addr + n); traps when that range is out of
  ;; bounds. Zero bytes extend nothing (the copy loop then reads and writes nothing).
  (func $box_words (param $addr i32) (param $n i32) (param $box (ref null $membox))
    (result (ref $words))
    (if (i32.eqz (local.get $n))
      (then
        (call $check (local.get $addr) (i32.const 0)
          (i64.shl (i64.extend_i32_u (struct.get $membox $pages (local.get $box))) (i64.const 16)))
        (return (struct.get $membox $words (local.get $box)))))
    (call $touch
      (i64.add (i64.extend_i32_u (local.get $addr)) (i64.extend_i32_u (local.get $n)))
      (local.get $box))
    (drop))

;; Byte `a` of a word array.
  (func $get_byte (param $w (ref $words)) (param $a i32) (result i32)
    (i32.and
      (i32.shr_u (array.get $words (local.get $w) (i32.shr_u (local.get $a) (i32.const 2)))
                 (i32.shl (local.get $a) (i32.const 3)))
      (i32.const 0xff)))

  ;; Sets byte `a` of a word array to the low byte of `v`.
  (func $set_byte (param $w (ref $words)) (param $a i32) (param $v i32)
    (local $i i32) (local $shift i32)
    (local.set $i (i32.shr_u (local.get $a) (i32.const 2)))
    (local.set $shift (i32.shl (local.get $a) (i32.const 3)))
    (array.set $words (local.get $w) (local.get $i)
      (i32.or
        (i32.and (array.get $words (local.get $w) (local.get $i))
                 (i32.xor (i32.shl (i32.const 0xff) (local.get $shift)) (i32.const -1)))
        (i32.shl (i32.and (local.get $v) (i32.const 0xff)) (local.get $shift)))))

;; The four bytes at `a` of a word array, little-endian: one element when `a` is aligned,
  ;; two otherwise.
  (func $get_u32 (param $w (ref $words)) (param $a i32) (result i32)
    (local $i i32)
    (local.set $i (i32.shr_u (local.get $a) (i32.const 2)))
    (if (result i32) (i32.and (local.get $a) (i32.const 3))
      (then
        (i32.or
          (i32.shr_u (array.get $words (local.get $w) (local.get $i))
                     (i32.shl (local.get $a) (i32.const 3)))
          (i32.shl (array.get $words (local.get $w) (i32.add (local.get $i) (i32.const 1)))
                   (i32.sub (i32.const 0) (i32.shl (local.get $a) (i32.const 3))))))
      (else (array.get $words (local.get $w) (local.get $i)))))

  ;; The box is the source: four bytes per step while four are left, then byte by byte.
  (func (export "to-native") (param $d i32) (param $s i32) (param $n i32)
    (param $box (ref null $membox))
    (local $src (ref $words)) (local $i i32)
    (call $check (local.get $d) (local.get $n) (call $native_len))
    (local.set $src (call $box_words (local.get $s) (local.get $n) (local.get $box)))
    (block $done
      (loop $next
        (br_if $done (i32.lt_u (i32.sub (local.get $n) (local.get $i)) (i32.const 4)))
        (i32.store (i32.add (local.get $d) (local.get $i))
          (call $get_u32 (local.get $src) (i32.add (local.get $s) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $next)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (i32.store8 (i32.add (local.get $d) (local.get $i))
          (call $get_byte (local.get $src) (i32.add (local.get $s) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))

  ;; The box is the destination: bytes up to its first aligned element, then an element per
  ;; step while four bytes are left, then the rest byte by byte.
  (func (export "from-native") (param $d i32) (param $s i32) (param $n i32)
    (param $box (ref null $membox))
    (local $dst (ref $words)) (local $i i32)
    (call $check (local.get $s) (local.get $n) (call $native_len))
    (local.set $dst (call $box_words (local.get $d) (local.get $n) (local.get $box)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (br_if $done (i32.eqz (i32.and (i32.add (local.get $d) (local.get $i)) (i32.const 3))))
        (call $set_byte (local.get $dst) (i32.add (local.get $d) (local.get $i))
          (i32.load8_u (i32.add (local.get $s) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (block $done
      (loop $next
        (br_if $done (i32.lt_u (i32.sub (local.get $n) (local.get $i)) (i32.const 4)))
        (array.set $words (local.get $dst)
          (i32.shr_u (i32.add (local.get $d) (local.get $i)) (i32.const 2))
          (i32.load (i32.add (local.get $s) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $next)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (call $set_byte (local.get $dst) (i32.add (local.get $d) (local.get $i))
          (i32.load8_u (i32.add (local.get $s) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))
)
