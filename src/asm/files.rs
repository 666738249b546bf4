//! Finding and reading source files: the main program, the modules it
//! imports and the files it spawns.
//!
//! Every source file must be a regular file of at most
//! [`MAX_SOURCE_BYTES`]; both are checked before the file is read, and the
//! read itself stops one byte past the cap (a `/proc` file reports size 0).
//! Under `--sandbox` a module or spawned file must also be a `.ttvm` file
//! whose real path (symlinks and `..` resolved) lies inside the main
//! program's folder; bundled `std/` modules are always allowed. A refused
//! file is never opened, so nothing of it can reach a diagnostic.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The largest source file ttvm reads: 64 MiB.
pub const MAX_SOURCE_BYTES: u64 = 64 << 20;

/// Why a file is not loaded: a message and a hint.
#[derive(Debug)]
pub(super) struct Refused {
    pub message: String,
    pub help: Option<String>,
}

impl Refused {
    fn new(message: String, help: impl Into<Option<String>>) -> Refused {
        Refused {
            message,
            help: help.into(),
        }
    }
}

/// Where a sandboxed program may load modules and spawned files from.
#[derive(Debug)]
pub(super) struct Sandbox {
    /// The main program's folder, canonical.
    root: PathBuf,
}

impl Sandbox {
    /// The sandbox of the program in `main` (as named on the command line).
    pub fn for_main(main: &Path) -> Result<Sandbox, Refused> {
        let folder = match main.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        std::fs::canonicalize(folder)
            .map(|root| Sandbox { root })
            .map_err(|e| {
                Refused::new(
                    format!(
                        "cannot resolve the folder `{}` of the program: {}",
                        folder.display(),
                        crate::exec::os_reason(&e)
                    ),
                    None,
                )
            })
    }

    /// Admit `found` (an existing path named by IMPORT or SPAWN): its real
    /// path, to be opened without following a symlink, or why it is refused.
    pub fn admit(&self, found: &Path) -> Result<PathBuf, Refused> {
        let real = std::fs::canonicalize(found).map_err(|e| {
            Refused::new(
                format!(
                    "cannot resolve `{}`: {}",
                    found.display(),
                    crate::exec::os_reason(&e)
                ),
                None,
            )
        })?;
        if !real.starts_with(&self.root) {
            return Err(Refused::new(
                format!(
                    "--sandbox refuses `{}`: it is outside the program's folder `{}`",
                    real.display(),
                    self.root.display()
                ),
                self.rule(),
            ));
        }
        if real.extension().is_none_or(|e| e != "ttvm") {
            return Err(Refused::new(
                format!(
                    "--sandbox refuses `{}`: it is not a `.ttvm` file",
                    real.display()
                ),
                self.rule(),
            ));
        }
        Ok(real)
    }

    fn rule(&self) -> String {
        format!(
            "a sandboxed program may load only `.ttvm` files inside `{}` (after following symlinks) and the bundled `std/` modules",
            self.root.display()
        )
    }
}

/// The first of `candidates` that exists (following symlinks); a path the
/// OS cannot even look at (not a folder on the way, bad name) counts as
/// missing.
pub(super) fn first_existing(candidates: &[PathBuf]) -> Option<&PathBuf> {
    candidates.iter().find(|p| std::fs::metadata(p).is_ok())
}

/// Read a source file, refusing one that is not a regular file or is larger
/// than [`MAX_SOURCE_BYTES`] before reading it whole. `shown` names it in
/// messages. With `no_follow`, a symlink in the last component is refused
/// (the sandbox opens real paths only).
pub(super) fn read_source(path: &Path, shown: &str, no_follow: bool) -> Result<Vec<u8>, Refused> {
    let os_error = |e: std::io::Error| {
        Refused::new(
            format!("cannot read `{shown}`: {}", crate::exec::os_reason(&e)),
            None,
        )
    };
    // Look before opening: opening a FIFO waits for a writer, and opening a
    // device can have effects of its own.
    let meta = std::fs::metadata(path).map_err(os_error)?;
    check_kind_and_size(&meta, shown)?;
    let file = open(path, no_follow).map_err(os_error)?;
    // The file may have been replaced since: check what was opened.
    let meta = file.metadata().map_err(os_error)?;
    check_kind_and_size(&meta, shown)?;
    read_capped(file, meta.len()).map_err(|e| match e {
        Some(e) => os_error(e),
        None => too_large(shown, None),
    })
}

/// Read `file` to its end in whole chunks (some `/proc` files refuse odd
/// read sizes), stopping as soon as it is past [`MAX_SOURCE_BYTES`]:
/// `Err(None)` then, `Err(Some(e))` on an I/O error.
fn read_capped(mut file: File, size_hint: u64) -> Result<Vec<u8>, Option<std::io::Error>> {
    const CHUNK: usize = 1 << 16;
    let mut bytes = Vec::with_capacity(size_hint.min(MAX_SOURCE_BYTES) as usize);
    let mut chunk = vec![0u8; CHUNK];
    loop {
        match file.read(&mut chunk) {
            Ok(0) => return Ok(bytes),
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Some(e)),
        }
        if bytes.len() as u64 > MAX_SOURCE_BYTES {
            return Err(None);
        }
    }
}

fn check_kind_and_size(meta: &std::fs::Metadata, shown: &str) -> Result<(), Refused> {
    if !meta.is_file() {
        return Err(Refused::new(
            format!(
                "`{shown}` is not a regular file (it is {})",
                kind(&meta.file_type())
            ),
            "ttvm reads programs and modules only from regular files; save the source to a file first".to_string(),
        ));
    }
    if meta.len() > MAX_SOURCE_BYTES {
        return Err(too_large(shown, Some(meta.len())));
    }
    Ok(())
}

fn too_large(shown: &str, size: Option<u64>) -> Refused {
    let size = match size {
        Some(n) => format!(" ({n} bytes)"),
        None => String::new(),
    };
    Refused::new(
        format!("`{shown}` is larger than the 64 MiB a source file may have{size}"),
        "split the program into modules of at most 64 MiB each".to_string(),
    )
}

fn kind(t: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
    }
    if t.is_dir() {
        "a directory"
    } else if t.is_symlink() {
        "a symbolic link"
    } else {
        "not a file"
    }
}

#[cfg(unix)]
fn open(path: &Path, no_follow: bool) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    // Non-blocking, so that a FIFO put in the file's place after the look
    // above does not wait for a writer (reads of a regular file ignore it).
    let mut flags = libc::O_NONBLOCK;
    if no_follow {
        flags |= libc::O_NOFOLLOW;
    }
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)
}

#[cfg(not(unix))]
fn open(path: &Path, _no_follow: bool) -> std::io::Result<File> {
    File::open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_lies_about_its_size_is_read_only_to_the_cap() {
        // /proc files report size 0 and may be endless.
        let path = Path::new("/proc/self/pagemap");
        if !path.exists() {
            return;
        }
        let e = read_source(path, "pagemap", false).unwrap_err();
        assert!(e.message.contains("larger than the 64 MiB"), "{e:?}");
    }

    #[test]
    fn directories_and_devices_are_refused_before_reading() {
        let e = read_source(Path::new("."), ".", false).unwrap_err();
        assert!(e.message.contains("a directory"), "{e:?}");
        if Path::new("/dev/zero").exists() {
            let e = read_source(Path::new("/dev/zero"), "/dev/zero", false).unwrap_err();
            assert!(e.message.contains("a character device"), "{e:?}");
        }
    }
}
