;;! component_model_async = true
;; Async lowers of host functions that have not returned at once: the guest gets `STARTED`
;; and a subtask as natively, goes on, and gets the subtask's event once the host's function
;; has returned (the output waits for the host when nothing else can run). Subtasks pending
;; across exports, two at once, one that never returns, and the traps of dropping one that
;; has not resolved. `subtask.cancel` of a pending host call is a limit of the lowering.
;; The calls go on in the output where the function's type has no handles and its results
;; no strings or lists; the others are waited for inside the call (at the end).
(component definition $HostCalls
  (import "host" (instance $host
    (export "echo-slowly" (func async (param "v" u32) (result u32)))
    (export "never-return" (func async))))
  (alias export $host "echo-slowly" (func $slow))
  (alias export $host "never-return" (func $never))
  (core module $Memory (memory (export "mem") 1))
  (core instance $memory (instantiate $Memory))
  (core func $slow (canon lower (func $slow) async (memory $memory "mem")))
  (core func $never (canon lower (func $never) async))
  (core func $new-set (canon waitable-set.new))
  (core func $join (canon waitable.join))
  (core func $wait (canon waitable-set.wait (memory $memory "mem")))
  (core func $drop (canon subtask.drop))
  (core func $cancel (canon subtask.cancel))
  (core module $M
    (import "" "mem" (memory 1))
    (import "" "slow" (func $slow (param i32 i32) (result i32)))
    (import "" "never" (func $never (result i32)))
    (import "" "new-set" (func $new-set (result i32)))
    (import "" "join" (func $join (param i32 i32)))
    (import "" "wait" (func $wait (param i32 i32) (result i32)))
    (import "" "drop" (func $drop (param i32)))
    (import "" "cancel" (func $cancel (param i32) (result i32)))
    (global $later (mut i32) (i32.const 0))
    ;; Waits on a new set holding the subtask of `status` (unless it has returned) until
    ;; its state is `RETURNED`, then drops it; the event at 64.
    (func $settle (param $status i32) (local $set i32) (local $subtask i32)
      (if (i32.eq (i32.and (local.get $status) (i32.const 0xf)) (i32.const 2)) (then (return)))
      (local.set $subtask (i32.shr_u (local.get $status) (i32.const 4)))
      (local.set $set (call $new-set))
      (call $join (local.get $subtask) (local.get $set))
      (loop $wait
        (if (i32.ne (call $wait (local.get $set) (i32.const 64)) (i32.const 1 (; SUBTASK ;)))
          (then unreachable))
        (if (i32.ne (i32.load (i32.const 64)) (local.get $subtask)) (then unreachable))
        (br_if $wait (i32.ne (i32.load (i32.const 68)) (i32.const 2))))
      (call $drop (local.get $subtask)))
    ;; The raw status of an async lower of `echo-slowly` (its result at 0); the subtask is
    ;; left as it is.
    (func (export "status") (param $v i32) (result i32)
      (call $slow (local.get $v) (i32.const 0)))
    ;; echo-slowly(a) and echo-slowly(b) at once, both waited for on one set: a * 1000 + b,
    ;; plus 1 000 000 when both were started.
    (func (export "two") (param $a i32) (param $b i32) (result i32)
      (local $s1 i32) (local $s2 i32) (local $set i32) (local $left i32) (local $both i32)
      (local.set $s1 (call $slow (local.get $a) (i32.const 8)))
      (local.set $s2 (call $slow (local.get $b) (i32.const 12)))
      (local.set $both (i32.and
        (i32.eq (i32.and (local.get $s1) (i32.const 0xf)) (i32.const 1))
        (i32.eq (i32.and (local.get $s2) (i32.const 0xf)) (i32.const 1))))
      (local.set $set (call $new-set))
      (if (i32.ne (i32.and (local.get $s1) (i32.const 0xf)) (i32.const 2))
        (then
          (call $join (i32.shr_u (local.get $s1) (i32.const 4)) (local.get $set))
          (local.set $left (i32.add (local.get $left) (i32.const 1)))))
      (if (i32.ne (i32.and (local.get $s2) (i32.const 0xf)) (i32.const 2))
        (then
          (call $join (i32.shr_u (local.get $s2) (i32.const 4)) (local.get $set))
          (local.set $left (i32.add (local.get $left) (i32.const 1)))))
      (block $done
        (loop $wait
          (br_if $done (i32.eqz (local.get $left)))
          (if (i32.ne (call $wait (local.get $set) (i32.const 64)) (i32.const 1))
            (then unreachable))
          (if (i32.eq (i32.load (i32.const 68)) (i32.const 2))
            (then
              (call $drop (i32.load (i32.const 64)))
              (local.set $left (i32.sub (local.get $left) (i32.const 1)))))
          (br $wait)))
      (i32.add (i32.mul (local.get $both) (i32.const 1000000))
        (i32.add (i32.mul (i32.load (i32.const 8)) (i32.const 1000)) (i32.load (i32.const 12)))))
    ;; Starts echo-slowly(v), its result to go to 16, and keeps the status for `later-wait`.
    (func (export "later-start") (param $v i32) (result i32)
      (global.set $later (call $slow (local.get $v) (i32.const 16)))
      (i32.and (global.get $later) (i32.const 0xf)))
    (func (export "later-wait") (result i32)
      (call $settle (global.get $later))
      (i32.load (i32.const 16)))
    ;; The state of an async lower of `never-return`.
    (func (export "never") (result i32)
      (i32.and (call $never) (i32.const 0xf)))
    ;; Drops the subtask of a call that has not returned.
    (func (export "drop-pending") (param $v i32) (result i32)
      (local $s i32)
      (local.set $s (call $slow (local.get $v) (i32.const 20)))
      (if (i32.eq (i32.and (local.get $s) (i32.const 0xf)) (i32.const 1))
        (then (call $drop (i32.shr_u (local.get $s) (i32.const 4)))))
      (i32.const 0))
    ;; Cancels the subtask of a call that has not returned: the state it gets.
    (func (export "cancel-pending") (param $v i32) (result i32)
      (local $s i32)
      (local.set $s (call $slow (local.get $v) (i32.const 24)))
      (if (result i32) (i32.eq (i32.and (local.get $s) (i32.const 0xf)) (i32.const 1))
        (then (call $cancel (i32.shr_u (local.get $s) (i32.const 4))))
        (else (i32.const -1)))))
  (core instance $i (instantiate $M (with "" (instance
    (export "mem" (memory $memory "mem"))
    (export "slow" (func $slow))
    (export "never" (func $never))
    (export "new-set" (func $new-set))
    (export "join" (func $join))
    (export "wait" (func $wait))
    (export "drop" (func $drop))
    (export "cancel" (func $cancel))))))
  (func (export "status") async (param "v" u32) (result u32) (canon lift (core func $i "status")))
  (func (export "two") async (param "a" u32) (param "b" u32) (result u32)
    (canon lift (core func $i "two")))
  (func (export "later-start") async (param "v" u32) (result u32)
    (canon lift (core func $i "later-start")))
  (func (export "later-wait") async (result u32) (canon lift (core func $i "later-wait")))
  (func (export "never") async (result u32) (canon lift (core func $i "never")))
  (func (export "drop-pending") async (param "v" u32) (result u32)
    (canon lift (core func $i "drop-pending")))
  (func (export "cancel-pending") async (param "v" u32) (result u32)
    (canon lift (core func $i "cancel-pending"))))

