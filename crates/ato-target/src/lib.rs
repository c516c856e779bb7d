//! Read-only access to the scanned system: the live host, or an offline root such as a
//! mounted image or an unpacked container tree (`--root DIR`).
//!
//! Probes name files by *target paths*, absolute paths as the scanned system sees them
//! (`/etc/ssh/sshd_config`). A [`Target`] resolves them inside its root and never outside it,
//! even when the tree is hostile: `..` stops at the root, an absolute symbolic link is
//! resolved from the root again, `/proc` magic links are refused, symbolic link loops end in
//! [`TargetError::Loop`]. The root directory is opened once; every later lookup starts from
//! that descriptor with `openat2(RESOLVE_IN_ROOT)`, or, where the kernel lacks it, with a
//! component-by-component walk that examines each component without following it (see
//! [`Resolution`]).
//!
//! Nothing here executes a program, calls `chroot`, writes to the target or opens a FIFO or a
//! device: [`Target::read`] checks through an `O_PATH` descriptor that a file is regular
//! before opening it. The live host is the same code with `/` as its root.
//!
//! The live host has one more source, its running systemd, asked over D-Bus through the local
//! sockets [`Target::systemd_bus`] names. An offline root has none: nothing in it runs, and no
//! socket inside it is ever connected to.
//!
//! ```no_run
//! use std::path::Path;
//!
//! use ato_target::Target;
//!
//! # fn main() -> Result<(), ato_target::TargetError> {
//! let target = Target::offline(Path::new("/srv/images/web01"))?;
//! match target.read("/etc/ssh/sshd_config", 1 << 20) {
//!     Ok(bytes) => println!("{} bytes", bytes.len()),
//!     Err(err) if err.is_not_found() => println!("not installed"),
//!     Err(err) => return Err(err),
//! }
//! # Ok(())
//! # }
//! ```

mod error;
mod mounts;
mod resolve;
mod stat;

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustix::fs::{fstat, statat, AtFlags, Dir, Mode, OFlags};
use rustix::io::Errno;

pub use error::TargetError;
pub use mounts::Mount;
pub use resolve::{Resolution, MAX_SYMLINK_HOPS};
pub use stat::{FileStat, FileType};

use resolve::Resolver;

/// The scanned system: a root directory, opened once, and how paths are resolved under it.
#[derive(Debug)]
pub struct Target {
    root_fd: OwnedFd,
    root: PathBuf,
    offline: bool,
    resolution: Resolution,
    systemd_bus: Option<SystemdBus>,
}

/// Where the live host's systemd answers over D-Bus, and how long to wait for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemdBus {
    /// Host path of systemd's private socket, which speaks to root directly (peer to peer).
    pub private_socket: PathBuf,
    /// Host path of the system bus socket, tried when the private one cannot be used.
    pub system_bus: PathBuf,
    /// The longest wait for connecting and for each call.
    pub timeout: Duration,
}

impl SystemdBus {
    /// `/run/systemd/private`, then `/run/dbus/system_bus_socket`, 5 seconds each.
    #[must_use]
    pub fn host() -> SystemdBus {
        SystemdBus {
            private_socket: PathBuf::from("/run/systemd/private"),
            system_bus: PathBuf::from("/run/dbus/system_bus_socket"),
            timeout: Duration::from_secs(5),
        }
    }
}

/// One entry of a directory listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    /// The entry's name, converted lossily to UTF-8.
    pub name: String,
    /// The entry's name as stored on disk.
    pub raw_name: Vec<u8>,
    /// The entry's type, without following a symbolic link: from `d_type`, or from `lstat`
    /// where the file system does not report it.
    pub file_type: FileType,
}

/// A directory entry with its `lstat`, or why it could not be examined; see
/// [`Target::read_dir_with_stat`].
pub type StatedEntry = (DirEntry, Result<FileStat, TargetError>);

/// The kernel identification of the live host (`uname(2)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uname {
    /// Operating system name (`Linux`).
    pub sysname: String,
    /// Network node name.
    pub nodename: String,
    /// Kernel release (`6.1.0-18-amd64`).
    pub release: String,
    /// Kernel version string.
    pub version: String,
    /// Hardware name (`x86_64`).
    pub machine: String,
    /// NIS domain name.
    pub domainname: String,
}

impl Target {
    /// The live host: root `/`.
    ///
    /// # Errors
    ///
    /// [`TargetError::Root`] if `/` cannot be opened.
    pub fn live() -> Result<Target, TargetError> {
        Self::open(Path::new("/"), false, None)
    }

