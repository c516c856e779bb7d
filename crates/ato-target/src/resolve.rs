//! Resolving target paths inside the root directory, by the kernel or in userspace.
//!
//! Both resolvers start from the root directory descriptor and never leave it: `..` stops at
//! the root, and the text of an absolute symbolic link is resolved from the root again.
//!
//! * [`Resolution::Kernel`] hands the whole path to `openat2(2)` with `RESOLVE_IN_ROOT |
//!   RESOLVE_NO_MAGICLINKS`; the kernel makes this race-free (Linux 5.6 and later).
//! * [`Resolution::Userspace`] walks one component at a time: each component is opened with
//!   `O_PATH | O_NOFOLLOW` relative to the directory reached so far and examined with `fstat`
//!   on that descriptor, so what is examined is what is used next. Symbolic links are expanded
//!   from their text, at most [`MAX_SYMLINK_HOPS`] times. Magic links under a `/proc` inside
//!   the root are read as plain text and so also stay inside the root.
//!
//! Results come in two shapes: [`Resolver::object`]-style opens, which follow every symbolic
//! link, and [`Entry`], the directory holding the last component plus its name, for the
//! operations that must not follow it (`lstat`, `readlink`).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::{fstat, openat, openat2, readlinkat, AtFlags, Mode, OFlags, ResolveFlags, Stat};
use rustix::io::Errno;

/// How many symbolic links one resolution may expand, as the kernel's limit.
pub const MAX_SYMLINK_HOPS: usize = 40;

/// How often `openat2` is retried when it reports a concurrent rename (`EAGAIN`).
const RETRIES: usize = 16;

/// How target paths are resolved inside the root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// `openat2(2)` with `RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS` (Linux 5.6 and later).
    Kernel,
    /// Component-by-component resolution in this process, for kernels without `openat2` or
    /// sandboxes that filter it.
    Userspace,
}

/// The directory holding the last component of a path, and that component's name.
///
/// `name` is `None` when the path names the directory itself (`/`, a trailing `/`, `.` or
/// `..` as the last component); it is otherwise a single component, never `.` or `..`.
pub(crate) struct Entry {
    pub(crate) dir: OwnedFd,
    pub(crate) name: Option<Vec<u8>>,
}

impl Entry {
    /// `lstat` of the entry: the last component is not followed.
    pub(crate) fn stat_nofollow(&self) -> Result<Stat, Errno> {
        match &self.name {
            Some(name) => rustix::fs::statat(&self.dir, name.as_slice(), AtFlags::SYMLINK_NOFOLLOW),
            None => fstat(&self.dir),
        }
    }
}

/// A resolver bound to one root directory descriptor.
pub(crate) struct Resolver<'a> {
    pub(crate) root: BorrowedFd<'a>,
    pub(crate) resolution: Resolution,
}

