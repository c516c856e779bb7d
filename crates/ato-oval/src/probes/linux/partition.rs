//! `linux:partition_object` (OVAL 5.11.2 linux schema): mounted file systems.
//!
//! The object selects mounts by `mount_point` (`equals`, `not equal`, `pattern match`, ...;
//! a variable's values are collected one by one). Mounts come from
//! [`ato_target::Target::mounts`], the host's `/proc/self/mountinfo`; a later mount on the
//! same point hides an earlier one, so only the visible mount of each point is reported
//! (OpenSCAP takes the first line of `/proc/mounts` for `equals`, which is the hidden one when
//! mounts are stacked). `rootfs` entries are skipped, as in OpenSCAP.
//!
//! Each mount gives a `partition_item`: `mount_point`, `device` (the mount source), `uuid`
//! (from the host's `/dev/disk/by-uuid`; status `does not exist` when the device has none, as
//! OpenSCAP reports it with libblkid), `fs_type`, `mount_options` (one entity per option, in
//! the order `/proc/mounts` gives them, rebuilt from mountinfo's per-mount and per-superblock
//! options), then from `statvfs(2)`: `total_space`, `space_used`, `space_left` (in blocks,
//! as OpenSCAP counts them) and `block_size`. Like OpenSCAP, `bind` is appended to the
//! options when the `statvfs` flags have the bit `MS_BIND` shares with `ST_RELATIME`, and
//! `move` for `MS_MOVE` (`ST_NOSYMFOLLOW`); `space_left_for_unprivileged_users` is not
//! reported, as OpenSCAP 1.3.7 does not.
//!
//! Offline: the mount table is the host's, restricted to mounts under the root, with their
//! mount points as target paths and the mount holding the root reported as `/`. OpenSCAP,
//! run inside a chroot of the tree with `/proc` mounted, reads `/proc/mounts`, which the
//! kernel limits to the mounts reachable from that root; so both see the file systems the
//! tree is actually made of, and a separate `/tmp` or `/dev/shm` of the image's own fstab is
//! only seen if it is mounted. Reading the image's `/etc/fstab` would describe the system
//! that will boot, but it is not what partition_object is defined over; the fstab-based SSG
//! checks read it with textfilecontent54. `statvfs` is called on the host path of the mount
//! point under the root, and only if the target path resolves to itself (no link along it).
//! When `statvfs` fails the space entities get status `error` and a message names the mount.

use std::collections::HashMap;
use std::path::Path;

use ato_content::oval::{Datatype, Operation};
use ato_target::Mount;

use crate::item::{Collected, Item, Status};
use crate::probes::{entity_error, ObjectRequest, ProbeContext, RequestEntity};

/// `MS_BIND`, which OpenSCAP tests in `statvfs`'s `f_flag` (where it is `ST_RELATIME`).
const FLAG_BIND: u64 = 4096;
/// `MS_MOVE` (`ST_NOSYMFOLLOW` in `statvfs`).
const FLAG_MOVE: u64 = 8192;
/// Superblock options that `/proc/mounts` prints before the per-mount ones.
const SB_OPTIONS: &[&str] = &["sync", "dirsync", "mand", "lazytime"];

pub fn collect(req: &ObjectRequest<'_>, ctx: &ProbeContext<'_>) -> Collected {
    let Some(entity) = req.entity("mount_point") else {
        return Collected::error(format!("object `{}` has no mount_point entity", req.id));
    };
    let mounts = match ctx.target.try_mounts() {
        Ok(mounts) => visible(mounts),
        Err(e) => return Collected::error(format!("object `{}`: {e}", req.id)),
    };

    let uuids = uuids_by_device(Path::new("/dev/disk/by-uuid"));
    let mut items = Vec::new();
    let mut messages = Vec::new();
    let mut seen = Vec::new();
    for value in singles(entity) {
        for (index, mount) in mounts.iter().enumerate() {
            match value.matches(&mount.mount_point, ctx.regexes) {
                Ok(true) if !seen.contains(&index) => {
                    seen.push(index);
                    items.push(partition_item(ctx, mount, &uuids, &mut messages));
                }
                Ok(_) => {}
                Err(e) => return entity_error(req, "mount_point", &e),
            }
        }
    }

    let mut collected = Collected::items(items);
    let id = req.id;
    collected
        .messages
        .extend(messages.into_iter().map(|m| format!("object `{id}`: {m}")));
    collected
}

