//! The temporary files of outputs being written, so that an interrupted process can remove them.
//!
//! [`write_atomically`](crate::results::write_atomically) writes each output to a temporary file
//! beside it and renames it into place. Each temporary file is registered here from its creation
//! until it is renamed or removed; [`interrupt`] removes those still registered and tells which
//! outputs were complete. The binary calls it from its termination-signal handler, then exits:
//! library code never exits and never prints.
//!
//! One lock covers creating a temporary file and registering it, and renaming it and
//! unregistering it, so that cleanup sees each file either registered or already renamed. Once
//! [`interrupt`] has run the lock is never released: no temporary file is created and no output
//! is renamed into place after cleanup began.
//!
//! Only files registered here are ever removed, and only while the path still names the file
//! that was created (same device and inode): a file that someone else put in its place stays.

use std::fs::File;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use tempfile::NamedTempFile;

/// The registry of this process.
static PENDING: Mutex<Registry> = Mutex::new(Registry::new());

/// Temporary files being written, and the outputs already renamed into place.
#[derive(Debug)]
pub struct Registry {
    next_id: u64,
    temporary: Vec<Entry>,
    complete: Vec<PathBuf>,
}

#[derive(Debug)]
struct Entry {
    id: u64,
    path: PathBuf,
    dev: u64,
    ino: u64,
}

/// What [`interrupt`] did: the outputs that were complete, and the temporary files it removed
/// or could not remove.
#[derive(Debug, Default)]
pub struct Interrupted {
    /// Outputs renamed into place before the interruption, in the order they were written.
    pub complete: Vec<PathBuf>,
    /// Temporary files removed.
    pub removed: Vec<PathBuf>,
    /// Temporary files that could not be removed, with the cause.
    pub not_removed: Vec<(PathBuf, io::Error)>,
}

impl Registry {
    const fn new() -> Self {
        Registry {
            next_id: 0,
            temporary: Vec::new(),
            complete: Vec::new(),
        }
    }

    fn register(&mut self, path: &Path, file: &File) -> io::Result<u64> {
        let meta = file.metadata()?;
        let id = self.next_id;
        self.next_id += 1;
        self.temporary.push(Entry {
            id,
            path: path.to_path_buf(),
            dev: meta.dev(),
            ino: meta.ino(),
        });
        Ok(id)
    }

    fn unregister(&mut self, id: u64) {
        self.temporary.retain(|e| e.id != id);
    }

    /// Removes every registered temporary file that is still the file that was created, and
    /// empties the registry.
    fn remove_all(&mut self) -> Interrupted {
        let mut out = Interrupted {
            complete: self.complete.clone(),
            ..Interrupted::default()
        };
        for entry in self.temporary.drain(..) {
            match std::fs::symlink_metadata(&entry.path) {
                Ok(m) if m.dev() == entry.dev && m.ino() == entry.ino => {
                    match std::fs::remove_file(&entry.path) {
                        Ok(()) => out.removed.push(entry.path),
                        Err(e) => out.not_removed.push((entry.path, e)),
                    }
                }
                // Gone already, or replaced by a file that is not ours: leave it.
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => out.not_removed.push((entry.path, e)),
            }
        }
        out
    }
}

/// A temporary file beside an output, registered until it is renamed into place or dropped
/// (which removes it).
#[derive(Debug)]
pub struct PendingFile {
    registry: &'static Mutex<Registry>,
    id: u64,
    // `None` once renamed into place.
    file: Option<NamedTempFile>,
}

/// Creates a registered temporary file in `dir`, readable and writable by its owner only.
pub fn create_in(dir: &Path) -> io::Result<PendingFile> {
    create_in_registry(&PENDING, dir)
}

fn create_in_registry(registry: &'static Mutex<Registry>, dir: &Path) -> io::Result<PendingFile> {
    let mut reg = lock(registry);
    let file = NamedTempFile::new_in(dir)?;
    let id = reg.register(file.path(), file.as_file())?;
    Ok(PendingFile {
        registry,
        id,
        file: Some(file),
    })
}

impl PendingFile {
    /// The temporary file's path.
    pub fn path(&self) -> &Path {
        match &self.file {
            Some(f) => f.path(),
            None => Path::new(""),
        }
    }

    /// The open temporary file.
    pub fn as_file_mut(&mut self) -> io::Result<&mut File> {
        match &mut self.file {
            Some(f) => Ok(f.as_file_mut()),
            None => Err(io::Error::other("the temporary file was already renamed")),
        }
    }

    /// Renames the temporary file to `target` and records `target` as complete. On an error the
    /// temporary file is removed.
    pub fn persist(mut self, target: &Path) -> io::Result<()> {
        let Some(file) = self.file.take() else {
            return Err(io::Error::other("the temporary file was already renamed"));
        };
        let mut reg = lock(self.registry);
        let outcome = match file.persist(target) {
            Ok(_) => {
                reg.complete.push(target.to_path_buf());
                Ok(())
            }
            // Dropping the temporary file removes it, while the lock is held.
            Err(e) => Err(e.error),
        };
        reg.unregister(self.id);
        outcome
    }
}

