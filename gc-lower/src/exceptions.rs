//! Exception handling in reified code: tags that carry the identity of the instance that
//! defines them ([`TagSlot`]).
//!
//! Tags are generative (core spec, 4.5.3.7 "Tags": each module instance allocates its own), so
//! two instances of a module that defines a tag throw exceptions that only the catches naming
//! their own instance's tag catch. A reified module's code is shared by its instances, so its
//! tag becomes one output tag with one more parameter, the defining instance's vmctx (an
//! `eqref`): `throw` pushes it, and a `catch` of the tag catches the output tag, compares the
//! identity with the one this instance names, and passes the exception on when they differ.
//! `catch_all` and `catch_all_ref` stay in the `try_table`: they catch every exception.
//!
//! ```wat
//! ;; input, in a reified module ($t: (tag (param i32)))
//! (block $l (result i32)
//!   (try_table (catch $t $l) (catch_all $all) ...))
//! ;; output: a block per output tag caught, and one to leave past the handlers
//! (block $l (result i32)
//!   (block $done
//!     (block $h (result i32 eqref exnref)
//!       (try_table (catch_ref $t' $h) (catch_all $all') ...)  ;; branches out: 2 further
//!       (br $done))
//!     (local.set $exn) (local.set $id) (local.set $v)     ;; what it caught, into locals
//!     (if (ref.eq (local.get $id) (local.get $vmctx))     ;; this instance's `$t`
//!       (then (br $l (local.get $v))))
//!     (br $all)))                                         ;; the clauses after it, in order
//! ```
//!
//! A handler goes through the clauses from its own on: each of the same output tag checks
//! its identity, a `catch_all` takes the exception, and when nothing does, `throw_ref`
//! passes it on unchanged.
//!
//! [`Blocks`] tracks the function's open blocks so that branches out of a wrapped
//! `try_table` (its body's, and those of the handlers and catch clauses) skip the blocks
//! added around it. The legacy instructions (`try`, `catch`, `delegate`, `rethrow`) fail
//! validation (the front end does not enable them), and the rewrite rejects them by name
//! should one get this far: [`Blocks`] does not track them.

use wasmtime_environ::wasmparser as wp;

use crate::layout::TagSlot;

/// A catch clause of a `try_table` in reified code, its label relative to the block around
/// the `try_table` and already counting the blocks added around enclosing `try_table`s.
#[derive(Debug, Clone, Copy)]
pub enum Clause {
    /// `catch` (`with_ref`: `catch_ref`) of a tag, through a handler.
    Tag {
        /// The tag.
        slot: TagSlot,
        /// `catch_ref`: the label also receives the `exnref`.
        with_ref: bool,
        /// The label.
        label: u32,
    },
    /// `catch_all`.
    All {
        /// The label.
        label: u32,
    },
    /// `catch_all_ref`.
    AllRef {
        /// The label.
        label: u32,
    },
}

/// A `try_table` that catches tags through handlers: its clauses in order. Blocks are added
/// around it: one that the normal exit leaves through, and inside it one per handler, the
/// first handler's innermost. A handler starts at the first clause of each output tag the
/// clauses catch ([`Self::handler_starts`]).
#[derive(Debug, Clone, Default)]
pub struct Wrapped {
    /// The catch clauses, in order.
    pub clauses: Vec<Clause>,
}

impl Wrapped {
    /// The positions in [`Self::clauses`] where handlers start: each tag clause whose output
    /// tag no clause before it catches.
    pub fn handler_starts(&self) -> Vec<usize> {
        let mut tags = Vec::new();
        let mut starts = Vec::new();
        for (j, c) in self.clauses.iter().enumerate() {
            if let Clause::Tag { slot, .. } = c
                && !tags.contains(&slot.tag())
            {
                tags.push(slot.tag());
                starts.push(j);
            }
        }
        starts
    }

    /// The number of blocks added around the `try_table`.
    pub fn wrappers(&self) -> u32 {
        self.handler_starts().len() as u32 + 1
    }
}

/// The blocks open at a point of a function body (`block`, `loop`, `if`, `try_table`),
/// innermost last, with the wrapped `try_table`s among them.
#[derive(Debug, Default)]
pub struct Blocks {
    open: Vec<Option<Wrapped>>,
    wrapped: usize,
}

