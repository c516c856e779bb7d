//! The mount table of the target, from the host's `/proc/self/mountinfo`.
//!
//! For an offline root the table holds the host mounts that lie under the root, with their
//! mount points rewritten as target paths, plus the mount that holds the root itself, as `/`.
//! That is what the file probe needs to skip `/proc`, network or other non-local file systems
//! mounted inside an image; the target's own `/etc/fstab` is a different matter, left to the
//! probes that read it.

use std::path::Path;

/// One mounted file system, as seen from the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// Where it is mounted, as a target path (`/`, `/proc`, `/var/lib/nfs`).
    pub mount_point: String,
    /// File system type (`ext4`, `proc`, `nfs4`, `fuse.sshfs`).
    pub fs_type: String,
    /// Mount source (`/dev/sda1`, `server:/export`, `proc`).
    pub source: String,
    /// Device id in the kernel's `dev_t` encoding, comparable with [`crate::FileStat::dev`].
    pub dev: u64,
    /// Per-mount options (`rw`, `nosuid`, `nodev`, `relatime`).
    pub options: Vec<String>,
    /// Per-superblock options.
    pub super_options: Vec<String>,
}

/// A line of `mountinfo`, with its host mount point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HostMount {
    pub(crate) host_mount_point: String,
    pub(crate) mount: Mount,
}

/// Parses `/proc/<pid>/mountinfo` text (see proc(5)); malformed lines are skipped.
pub(crate) fn parse_mountinfo(text: &str) -> Vec<HostMount> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<HostMount> {
    let fields: Vec<&str> = line.split_ascii_whitespace().collect();
    let (major, minor) = fields.get(2)?.split_once(':')?;
    let dev = rustix::fs::makedev(major.parse().ok()?, minor.parse().ok()?);
    let host_mount_point = unescape(fields.get(4)?);
    let options = split_options(fields.get(5)?);

    // Optional fields run from index 6 up to a lone "-".
    let separator = fields.iter().skip(6).position(|field| *field == "-")? + 6;
    let fs_type = unescape(fields.get(separator + 1)?);
    let source = unescape(fields.get(separator + 2)?);
    let super_options = fields
        .get(separator + 3)
        .map(|field| split_options(field))
        .unwrap_or_default();

    let mount = Mount {
        mount_point: host_mount_point.clone(),
        fs_type,
        source,
        dev,
        options,
        super_options,
    };
    Some(HostMount {
        host_mount_point,
        mount,
    })
}

fn split_options(field: &str) -> Vec<String> {
    field
        .split(',')
        .filter(|option| !option.is_empty())
        .map(unescape)
        .collect()
}

