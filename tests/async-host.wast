;;! component_model_async = true
;; With the component-model async features on, the native side runs under wasmtime's async
;; runtime (`instantiate_async`, `call_async`) and the spectest host has its asynchronous
;; functions. The output imports the host's `async` functions with sync lowers, as the
;; component does, so the host's traps are the same on both sides.
(component
  (import "host-echo-u32" (func $echo async (param "v" u32) (result u32)))
  (import "host" (instance $host
    (export "return-two-slowly" (func async (result u32)))
    (export "never-return" (func async))))
  (alias export $host "return-two-slowly" (func $two))
  (alias export $host "never-return" (func $never))
  (core func $echo (canon lower (func $echo)))
  (core func $two (canon lower (func $two)))
  (core func $never (canon lower (func $never)))
  (core module $m
    (import "" "echo" (func $echo (param i32) (result i32)))
    (import "" "two" (func $two (result i32)))
    (import "" "never" (func $never))
    (func (export "echo") (param i32) (result i32)
      (i32.add (call $echo (local.get 0)) (i32.const 1)))
    (func (export "two") (result i32) (call $two))
    (func (export "hang") (call $never)))
  (core instance $i (instantiate $m (with "" (instance
    (export "echo" (func $echo))
    (export "two" (func $two))
    (export "never" (func $never))))))
  (func (export "echo") (param "x" u32) (result u32) (canon lift (core func $i "echo")))
  (func (export "two") (result u32) (canon lift (core func $i "two")))
  (func (export "hang") (canon lift (core func $i "hang"))))
;; A synchronous task cannot wait for an async host function that is pending (as
;; `return-two-slowly` is, once); wasmtime traps, and the instance may not be entered again.
(assert_trap (invoke "two") "cannot block a synchronous task before returning")
(assert_trap (invoke "echo" (u32.const 41)) "cannot enter component instance")

;; The host's core module, imported and instantiated (the lowering rejects imported core
;; modules by name).
(component
  (import "host" (instance $host (export "simple-module" (core module
    (export "f" (func (result i32)))
    (export "g" (global i32))))))
  (alias export $host "simple-module" (core module $simple))
  (core instance $s (instantiate $simple))
  (func (export "f") (result u32) (canon lift (core func $s "f"))))
(assert_return (invoke "f") (u32.const 101))
