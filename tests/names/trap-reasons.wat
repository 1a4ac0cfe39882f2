;; Canonical ABI traps, one per export, for `gc-lower/tests/names.rs`: each must trap in the
;; lowered output inside the function named for its reason, as wasmtime's message names it.
;; Each caller lives in a component of its own: a component may not call into its own child.
(component
  ;; A function to call.
  (component $Noop
    (core module $M (func (export "noop")))
    (core instance $m (instantiate $M))
    (func (export "noop") (canon lift (core func $m "noop"))))

  ;; Takes a string in UTF-16: a caller's UTF-8 is transcoded, and invalid UTF-8 traps.
  (component $Utf16
    (core module $M
      (memory (export "mem") 1)
      (global $bump (mut i32) (i32.const 1024))
      (func (export "realloc") (param i32 i32 i32 i32) (result i32)
        (local $p i32)
        (local.set $p (global.get $bump))
        (global.set $bump (i32.add (local.get $p) (local.get 3)))
        (local.get $p))
      (func (export "len") (param i32 i32) (result i32) (local.get 1)))
    (core instance $m (instantiate $M))
    (func (export "len") (param "s" string) (result u32)
      (canon lift (core func $m "len") (memory $m "mem") (realloc (func $m "realloc"))
        string-encoding=utf16)))

  ;; Takes a string, with a realloc that calls out of its component instance, which the
  ;; canonical ABI forbids while an adapter copies arguments in: "cannot leave component
  ;; instance".
  (component $Leaky
    (import "noop" (func $noop))
    (core func $noop (canon lower (func $noop)))
    (core module $M
      (import "" "noop" (func $noop))
      (memory (export "mem") 1)
      (func (export "realloc") (param i32 i32 i32 i32) (result i32)
        (call $noop)
        (i32.const 64))
      (func (export "len") (param i32 i32) (result i32) (local.get 1)))
    (core instance $m (instantiate $M (with "" (instance (export "noop" (func $noop))))))
    (func (export "len") (param "s" string) (result u32)
      (canon lift (core func $m "len") (memory $m "mem") (realloc (func $m "realloc")))))

  ;; Uses a handle it never got: "unknown handle index 77".
  (component $Handles
    (type $r (resource (rep i32)))
    (core func $rep (canon resource.rep $r))
    (core module $M
      (import "" "rep" (func $rep (param i32) (result i32)))
      (func (export "bogus-handle") (result i32) (call $rep (i32.const 77))))
    (core instance $m (instantiate $M (with "" (instance (export "rep" (func $rep))))))
    (func (export "bogus-handle") (result u32) (canon lift (core func $m "bogus-handle"))))

  ;; Calls into its own child while it runs: "cannot enter component instance".
  (component $Parent
    (component $Child
      (core module $M (func (export "one") (result i32) (i32.const 1)))
      (core instance $m (instantiate $M))
      (func (export "one") (result u32) (canon lift (core func $m "one"))))
    (instance $child (instantiate $Child))
    (core func $one (canon lower (func $child "one")))
    (core module $M
      (import "" "one" (func $one (result i32)))
      (func (export "enter-child") (result i32) (call $one)))
    (core instance $m (instantiate $M (with "" (instance (export "one" (func $one))))))
    (func (export "enter-child") (result u32) (canon lift (core func $m "enter-child"))))

  (component $Caller
    (import "utf16-len" (func $utf16-len (param "s" string) (result u32)))
    (import "leaky-len" (func $leaky-len (param "s" string) (result u32)))
    (core module $Libc
      (memory (export "mem") 1)
      (data (i32.const 0) "\ff\fe")
      (data (i32.const 16) "a"))
    (core instance $libc (instantiate $Libc))
    (core func $utf16-len (canon lower (func $utf16-len) (memory $libc "mem")))
    (core func $leaky-len (canon lower (func $leaky-len) (memory $libc "mem")))
    (core module $M
      (import "" "utf16-len" (func $utf16-len (param i32 i32) (result i32)))
      (import "" "leaky-len" (func $leaky-len (param i32 i32) (result i32)))
      (func (export "invalid-utf8") (result i32) (call $utf16-len (i32.const 0) (i32.const 2)))
      (func (export "leave") (result i32) (call $leaky-len (i32.const 16) (i32.const 1))))
    (core instance $m (instantiate $M (with "" (instance
      (export "utf16-len" (func $utf16-len))
      (export "leaky-len" (func $leaky-len))))))
    (func (export "invalid-utf8") (result u32) (canon lift (core func $m "invalid-utf8")))
    (func (export "leave") (result u32) (canon lift (core func $m "leave"))))

  (instance $noop (instantiate $Noop))
  (instance $utf16 (instantiate $Utf16))
  (instance $leaky (instantiate $Leaky (with "noop" (func $noop "noop"))))
  (instance $handles (instantiate $Handles))
  (instance $parent (instantiate $Parent))
  (instance $caller (instantiate $Caller
    (with "utf16-len" (func $utf16 "len"))
    (with "leaky-len" (func $leaky "len"))))
  (export "invalid-utf8" (func $caller "invalid-utf8"))
  (export "leave" (func $caller "leave"))
  (export "bogus-handle" (func $handles "bogus-handle"))
  (export "enter-child" (func $parent "enter-child")))