/// Undoes the kernel's octal escapes (`\040` for a space, `\011`, `\012`, `\134`).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        if let Some(escaped) = octal_escape(&bytes[i..]) {
            out.push(escaped);
            i += 4;
        } else {
            out.push(byte);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The byte of a `\NNN` escape at the start of `bytes`, if there is one.
fn octal_escape(bytes: &[u8]) -> Option<u8> {
    let (&b'\\', rest) = bytes.split_first()? else {
        return None;
    };
    let digits = rest.get(..3)?;
    if !digits.iter().all(|digit| (b'0'..=b'7').contains(digit)) {
        return None;
    }
    let value = digits
        .iter()
        .fold(0u32, |value, digit| value * 8 + u32::from(digit - b'0'));
    u8::try_from(value).ok()
}

/// The mounts of the target whose root is the host directory `root` (canonical, absolute).
pub(crate) fn under_root(host: Vec<HostMount>, root: &Path) -> Vec<Mount> {
    let root = root.to_string_lossy();
    let root = root.trim_end_matches('/');
    if root.is_empty() {
        return host
            .into_iter()
            .map(|host_mount| host_mount.mount)
            .collect();
    }

    // The mount holding the root is the last one whose mount point is the root or one of its
    // ancestors, deepest first (a later mount on the same point hides an earlier one).
    let holder = host
        .iter()
        .enumerate()
        .filter(|(_, m)| is_same_or_ancestor(&m.host_mount_point, root))
        .max_by_key(|(index, m)| (m.host_mount_point.trim_end_matches('/').len(), *index))
        .map(|(index, _)| index);

    let mut mounts = Vec::new();
    for (index, host_mount) in host.into_iter().enumerate() {
        let point = host_mount.host_mount_point.as_str();
        let target_point = if Some(index) == holder {
            "/".to_owned()
        } else if let Some(rest) = point
            .strip_prefix(root)
            .filter(|rest| rest.starts_with('/'))
        {
            rest.to_owned()
        } else {
            continue;
        };
        mounts.push(Mount {
            mount_point: target_point,
            ..host_mount.mount
        });
    }
    mounts
}

fn is_same_or_ancestor(point: &str, root: &str) -> bool {
    let point = point.trim_end_matches('/');
    point.is_empty()
        || root == point
        || root
            .strip_prefix(point)
            .is_some_and(|rest| rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro
23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
40 22 8:2 / /srv/image rw,relatime shared:30 - ext4 /dev/sda2 rw
41 40 0:50 / /srv/image/proc rw,nosuid - proc proc rw
42 40 0:51 / /srv/image/mnt/my\\040share rw master:3 - nfs4 server:/export rw,vers=4.2
43 22 0:52 / /srv/imagery rw - tmpfs tmpfs rw
bogus line
";

    #[test]
    fn parses_fields_and_escapes() {
        let mounts = parse_mountinfo(MOUNTINFO);
        assert_eq!(mounts.len(), 6);
        let nfs = &mounts[4];
        assert_eq!(nfs.host_mount_point, "/srv/image/mnt/my share");
        assert_eq!(nfs.mount.fs_type, "nfs4");
        assert_eq!(nfs.mount.source, "server:/export");
        assert_eq!(nfs.mount.dev, rustix::fs::makedev(0, 51));
        assert_eq!(nfs.mount.options, ["rw"]);
        assert_eq!(nfs.mount.super_options, ["rw", "vers=4.2"]);
        assert_eq!(
            mounts[1].mount.options,
            ["rw", "nosuid", "nodev", "noexec", "relatime"]
        );
    }

    #[test]
    fn live_root_keeps_everything() {
        let mounts = under_root(parse_mountinfo(MOUNTINFO), Path::new("/"));
        let points: Vec<_> = mounts.iter().map(|m| m.mount_point.as_str()).collect();
        assert_eq!(
            points,
            [
                "/",
                "/proc",
                "/srv/image",
                "/srv/image/proc",
                "/srv/image/mnt/my share",
                "/srv/imagery"
            ]
        );
    }

    #[test]
    fn offline_root_translates_mount_points() {
        let mounts = under_root(parse_mountinfo(MOUNTINFO), Path::new("/srv/image"));
        let points: Vec<_> = mounts
            .iter()
            .map(|m| (m.mount_point.as_str(), m.fs_type.as_str()))
            .collect();
        assert_eq!(
            points,
            [("/", "ext4"), ("/proc", "proc"), ("/mnt/my share", "nfs4")]
        );
        assert_eq!(mounts[0].source, "/dev/sda2");
    }

    #[test]
    fn offline_root_inside_a_mount() {
        let mounts = under_root(parse_mountinfo(MOUNTINFO), Path::new("/srv/image/var"));
        assert_eq!(mounts.len(), 1);
        assert_eq!(mounts[0].mount_point, "/");
        assert_eq!(mounts[0].source, "/dev/sda2");

        let mounts = under_root(parse_mountinfo(MOUNTINFO), Path::new("/home/img"));
        assert_eq!(mounts.len(), 1);
        assert_eq!(mounts[0].source, "/dev/sda1");
    }

    #[test]
    fn unescapes_octal() {
        assert_eq!(unescape("a\\040b\\011c\\134d"), "a b\tc\\d");
        assert_eq!(unescape("trailing\\04"), "trailing\\04");
        assert_eq!(unescape("not\\999octal"), "not\\999octal");
    }
}
