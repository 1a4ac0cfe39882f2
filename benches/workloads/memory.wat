;; Memory-heavy kernels over 1 MiB buffers, in a core module instantiated twice.
;;
;; `$Kernels` has 2 MiB of memory: a source buffer at 0 and a destination
;; buffer at 1 MiB (0x100000). `init` fills the source with a pattern; each
;; kernel then makes one pass over 1 MiB and returns a scalar that depends on
;; every byte it touched, so an engine cannot skip the work. Instance `$a`
;; serves the kernels; instance `$b` is a second instance of the same module
;; (it makes `--reify auto` reify `$Kernels`) and checks that the two
;; instances' memories are separate.
(component
  (core module $Kernels
    (memory 32)

    ;; src[i] = i * 2654435761 + seed, for each of the 262144 words.
    (func (export "init") (param $seed i32)
      (local $i i32)
      (loop $l
        (i32.store (i32.shl (local.get $i) (i32.const 2))
          (i32.add (i32.mul (local.get $i) (i32.const 2654435761)) (local.get $seed)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $i) (i32.const 262144)))))

    ;; Sum of the source's 262144 words, with `i32.load`.
    (func (export "sum-i32") (result i32)
      (local $p i32) (local $s i32)
      (loop $l
        (local.set $s (i32.add (local.get $s) (i32.load (local.get $p))))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (br_if $l (i32.lt_u (local.get $p) (i32.const 0x100000))))
      (local.get $s))

    ;; Sum of the source's 131072 double words, with `i64.load`.
    (func (export "sum-i64") (result i64)
      (local $p i32) (local $s i64)
      (loop $l
        (local.set $s (i64.add (local.get $s) (i64.load (local.get $p))))
        (local.set $p (i32.add (local.get $p) (i32.const 8)))
        (br_if $l (i32.lt_u (local.get $p) (i32.const 0x100000))))
      (local.get $s))

    ;; Byte loop: dst[i] = src[i] ^ 0x5a for each of the 1048576 bytes; returns
    ;; the sum of the source bytes.
    (func (export "bytes") (result i32)
      (local $p i32) (local $b i32) (local $s i32)
      (loop $l
        (local.set $b (i32.load8_u (local.get $p)))
        (i32.store8 offset=0x100000 (local.get $p) (i32.xor (local.get $b) (i32.const 0x5a)))
        (local.set $s (i32.add (local.get $s) (local.get $b)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $p) (i32.const 0x100000))))
      (local.get $s))

    ;; Word-copy loop: the source to the destination, one `i32` at a time;
    ;; returns the xor of the words copied, read back from the destination.
    (func (export "copy-words") (result i32)
      (local $p i32) (local $x i32)
      (loop $l
        (i32.store offset=0x100000 (local.get $p) (i32.load (local.get $p)))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (br_if $l (i32.lt_u (local.get $p) (i32.const 0x100000))))
      (local.set $p (i32.const 0))
      (loop $l
        (local.set $x (i32.xor (local.get $x) (i32.load offset=0x100000 (local.get $p))))
        (local.set $p (i32.add (local.get $p) (i32.const 4096)))
        (br_if $l (i32.lt_u (local.get $p) (i32.const 0x100000))))
      (local.get $x))

    ;; `memory.copy` of the 1 MiB source to the destination; returns two of
    ;; the copied words.
    (func (export "copy-bulk") (result i32)
      (memory.copy (i32.const 0x100000) (i32.const 0) (i32.const 0x100000))
      (i32.add (i32.load (i32.const 0x100000)) (i32.load (i32.const 0x1ffffc))))

    ;; `memory.fill` of the 1 MiB destination with byte `v`; returns two words
    ;; of it.
    (func (export "fill") (param $v i32) (result i32)
      (memory.fill (i32.const 0x100000) (local.get $v) (i32.const 0x100000))
      (i32.add (i32.load (i32.const 0x100000)) (i32.load (i32.const 0x1ffffc))))

    ;; FNV-1a (32-bit) of the 1 MiB source, byte by byte.
    (func (export "fnv1a") (result i32)
      (local $p i32) (local $h i32)
      (local.set $h (i32.const 0x811c9dc5))
      (loop $l
        (local.set $h (i32.mul (i32.xor (local.get $h) (i32.load8_u (local.get $p)))
                               (i32.const 0x01000193)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $p) (i32.const 0x100000))))
      (local.get $h)))

  (core instance $a (instantiate $Kernels))
  (core instance $b (instantiate $Kernels))

  (func (export "init") (param "seed" u32) (canon lift (core func $a "init")))
  (func (export "sum-i32") (result u32) (canon lift (core func $a "sum-i32")))
  (func (export "sum-i64") (result u64) (canon lift (core func $a "sum-i64")))
  (func (export "bytes") (result u32) (canon lift (core func $a "bytes")))
  (func (export "copy-words") (result u32) (canon lift (core func $a "copy-words")))
  (func (export "copy-bulk") (result u32) (canon lift (core func $a "copy-bulk")))
  (func (export "fill") (param "v" u32) (result u32) (canon lift (core func $a "fill")))
  (func (export "fnv1a") (result u32) (canon lift (core func $a "fnv1a")))
  (func (export "b-init") (param "seed" u32) (canon lift (core func $b "init")))
  (func (export "b-sum-i32") (result u32) (canon lift (core func $b "sum-i32")))
)