impl Drop for PendingFile {
    fn drop(&mut self) {
        if let Some(file) = self.file.take() {
            let mut reg = lock(self.registry);
            drop(file);
            reg.unregister(self.id);
        }
    }
}

/// Removes the temporary files of outputs being written and says which outputs were complete.
///
/// For a termination-signal handler, which must exit the process right after: from here on, a
/// thread that creates or renames an output waits forever.
pub fn interrupt() -> Interrupted {
    interrupt_registry(&PENDING)
}

fn interrupt_registry(registry: &'static Mutex<Registry>) -> Interrupted {
    let mut reg = lock(registry);
    let out = reg.remove_all();
    // Keep the lock: nothing may be created or renamed into place after cleanup.
    std::mem::forget(reg);
    out
}

/// The registry, even when a thread panicked while holding it: its lists stay consistent, since
/// every change to them is a single push or retain.
fn lock(registry: &Mutex<Registry>) -> MutexGuard<'_, Registry> {
    registry.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn registry() -> &'static Mutex<Registry> {
        Box::leak(Box::new(Mutex::new(Registry::new())))
    }

    fn registered(registry: &Mutex<Registry>) -> Vec<PathBuf> {
        lock(registry)
            .temporary
            .iter()
            .map(|e| e.path.clone())
            .collect()
    }

    #[test]
    fn a_temporary_file_is_registered_from_creation_to_rename() {
        let dir = tempfile::tempdir().unwrap();
        let reg = registry();
        let mut pending = create_in_registry(reg, dir.path()).unwrap();
        let tmp = pending.path().to_path_buf();
        assert_eq!(registered(reg), std::slice::from_ref(&tmp));
        pending.as_file_mut().unwrap().write_all(b"done").unwrap();

        let target = dir.path().join("out.xml");
        pending.persist(&target).unwrap();
        assert!(registered(reg).is_empty());
        assert!(!tmp.exists());
        assert_eq!(std::fs::read(&target).unwrap(), b"done");
        assert_eq!(lock(reg).complete, [target]);
    }

    #[test]
    fn a_dropped_temporary_file_is_removed_and_unregistered() {
        let dir = tempfile::tempdir().unwrap();
        let reg = registry();
        let pending = create_in_registry(reg, dir.path()).unwrap();
        let tmp = pending.path().to_path_buf();
        drop(pending);
        assert!(registered(reg).is_empty());
        assert!(!tmp.exists());
        assert!(lock(reg).complete.is_empty());
    }

    #[test]
    fn a_failed_rename_removes_the_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let reg = registry();
        let pending = create_in_registry(reg, dir.path()).unwrap();
        let tmp = pending.path().to_path_buf();
        let err = pending
            .persist(&dir.path().join("missing/out.xml"))
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(registered(reg).is_empty());
        assert!(!tmp.exists());
        assert!(lock(reg).complete.is_empty());
    }

    #[test]
    fn interrupt_removes_pending_files_and_keeps_complete_outputs() {
        let dir = tempfile::tempdir().unwrap();
        let reg = registry();
        let done = create_in_registry(reg, dir.path()).unwrap();
        let target = dir.path().join("results.xml");
        done.persist(&target).unwrap();
        let first = create_in_registry(reg, dir.path()).unwrap();
        let second = create_in_registry(reg, dir.path()).unwrap();
        let tmps = [first.path().to_path_buf(), second.path().to_path_buf()];

        let out = interrupt_registry(reg);
        assert_eq!(out.complete, std::slice::from_ref(&target));
        assert_eq!(out.removed, tmps);
        assert!(out.not_removed.is_empty());
        assert!(target.exists());
        assert!(tmps.iter().all(|t| !t.exists()));
        // The handler exits the process here; in a test, the files' owners must not wait for
        // the lock the interruption keeps.
        std::mem::forget(first);
        std::mem::forget(second);
        assert!(reg.try_lock().is_err(), "the lock stays held after cleanup");
    }

    #[test]
    fn interrupt_leaves_a_file_that_replaced_a_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let reg = registry();
        let pending = create_in_registry(reg, dir.path()).unwrap();
        let tmp = pending.path().to_path_buf();
        // Someone else's file now has the temporary file's name (created before it is renamed
        // over it, so that it cannot reuse the inode).
        let other = dir.path().join("other");
        std::fs::write(&other, b"not ours").unwrap();
        std::fs::rename(&other, &tmp).unwrap();

        let out = interrupt_registry(reg);
        assert!(out.removed.is_empty());
        assert_eq!(std::fs::read(&tmp).unwrap(), b"not ours");
        std::mem::forget(pending);
    }

    #[test]
    fn interrupt_with_nothing_pending_removes_nothing() {
        let out = interrupt_registry(registry());
        assert!(out.complete.is_empty());
        assert!(out.removed.is_empty());
        assert!(out.not_removed.is_empty());
    }
}