impl Resolver<'_> {
    /// Opens what `rel` names, following every symbolic link, with `flags` (`O_CLOEXEC` is
    /// added). `rel` is the target path without its leading slashes.
    ///
    /// With `O_PATH` nothing is really opened (no FIFO blocks, no device driver runs). Without
    /// it, callers must either pass `O_DIRECTORY`, which fails before a device is opened, or
    /// have seen through an `O_PATH` descriptor that the path is a regular file, pass
    /// `O_NONBLOCK | O_NOCTTY` in case it was swapped meanwhile, and compare device and inode
    /// afterwards.
    pub(crate) fn open(&self, rel: &str, flags: OFlags) -> Result<OwnedFd, Errno> {
        match self.resolution {
            Resolution::Kernel => kernel_open(self.root, rel, flags),
            Resolution::Userspace => {
                let Walk { mut dirs, end, .. } = walk(self.root, rel, true)?;
                let top = dirs.pop().ok_or(Errno::NOENT)?;
                let path_only = flags.contains(OFlags::PATH);
                match end {
                    End::Dir if path_only => Ok(top),
                    End::Dir => openat(&top, ".", flags | OFlags::CLOEXEC, Mode::empty()),
                    End::Object(_, fd) if path_only => {
                        if flags.contains(OFlags::DIRECTORY) && !is_dir(&fd)? {
                            return Err(Errno::NOTDIR);
                        }
                        Ok(fd)
                    }
                    End::Object(name, _) => {
                        // Opened by name from its directory, refusing to follow a symbolic
                        // link that appeared since the walk examined the name.
                        let flags = flags | OFlags::NOFOLLOW | OFlags::CLOEXEC;
                        openat(&top, name.as_slice(), flags, Mode::empty())
                    }
                    End::Entry(_) => Err(Errno::NOENT),
                }
            }
        }
    }

    /// The directory holding the last component of `rel`, which is not followed.
    pub(crate) fn entry(&self, rel: &str) -> Result<Entry, Errno> {
        match self.resolution {
            Resolution::Kernel => {
                let (parent, name) = split_last(rel);
                let dir = kernel_open(self.root, parent, OFlags::PATH | OFlags::DIRECTORY)?;
                Ok(Entry {
                    dir,
                    name: name.map(|name| name.as_bytes().to_vec()),
                })
            }
            Resolution::Userspace => {
                let Walk { mut dirs, end, .. } = walk(self.root, rel, false)?;
                let dir = dirs.pop().ok_or(Errno::NOENT)?;
                match end {
                    End::Dir => Ok(Entry { dir, name: None }),
                    End::Entry(name) | End::Object(name, _) => Ok(Entry {
                        dir,
                        name: Some(name),
                    }),
                }
            }
        }
    }

    /// The canonical components of `rel` (every symbolic link resolved, no `.` or `..`).
    ///
    /// This always walks in userspace, whatever the resolution: the kernel cannot tell the
    /// path of a descriptor relative to a root without a trip through `/proc`.
    pub(crate) fn canonical(&self, rel: &str) -> Result<Vec<Vec<u8>>, Errno> {
        let Walk { mut names, end, .. } = walk(self.root, rel, true)?;
        match end {
            End::Dir => {}
            End::Object(name, _) => names.push(name),
            End::Entry(_) => return Err(Errno::NOENT),
        }
        Ok(names)
    }
}

/// Whether the kernel supports confined resolution from `root`.
pub(crate) fn kernel_supported(root: BorrowedFd<'_>) -> Result<(), Errno> {
    kernel_open(root, "", OFlags::PATH | OFlags::DIRECTORY).map(drop)
}

fn kernel_open(root: BorrowedFd<'_>, rel: &str, flags: OFlags) -> Result<OwnedFd, Errno> {
    let rel = if rel.is_empty() { "." } else { rel };
    let resolve = ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS;
    let mut retries = 0;
    loop {
        match openat2(root, rel, flags | OFlags::CLOEXEC, Mode::empty(), resolve) {
            Err(Errno::AGAIN) if retries < RETRIES => retries += 1,
            Err(Errno::INTR) => {}
            result => return result,
        }
    }
}

/// Splits `rel` into the path of its parent directory and its last component. The component
/// is `None` when `rel` names a directory by its form: empty, a trailing `/`, or `.` or `..`
/// last; the whole of `rel` is then the directory.
fn split_last(rel: &str) -> (&str, Option<&str>) {
    if rel.is_empty() || rel.ends_with('/') {
        return (rel, None);
    }
    let (parent, name) = rel.rsplit_once('/').unwrap_or(("", rel));
    if name == "." || name == ".." {
        (rel, None)
    } else {
        (parent, Some(name))
    }
}

/// The outcome of a userspace walk.
struct Walk {
    /// The directories from the root to the one holding the end; never empty.
    dirs: Vec<OwnedFd>,
    /// The names of `dirs[1..]`, i.e. the canonical path of the last directory.
    names: Vec<Vec<u8>>,
    end: End,
}

