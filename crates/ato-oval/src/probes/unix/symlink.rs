//! `unix:symlink_object` (OVAL 5.11 unix schema): where a symbolic link points.
//!
//! For each `filepath` value (taken as a literal path, as OpenSCAP 1.3.7 does whatever the
//! operation), the path's last component is examined without following it. A path that does
//! not exist, or that is not a symbolic link, gives no item (`does not exist`). A link gives a
//! `symlink_item` with `filepath` and `canonical_path`, the absolute path with every link
//! resolved, like `realpath(3)`.
//!
//! A link that loops, or whose target does not exist on a live host, makes the object `error`
//! with a message naming it, as in OpenSCAP.
//!
//! Offline, the link is resolved inside the root through [`ato_target::Target`]: an absolute
//! link text starts again at the root, `..` stops there. One difference on purpose: in an
//! image, a link whose *last* component is missing while its directory exists (the usual
//! `ctrl-alt-del.target -> /dev/null` in a tree whose `/dev` is only populated at boot) is
//! reported with the canonical path it will have, plus a message saying the target is absent
//! from the tree. OpenSCAP, run against such a tree, reports `error`.

use std::collections::HashSet;

use ato_target::TargetError;

use crate::item::{Collected, Flag, Item};
use crate::probes::unix::walk::{error_chain, join};
use crate::probes::{ObjectRequest, ProbeContext};

pub fn collect(req: &ObjectRequest<'_>, ctx: &ProbeContext<'_>) -> Collected {
    let Some(filepath) = req.entity("filepath") else {
        return Collected::error(format!("object `{}` has no filepath entity", req.id));
    };

    let mut items = Vec::new();
    let mut messages = Vec::new();
    let mut failed = false;
    let mut seen = HashSet::new();
    for path in &filepath.values {
        if !seen.insert(path.as_str()) {
            continue;
        }
        match ctx.target.lstat(path) {
            Ok(st) if st.is_symlink() => {}
            Ok(_) => {
                messages.push(format!("`{path}` is not a symbolic link"));
                continue;
            }
            Err(e) if e.is_not_found() => continue,
            Err(e) => {
                failed = true;
                messages.push(error_chain(&e));
                continue;
            }
        }
        match canonical(ctx, path) {
            Ok((canonical, note)) => {
                messages.extend(note);
                items.push(
                    Item::new("symlink")
                        .string("filepath", path.clone())
                        .string("canonical_path", canonical),
                );
            }
            Err(message) => {
                failed = true;
                messages.push(message);
            }
        }
    }

    let mut collected = Collected::items(items);
    if failed {
        collected.flag = Flag::Error;
    }
    let id = req.id;
    collected
        .messages
        .extend(messages.into_iter().map(|m| format!("object `{id}`: {m}")));
    collected
}

/// The canonical path of the link at `path`, and a note when it had to be completed offline.
fn canonical(ctx: &ProbeContext<'_>, path: &str) -> Result<(String, Option<String>), String> {
    let err = match ctx.target.canonical(path) {
        Ok(canonical) => return Ok((canonical, None)),
        Err(e) => e,
    };
    match err {
        TargetError::Loop { .. } => Err(format!("`{path}` is a circular link")),
        TargetError::NotFound { .. } | TargetError::NotADirectory { .. } => {
            if ctx.target.is_offline() {
                if let Some(completed) = missing_last_component(ctx, path) {
                    let note = format!(
                        "the target of `{path}`, `{completed}`, is not in the tree; reported as its canonical path"
                    );
                    return Ok((completed, Some(note)));
                }
            }
            Err(format!("the target of the link `{path}` does not exist"))
        }
        e => Err(error_chain(&e)),
    }
}

/// For a link whose text names a missing entry in an existing directory: that directory's
/// canonical path joined with the entry's name.
fn missing_last_component(ctx: &ProbeContext<'_>, path: &str) -> Option<String> {
    let text = ctx.target.read_link(path).ok()?;
    let absolute = if text.starts_with('/') {
        text
    } else {
        let dir = path
            .rsplit_once('/')
            .map_or("/", |(d, _)| if d.is_empty() { "/" } else { d });
        join(dir, &text)
    };
    let trimmed = absolute.trim_end_matches('/');
    let (dir, name) = trimmed.rsplit_once('/')?;
    if name.is_empty() || name == "." || name == ".." {
        return None;
    }
    let dir = if dir.is_empty() { "/" } else { dir };
    let dir = ctx.target.canonical(dir).ok()?;
    let completed = join(&dir, name);
    match ctx.target.lstat(&completed) {
        Err(e) if e.is_not_found() => Some(completed),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::os::unix::fs::symlink;

    use ato_content::oval::{Family, Kind, Operation};
    use ato_target::Target;

    use super::*;
    use crate::pcre::RegexCache;
    use crate::probes::{RequestEntity, SharedCache};

    fn run(target: &Target, paths: &[&str]) -> Collected {
        let kind = Kind {
            family: Family::Unix,
            name: "symlink".into(),
            namespace: String::new(),
        };
        let mut e = RequestEntity::literal("filepath", Operation::Equals, paths[0]);
        e.values = paths.iter().map(|p| p.to_string()).collect();
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
                target,
                regexes: &regexes,
                shared: &shared,
            },
        )
    }

    #[test]
    fn links_resolve_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("etc/systemd/system")).unwrap();
        fs::create_dir_all(root.join("usr/share/zoneinfo")).unwrap();
        fs::create_dir_all(root.join("dev")).unwrap();
        fs::write(root.join("usr/share/zoneinfo/UTC"), "TZif").unwrap();
        symlink("../usr/share/zoneinfo/UTC", root.join("etc/localtime")).unwrap();
        symlink(
            "/dev/null",
            root.join("etc/systemd/system/ctrl-alt-del.target"),
        )
        .unwrap();
        symlink("loop2", root.join("etc/loop1")).unwrap();
        symlink("loop1", root.join("etc/loop2")).unwrap();
        symlink("/../../../etc/passwd", root.join("etc/escape")).unwrap();
        fs::write(root.join("etc/passwd"), "root:x:0:0::/root:/bin/sh\n").unwrap();
        let target = Target::offline(root).unwrap();

        let c = run(&target, &["/etc/localtime"]);
        assert_eq!(c.flag, Flag::Complete);
        assert_eq!(
            c.items[0].values("canonical_path").next(),
            Some("/usr/share/zoneinfo/UTC")
        );

        let c = run(&target, &["/etc/escape"]);
        assert_eq!(
            c.items[0].values("canonical_path").next(),
            Some("/etc/passwd")
        );

        // /dev/null is absent from the tree: completed offline, with a note.
        let c = run(&target, &["/etc/systemd/system/ctrl-alt-del.target"]);
        assert_eq!(c.flag, Flag::Complete);
        assert_eq!(
            c.items[0].values("canonical_path").next(),
            Some("/dev/null")
        );
        assert!(c.messages[0].contains("not in the tree"));

        let c = run(&target, &["/etc/loop1"]);
        assert_eq!(c.flag, Flag::Error);
        assert!(c.messages[0].contains("/etc/loop1"));

        // Not a link, missing: no item.
        assert_eq!(run(&target, &["/etc/passwd"]).flag, Flag::DoesNotExist);
        assert_eq!(run(&target, &["/etc/missing"]).flag, Flag::DoesNotExist);
        // Several values.
        assert_eq!(
            run(&target, &["/etc/localtime", "/etc/escape"]).items.len(),
            2
        );
    }
}