    /// A live host laid out under `root`, with its systemd at `systemd_bus`: for tests that
    /// build a host's `/run` and `/sys` in a directory and serve a fake systemd. Probes treat
    /// it as the live host.
    ///
    /// # Errors
    ///
    /// As [`Target::offline`].
    pub fn live_in(root: &Path, systemd_bus: SystemdBus) -> Result<Target, TargetError> {
        let mut target = Self::open(root, false, None)?;
        target.systemd_bus = Some(systemd_bus);
        Ok(target)
    }

    /// An offline root: the host directory `root` is the target's `/`. The resolution is
    /// chosen by probing the kernel once: [`Resolution::Kernel`] where `openat2` works,
    /// [`Resolution::Userspace`] otherwise.
    ///
    /// # Errors
    ///
    /// [`TargetError::RootNotADirectory`] if `root` is not a directory, [`TargetError::Root`]
    /// if it cannot be opened.
    pub fn offline(root: &Path) -> Result<Target, TargetError> {
        Self::open(root, true, None)
    }

    /// An offline root with a given resolution, for tests and for working around a kernel
    /// or sandbox that mishandles `openat2`.
    ///
    /// # Errors
    ///
    /// As [`Target::offline`], and [`TargetError::KernelResolutionUnavailable`] if
    /// [`Resolution::Kernel`] is asked for and the kernel refuses it.
    pub fn offline_with(root: &Path, resolution: Resolution) -> Result<Target, TargetError> {
        Self::open(root, true, Some(resolution))
    }

    fn open(
        root: &Path,
        offline: bool,
        resolution: Option<Resolution>,
    ) -> Result<Target, TargetError> {
        // The root path comes from the operator, not from the target, so it may be followed.
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let root_fd =
            rustix::fs::open(root, flags, Mode::empty()).map_err(|errno| match errno {
                Errno::NOTDIR => TargetError::RootNotADirectory {
                    root: root.to_owned(),
                },
                _ => TargetError::Root {
                    root: root.to_owned(),
                    source: errno.into(),
                },
            })?;
        let canonical = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_owned());

