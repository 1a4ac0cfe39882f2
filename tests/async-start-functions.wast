;;! component_model_async = true
;;! component_model_more_async_builtins = true
;; Built-ins that write a memory, called from the start function of a core instance other
;; than the memory's: the start function runs in a task that may not block, and
;; `waitable-set.poll` stores its event into the other instance's memory. In the module-graph
;; form the trampolines module reaches that memory through an instance of `memory.wasm`
;; made right after the memory's instance, before the start function runs. Each result is
;; compared with wasmtime's.

(component definition $Start
  (core module $Memory
    (memory (export "mem") 1)
    (data (i32.const 100) "\ff\ff\ff\ff\ff\ff\ff\ff"))
  (core instance $memory (instantiate $Memory))
  (core func $new-set (canon waitable-set.new))
  (core func $poll (canon waitable-set.poll (memory $memory "mem")))
  (core func $drop-set (canon waitable-set.drop))
  (core module $M
    (import "" "mem" (memory 1))
    (import "" "new-set" (func $new-set (result i32)))
    (import "" "poll" (func $poll (param i32 i32) (result i32)))
    (import "" "drop-set" (func $drop-set (param i32)))
    (global $code (mut i32) (i32.const -1))
    (global $set (mut i32) (i32.const -1))
    (func $start
      (global.set $set (call $new-set))
      (global.set $code (call $poll (global.get $set) (i32.const 100)))
      (call $drop-set (global.get $set)))
    (start $start)
    ;; The set's handle, the event code, and the two words `poll` stored.
    (func (export "seen") (result i64)
      (i64.or
        (i64.or (i64.shl (i64.extend_i32_u (global.get $set)) (i64.const 48))
          (i64.shl (i64.extend_i32_u (global.get $code)) (i64.const 32)))
        (i64.extend_i32_u (i32.add (i32.load (i32.const 100))
          (i32.shl (i32.load (i32.const 104)) (i32.const 16)))))))
  (core instance $m (instantiate $M (with "" (instance
    (export "mem" (memory $memory "mem")) (export "new-set" (func $new-set))
    (export "poll" (func $poll)) (export "drop-set" (func $drop-set))))))
  (func (export "seen") (result u64) (canon lift (core func $m "seen"))))

(component instance $s1 $Start)
(assert_return (invoke "seen") (u64.const 281474976710656))
