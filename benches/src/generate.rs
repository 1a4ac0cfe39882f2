//! A generator of large components, for timing gc-lower's own lowering.
//!
//! [`large_component`] writes a component in the WebAssembly text format with two core
//! modules:
//!
//! - `$Lib`, instantiated twice (so `--reify auto` reifies it): `lib_funcs` functions
//!   `$f{i} : [i32] -> [i32]`, each loading from and storing to memory, updating a global and
//!   calling either its predecessor directly or an earlier function through the module's table
//!   (which holds every function); every tenth function is exported;
//! - `$App`, instantiated once: `app_funcs` functions, each calling an export of one of the
//!   two `$Lib` instances.
//!
//! Every export of `$Lib`'s first instance (`a-f{i}`) and of `$App` (`h{i}`) is lifted as a
//! component function `func(x: u32) -> u32`. Each function makes one call to a function of a
//! lower index, so every call terminates.
//!
//! ```wat
//! (func $f2 (param $x i32) (result i32) (local $y i32)
//!   (local.set $y (i32.add (i32.load offset=8 (i32.const 0)) (local.get $x)))
//!   (i32.store offset=8 (i32.const 0) (local.get $y))
//!   (global.set $g (i32.xor (global.get $g) (local.get $y)))
//!   (if (result i32) (i32.and (local.get $y) (i32.const 1))
//!     (then (call $f1 (i32.add (local.get $y) (i32.const 2))))
//!     (else (call_indirect (type $t) (i32.mul (local.get $y) (i32.const 3)) (i32.const 1)))))
//! ```

use std::fmt::Write as _;

/// Functions of `$Lib` (instantiated twice) in the benchmarks' generated component.
pub const LIB_FUNCS: usize = 4000;
/// Functions of `$App` (instantiated once) in the benchmarks' generated component.
pub const APP_FUNCS: usize = 1000;

/// The component (WebAssembly text) with `lib_funcs` functions in the module instantiated
/// twice and `app_funcs` in the module instantiated once; see the module docs.
///
/// `lib_funcs` must be at least 10 so that `$Lib` has an export.
pub fn large_component(lib_funcs: usize, app_funcs: usize) -> String {
    assert!(lib_funcs >= 10, "`$Lib` needs at least 10 functions");
    let mut w = String::new();
    let exported = |i: usize| i.is_multiple_of(10);
    w.push_str("(component\n  (core module $Lib\n");
    w.push_str("    (type $t (func (param i32) (result i32)))\n");
    w.push_str("    (memory (export \"mem\") 1)\n");
    w.push_str("    (global $g (mut i32) (i32.const 0))\n");
    let _ = writeln!(w, "    (table $tab {lib_funcs} funcref)");
    w.push_str("    (elem (i32.const 0) func");
    for i in 0..lib_funcs {
        let _ = write!(w, " $f{i}");
    }
    w.push_str(")\n");
    w.push_str("    (func $f0 (param i32) (result i32) (local.get 0))\n");
    for i in 1..lib_funcs {
        let offset = (i * 4) % 65000;
        let _ = writeln!(
            w,
            "    (func $f{i} (param $x i32) (result i32) (local $y i32)
      (local.set $y (i32.add (i32.load offset={offset} (i32.const 0)) (local.get $x)))
      (i32.store offset={offset} (i32.const 0) (local.get $y))
      (global.set $g (i32.xor (global.get $g) (local.get $y)))
      (if (result i32) (i32.and (local.get $y) (i32.const 1))
        (then (call $f{prev} (i32.add (local.get $y) (i32.const {i}))))
        (else (call_indirect (type $t) (i32.mul (local.get $y) (i32.const 3)) (i32.const {half})))))",
            prev = i - 1,
            half = i / 2,
        );
    }
    for i in (0..lib_funcs).filter(|&i| exported(i)) {
        let _ = writeln!(w, "    (export \"f{i}\" (func $f{i}))");
    }
    w.push_str(
        "  )\n  (core instance $a (instantiate $Lib))\n  (core instance $b (instantiate $Lib))\n",
    );

    let lib_exports: Vec<usize> = (0..lib_funcs).filter(|&i| exported(i)).collect();
    w.push_str("  (core module $App\n");
    for &i in &lib_exports {
        let _ = writeln!(
            w,
            "    (import \"a\" \"f{i}\" (func $a{i} (param i32) (result i32)))\n    \
             (import \"b\" \"f{i}\" (func $b{i} (param i32) (result i32)))"
        );
    }
    for i in 0..app_funcs {
        let target = lib_exports[i % lib_exports.len()];
        let side = if i % 2 == 0 { "a" } else { "b" };
        let _ = writeln!(
            w,
            "    (func (export \"h{i}\") (param i32) (result i32)
      (i32.add (call ${side}{target} (i32.xor (local.get 0) (i32.const {i}))) (i32.const 1)))"
        );
    }
    w.push_str("  )\n  (core instance $app (instantiate $App (with \"a\" (instance $a)) (with \"b\" (instance $b))))\n");
    for &i in &lib_exports {
        let _ = writeln!(
            w,
            "  (func (export \"a-f{i}\") (param \"x\" u32) (result u32) (canon lift (core func $a \"f{i}\")))"
        );
    }
    for i in 0..app_funcs {
        let _ = writeln!(
            w,
            "  (func (export \"h{i}\") (param \"x\" u32) (result u32) (canon lift (core func $app \"h{i}\")))"
        );
    }
    w.push_str(")\n");
    w
}

#[cfg(test)]
mod tests {
    #[test]
    fn small_component_parses() {
        let wat = super::large_component(20, 4);
        wat::parse_str(&wat).expect("the generated component parses");
    }
}