        let kernel = resolve::kernel_supported(root_fd.as_fd());
        let resolution = match (resolution, kernel) {
            (Some(Resolution::Kernel), Err(errno)) => {
                return Err(TargetError::KernelResolutionUnavailable {
                    root: canonical,
                    source: errno.into(),
                });
            }
            (Some(resolution), _) => resolution,
            (None, Ok(())) => Resolution::Kernel,
            (None, Err(_)) => Resolution::Userspace,
        };
        Ok(Target {
            root_fd,
            root: canonical,
            offline,
            resolution,
            systemd_bus: (!offline).then(SystemdBus::host),
        })
    }

    /// Whether this is an offline root rather than the live host.
    #[must_use]
    pub fn is_offline(&self) -> bool {
        self.offline
    }

    /// The host path of the root (canonical where it could be made so).
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// How paths are resolved under the root.
    #[must_use]
    pub fn resolution(&self) -> Resolution {
        self.resolution
    }

    /// Where the running systemd answers over D-Bus: [`SystemdBus::host`] on the live host,
    /// `None` on an offline root.
    #[must_use]
    pub fn systemd_bus(&self) -> Option<&SystemdBus> {
        self.systemd_bus.as_ref()
    }

    /// The metadata of `path` itself: a symbolic link as the last component is not followed
    /// (`lstat`). The directories leading to it are resolved inside the root.
    ///
    /// # Errors
    ///
    /// [`TargetError::NotFound`] and the other resolution errors, naming `path`.
    pub fn lstat(&self, path: &str) -> Result<FileStat, TargetError> {
        let rel = relative(path)?;
        let entry = self
            .resolver()
            .entry(rel)
            .map_err(|e| TargetError::from_errno(path, e))?;
        let st = entry
            .stat_nofollow()
            .map_err(|e| TargetError::from_errno(path, e))?;
        Ok(FileStat::from_stat(&st))
    }

    /// The metadata of what `path` names once every symbolic link is followed inside the root
    /// (`stat`).
    ///
    /// # Errors
    ///
    /// [`TargetError::NotFound`] (also for a dangling link), [`TargetError::Loop`] and the
    /// other resolution errors, naming `path`.
    pub fn stat(&self, path: &str) -> Result<FileStat, TargetError> {
        let fd = self.open_path(path)?;
        let st = fstat(&fd).map_err(|e| TargetError::from_errno(path, e))?;
        Ok(FileStat::from_stat(&st))
    }

    /// Whether `path` exists once symbolic links are followed; a dangling link does not. Any
    /// error counts as "does not exist"; use [`Target::stat`] to tell them apart.
    #[must_use]
    pub fn exists(&self, path: &str) -> bool {
        self.stat(path).is_ok()
    }

    /// Opens the regular file `path` (symbolic links followed inside the root) for reading,
    /// for callers that stream large files instead of using [`Target::read`].
    ///
    /// The file is first examined through an `O_PATH` descriptor, which opens nothing, and
    /// only opened for reading if it is a regular file, so a FIFO never blocks the scan and a
    /// device driver never sees an `open`.
    ///
    /// # Errors
    ///
    /// [`TargetError::NotRegular`] for anything but a regular file, [`TargetError::Changed`]
    /// if the file was replaced while being opened, and the resolution errors.
    pub fn open_file(&self, path: &str) -> Result<(File, FileStat), TargetError> {
        self.open_file_via(path, true)
    }

    /// [`Target::open_file`], reopening through the host's `/proc` only if `via_proc`.
    fn open_file_via(&self, path: &str, via_proc: bool) -> Result<(File, FileStat), TargetError> {
        let probe = self.open_path(path)?;
        let st = FileStat::from_stat(&fstat(&probe).map_err(|e| TargetError::from_errno(path, e))?);
        if st.file_type != FileType::Regular {
            return Err(TargetError::NotRegular {
                path: path.to_owned(),
                file_type: st.file_type,
            });
        }

        let reopened = if via_proc {
            reopen(&probe)
        } else {
            Err(Errno::NOENT)
        };
        let fd = if let Ok(fd) = reopened {
            fd
        } else {
            // No /proc on the host: resolve the path again and check it is the same file.
            let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY;
            self.resolver()
                .open(relative(path)?, flags)
                .map_err(|e| TargetError::from_errno(path, e))?
        };
        let opened =
            FileStat::from_stat(&fstat(&fd).map_err(|e| TargetError::from_errno(path, e))?);
        if (opened.dev, opened.ino) != (st.dev, st.ino) || opened.file_type != FileType::Regular {
            return Err(TargetError::Changed {
                path: path.to_owned(),
            });
        }
        Ok((File::from(fd), opened))
    }

    /// The content of the regular file `path` (symbolic links followed inside the root), if
    /// it is at most `limit` bytes.
    ///
    /// # Errors
    ///
    /// [`TargetError::TooLarge`] above `limit` (also when the file grows while being read),
    /// and the errors of [`Target::open_file`].
    pub fn read(&self, path: &str, limit: u64) -> Result<Vec<u8>, TargetError> {
        let (file, st) = self.open_file(path)?;
        if st.size > limit {
            return Err(TargetError::TooLarge {
                path: path.to_owned(),
                size: st.size,
                limit,
            });
        }

        let mut bytes = Vec::with_capacity(usize::try_from(st.size).unwrap_or(0));
        file.take(limit.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| TargetError::from_io(path, e))?;
        let size = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        if size > limit {
            return Err(TargetError::TooLarge {
                path: path.to_owned(),
                size,
                limit,
            });
        }
        Ok(bytes)
    }

    /// The entries of the directory `path` (symbolic links followed inside the root), without
    /// `.` and `..`, sorted by their raw names.
    ///
    /// # Errors
    ///
    /// [`TargetError::NotADirectory`] if `path` is not a directory, and the resolution errors.
    pub fn read_dir(&self, path: &str) -> Result<Vec<DirEntry>, TargetError> {
        let mut dir = self.open_dir(path)?;
        let mut entries = Vec::new();
        while let Some((raw_name, mut file_type)) = next_name(&mut dir, path)? {
            if file_type == FileType::Unknown {
                file_type = dir
                    .fd()
                    .and_then(|fd| statat(fd, raw_name.as_slice(), AtFlags::SYMLINK_NOFOLLOW))
                    .map_or(FileType::Unknown, |st| FileType::from_mode(st.st_mode));
            }
            entries.push(DirEntry::new(raw_name, file_type));
        }
        entries.sort_by(|a, b| a.raw_name.cmp(&b.raw_name));
        Ok(entries)
    }

    /// The entries of the directory `path` as [`Target::read_dir`] gives them, each with its
    /// `lstat`, taken relative to the directory opened for the listing. An entry's name is a
    /// single component, so examining it without following it stays inside the directory
    /// (and the root) and costs no path resolution.
    ///
    /// An entry that cannot be examined comes with the error, naming `path/name`:
    /// [`TargetError::NotFound`] when it was removed after the directory was read. Its type is
    /// then the one the directory reported.
    ///
    /// # Errors
    ///
    /// As [`Target::read_dir`], for the directory itself.
    pub fn read_dir_with_stat(&self, path: &str) -> Result<Vec<StatedEntry>, TargetError> {
        let mut dir = self.open_dir(path)?;
        let mut entries = Vec::new();
        while let Some((raw_name, reported)) = next_name(&mut dir, path)? {
            let stat = dir
                .fd()
                .and_then(|fd| statat(fd, raw_name.as_slice(), AtFlags::SYMLINK_NOFOLLOW))
                .map(|st| FileStat::from_stat(&st))
                .map_err(|errno| {
                    let name = String::from_utf8_lossy(&raw_name);
                    let full = if path.ends_with('/') {
                        format!("{path}{name}")
                    } else {
                        format!("{path}/{name}")
                    };
                    TargetError::from_errno(&full, errno)
                });
            let file_type = stat.as_ref().map_or(reported, |st| st.file_type);
            entries.push((DirEntry::new(raw_name, file_type), stat));
        }
        entries.sort_by(|a, b| a.0.raw_name.cmp(&b.0.raw_name));
        Ok(entries)
    }

    /// Opens the directory `path` (symbolic links followed inside the root) for listing.
    fn open_dir(&self, path: &str) -> Result<Dir, TargetError> {
        let rel = relative(path)?;
        let flags = OFlags::RDONLY | OFlags::DIRECTORY;
        let fd = self
            .resolver()
            .open(rel, flags)
            .map_err(|e| TargetError::from_errno(path, e))?;
        Dir::new(fd).map_err(|e| TargetError::from_errno(path, e))
    }

    /// The text of the symbolic link that is the last component of `path`, as stored
    /// (converted lossily to UTF-8); the directories leading to it are resolved inside the
    /// root.
    ///
    /// # Errors
    ///
    /// [`TargetError::NotASymlink`] if the last component is not a symbolic link, and the
    /// resolution errors.
    pub fn read_link(&self, path: &str) -> Result<String, TargetError> {
        let rel = relative(path)?;
        let entry = self
            .resolver()
            .entry(rel)
            .map_err(|e| TargetError::from_errno(path, e))?;
        let not_a_symlink = || TargetError::NotASymlink {
            path: path.to_owned(),
        };
        let name = entry.name.ok_or_else(not_a_symlink)?;
        match rustix::fs::readlinkat(&entry.dir, name.as_slice(), Vec::new()) {
            Ok(text) => Ok(String::from_utf8_lossy(text.as_bytes()).into_owned()),
            Err(Errno::INVAL) => Err(not_a_symlink()),
            Err(errno) => Err(TargetError::from_errno(path, errno)),
        }
    }

    /// The canonical target path of `path`: absolute, every symbolic link resolved inside the
    /// root, no `.` or `..` (like `realpath`, so the path must exist).
    ///
    /// This always walks the path in userspace, one component at a time; see [`Resolution`].
    ///
    /// # Errors
    ///
    /// [`TargetError::NotFound`] and the other resolution errors, naming `path`.
    pub fn canonical(&self, path: &str) -> Result<String, TargetError> {
        let rel = relative(path)?;
        let names = self
            .resolver()
            .canonical(rel)
            .map_err(|e| TargetError::from_errno(path, e))?;
        if names.is_empty() {
            return Ok("/".to_owned());
        }
        let mut canonical = String::new();
        for name in names {
            canonical.push('/');
            canonical.push_str(&String::from_utf8_lossy(&name));
        }
        Ok(canonical)
    }

    /// The mounts of the target; empty if the host's mount table cannot be read. See
    /// [`Target::try_mounts`].
    #[must_use]
    pub fn mounts(&self) -> Vec<Mount> {
        self.try_mounts().unwrap_or_default()
    }

    /// The mounts of the target, from the host's `/proc/self/mountinfo`, in mount order (a
    /// later mount on the same point hides an earlier one). For an offline root: the host
    /// mounts under the root, with their mount points as target paths, and the mount holding
    /// the root as `/`.
    ///
    /// # Errors
    ///
    /// [`TargetError::Io`] naming `/proc/self/mountinfo` (a host path) if it cannot be read.
    pub fn try_mounts(&self) -> Result<Vec<Mount>, TargetError> {
        const MOUNTINFO: &str = "/proc/self/mountinfo";
        let bytes = std::fs::read(MOUNTINFO).map_err(|e| TargetError::from_io(MOUNTINFO, e))?;
        let host = mounts::parse_mountinfo(&String::from_utf8_lossy(&bytes));
        Ok(mounts::under_root(host, &self.root))
    }

    /// The kernel identification of the live host; `None` for an offline root, whose kernel
    /// is not running (callers decide what to report instead).
    #[must_use]
    pub fn uname(&self) -> Option<Uname> {
        if self.offline {
            return None;
        }
        let uname = rustix::system::uname();
        let text = |value: &std::ffi::CStr| value.to_string_lossy().into_owned();
        Some(Uname {
            sysname: text(uname.sysname()),
            nodename: text(uname.nodename()),
            release: text(uname.release()),
            version: text(uname.version()),
            machine: text(uname.machine()),
            domainname: text(uname.domainname()),
        })
    }

    fn resolver(&self) -> Resolver<'_> {
        Resolver {
            root: self.root_fd.as_fd(),
            resolution: self.resolution,
        }
    }

    /// An `O_PATH` descriptor on what `path` names, every symbolic link followed.
    fn open_path(&self, path: &str) -> Result<OwnedFd, TargetError> {
        let rel = relative(path)?;
        self.resolver()
            .open(rel, OFlags::PATH)
            .map_err(|e| TargetError::from_errno(path, e))
    }
}