fn singles(entity: &RequestEntity) -> Vec<RequestEntity> {
    if entity.values.len() <= 1 || entity.operation == Operation::NotEqual {
        return vec![entity.clone()];
    }
    entity
        .values
        .iter()
        .map(|v| RequestEntity {
            values: vec![v.clone()],
            ..entity.clone()
        })
        .collect()
}

/// The mounts that are not hidden by a later mount on the same point, in mount order, without
/// `rootfs`.
fn visible(mounts: Vec<Mount>) -> Vec<Mount> {
    let mut last: HashMap<String, usize> = HashMap::new();
    for (index, mount) in mounts.iter().enumerate() {
        last.insert(mount.mount_point.clone(), index);
    }
    mounts
        .into_iter()
        .enumerate()
        .filter(|(index, m)| last.get(&m.mount_point) == Some(index) && m.fs_type != "rootfs")
        .map(|(_, m)| m)
        .collect()
}

fn partition_item(
    ctx: &ProbeContext<'_>,
    mount: &Mount,
    uuids: &HashMap<String, String>,
    messages: &mut Vec<String>,
) -> Item {
    let mut item = Item::new("partition")
        .string("mount_point", mount.mount_point.clone())
        .string("device", mount.source.clone());
    match uuid_of(&mount.source, uuids) {
        Some(uuid) => item.push("uuid", Datatype::String, uuid),
        None => item.push_status("uuid", Datatype::String, Status::DoesNotExist),
    }
    item.push("fs_type", Datatype::String, mount.fs_type.clone());

    let space = statvfs(ctx, &mount.mount_point);
    let mut options = proc_mounts_options(mount);
    if let Ok(vfs) = &space {
        let flags = vfs.f_flag.bits();
        if flags & FLAG_BIND != 0 {
            options.push("bind".to_string());
        }
        if flags & FLAG_MOVE != 0 {
            options.push("move".to_string());
        }
    }
    for option in options {
        item.push("mount_options", Datatype::String, option);
    }

    match space {
        Ok(vfs) => {
            let used = vfs.f_blocks.saturating_sub(vfs.f_bfree);
            item.push("total_space", Datatype::Int, vfs.f_blocks.to_string());
            item.push("space_used", Datatype::Int, used.to_string());
            item.push("space_left", Datatype::Int, vfs.f_bfree.to_string());
            item.push("block_size", Datatype::Int, vfs.f_frsize.to_string());
        }
        Err(message) => {
            messages.push(message);
            for name in ["total_space", "space_used", "space_left", "block_size"] {
                item.push_status(name, Datatype::Int, Status::Error);
            }
        }
    }
    item
}

/// The options as `/proc/mounts` prints them: `ro` or `rw` (read-only if either the mount or
/// the superblock is), the generic superblock options, the per-mount options, then the file
/// system's own options.
fn proc_mounts_options(mount: &Mount) -> Vec<String> {
    let readonly = mount.options.first().is_some_and(|o| o == "ro")
        || mount.super_options.first().is_some_and(|o| o == "ro");
    let mut out = vec![if readonly { "ro" } else { "rw" }.to_string()];
    let super_rest = mount.super_options.iter().skip(1);
    out.extend(
        super_rest
            .clone()
            .filter(|o| SB_OPTIONS.contains(&o.as_str()))
            .cloned(),
    );
    out.extend(mount.options.iter().skip(1).cloned());
    out.extend(
        super_rest
            .filter(|o| !SB_OPTIONS.contains(&o.as_str()))
            .cloned(),
    );
    out
}

/// `statvfs` of a mount point, through the host path under the root, only if the target path
/// has no link along it.
fn statvfs(ctx: &ProbeContext<'_>, mount_point: &str) -> Result<rustix::fs::StatVfs, String> {
    match ctx.target.canonical(mount_point) {
        Ok(canonical) if canonical == mount_point => {}
        Ok(canonical) => {
            return Err(format!(
                "mount point `{mount_point}` resolves to `{canonical}` in the target; not examined"
            ))
        }
        Err(e) => return Err(format!("mount point `{mount_point}`: {e}")),
    }
    let host = ctx.target.root().join(mount_point.trim_start_matches('/'));
    rustix::fs::statvfs(&host)
        .map_err(|e| format!("cannot statvfs mount point `{mount_point}`: {e}"))
}

