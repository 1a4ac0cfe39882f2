//! `gc-lower wast`: the differential runner (native wasmtime component vs lowered output).

use std::path::PathBuf;
use std::process::ExitCode;

/// Options of `gc-lower wast`.
#[derive(clap::Args, Debug)]
pub struct WastOpts {
    /// The `.wast` scripts to run.
    pub files: Vec<PathBuf>,
    /// Which core modules the lowering reifies.
    #[arg(long, value_enum, default_value_t)]
    pub reify: crate::ReifyMode,
}

impl WastOpts {
    /// Runs every script; the exit code is non-zero if any assertion failed.
    pub fn run(self) -> anyhow::Result<ExitCode> {
        anyhow::bail!("not implemented")
    }
}