/// Checks that `path` is a target-absolute path and returns it without its leading slashes.
fn relative(path: &str) -> Result<&str, TargetError> {
    let invalid = |reason| TargetError::InvalidPath {
        path: path.to_owned(),
        reason,
    };
    if !path.starts_with('/') {
        return Err(invalid("it does not start with `/`"));
    }
    if path.contains('\0') {
        return Err(invalid("it contains a NUL byte"));
    }
    Ok(path.trim_start_matches('/'))
}

/// The next entry of a directory other than `.` and `..`: its raw name and the type the
/// directory reports (`d_type`, possibly [`FileType::Unknown`]).
fn next_name(dir: &mut Dir, path: &str) -> Result<Option<(Vec<u8>, FileType)>, TargetError> {
    while let Some(entry) = dir.read() {
        let entry = entry.map_err(|e| TargetError::from_errno(path, e))?;
        let raw_name = entry.file_name().to_bytes();
        if raw_name == b"." || raw_name == b".." {
            continue;
        }
        return Ok(Some((
            raw_name.to_vec(),
            FileType::from_rustix(entry.file_type()),
        )));
    }
    Ok(None)
}

impl DirEntry {
    fn new(raw_name: Vec<u8>, file_type: FileType) -> DirEntry {
        DirEntry {
            name: String::from_utf8_lossy(&raw_name).into_owned(),
            raw_name,
            file_type,
        }
    }
}