/// The UUID of a mount source, by its device path.
fn uuid_of(source: &str, uuids: &HashMap<String, String>) -> Option<String> {
    if let Some(uuid) = uuids.get(source) {
        return Some(uuid.clone());
    }
    if source.starts_with("/dev/") {
        let canonical = std::fs::canonicalize(source).ok()?;
        return uuids.get(canonical.to_str()?).cloned();
    }
    None
}

/// Device path -> UUID, from the links udev keeps in `dir` (the host's, since mounts are the
/// host's); empty if there is no such directory.
fn uuids_by_device(dir: &Path) -> HashMap<String, String> {
    let mut map = HashMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return map;
    };
    for entry in entries.flatten() {
        let Some(uuid) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if let Ok(device) = std::fs::canonicalize(entry.path()) {
            if let Some(device) = device.to_str() {
                map.insert(device.to_string(), uuid);
            }
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use ato_content::oval::{Family, Kind};
    use ato_target::Target;

    use super::*;
    use crate::item::Flag;
    use crate::pcre::RegexCache;
    use crate::probes::SharedCache;

    fn mount(point: &str, fs_type: &str, options: &[&str], super_options: &[&str]) -> Mount {
        Mount {
            mount_point: point.to_string(),
            fs_type: fs_type.to_string(),
            source: "/dev/sda1".to_string(),
            dev: 1,
            options: options.iter().map(|s| s.to_string()).collect(),
            super_options: super_options.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn options_as_proc_mounts_prints_them() {
        let m = mount(
            "/",
            "ext4",
            &["rw", "relatime"],
            &["rw", "errors=remount-ro"],
        );
        assert_eq!(
            proc_mounts_options(&m),
            ["rw", "relatime", "errors=remount-ro"]
        );
        let m = mount(
            "/dev/shm",
            "tmpfs",
            &["rw", "nosuid", "nodev"],
            &["ro", "lazytime", "size=4k"],
        );
        assert_eq!(
            proc_mounts_options(&m),
            ["ro", "lazytime", "nosuid", "nodev", "size=4k"]
        );
    }

    #[test]
    fn stacked_mounts_show_the_last() {
        let mounts = vec![
            mount("/", "rootfs", &["rw"], &["rw"]),
            mount("/", "ext4", &["rw"], &["rw"]),
            mount("/dev/pts", "devpts", &["rw", "nosuid"], &["rw"]),
            mount("/dev/pts", "devpts", &["rw", "noexec"], &["rw"]),
        ];
        let v = visible(mounts);
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].fs_type, "ext4");
        assert_eq!(v[1].options, ["rw", "noexec"]);
    }

    #[test]
    fn root_of_an_offline_tree() {
        let dir = tempfile::tempdir().unwrap();
        let target = Target::offline(dir.path()).unwrap();
        let kind = Kind {
            family: Family::Linux,
            name: "partition".into(),
            namespace: String::new(),
        };
        let run = |value: &str| {
            let e = RequestEntity::literal("mount_point", Operation::Equals, value);
            let req = ObjectRequest {
                filter: None,
                id: "oval:t:obj:1",
                kind: &kind,
                behaviors: &[],
                entities: vec![e],
            };
            let (regexes, shared) = (RegexCache::new(), SharedCache::new());
            collect(
                &req,
                &ProbeContext {
                    target: &target,
                    regexes: &regexes,
                    shared: &shared,
                },
            )
        };
        // The temporary directory is not a mount point: the mount holding it is the tree's `/`.
        let c = run("/");
        assert_eq!(c.flag, Flag::Complete, "{:?}", c.messages);
        let item = &c.items[0];
        assert_eq!(item.values("mount_point").next(), Some("/"));
        assert!(item.values("mount_options").any(|o| o == "rw" || o == "ro"));
        assert!(item.values("total_space").next().is_some());
        assert_eq!(run("/dev/shm").flag, Flag::DoesNotExist);
    }
}
