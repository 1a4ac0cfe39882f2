//! Writing output files and directories the way `cp` and `wasm-tools` users expect.
//!
//! - A regular file is replaced atomically: the bytes go to a temporary file beside it, which
//!   is renamed over it, so an error never leaves half an output. A new file gets the mode
//!   `0666` less the umask; an existing file keeps its mode, and a symlink to a regular file
//!   keeps pointing at it (the file it points at is replaced). A read-only file is not
//!   replaced, nor written through a dangling symlink: those are errors, as with `cp`.
//! - Anything else that exists at the path (`/dev/null`, a FIFO, a symlink to `/dev/stdout`)
//!   is opened and written through, never replaced.
//! - A directory of outputs is built in a fresh temporary directory and then moved into place:
//!   renamed to its path when it does not exist, or file by file into an existing directory,
//!   each file it replaces moved aside first. A rename replaces a symlink planted in the
//!   directory instead of following it; every destination is checked before the first rename,
//!   and when a rename fails the files already moved in are removed and the ones moved aside
//!   put back, so a failure leaves the directory as it was.

use std::io::Write as _;
use std::path::Path;

use anyhow::{Context as _, Result, bail};

/// Writes `bytes` to the file at `path` (see the module docs).
///
/// Errors: `path` is a directory or a read-only file, or an I/O error.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let shown = path.display();
    let existing = match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => bail!("`{shown}` is a directory"),
        Ok(meta) if !meta.is_file() => {
            // A device, FIFO or socket: write through it.
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .with_context(|| format!("failed to open `{shown}`"))?;
            return file
                .write_all(bytes)
                .and_then(|()| file.flush())
                .with_context(|| format!("failed to write `{shown}`"));
        }
        Ok(meta) => {
            if meta.permissions().readonly() {
                bail!("`{shown}` is read-only; not replacing it");
            }
            let target = std::fs::canonicalize(path)
                .with_context(|| format!("failed to resolve `{shown}`"))?;
            Some((target, meta.permissions()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if std::fs::symlink_metadata(path).is_ok() {
                bail!("`{shown}` is a dangling symlink; not writing through it");
            }
            None
        }
        Err(e) => return Err(e).with_context(|| format!("failed to inspect `{shown}`")),
    };
    let dest = existing
        .as_ref()
        .map_or(path, |(target, _)| target.as_path());
    let dir = parent(dest);
    let mut tmp = temp_builder(true)
        .tempfile_in(dir)
        .with_context(|| format!("failed to create a temporary file in `{}`", dir.display()))?;
    tmp.write_all(bytes)
        .with_context(|| format!("failed to write `{shown}`"))?;
    if let Some((_, permissions)) = &existing {
        tmp.as_file()
            .set_permissions(permissions.clone())
            .with_context(|| format!("failed to keep the mode of `{shown}`"))?;
    }
    tmp.persist(dest)
        .with_context(|| format!("failed to write `{shown}`"))?;
    Ok(())
}

/// Writes `files` (name, contents) into the directory `dir`, creating it (see the module
/// docs). Files of `dir` that `files` does not name are left alone.
///
/// Errors: a name is taken by a directory in `dir`, or an I/O error; `dir` is then unchanged.
pub fn write_dir<'a>(
    dir: &Path,
    files: impl IntoIterator<Item = (&'a str, &'a [u8])>,
) -> Result<()> {
    let shown = dir.display();
    let exists = match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => true,
        Ok(_) => bail!("`{shown}` exists and is not a directory"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(e).with_context(|| format!("failed to inspect `{shown}`")),
    };
    let build_in = if exists {
        dir
    } else {
        let parent = parent(dir);
        std::fs::create_dir_all(parent)
            .with_context(|| format!("failed to create `{}`", parent.display()))?;
        parent
    };
    let tmp = temp_builder(false).tempdir_in(build_in).with_context(|| {
        format!(
            "failed to create a temporary directory in `{}`",
            build_in.display()
        )
    })?;
    let mut names = Vec::new();
    for (name, bytes) in files {
        if name.contains('/') || name.starts_with('.') {
            bail!("internal error: output file name `{name}`");
        }
        std::fs::write(tmp.path().join(name), bytes)
            .with_context(|| format!("failed to write `{}`", dir.join(name).display()))?;
        names.push(name);
    }
    if !exists {
        let tmp = tmp.keep();
        return std::fs::rename(&tmp, dir).with_context(|| {
            let _ = std::fs::remove_dir_all(&tmp);
            format!("failed to create `{shown}`")
        });
    }
    for name in &names {
        let dest = dir.join(name);
        if std::fs::symlink_metadata(&dest).is_ok_and(|meta| meta.is_dir()) {
            bail!("`{}` is a directory", dest.display());
        }
    }
    // Each file that is replaced moves aside first, into `backup`; if a rename fails, what was
    // moved in is removed and what was moved aside goes back.
    let backup = temp_builder(false)
        .tempdir_in(dir)
        .with_context(|| format!("failed to create a temporary directory in `{shown}`"))?;
    let mut done: Vec<(&str, bool)> = Vec::new();
    let mut result = Ok(());
    for name in &names {
        let dest = dir.join(name);
        let existed = std::fs::symlink_metadata(&dest).is_ok();
        if existed && let Err(e) = std::fs::rename(&dest, backup.path().join(name)) {
            result = Err(e).with_context(|| format!("failed to replace `{}`", dest.display()));
            break;
        }
        if let Err(e) = std::fs::rename(tmp.path().join(name), &dest) {
            if existed {
                let _ = std::fs::rename(backup.path().join(name), &dest);
            }
            result = Err(e).with_context(|| format!("failed to write `{}`", dest.display()));
            break;
        }
        done.push((name, existed));
    }
    if result.is_err() {
        for (name, existed) in done.into_iter().rev() {
            let dest = dir.join(name);
            let _ = std::fs::remove_file(&dest);
            if existed {
                let _ = std::fs::rename(backup.path().join(name), &dest);
            }
        }
    }
    result
}

/// A builder of hidden temporary files (`file`) or directories with the mode of a new output:
/// `0666` for a file, `0777` for a directory (tempfile's default), less the umask, which the
/// kernel applies at creation.
fn temp_builder(file: bool) -> tempfile::Builder<'static, 'static> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".gc-lower-");
    #[cfg(unix)]
    if file {
        use std::os::unix::fs::PermissionsExt as _;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    builder
}

/// The directory holding `path` (`.` for a bare file name).
fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}