enum End {
    /// The path names the last directory of the walk itself.
    Dir,
    /// The last component, not followed and not examined (it may not exist).
    Entry(Vec<u8>),
    /// The last component, followed: it exists and is not a symbolic link; here is an
    /// `O_PATH` descriptor on it.
    Object(Vec<u8>, OwnedFd),
}

/// Walks `rel` from `root` one component at a time; see the module documentation.
fn walk(root: BorrowedFd<'_>, rel: &str, follow_last: bool) -> Result<Walk, Errno> {
    let mut dirs = vec![rustix::io::fcntl_dupfd_cloexec(root, 0)?];
    let mut names: Vec<Vec<u8>> = Vec::new();
    // Components still to resolve, the next one last.
    let mut pending = components(rel.as_bytes());
    let mut hops = 0;

    while let Some(component) = pending.pop() {
        match component.as_slice() {
            b"." => continue,
            b".." => {
                // Clamp at the root: the first directory is never popped.
                if names.pop().is_some() {
                    dirs.pop();
                }
                continue;
            }
            _ => {}
        }
        let last = pending.is_empty();
        if last && !follow_last {
            return Ok(Walk {
                dirs,
                names,
                end: End::Entry(component),
            });
        }

        let top = dirs.last().ok_or(Errno::NOENT)?;
        let flags = OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = openat(top, component.as_slice(), flags, Mode::empty())?;
        let file_type = rustix::fs::FileType::from_raw_mode(fstat(&fd)?.st_mode);

        if file_type == rustix::fs::FileType::Symlink {
            hops += 1;
            if hops > MAX_SYMLINK_HOPS {
                return Err(Errno::LOOP);
            }
            let text = readlinkat(&fd, "", Vec::new())?.into_bytes();
            if text.is_empty() {
                return Err(Errno::NOENT);
            }
            if text.starts_with(b"/") {
                dirs.truncate(1);
                names.clear();
            }
            pending.extend(components(&text));
        } else if last {
            return Ok(Walk {
                dirs,
                names,
                end: End::Object(component, fd),
            });
        } else if file_type == rustix::fs::FileType::Directory {
            dirs.push(fd);
            names.push(component);
        } else {
            return Err(Errno::NOTDIR);
        }
    }
    Ok(Walk {
        dirs,
        names,
        end: End::Dir,
    })
}

/// The components of a path in reverse order (so that `pop` yields the first), without empty
/// ones; a trailing slash becomes a final `.` so that the component before it must be a
/// directory and is followed.
fn components(path: &[u8]) -> Vec<Vec<u8>> {
    let mut parts: Vec<Vec<u8>> = path
        .split(|&b| b == b'/')
        .filter(|part| !part.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    if path.ends_with(b"/") && !parts.is_empty() {
        parts.push(b".".to_vec());
    }
    parts.reverse();
    parts
}

fn is_dir(fd: impl AsFd) -> Result<bool, Errno> {
    Ok(rustix::fs::FileType::from_raw_mode(fstat(fd)?.st_mode) == rustix::fs::FileType::Directory)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_last_component() {
        assert_eq!(split_last(""), ("", None));
        assert_eq!(split_last("etc"), ("", Some("etc")));
        assert_eq!(split_last("etc/passwd"), ("etc", Some("passwd")));
        assert_eq!(split_last("etc/"), ("etc/", None));
        assert_eq!(split_last("etc/.."), ("etc/..", None));
        assert_eq!(split_last("etc/."), ("etc/.", None));
        assert_eq!(split_last("a//b"), ("a/", Some("b")));
    }

    #[test]
    fn components_in_reverse() {
        let parts = |p: &str| {
            components(p.as_bytes())
                .into_iter()
                .rev()
                .map(|c| String::from_utf8(c).unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            parts("/etc//ssh/sshd_config"),
            ["etc", "ssh", "sshd_config"]
        );
        assert_eq!(parts("etc/"), ["etc", "."]);
        assert!(parts("/").is_empty());
        assert!(parts("").is_empty());
    }
}
