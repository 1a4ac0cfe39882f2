;; Core modules that share memories, a table and a global, for `gc-lower --plan`'s snapshot
;; tests (`gc-lower/tests/plan.rs`).
;;
;; `$App` is instantiated twice, so it is reified. Both of its instances import `$Libc`'s
;; memory, which therefore stays a native memory that the reified code reaches directly, while
;; the table and the mutable global they import from `$Tab` reify `$Tab` too. `$Peek` imports
;; the memory of one `$App` instance, a box, so it is reified as well. The host reads the
;; result of `left-name` from a reified memory, so the host boundary goes through the exchange
;; memory.
(component
  (core module $Libc
    (memory (export "memory") 1)
    ;; The string "hello" at 16, and its (pointer, length) at 8.
    (data (i32.const 8) "\10\00\00\00\05\00\00\00")
    (data (i32.const 16) "hello")
    (func (export "greet") (result i32) (i32.const 8)))

  (core module $Tab
    (table (export "table") 1 funcref)
    (global (export "count") (mut i32) (i32.const 0)))

  (core module $App
    (import "libc" "memory" (memory 1))
    (import "tab" "table" (table 1 funcref))
    (import "tab" "count" (global $count (mut i32)))
    (memory $scratch (export "scratch") 1)
    ;; The string "app" at 16, and its (pointer, length) at 8.
    (data (memory $scratch) (i32.const 8) "\10\00\00\00\03\00\00\00")
    (data (memory $scratch) (i32.const 16) "app")
    (func (export "name") (result i32)
      (global.set $count (i32.add (global.get $count) (i32.const 1)))
      (i32.const 8)))

  (core module $Peek
    (import "app" "scratch" (memory 1))
    (func (export "peek") (result i32) (i32.load8_u (i32.const 16))))

  (core instance $libc (instantiate $Libc))
  (core instance $tab (instantiate $Tab))
  (core instance $left (instantiate $App
    (with "libc" (instance $libc))
    (with "tab" (instance $tab))))
  (core instance $right (instantiate $App
    (with "libc" (instance $libc))
    (with "tab" (instance $tab))))
  (core instance $peek (instantiate $Peek (with "app" (instance $right))))

  (func (export "left-name") (result string)
    (canon lift (core func $left "name") (memory $left "scratch")))
  (func (export "greet") (result string)
    (canon lift (core func $libc "greet") (memory $libc "memory")))
  (func (export "peek") (result u32) (canon lift (core func $peek "peek"))))