impl Blocks {
    /// Opens a block: `wrapped` for a `try_table` with handlers.
    pub fn open(&mut self, wrapped: Option<Wrapped>) {
        self.wrapped += usize::from(wrapped.is_some());
        self.open.push(wrapped);
    }

    /// Closes the innermost block (at `end`); its handlers when it is a wrapped `try_table`.
    /// `None` also at the function's own `end`.
    pub fn close(&mut self) -> Option<Wrapped> {
        let closed = self.open.pop().flatten();
        self.wrapped -= usize::from(closed.is_some());
        closed
    }

    /// Whether a wrapped `try_table` is open.
    pub fn any_wrapped(&self) -> bool {
        self.wrapped > 0
    }

    /// How many blocks were added between here and the label `depth` blocks out: the wrappers
    /// of each open wrapped `try_table` inside that label.
    pub fn added(&self, depth: u32) -> u32 {
        let target = self.open.len() as i64 - 1 - i64::from(depth);
        self.open
            .iter()
            .enumerate()
            .filter(|(q, _)| *q as i64 > target)
            .filter_map(|(_, w)| w.as_ref().map(Wrapped::wrappers))
            .sum()
    }

    /// `op` with each of its labels counting the blocks added since ([`Self::added`]); for a
    /// `try_table`, its catch clauses' labels (which count from the block around it). A
    /// `br_table` comes back as it is: its targets cannot be rebuilt in the reader's form, so
    /// [`Self::shift_table`] gives them.
    pub fn shift<'a>(&self, op: &wp::Operator<'a>) -> wp::Operator<'a> {
        use wp::Operator as O;
        if !self.any_wrapped() {
            return op.clone();
        }
        let d = |depth: u32| depth + self.added(depth);
        match op.clone() {
            O::TryTable { mut try_table } => {
                for c in &mut try_table.catches {
                    match c {
                        wp::Catch::One { label, .. }
                        | wp::Catch::OneRef { label, .. }
                        | wp::Catch::All { label }
                        | wp::Catch::AllRef { label } => *label = d(*label),
                    }
                }
                O::TryTable { try_table }
            }
            other => crate::code::map_branch_depth(&other, d),
        }
    }

    /// The targets and default of a `br_table` ([`Self::shift`]).
    pub fn shift_table(&self, targets: &wp::BrTable<'_>) -> wp::Result<(Vec<u32>, u32)> {
        let d = |depth: u32| depth + self.added(depth);
        let list = targets
            .targets()
            .map(|t| t.map(d))
            .collect::<wp::Result<Vec<_>>>()?;
        Ok((list, d(targets.default())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branches_out_of_wrapped_try_tables_skip_the_added_blocks() {
        let mut blocks = Blocks::default();
        blocks.open(None); // a block: position 0
        let tag = |tag, label| Clause::Tag {
            slot: TagSlot::Own { tag },
            with_ref: false,
            label,
        };
        // Two clauses of output tag 0 and a catch_all: one handler, two blocks.
        let two = Wrapped {
            clauses: vec![tag(0, 0), Clause::All { label: 0 }, tag(0, 1)],
        };
        assert_eq!(two.handler_starts(), [0]);
        assert_eq!(two.wrappers(), 2);
        let three = Wrapped {
            clauses: vec![tag(1, 0), tag(0, 0), tag(1, 1)],
        };
        assert_eq!(three.handler_starts(), [0, 1]);
        blocks.open(Some(two)); // a try_table with one handler: two blocks around it
        blocks.open(None); // a block inside it
        // To the inner block, to the try_table, to the block around it, to the function.
        assert_eq!(blocks.added(0), 0);
        assert_eq!(blocks.added(1), 0);
        assert_eq!(blocks.added(2), 2);
        assert_eq!(blocks.added(3), 2);
        assert!(blocks.close().is_none());
        assert!(blocks.close().is_some());
        assert!(!blocks.any_wrapped());
        assert_eq!(blocks.added(0), 0);
        assert!(blocks.close().is_none());
    }
}
