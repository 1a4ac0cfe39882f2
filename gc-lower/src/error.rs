//! Errors that name a feature gc-lower does not handle.
//!
//! Every phase reports input it cannot lower with an [`Unsupported`] error (wrapped in
//! `anyhow::Error`) so that callers — the CLI and the `wast` differential runner — can tell
//! "this input uses a feature we do not lower" apart from a bug or malformed input.

use std::fmt;

/// A feature of the input that gc-lower does not lower.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    /// What is unsupported, e.g. ``"shared memories"`` or ``"strings at the host boundary"``.
    pub what: String,
    /// `true` when support is planned (`not supported yet: …`), `false` when the feature is
    /// out of scope for gc-lower (`… are not supported`).
    pub planned: bool,
}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.planned {
            write!(f, "not supported yet: {}", self.what)
        } else {
            write!(f, "{} are not supported", self.what)
        }
    }
}

impl std::error::Error for Unsupported {}

/// Returns an `anyhow::Error` for a feature whose support is planned (`not supported yet: …`).
pub fn not_yet(what: impl Into<String>) -> anyhow::Error {
    Unsupported {
        what: what.into(),
        planned: true,
    }
    .into()
}

/// Returns an `anyhow::Error` for a feature out of gc-lower's scope (`… are not supported`).
/// `what` is a plural noun phrase: ``"shared memories"``.
pub fn unsupported(what: impl Into<String>) -> anyhow::Error {
    Unsupported {
        what: what.into(),
        planned: false,
    }
    .into()
}

/// Finds an [`Unsupported`] anywhere in `err`'s chain of causes.
pub fn find_unsupported(err: &anyhow::Error) -> Option<&Unsupported> {
    err.chain().find_map(|e| e.downcast_ref::<Unsupported>())
}

/// Runs `f`, a call into a library that may panic on input it does not expect, and turns a
/// panic into an error: gc-lower reports bad input, it never panics on it. `what` names the
/// call (``"decoding the component's WIT"``). Panics on this thread are silenced during the
/// call (a hook installed once wraps the one in place), so the library's panic message is not
/// printed (it becomes part of the error).
///
/// Errors: `f`'s own, or [`not_yet`] naming `what` and the panic message.
pub fn contain_panic<T>(what: &str, f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
    use std::cell::Cell;
    thread_local! {
        /// Whether this thread is inside `contain_panic`.
        static SILENT: Cell<bool> = const { Cell::new(false) };
    }
    // One hook, installed once, wrapping the one in place: swapping hooks per call would race
    // between threads (and could leave the silent hook installed for good).
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !SILENT.with(Cell::get) {
                previous(info);
            }
        }));
    });
    let was_silent = SILENT.with(|s| s.replace(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    SILENT.with(|s| s.set(was_silent));
    result.unwrap_or_else(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("no message");
        Err(not_yet(format!(
            "input on which {what} fails (the library panicked: {message})"
        )))
    })
}

/// The longest line of a message that [`printable`] keeps, in characters.
pub const MAX_LINE: usize = 300;

/// `message` made fit for a terminal: each line cut to [`MAX_LINE`] characters and control
/// characters (but tabs) escaped. Errors may quote input (the text parser quotes the line it
/// stopped in), and input may be one huge line of binary bytes.
pub fn printable(message: &str) -> String {
    let mut out = String::new();
    for (i, line) in message.lines().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        for (shown, c) in line.chars().enumerate() {
            if shown == MAX_LINE {
                out.push_str(" …");
                break;
            }
            if c.is_control() && c != '\t' {
                out.extend(c.escape_default());
            } else {
                out.push(c);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn printable_cuts_and_escapes() {
        let long = "\0".repeat(1000);
        let shown = super::printable(&format!("first\n{long}\nlast\u{1b}"));
        let lines: Vec<_> = shown.lines().collect();
        assert_eq!(lines[0], "first");
        assert_eq!(lines[1], format!("{} …", "\\u{0}".repeat(super::MAX_LINE)));
        assert_eq!(lines[2], "last\\u{1b}");
    }
}