(component instance $a $HostCalls)
(assert_return (invoke "two" (u32.const 7) (u32.const 9)) (u32.const 1007009))
(assert_return (invoke "later-start" (u32.const 41)) (u32.const 1))
(assert_return (invoke "two" (u32.const 1) (u32.const 2)) (u32.const 1001002))
(assert_return (invoke "later-wait") (u32.const 41))
(assert_return (invoke "never") (u32.const 1))
(assert_return (invoke "two" (u32.const 3) (u32.const 4)) (u32.const 1003004))
;; `STARTED` with the subtask's handle, as natively numbered.
(assert_return (invoke "status" (u32.const 5)) (u32.const 97))
(assert_return (invoke "status" (u32.const 6)) (u32.const 17))

(component instance $b $HostCalls)
(assert_trap (invoke "drop-pending" (u32.const 1)) "cannot drop a subtask which has not yet resolved")

;; wasmtime cancels the host's call (`CANCELLED_BEFORE_RETURNED`, 4); the output traps at
;; `unsupported-cancel-of-a-pending-host-call`.
(component instance $c $HostCalls)
(assert_return (invoke "cancel-pending" (u32.const 1)) (u32.const 4))

;; A host function whose type holds a resource handle is waited for inside the output's call
;; of it (the host's borrow ends with the call), so the guest gets `RETURNED` where wasmtime
;; gives `STARTED`; a guest that handles both gets the same results. One host call goes on
;; meanwhile (`later-start`), and its event is kept for `later-wait`.
(component definition $HostResourceCalls
  (import "host" (instance $host
    (export "resource1" (type $r (sub resource)))
    (export "[constructor]resource1" (func (param "r" u32) (result (own $r))))
    (export "[method]resource1.rep-slowly" (func async (param "self" (borrow $r)) (result u32)))
    (export "echo-slowly" (func async (param "v" u32) (result u32)))))
  (alias export $host "resource1" (type $r))
  (alias export $host "[constructor]resource1" (func $new))
  (alias export $host "[method]resource1.rep-slowly" (func $rep))
  (alias export $host "echo-slowly" (func $slow))
  (core module $Memory (memory (export "mem") 1))
  (core instance $memory (instantiate $Memory))
  (core func $new (canon lower (func $new)))
  (core func $rep (canon lower (func $rep) async (memory $memory "mem")))
  (core func $slow (canon lower (func $slow) async (memory $memory "mem")))
  (core func $drop-r (canon resource.drop $r))
  (core func $new-set (canon waitable-set.new))
  (core func $join (canon waitable.join))
  (core func $wait (canon waitable-set.wait (memory $memory "mem")))
  (core func $drop (canon subtask.drop))
  (core module $M
    (import "" "mem" (memory 1))
    (import "" "new" (func $new (param i32) (result i32)))
    (import "" "rep" (func $rep (param i32 i32) (result i32)))
    (import "" "slow" (func $slow (param i32 i32) (result i32)))
    (import "" "drop-r" (func $drop-r (param i32)))
    (import "" "new-set" (func $new-set (result i32)))
    (import "" "join" (func $join (param i32 i32)))
    (import "" "wait" (func $wait (param i32 i32) (result i32)))
    (import "" "drop" (func $drop (param i32)))
    (global $later (mut i32) (i32.const 0))
    (func $settle (param $status i32) (local $set i32) (local $subtask i32)
      (if (i32.eq (i32.and (local.get $status) (i32.const 0xf)) (i32.const 2)) (then (return)))
      (local.set $subtask (i32.shr_u (local.get $status) (i32.const 4)))
      (local.set $set (call $new-set))
      (call $join (local.get $subtask) (local.get $set))
      (loop $wait
        (if (i32.ne (call $wait (local.get $set) (i32.const 64)) (i32.const 1)) (then unreachable))
        (br_if $wait (i32.ne (i32.load (i32.const 68)) (i32.const 2))))
      (call $drop (local.get $subtask)))
    (func (export "later-start") (param $v i32) (result i32)
      (global.set $later (call $slow (local.get $v) (i32.const 16)))
      (i32.and (global.get $later) (i32.const 0xf)))
    (func (export "later-wait") (result i32)
      (call $settle (global.get $later))
      (i32.load (i32.const 16)))
    ;; A new resource1 of rep `r`, its rep through the host, then dropped.
    (func (export "rep") (param $r i32) (result i32)
      (local $h i32)
      (local.set $h (call $new (local.get $r)))
      (call $settle (call $rep (local.get $h) (i32.const 0)))
      (call $drop-r (local.get $h))
      (i32.load (i32.const 0))))
  (core instance $i (instantiate $M (with "" (instance
    (export "mem" (memory $memory "mem"))
    (export "new" (func $new))
    (export "rep" (func $rep))
    (export "slow" (func $slow))
    (export "drop-r" (func $drop-r))
    (export "new-set" (func $new-set))
    (export "join" (func $join))
    (export "wait" (func $wait))
    (export "drop" (func $drop))))))
  (func (export "later-start") async (param "v" u32) (result u32)
    (canon lift (core func $i "later-start")))
  (func (export "later-wait") async (result u32) (canon lift (core func $i "later-wait")))
  (func (export "rep") async (param "r" u32) (result u32) (canon lift (core func $i "rep"))))

(component instance $d $HostResourceCalls)
(assert_return (invoke "rep" (u32.const 42)) (u32.const 42))
(assert_return (invoke "later-start" (u32.const 7)) (u32.const 1))
(assert_return (invoke "rep" (u32.const 43)) (u32.const 43))
(assert_return (invoke "later-wait") (u32.const 7))
(assert_return (invoke "rep" (u32.const 44)) (u32.const 44))

;; A host function that returns a string allocates it when it returns, so its call is waited
;; for inside the output's call of it too; one that returns a `u32` goes on meanwhile.
(component definition $HostStringCalls
  (import "host" (instance $host
    (export "echo-string-slowly" (func async (param "s" string) (result string)))
    (export "echo-slowly" (func async (param "v" u32) (result u32)))))
  (alias export $host "echo-string-slowly" (func $echo-string))
  (alias export $host "echo-slowly" (func $slow))
  (core module $Libc
    (memory (export "mem") 1)
    (global $heap (mut i32) (i32.const 1024))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32)
      (local.set $p (global.get $heap))
      (global.set $heap (i32.add (local.get $p) (local.get 3)))
      (local.get $p)))
  (core instance $libc (instantiate $Libc))
  (core func $echo-string (canon lower (func $echo-string) async (memory $libc "mem")
    (realloc (func $libc "realloc"))))
  (core func $slow (canon lower (func $slow) async (memory $libc "mem")))
  (core func $new-set (canon waitable-set.new))
  (core func $join (canon waitable.join))
  (core func $wait (canon waitable-set.wait (memory $libc "mem")))
  (core func $drop (canon subtask.drop))
  (core module $M
    (import "" "mem" (memory 1))
    (import "" "echo-string" (func $echo-string (param i32 i32 i32) (result i32)))
    (import "" "slow" (func $slow (param i32 i32) (result i32)))
    (import "" "new-set" (func $new-set (result i32)))
    (import "" "join" (func $join (param i32 i32)))
    (import "" "wait" (func $wait (param i32 i32) (result i32)))
    (import "" "drop" (func $drop (param i32)))
    (data (i32.const 260) "hello, host")
    (global $later (mut i32) (i32.const 0))
    (func $settle (param $status i32) (local $set i32) (local $subtask i32)
      (if (i32.eq (i32.and (local.get $status) (i32.const 0xf)) (i32.const 2)) (then (return)))
      (local.set $subtask (i32.shr_u (local.get $status) (i32.const 4)))
      (local.set $set (call $new-set))
      (call $join (local.get $subtask) (local.get $set))
      (loop $wait
        (if (i32.ne (call $wait (local.get $set) (i32.const 64)) (i32.const 1)) (then unreachable))
        (br_if $wait (i32.ne (i32.load (i32.const 68)) (i32.const 2))))
      (call $drop (local.get $subtask)))
    (func (export "later-start") (param $v i32) (result i32)
      (global.set $later (call $slow (local.get $v) (i32.const 16)))
      (i32.and (global.get $later) (i32.const 0xf)))
    (func (export "later-wait") (result i32)
      (call $settle (global.get $later))
      (i32.load (i32.const 16)))
    ;; The first `n` bytes of "hello, host" through the host: the length times 1000 plus
    ;; the sum of the bytes.
    (func (export "echo") (param $n i32) (result i32)
      (local $p i32) (local $len i32) (local $i i32) (local $sum i32)
      (call $settle (call $echo-string (i32.const 260) (local.get $n) (i32.const 0)))
      (local.set $p (i32.load (i32.const 0)))
      (local.set $len (i32.load (i32.const 4)))
      (block $done
        (loop $each
          (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
          (local.set $sum (i32.add (local.get $sum)
            (i32.load8_u (i32.add (local.get $p) (local.get $i)))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $each)))
      (i32.add (i32.mul (local.get $len) (i32.const 1000)) (local.get $sum))))
  (core instance $i (instantiate $M (with "" (instance
    (export "mem" (memory $libc "mem"))
    (export "echo-string" (func $echo-string))
    (export "slow" (func $slow))
    (export "new-set" (func $new-set))
    (export "join" (func $join))
    (export "wait" (func $wait))
    (export "drop" (func $drop))))))
  (func (export "later-start") async (param "v" u32) (result u32)
    (canon lift (core func $i "later-start")))
  (func (export "later-wait") async (result u32) (canon lift (core func $i "later-wait")))
  (func (export "echo") async (param "n" u32) (result u32) (canon lift (core func $i "echo"))))

(component instance $e $HostStringCalls)
(assert_return (invoke "later-start" (u32.const 5)) (u32.const 1))
(assert_return (invoke "echo" (u32.const 11)) (u32.const 12054))
(assert_return (invoke "echo" (u32.const 5)) (u32.const 5532))
(assert_return (invoke "later-wait") (u32.const 5))
(assert_return (invoke "echo" (u32.const 0)) (u32.const 0))
