//! The one error type of this crate: every variant names the target path (or, for the root
//! itself, the host path) and keeps the operating-system cause where there is one.

use std::io;
use std::path::PathBuf;

use rustix::io::Errno;

use crate::stat::FileType;

/// Why an operation on the scanned system failed.
///
/// `path` is always the *target* path the caller asked for (for example `/etc/shadow`), never
/// the host path under the offline root, so that messages and OVAL results read the same for a
/// live host and an image.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TargetError {
    /// The target root could not be opened.
    #[error("cannot open the target root `{root}`")]
    Root {
        /// Host path of the root.
        root: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The target root exists but is not a directory.
    #[error("the target root `{root}` is not a directory")]
    RootNotADirectory {
        /// Host path of the root.
        root: PathBuf,
    },
    /// Kernel-confined resolution (`openat2` with `RESOLVE_IN_ROOT`) was requested but the
    /// kernel refused it.
    #[error("the kernel does not support confined path resolution (openat2) for `{root}`")]
    KernelResolutionUnavailable {
        /// Host path of the root.
        root: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A path handed to the target was not a target-absolute path.
    #[error("`{path}` is not a valid target path: {reason}")]
    InvalidPath {
        /// The path as given.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The path, or one of its components, does not exist.
    #[error("`{path}` does not exist")]
    NotFound {
        /// The target path.
        path: String,
    },
    /// Permission denied while resolving or opening the path.
    #[error("permission denied on `{path}`")]
    PermissionDenied {
        /// The target path.
        path: String,
    },
    /// Too many symbolic links (more than 40) while resolving the path, or a loop.
    #[error("too many levels of symbolic links in `{path}`")]
    Loop {
        /// The target path.
        path: String,
    },
    /// A component of the path, or the path itself where a directory was needed, is not a
    /// directory.
    #[error("`{path}` is not a directory, or a component of it is not")]
    NotADirectory {
        /// The target path.
        path: String,
    },
    /// The last component of the path is not a symbolic link (`read_link`).
    #[error("`{path}` is not a symbolic link")]
    NotASymlink {
        /// The target path.
        path: String,
    },
    /// A read was refused because the path is not a regular file (FIFOs and devices are never
    /// opened).
    #[error("`{path}` is a {} and not a regular file; refusing to read it", file_type.describe())]
    NotRegular {
        /// The target path.
        path: String,
        /// What the path is instead.
        file_type: FileType,
    },
    /// A read was refused because the file is larger than the caller's limit.
    #[error("`{path}` is {size} bytes, more than the limit of {limit} bytes")]
    TooLarge {
        /// The target path.
        path: String,
        /// The size seen (at least `limit + 1` if the file grew while being read).
        size: u64,
        /// The caller's limit.
        limit: u64,
    },
    /// The file was replaced by another one between checking and opening it.
    #[error("`{path}` changed while it was being opened")]
    Changed {
        /// The target path.
        path: String,
    },
    /// Any other I/O error.
    #[error("cannot access `{path}`")]
    Io {
        /// The target path.
        path: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

impl TargetError {
    /// Whether the error means that the path does not exist on the target, which OVAL probes
    /// report as "does not exist" rather than as an error.
    ///
    /// This is true for [`TargetError::NotFound`] and for [`TargetError::NotADirectory`]: when
    /// a component of a path is a file, the path names nothing.
    #[must_use]
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. } | Self::NotADirectory { .. })
    }

    /// The target path the error is about, if it is about one.
    #[must_use]
    pub fn path(&self) -> Option<&str> {
        match self {
            Self::Root { .. }
            | Self::RootNotADirectory { .. }
            | Self::KernelResolutionUnavailable { .. } => None,
            Self::InvalidPath { path, .. }
            | Self::NotFound { path }
            | Self::PermissionDenied { path }
            | Self::Loop { path }
            | Self::NotADirectory { path }
            | Self::NotASymlink { path }
            | Self::NotRegular { path, .. }
            | Self::TooLarge { path, .. }
            | Self::Changed { path }
            | Self::Io { path, .. } => Some(path),
        }
    }

    /// Maps an errno from resolving or opening `path` to the matching variant.
    pub(crate) fn from_errno(path: &str, errno: Errno) -> Self {
        let path = path.to_owned();
        match errno {
            Errno::NOENT => Self::NotFound { path },
            Errno::ACCESS | Errno::PERM => Self::PermissionDenied { path },
            Errno::LOOP => Self::Loop { path },
            Errno::NOTDIR => Self::NotADirectory { path },
            _ => Self::Io {
                path,
                source: errno.into(),
            },
        }
    }

    /// Wraps a `std::io::Error` raised while reading `path`.
    pub(crate) fn from_io(path: &str, error: io::Error) -> Self {
        match error.raw_os_error() {
            Some(raw) => Self::from_errno(path, Errno::from_raw_os_error(raw)),
            None => Self::Io {
                path: path.to_owned(),
                source: error,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_maps_to_variants() {
        assert!(TargetError::from_errno("/x", Errno::NOENT).is_not_found());
        assert!(TargetError::from_errno("/x", Errno::NOTDIR).is_not_found());
        assert!(matches!(
            TargetError::from_errno("/x", Errno::LOOP),
            TargetError::Loop { .. }
        ));
        assert!(matches!(
            TargetError::from_errno("/x", Errno::ACCESS),
            TargetError::PermissionDenied { .. }
        ));
        let other = TargetError::from_errno("/x", Errno::IO);
        assert!(matches!(other, TargetError::Io { .. }));
        assert!(!other.is_not_found());
        assert_eq!(other.path(), Some("/x"));
    }

    #[test]
    fn messages_name_the_path() {
        let err = TargetError::TooLarge {
            path: "/etc/big".into(),
            size: 10,
            limit: 5,
        };
        assert_eq!(
            err.to_string(),
            "`/etc/big` is 10 bytes, more than the limit of 5 bytes"
        );
        let err = TargetError::NotRegular {
            path: "/run/fifo".into(),
            file_type: FileType::Fifo,
        };
        assert_eq!(
            err.to_string(),
            "`/run/fifo` is a FIFO and not a regular file; refusing to read it"
        );
    }
}
