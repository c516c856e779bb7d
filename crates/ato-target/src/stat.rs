//! File metadata as the probes see it: [`FileStat`] and [`FileType`], built from `struct stat`.

use rustix::fs::Stat;

/// The type of a file, from the `S_IFMT` bits of its mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileType {
    /// A regular file.
    Regular,
    /// A directory.
    Directory,
    /// A symbolic link (only seen when the last component is not followed).
    Symlink,
    /// A character device.
    CharDevice,
    /// A block device.
    BlockDevice,
    /// A named pipe.
    Fifo,
    /// A Unix domain socket.
    Socket,
    /// Anything else, or a directory entry whose type the file system did not report and
    /// which could not be examined.
    Unknown,
}

impl FileType {
    /// The value of the `type` entity of an OVAL 5.11 unix `file_item`.
    ///
    /// The unix system-characteristics schema types that entity as a plain string
    /// (`EntityItemStringType`) and only describes the values in prose; these are the strings
    /// the reference scanner emits and SCAP content compares against. [`FileType::Unknown`]
    /// gives the empty string, which the schema allows for items in error.
    #[must_use]
    pub fn as_oval(self) -> &'static str {
        match self {
            Self::Regular => "regular",
            Self::Directory => "directory",
            Self::Symlink => "symbolic link",
            Self::CharDevice => "character special",
            Self::BlockDevice => "block special",
            Self::Fifo => "fifo",
            Self::Socket => "socket",
            Self::Unknown => "",
        }
    }

    /// A short English description for messages ("directory", "FIFO", ...).
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            Self::Regular => "regular file",
            Self::Directory => "directory",
            Self::Symlink => "symbolic link",
            Self::CharDevice => "character device",
            Self::BlockDevice => "block device",
            Self::Fifo => "FIFO",
            Self::Socket => "socket",
            Self::Unknown => "file of unknown type",
        }
    }

    pub(crate) fn from_rustix(file_type: rustix::fs::FileType) -> Self {
        use rustix::fs::FileType as R;
        match file_type {
            R::RegularFile => Self::Regular,
            R::Directory => Self::Directory,
            R::Symlink => Self::Symlink,
            R::CharacterDevice => Self::CharDevice,
            R::BlockDevice => Self::BlockDevice,
            R::Fifo => Self::Fifo,
            R::Socket => Self::Socket,
            R::Unknown => Self::Unknown,
        }
    }

    pub(crate) fn from_mode(mode: u32) -> Self {
        Self::from_rustix(rustix::fs::FileType::from_raw_mode(mode))
    }
}

/// The metadata of one file on the target (`struct stat`, reduced to what OVAL uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStat {
    /// The file type.
    pub file_type: FileType,
    /// Permission bits including set-user-id, set-group-id and sticky (`mode & 0o7777`).
    pub mode: u32,
    /// Owner user id.
    pub uid: u32,
    /// Owner group id.
    pub gid: u32,
    /// Size in bytes (0 if the kernel reported a negative size).
    pub size: u64,
    /// Device of the file system holding the file, in the kernel's `dev_t` encoding (the
    /// same as [`crate::Mount::dev`]).
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
    /// Number of hard links.
    pub nlink: u64,
    /// Last access, in seconds since the Unix epoch.
    pub atime: i64,
    /// Last modification, in seconds since the Unix epoch.
    pub mtime: i64,
    /// Last status change, in seconds since the Unix epoch.
    pub ctime: i64,
}

impl FileStat {
    /// Whether this is a regular file.
    #[must_use]
    pub fn is_file(&self) -> bool {
        self.file_type == FileType::Regular
    }

    /// Whether this is a directory.
    #[must_use]
    pub fn is_dir(&self) -> bool {
        self.file_type == FileType::Directory
    }

    /// Whether this is a symbolic link.
    #[must_use]
    pub fn is_symlink(&self) -> bool {
        self.file_type == FileType::Symlink
    }

    // The field widths of `struct stat` differ between architectures, so every field goes
    // through a lossless conversion.
    #[allow(clippy::useless_conversion)]
    pub(crate) fn from_stat(st: &Stat) -> Self {
        let mode = u32::from(st.st_mode);
        Self {
            file_type: FileType::from_mode(mode),
            mode: mode & 0o7777,
            uid: st.st_uid,
            gid: st.st_gid,
            size: u64::try_from(st.st_size).unwrap_or(0),
            dev: u64::from(st.st_dev),
            ino: u64::from(st.st_ino),
            nlink: u64::from(st.st_nlink),
            atime: i64::from(st.st_atime),
            mtime: i64::from(st.st_mtime),
            ctime: i64::from(st.st_ctime),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oval_type_strings() {
        assert_eq!(FileType::Regular.as_oval(), "regular");
        assert_eq!(FileType::Directory.as_oval(), "directory");
        assert_eq!(FileType::Symlink.as_oval(), "symbolic link");
        assert_eq!(FileType::CharDevice.as_oval(), "character special");
        assert_eq!(FileType::BlockDevice.as_oval(), "block special");
        assert_eq!(FileType::Fifo.as_oval(), "fifo");
        assert_eq!(FileType::Socket.as_oval(), "socket");
        assert_eq!(FileType::Unknown.as_oval(), "");
    }

    #[test]
    fn type_from_mode_bits() {
        assert_eq!(FileType::from_mode(0o100_644), FileType::Regular);
        assert_eq!(FileType::from_mode(0o040_755), FileType::Directory);
        assert_eq!(FileType::from_mode(0o120_777), FileType::Symlink);
        assert_eq!(FileType::from_mode(0o010_644), FileType::Fifo);
        assert_eq!(FileType::from_mode(0o020_620), FileType::CharDevice);
        assert_eq!(FileType::from_mode(0o060_660), FileType::BlockDevice);
        assert_eq!(FileType::from_mode(0o140_755), FileType::Socket);
    }
}
