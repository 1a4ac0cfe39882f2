;; Canonical ABI between components: strings and lists of records passed from
;; one component to another, each component with its own memory, through
;; FACT's adapters.
;;
;; `$Server` (instantiated twice: `$s1` serves strings, `$s2` records) echoes a
;; string (in UTF-8, or in UTF-16 as `echo16`, so that the adapters transcode it
;; both ways) and sums a list of records. `$Client` loops `n` times over one call,
;; so the host passes only a count. Both sides use bump allocators that are
;; reset after every call (the server's in its post-return function, the
;; client's at the start of each iteration), so memory stays bounded however
;; many iterations run.
(component
  (component $Server
    (type $rec (record (field "id" u32) (field "name" string)))
    (export $rec-t "rec" (type $rec))
    (core module $M
      (memory (export "mem") 1)
      (global $next (mut i32) (i32.const 1024))
      (func (export "realloc") (param i32 i32 i32 i32) (result i32)
        (local $r i32)
        (local.set $r (i32.and (i32.add (global.get $next) (i32.const 7)) (i32.const -8)))
        (global.set $next (i32.add (local.get $r) (local.get 3)))
        (if (i32.gt_u (global.get $next) (i32.mul (memory.size) (i32.const 65536)))
          (then (drop (memory.grow
            (i32.add (i32.shr_u (local.get 3) (i32.const 16)) (i32.const 1))))))
        (if (i32.ne (local.get 0) (i32.const 0))
          (then (memory.copy (local.get $r) (local.get 0) (local.get 1))))
        (local.get $r))
      (func (export "reset") (param i32) (global.set $next (i32.const 1024)))
      ;; Returns its argument: the adapters copy it in and out.
      (func (export "echo") (param i32 i32) (result i32)
        (i32.store (i32.const 0) (local.get 0))
        (i32.store (i32.const 4) (local.get 1))
        (i32.const 0))
      ;; Sum over the records of id + name length + first byte of the name.
      ;; A record is 12 bytes: id, name pointer, name length.
      (func (export "sum-records") (param $p i32) (param $n i32) (result i32)
        (local $end i32) (local $s i32)
        (local.set $end (i32.add (local.get $p) (i32.mul (local.get $n) (i32.const 12))))
        (block $done
          (loop $l
            (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
            (local.set $s (i32.add (local.get $s)
              (i32.add (i32.load (local.get $p))
                (i32.add (i32.load offset=8 (local.get $p))
                  (i32.load8_u (i32.load offset=4 (local.get $p)))))))
            (local.set $p (i32.add (local.get $p) (i32.const 12)))
            (br $l)))
        (global.set $next (i32.const 1024))
        (local.get $s)))
    (core instance $m (instantiate $M))
    (func (export "echo") (param "s" string) (result string)
      (canon lift (core func $m "echo") (memory $m "mem") (realloc (func $m "realloc"))
        (post-return (func $m "reset"))))
    (func (export "echo16") (param "s" string) (result string)
      (canon lift (core func $m "echo") string-encoding=utf16 (memory $m "mem")
        (realloc (func $m "realloc")) (post-return (func $m "reset"))))
    (func (export "sum-records") (param "xs" (list $rec-t)) (result u32)
      (canon lift (core func $m "sum-records") (memory $m "mem") (realloc (func $m "realloc")))))

  (component $Client
    (type $rec-def (record (field "id" u32) (field "name" string)))
    (import "rec" (type $rec (eq $rec-def)))
    (import "echo" (func $echo (param "s" string) (result string)))
    (import "echo16" (func $echo16 (param "s" string) (result string)))
    (import "sum-records" (func $sum-records (param "xs" (list $rec)) (result u32)))
    (core module $Libc
      (memory (export "mem") 1)
      (global $next (mut i32) (i32.const 4096))
      (func (export "realloc") (param i32 i32 i32 i32) (result i32)
        (local $r i32)
        (local.set $r (i32.and (i32.add (global.get $next) (i32.const 7)) (i32.const -8)))
        (global.set $next (i32.add (local.get $r) (local.get 3)))
        (if (i32.gt_u (global.get $next) (i32.mul (memory.size) (i32.const 65536)))
          (then (drop (memory.grow
            (i32.add (i32.shr_u (local.get 3) (i32.const 16)) (i32.const 1))))))
        (if (i32.ne (local.get 0) (i32.const 0))
          (then (memory.copy (local.get $r) (local.get 0) (local.get 1))))
        (local.get $r))
      (func (export "reset") (global.set $next (i32.const 4096))))
    (core instance $libc (instantiate $Libc))
    (core func $echo (canon lower (func $echo) (memory $libc "mem") (realloc (func $libc "realloc"))))
    (core func $echo16 (canon lower (func $echo16) (memory $libc "mem") (realloc (func $libc "realloc"))))
    (core func $sum-records (canon lower (func $sum-records) (memory $libc "mem")))
    (core module $Main
      (import "" "mem" (memory 1))
      (import "" "echo" (func $echo (param i32 i32 i32)))
      (import "" "echo16" (func $echo16 (param i32 i32 i32)))
      (import "" "sum-records" (func $sum-records (param i32 i32) (result i32)))
      (import "" "reset" (func $reset))
      ;; A 64-byte string at 256.
      (data (memory 0) (i32.const 256)
        "The quick brown fox jumps over the lazy dog, then naps: 64 bytes")
      ;; 16 records at 512 (12 bytes each): id i, a name of 8 + i bytes at 256 + i.
      (func $setup
        (local $i i32) (local $p i32)
        (loop $l
          (local.set $p (i32.add (i32.const 512) (i32.mul (local.get $i) (i32.const 12))))
          (i32.store (local.get $p) (local.get $i))
          (i32.store offset=4 (local.get $p) (i32.add (i32.const 256) (local.get $i)))
          (i32.store offset=8 (local.get $p) (i32.add (i32.const 8) (local.get $i)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (i32.const 16)))))
      (start $setup)
      ;; n round trips of the 64-byte string; returns the sum over the answers
      ;; of their length and their last byte.
      (func (export "strings") (param $n i32) (result i32)
        (local $i i32) (local $acc i32)
        (block $done
          (loop $l
            (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
            (call $reset)
            (call $echo (i32.const 256) (i32.const 64) (i32.const 16))
            (local.set $acc (i32.add (local.get $acc)
              (i32.add (i32.load (i32.const 20))
                (i32.load8_u (i32.sub (i32.add (i32.load (i32.const 16)) (i32.load (i32.const 20)))
                                      (i32.const 1))))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $l)))
        (local.get $acc))
      ;; The same through the server's UTF-16 echo: UTF-8 to UTF-16 and back.
      (func (export "strings16") (param $n i32) (result i32)
        (local $i i32) (local $acc i32)
        (block $done
          (loop $l
            (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
            (call $reset)
            (call $echo16 (i32.const 256) (i32.const 64) (i32.const 16))
            (local.set $acc (i32.add (local.get $acc)
              (i32.add (i32.load (i32.const 20))
                (i32.load8_u (i32.sub (i32.add (i32.load (i32.const 16)) (i32.load (i32.const 20)))
                                      (i32.const 1))))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $l)))
        (local.get $acc))
      ;; n calls with the list of 16 records; returns the sum of the answers.
      (func (export "records") (param $n i32) (result i32)
        (local $i i32) (local $acc i32)
        (block $done
          (loop $l
            (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
            (local.set $acc (i32.add (local.get $acc)
              (call $sum-records (i32.const 512) (i32.const 16))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $l)))
        (local.get $acc)))
    (core instance $main (instantiate $Main
      (with "" (instance
        (export "mem" (memory $libc "mem"))
        (export "echo" (func $echo))
        (export "echo16" (func $echo16))
        (export "sum-records" (func $sum-records))
        (export "reset" (func $libc "reset"))))))
    (func (export "strings") (param "n" u32) (result u32) (canon lift (core func $main "strings")))
    (func (export "strings16") (param "n" u32) (result u32) (canon lift (core func $main "strings16")))
    (func (export "records") (param "n" u32) (result u32) (canon lift (core func $main "records"))))

  (instance $s1 (instantiate $Server))
  (instance $s2 (instantiate $Server))
  (instance $client (instantiate $Client
    (with "rec" (type $s2 "rec"))
    (with "echo" (func $s1 "echo"))
    (with "echo16" (func $s1 "echo16"))
    (with "sum-records" (func $s2 "sum-records"))))
  (export "strings" (func $client "strings"))
  (export "strings16" (func $client "strings16"))
  (export "records" (func $client "records"))
)