/// Opens a file for reading through its `O_PATH` descriptor, via the host's `/proc`, so the
/// file opened is the very inode examined (a regular file cannot change its type).
fn reopen(probe: &OwnedFd) -> Result<OwnedFd, Errno> {
    let link = format!("/proc/self/fd/{}", probe.as_raw_fd());
    let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
    rustix::fs::open(link.as_str(), flags, Mode::empty())
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::os::unix::fs::{symlink, PermissionsExt};
    use std::os::unix::net::UnixListener;

    use tempfile::TempDir;

    use super::*;

    /// A hostile tree: `base/root` is the target root; `base/secret` lies outside it and must
    /// never be read.
    struct Tree {
        base: TempDir,
    }

    impl Tree {
        fn new() -> Tree {
            let base = tempfile::tempdir().unwrap();
            let root = base.path().join("root");
            fs::write(base.path().join("secret"), "SECRET").unwrap();
            fs::create_dir_all(root.join("etc/ssh")).unwrap();
            fs::write(root.join("etc/x"), "inside x").unwrap();
            fs::set_permissions(root.join("etc/x"), fs::Permissions::from_mode(0o4755)).unwrap();
            fs::write(root.join("etc/ssh/sshd_config"), "PermitRootLogin no\n").unwrap();
            fs::write(root.join("big"), vec![b'a'; 100]).unwrap();

            let link = |target: &str, name: &str| symlink(target, root.join(name)).unwrap();
            link("/etc/x", "abs");
            link("etc/x", "rel");
            link("../../../../etc/x", "etc/up");
            link("../../../../", "escape");
            link("../secret", "outside_rel");
            link("/../../secret", "outside_abs");
            link(base.path().join("secret").to_str().unwrap(), "host_abs");
            link("/proc/self/root/etc/x", "magic");
            link("loop2", "loop1");
            link("/loop1", "loop2");
            link("self", "self");
            link("/nonexistent", "dangling");
            link("etc", "dir_link");
            link("/etc/ssh/", "ssh_dir");
            for hop in 0..30 {
                link(&format!("chain{}", hop + 1), &format!("chain{hop}"));
            }
            link("/etc/x", "chain30");

            let fifo = root.join("fifo");
            rustix::fs::mknodat(
                rustix::fs::CWD,
                &fifo,
                rustix::fs::FileType::Fifo,
                Mode::from_raw_mode(0o644),
                0,
            )
            .unwrap();
            std::mem::forget(UnixListener::bind(root.join("sock")).unwrap());
            Tree { base }
        }

        fn root(&self) -> PathBuf {
            self.base.path().join("root")
        }

        /// One target per resolution, so every check runs against both.
        fn targets(&self) -> Vec<Target> {
            [Resolution::Kernel, Resolution::Userspace]
                .into_iter()
                .map(|resolution| Target::offline_with(&self.root(), resolution).unwrap())
                .collect()
        }
    }

    fn read_str(target: &Target, path: &str) -> Result<String, TargetError> {
        target
            .read(path, 1 << 20)
            .map(|bytes| String::from_utf8(bytes).unwrap())
    }

    #[test]
    fn target_is_shared_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Target>();
    }

    #[test]
    fn offline_detects_a_resolution() {
        let tree = Tree::new();
        let target = Target::offline(&tree.root()).unwrap();
        assert!(target.is_offline());
        assert_eq!(target.root(), fs::canonicalize(tree.root()).unwrap());
        assert_eq!(read_str(&target, "/etc/x").unwrap(), "inside x");
        // Nothing inside an offline root is ever connected to.
        assert_eq!(target.systemd_bus(), None);
    }

    #[test]
    fn the_live_host_asks_systemd_on_its_own_sockets() {
        let target = Target::live().unwrap();
        let bus = target.systemd_bus().unwrap();
        assert_eq!(bus.private_socket, Path::new("/run/systemd/private"));
        assert_eq!(bus.system_bus, Path::new("/run/dbus/system_bus_socket"));
    }

    #[test]
    fn reads_plain_and_symlinked_files() {
        let tree = Tree::new();
        for target in tree.targets() {
            assert_eq!(
                read_str(&target, "/etc/ssh/sshd_config").unwrap(),
                "PermitRootLogin no\n"
            );
            assert_eq!(read_str(&target, "//etc//./ssh/../x").unwrap(), "inside x");
            assert_eq!(read_str(&target, "/rel").unwrap(), "inside x");
            assert_eq!(read_str(&target, "/dir_link/x").unwrap(), "inside x");
            assert_eq!(
                read_str(&target, "/ssh_dir/sshd_config").unwrap(),
                "PermitRootLogin no\n"
            );
            assert_eq!(read_str(&target, "/chain0").unwrap(), "inside x");
        }
    }

    #[test]
    fn absolute_symlink_resolves_inside_the_root() {
        let tree = Tree::new();
        for target in tree.targets() {
            assert_eq!(
                read_str(&target, "/abs").unwrap(),
                "inside x",
                "{:?}",
                target.resolution
            );
        }
    }

    #[test]
    fn dotdot_is_clamped_at_the_root() {
        let tree = Tree::new();
        for target in tree.targets() {
            assert_eq!(read_str(&target, "/../../../etc/x").unwrap(), "inside x");
            assert_eq!(read_str(&target, "/etc/up").unwrap(), "inside x");
            assert_eq!(read_str(&target, "/escape/etc/x").unwrap(), "inside x");
            assert_eq!(
                read_str(&target, "/escape/escape/../abs").unwrap(),
                "inside x"
            );
        }
    }

    #[test]
    fn nothing_outside_the_root_is_reached() {
        let tree = Tree::new();
        let host_secret = tree.base.path().join("secret");
        let host_secret = host_secret.to_str().unwrap();
        for target in tree.targets() {
            for path in [
                "/../secret",
                "/outside_rel",
                "/outside_abs",
                "/host_abs",
                "/escape/secret",
            ] {
                let err = target.read(path, 1 << 20).unwrap_err();
                assert!(
                    err.is_not_found(),
                    "{path} via {:?}: {err:?}",
                    target.resolution
                );
                assert!(!target.exists(path));
            }
            assert!(target
                .read(host_secret, 1 << 20)
                .unwrap_err()
                .is_not_found());
            // On the host this link would lead to the host's `/etc/x`; inside the image there
            // is no `/proc`, so it names nothing.
            assert!(target.read("/magic", 1 << 20).unwrap_err().is_not_found());
        }
    }

    #[test]
    fn symlink_loops_are_errors() {
        let tree = Tree::new();
        for target in tree.targets() {
            for path in ["/loop1", "/self", "/self/x"] {
                let err = target.stat(path).unwrap_err();
                assert!(matches!(err, TargetError::Loop { .. }), "{path}: {err:?}");
                assert_eq!(err.path(), Some(path));
            }
            assert!(matches!(
                target.read("/loop2", 10),
                Err(TargetError::Loop { .. })
            ));
            assert!(matches!(
                target.canonical("/loop1"),
                Err(TargetError::Loop { .. })
            ));
            // The loop itself can still be examined.
            assert!(target.lstat("/loop1").unwrap().is_symlink());
        }
    }

    #[test]
    fn fifo_socket_and_directory_are_not_read() {
        let tree = Tree::new();
        for target in tree.targets() {
            let cases = [
                ("/fifo", FileType::Fifo),
                ("/sock", FileType::Socket),
                ("/etc", FileType::Directory),
            ];
            for (path, expected) in cases {
                match target.read(path, 1 << 20) {
                    Err(TargetError::NotRegular { file_type, .. }) => {
                        assert_eq!(file_type, expected);
                    }
                    other => panic!("{path}: {other:?}"),
                }
                assert_eq!(target.lstat(path).unwrap().file_type, expected);
            }
        }
    }

    #[test]
    fn read_limit_is_enforced() {
        let tree = Tree::new();
        for target in tree.targets() {
            assert_eq!(target.read("/big", 100).unwrap().len(), 100);
            match target.read("/big", 99) {
                Err(TargetError::TooLarge { size, limit, .. }) => {
                    assert_eq!((size, limit), (100, 99));
                }
                other => panic!("{other:?}"),
            }
            assert!(target.read("/big", 0).is_err());
        }
    }

    #[test]
    fn open_file_without_proc() {
        let tree = Tree::new();
        for target in tree.targets() {
            let (mut file, st) = target.open_file_via("/abs", false).unwrap();
            let mut text = String::new();
            file.read_to_string(&mut text).unwrap();
            assert_eq!((text.as_str(), st.size), ("inside x", 8));
            let err = target.open_file_via("/fifo", false).unwrap_err();
            assert!(matches!(err, TargetError::NotRegular { .. }), "{err:?}");
            assert!(target
                .open_file_via("/outside_abs", false)
                .unwrap_err()
                .is_not_found());
        }
    }

    #[test]
    fn root_must_be_a_directory() {
        let tree = Tree::new();
        let file = tree.root().join("etc/x");
        assert!(matches!(
            Target::offline(&file),
            Err(TargetError::RootNotADirectory { .. })
        ));
        let missing = tree.root().join("missing");
        assert!(matches!(
            Target::offline(&missing),
            Err(TargetError::Root { .. })
        ));
    }

    #[test]
    fn lstat_and_stat() {
        let tree = Tree::new();
        for target in tree.targets() {
            let dangling = target.lstat("/dangling").unwrap();
            assert_eq!(dangling.file_type, FileType::Symlink);
            assert!(target.stat("/dangling").unwrap_err().is_not_found());
            assert!(!target.exists("/dangling"));

            let x = target.stat("/abs").unwrap();
            assert!(x.is_file());
            assert_eq!(x.mode, 0o4755);
            assert_eq!(x.size, 8);
            assert_eq!(x, target.lstat("/etc/x").unwrap());
            assert!(target.lstat("/abs").unwrap().is_symlink());
            // The last component is not followed, the ones before it are.
            assert!(target.lstat("/dir_link").unwrap().is_symlink());
            assert!(target.lstat("/dir_link/").unwrap().is_dir());
            assert_eq!(target.lstat("/dir_link/x").unwrap(), x);
            assert!(target.lstat("/escape/etc/up").unwrap().is_symlink());
            assert!(target.lstat("/etc/..").unwrap().is_dir());
            assert_eq!(target.lstat("/..").unwrap(), target.lstat("/").unwrap());
            assert_eq!(
                target.stat("/").unwrap().ino,
                fs::metadata(tree.root())
                    .map(|m| { std::os::unix::fs::MetadataExt::ino(&m) })
                    .unwrap()
            );

            let err = target.lstat("/etc/x/y").unwrap_err();
            assert!(matches!(err, TargetError::NotADirectory { .. }), "{err:?}");
            assert!(err.is_not_found());
            assert!(target.lstat("/nonexistent/y").unwrap_err().is_not_found());
        }
    }

    #[test]
    fn read_link_gives_the_raw_text() {
        let tree = Tree::new();
        for target in tree.targets() {
            assert_eq!(target.read_link("/abs").unwrap(), "/etc/x");
            assert_eq!(target.read_link("/escape").unwrap(), "../../../../");
            assert_eq!(
                target.read_link("/dir_link/up").unwrap(),
                "../../../../etc/x"
            );
            assert_eq!(target.read_link("/dangling").unwrap(), "/nonexistent");
            for path in ["/etc/x", "/etc", "/", "/dir_link/"] {
                let err = target.read_link(path).unwrap_err();
                assert!(
                    matches!(err, TargetError::NotASymlink { .. }),
                    "{path}: {err:?}"
                );
            }
            assert!(target.read_link("/missing").unwrap_err().is_not_found());
        }
    }

    #[test]
    fn canonical_paths() {
        let tree = Tree::new();
        for target in tree.targets() {
            assert_eq!(target.canonical("/").unwrap(), "/");
            assert_eq!(target.canonical("/..").unwrap(), "/");
            assert_eq!(target.canonical("/abs").unwrap(), "/etc/x");
            assert_eq!(target.canonical("/etc/up").unwrap(), "/etc/x");
            assert_eq!(
                target.canonical("/escape/etc/../etc/ssh/").unwrap(),
                "/etc/ssh"
            );
            assert_eq!(target.canonical("/ssh_dir").unwrap(), "/etc/ssh");
            assert_eq!(target.canonical("/chain0").unwrap(), "/etc/x");
            assert!(target.canonical("/dangling").unwrap_err().is_not_found());
        }
    }

    #[test]
    fn read_dir_sorted_with_types() {
        let tree = Tree::new();
        for target in tree.targets() {
            let entries = target.read_dir("/dir_link").unwrap();
            let listing: Vec<_> = entries
                .iter()
                .map(|entry| (entry.name.as_str(), entry.file_type))
                .collect();
            assert_eq!(
                listing,
                [
                    ("ssh", FileType::Directory),
                    ("up", FileType::Symlink),
                    ("x", FileType::Regular)
                ]
            );
            assert_eq!(entries[0].raw_name, b"ssh");

            let root = target.read_dir("/").unwrap();
            assert!(root
                .iter()
                .any(|e| e.name == "fifo" && e.file_type == FileType::Fifo));
            assert!(root
                .windows(2)
                .all(|pair| pair[0].raw_name < pair[1].raw_name));
            assert_eq!(target.read_dir("/escape").unwrap(), root);

            let err = target.read_dir("/etc/x").unwrap_err();
            assert!(matches!(err, TargetError::NotADirectory { .. }), "{err:?}");
            assert!(target.read_dir("/fifo").is_err());
            assert!(target.read_dir("/missing").unwrap_err().is_not_found());
        }
    }

    #[test]
    fn read_dir_with_stat_examines_entries_without_following_them() {
        let tree = Tree::new();
        for target in tree.targets() {
            let root = target.read_dir_with_stat("/").unwrap();
            let names: Vec<_> = root.iter().map(|(entry, _)| entry.clone()).collect();
            assert_eq!(names, target.read_dir("/").unwrap());
            for (entry, stat) in &root {
                let stat = stat.as_ref().unwrap();
                assert_eq!(*stat, target.lstat(&format!("/{}", entry.name)).unwrap());
                assert_eq!(stat.file_type, entry.file_type);
            }
            let kind = |name: &str| {
                let (_, stat) = root.iter().find(|(e, _)| e.name == name).unwrap();
                stat.as_ref().unwrap().file_type
            };
            // Links that escape, loop or dangle are described, not followed.
            for name in [
                "escape",
                "outside_abs",
                "host_abs",
                "magic",
                "loop1",
                "self",
            ] {
                assert_eq!(kind(name), FileType::Symlink, "{name}");
            }
            assert_eq!(kind("fifo"), FileType::Fifo);
            assert_eq!(kind("etc"), FileType::Directory);

            // The directory itself is resolved inside the root, as for read_dir.
            let escaped = target.read_dir_with_stat("/escape/").unwrap();
            assert_eq!(escaped.len(), root.len());
            assert!(escaped
                .iter()
                .zip(&root)
                .all(|(a, b)| a.0 == b.0 && a.1.as_ref().unwrap() == b.1.as_ref().unwrap()));
            let linked = target.read_dir_with_stat("/dir_link").unwrap();
            let (up, stat) = linked.iter().find(|(e, _)| e.name == "up").unwrap();
            assert_eq!(up.file_type, FileType::Symlink);
            assert_eq!(*stat.as_ref().unwrap(), target.lstat("/etc/up").unwrap());

            assert!(target.read_dir_with_stat("/loop1").is_err());
            assert!(matches!(
                target.read_dir_with_stat("/etc/x"),
                Err(TargetError::NotADirectory { .. })
            ));
            assert!(target
                .read_dir_with_stat("/outside_abs")
                .unwrap_err()
                .is_not_found());
        }
    }

    #[test]
    fn paths_must_be_absolute() {
        let tree = Tree::new();
        for target in tree.targets() {
            for path in ["etc/x", "", "/etc/x\0"] {
                let err = target.stat(path).unwrap_err();
                assert!(
                    matches!(err, TargetError::InvalidPath { .. }),
                    "{path:?}: {err:?}"
                );
            }
        }
    }

    #[test]
    fn offline_has_no_uname_and_a_root_mount() {
        let tree = Tree::new();
        let target = Target::offline(&tree.root()).unwrap();
        assert_eq!(target.uname(), None);
        if let Ok(mounts) = target.try_mounts() {
            assert!(
                mounts.iter().any(|mount| mount.mount_point == "/"),
                "{mounts:?}"
            );
            assert!(mounts
                .iter()
                .all(|mount| mount.mount_point.starts_with('/')));
        }
    }
}
