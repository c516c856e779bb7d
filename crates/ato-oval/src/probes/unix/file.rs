//! `unix:file_object` (OVAL 5.11.2 unix schema): the metadata of files and directories.
//!
//! The object names files by `filepath`, or by `path` and `filename` (`filename` nil: the
//! directories themselves), with `equals`, `pattern match` or any other operation, and the
//! `behaviors` `max_depth`, `recurse`, `recurse_direction` and `recurse_file_system`. Which
//! paths that selects is decided by the shared walk, [`super::walk`], which follows OpenSCAP
//! 1.3.7's `oval_fts.c` (see there for where a pattern walk starts, what it follows and
//! which file systems count as local) and reads every directory once per scan through the
//! per-scan cache.
//!
//! Each path found gives a `file_item` from the path's `lstat` (a link is described, not
//! followed): `filepath` (absent for a directory found with `filename` nil, whose `filename`
//! is empty, as OpenSCAP reports it), `path`, `filename`, `type` (`regular`, `directory`,
//! `symbolic link`, `character special`, `block special`, `fifo`, `socket`), `group_id`,
//! `user_id`, `a_time`, `c_time`, `m_time` (seconds since the epoch) and `size` as ints, and
//! the twelve mode bits `suid` ... `oexec` as booleans.
//!
//! Offline, everything is read inside the root through [`ato_target::Target`]; the mount
//! table used for `recurse_file_system="local"` is the host's, restricted to the root.
//!
//! Not supported: `has_extended_acl` is reported with status `not collected` (the target
//! interface does not read POSIX ACLs; SSG's Debian and Ubuntu content never tests it), and
//! the 5.11 `windows_view` behavior does not apply. An unreadable directory makes the object
//! `incomplete` with a message naming it.

use ato_content::oval::Datatype;
use ato_target::FileStat;

use crate::item::{Collected, Flag, Item, Status};
use crate::probes::unix::walk::{self, Found};
use crate::probes::{ObjectRequest, ProbeContext};

pub fn collect(req: &ObjectRequest<'_>, ctx: &ProbeContext<'_>) -> Collected {
    // Items the object's filters drop are dropped as they are made: on a whole-file-system
    // walk that is almost all of them, and keeping them until the walk ends cost most of the
    // scan's memory.
    let mut items = Vec::new();
    let mut found = 0usize;
    let walked = walk::visit(req, ctx, |path| {
        found += 1;
        let item = file_item(path);
        let keep = req.keeps(&item);
        if keep {
            items.push(item);
        }
        keep
    });
    let walked = match walked {
        Ok(walked) => walked,
        Err(collected) => return collected,
    };
    tracing::debug!(object = req.id, found, kept = items.len(), "file walk done");

    let mut collected = Collected::items(items);
    if !walked.problems.is_empty() {
        collected.flag = Flag::Incomplete;
    }
    for problem in walked.problems {
        collected
            .messages
            .push(format!("object `{}`: {problem}", req.id));
    }
    for note in walked.notes {
        collected
            .messages
            .push(format!("object `{}`: {note}", req.id));
    }
    collected
}

/// A `file_item` for one path found, with the fields in the order OpenSCAP writes them.
pub(crate) fn file_item(found: &Found) -> Item {
    let st = &found.stat;
    let mut item = Item::new("file");
    if found.filename.is_some() {
        item.push("filepath", Datatype::String, found.filepath());
    }
    item.push("path", Datatype::String, found.path.clone());
    item.push(
        "filename",
        Datatype::String,
        found.filename.clone().unwrap_or_default(),
    );
    item.push("type", Datatype::String, st.file_type.as_oval());
    item.push("group_id", Datatype::Int, st.gid.to_string());
    item.push("user_id", Datatype::Int, st.uid.to_string());
    item.push("a_time", Datatype::Int, st.atime.to_string());
    item.push("c_time", Datatype::Int, st.ctime.to_string());
    item.push("m_time", Datatype::Int, st.mtime.to_string());
    item.push("size", Datatype::Int, st.size.to_string());
    push_mode_bits(&mut item, st);
    item.push_status("has_extended_acl", Datatype::Boolean, Status::NotCollected);
    item
}

/// The twelve permission entities, from the mode's bits.
fn push_mode_bits(item: &mut Item, st: &FileStat) {
    const BITS: [(&str, u32); 12] = [
        ("suid", 0o4000),
        ("sgid", 0o2000),
        ("sticky", 0o1000),
        ("uread", 0o400),
        ("uwrite", 0o200),
        ("uexec", 0o100),
        ("gread", 0o040),
        ("gwrite", 0o020),
        ("gexec", 0o010),
        ("oread", 0o004),
        ("owrite", 0o002),
        ("oexec", 0o001),
    ];
    for (name, bit) in BITS {
        let value = if st.mode & bit != 0 { "true" } else { "false" };
        item.push(name, Datatype::Boolean, value);
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::os::unix::fs::{symlink, PermissionsExt};
    use std::path::Path;

    use ato_content::oval::{Family, Kind, Operation};
    use ato_target::Target;

    use super::*;
    use crate::pcre::RegexCache;
    use crate::probes::{ItemFilter, RequestEntity, SharedCache};

    pub(crate) fn kind(family: Family, name: &str) -> Kind {
        Kind {
            family,
            name: name.to_string(),
            namespace: String::new(),
        }
    }

    fn nil(name: &str) -> RequestEntity {
        let mut e = RequestEntity::literal(name, Operation::Equals, "");
        e.values.clear();
        e.nil = true;
        e
    }

    struct Fixture {
        _dir: tempfile::TempDir,
        target: Target,
        regexes: RegexCache,
        shared: SharedCache,
    }

    impl Fixture {
        fn new(build: impl FnOnce(&Path)) -> Fixture {
            let dir = tempfile::tempdir().unwrap();
            build(dir.path());
            let target = Target::offline(dir.path()).unwrap();
            Fixture {
                _dir: dir,
                target,
                regexes: RegexCache::new(),
                shared: SharedCache::new(),
            }
        }

        fn run(&self, behaviors: &[(&str, &str)], entities: Vec<RequestEntity>) -> Collected {
            self.run_filtered(behaviors, entities, None)
        }

        fn run_filtered(
            &self,
            behaviors: &[(&str, &str)],
            entities: Vec<RequestEntity>,
            filter: Option<ItemFilter<'_>>,
        ) -> Collected {
            let kind = kind(Family::Unix, "file");
            let behaviors: Vec<(String, String)> = behaviors
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect();
            let req = ObjectRequest {
                filter,
                id: "oval:test:obj:1",
                kind: &kind,
                behaviors: &behaviors,
                entities,
            };
            let ctx = ProbeContext {
                target: &self.target,
                regexes: &self.regexes,
                shared: &self.shared,
            };
            collect(&req, &ctx)
        }

        fn paths(&self, behaviors: &[(&str, &str)], entities: Vec<RequestEntity>) -> Vec<String> {
            let c = self.run(behaviors, entities);
            let mut out: Vec<String> = c
                .items
                .iter()
                .map(|i| {
                    let path = i.values("path").next().unwrap_or("").to_string();
                    match i.values("filepath").next() {
                        Some(fp) => fp.to_string(),
                        None if path.ends_with('/') => path,
                        None => format!("{path}/"),
                    }
                })
                .collect();
            out.sort();
            out
        }
    }

    fn tree(root: &Path) {
        for d in [
            "etc/sudoers.d",
            "usr/bin",
            "usr/lib/a/b/c",
            "usr/libexec/x",
            "usr/sbin",
        ] {
            fs::create_dir_all(root.join(d)).unwrap();
        }
        for f in [
            "etc/passwd",
            "etc/sudoers",
            "etc/sudoers.d/README",
            "etc/sudoers.d/admins",
            "usr/bin/ls",
            "usr/sbin/sshd",
            "usr/lib/a/one",
            "usr/lib/a/b/two",
            "usr/lib/a/b/c/three",
            "usr/libexec/x/helper",
        ] {
            fs::write(root.join(f), f).unwrap();
        }
        symlink("usr/bin", root.join("bin")).unwrap();
        symlink("usr/sbin", root.join("sbin")).unwrap();
        fs::set_permissions(root.join("usr/bin/ls"), fs::Permissions::from_mode(0o4755)).unwrap();
    }

    fn lit(name: &str, op: Operation, value: &str) -> RequestEntity {
        RequestEntity::literal(name, op, value)
    }

    #[test]
    fn filepath_equals_gives_one_item_with_schema_fields() {
        let fx = Fixture::new(tree);
        let c = fx.run(&[], vec![lit("filepath", Operation::Equals, "/usr/bin/ls")]);
        assert_eq!(c.flag, Flag::Complete);
        assert_eq!(c.items.len(), 1);
        let item = &c.items[0];
        let names: Vec<&str> = item.fields.iter().map(|f| f.name).collect();
        assert_eq!(
            names,
            [
                "filepath",
                "path",
                "filename",
                "type",
                "group_id",
                "user_id",
                "a_time",
                "c_time",
                "m_time",
                "size",
                "suid",
                "sgid",
                "sticky",
                "uread",
                "uwrite",
                "uexec",
                "gread",
                "gwrite",
                "gexec",
                "oread",
                "owrite",
                "oexec",
                "has_extended_acl"
            ]
        );
        assert_eq!(item.values("path").next(), Some("/usr/bin"));
        assert_eq!(item.values("filename").next(), Some("ls"));
        assert_eq!(item.values("type").next(), Some("regular"));
        assert_eq!(item.values("suid").next(), Some("true"));
        assert_eq!(item.values("owrite").next(), Some("false"));
        assert_eq!(item.values("size").next(), Some("10"));
        let size = item.fields.iter().find(|f| f.name == "size").unwrap();
        assert_eq!(size.datatype, Datatype::Int);
    }

    #[test]
    fn the_filter_drops_items_as_they_are_made() {
        let fx = Fixture::new(tree);
        let entities = || {
            vec![
                lit("path", Operation::Equals, "/"),
                lit("filename", Operation::PatternMatch, ".*"),
            ]
        };
        let behaviors = [("recurse_direction", "down")];
        let all = fx.run(&behaviors, entities());
        let setuid = |item: &Item| item.values("suid").any(|v| v == "true");
        let c = fx.run_filtered(&behaviors, entities(), Some(ItemFilter::new(&setuid)));
        assert_eq!(c.flag, Flag::Complete);
        let expected: Vec<_> = all.items.iter().filter(|i| setuid(i)).cloned().collect();
        assert_eq!(c.items, expected);
        // `/usr/bin/ls`, and again through the link `/bin`.
        assert_eq!(c.items.len(), 2);

        let none = |_: &Item| false;
        let c = fx.run_filtered(&behaviors, entities(), Some(ItemFilter::new(&none)));
        assert_eq!(c.flag, Flag::DoesNotExist);
        assert!(c.items.is_empty());
    }

    #[test]
    fn does_not_exist() {
        let fx = Fixture::new(tree);
        let c = fx.run(&[], vec![lit("filepath", Operation::Equals, "/etc/shadow")]);
        assert_eq!(c.flag, Flag::DoesNotExist);
        assert!(c.items.is_empty());
        // A directory never matches filepath.
        let c = fx.run(&[], vec![lit("filepath", Operation::Equals, "/etc")]);
        assert_eq!(c.flag, Flag::DoesNotExist);
    }

    #[test]
    fn filepath_pattern_walks_from_the_literal_prefix() {
        let fx = Fixture::new(tree);
        let got = fx.paths(
            &[],
            vec![lit(
                "filepath",
                Operation::PatternMatch,
                r"^/etc/sudoers.d/.*$",
            )],
        );
        assert_eq!(got, ["/etc/sudoers.d/README", "/etc/sudoers.d/admins"]);
        // Not equal walks everything.
        let got = fx.paths(
            &[],
            vec![lit("filepath", Operation::NotEqual, "/etc/passwd")],
        );
        assert!(got.contains(&"/etc/sudoers".to_string()));
        assert!(!got.contains(&"/etc/passwd".to_string()));
    }

    #[test]
    fn path_equals_and_filename() {
        let fx = Fixture::new(tree);
        let got = fx.paths(
            &[],
            vec![
                lit("path", Operation::Equals, "/etc"),
                lit("filename", Operation::Equals, "passwd"),
            ],
        );
        assert_eq!(got, ["/etc/passwd"]);
        // A path through a link keeps the link's spelling.
        let got = fx.paths(
            &[],
            vec![
                lit("path", Operation::Equals, "/bin"),
                lit("filename", Operation::PatternMatch, ".*"),
            ],
        );
        assert_eq!(got, ["/bin/ls"]);
    }

    #[test]
    fn nil_filename_gives_the_directories() {
        let fx = Fixture::new(tree);
        let c = fx.run(
            &[],
            vec![
                lit("path", Operation::Equals, "/etc/sudoers.d"),
                nil("filename"),
            ],
        );
        assert_eq!(c.items.len(), 1);
        let item = &c.items[0];
        assert_eq!(item.values("filepath").count(), 0);
        assert_eq!(item.values("path").next(), Some("/etc/sudoers.d"));
        assert_eq!(item.values("filename").next(), Some(""));
        assert_eq!(item.values("type").next(), Some("directory"));
    }

    #[test]
    fn recurse_down_with_max_depth() {
        let fx = Fixture::new(tree);
        let down = |depth: &'static str| {
            fx.paths(
                &[("recurse_direction", "down"), ("max_depth", depth)],
                vec![
                    lit("path", Operation::Equals, "/usr/lib"),
                    lit("filename", Operation::PatternMatch, ".*"),
                ],
            )
        };
        assert!(down("0").is_empty());
        assert_eq!(down("1"), ["/usr/lib/a/one"]);
        assert_eq!(down("2"), ["/usr/lib/a/b/two", "/usr/lib/a/one"]);
        assert_eq!(
            down("-1"),
            ["/usr/lib/a/b/c/three", "/usr/lib/a/b/two", "/usr/lib/a/one"]
        );

        let dirs = |depth: &'static str| {
            fx.paths(
                &[
                    ("recurse", "directories"),
                    ("recurse_direction", "down"),
                    ("max_depth", depth),
                ],
                vec![lit("path", Operation::Equals, "/usr/lib"), nil("filename")],
            )
        };
        assert_eq!(dirs("0"), ["/usr/lib/"]);
        assert_eq!(dirs("1"), ["/usr/lib/", "/usr/lib/a/"]);
        assert_eq!(
            dirs("-1"),
            [
                "/usr/lib/",
                "/usr/lib/a/",
                "/usr/lib/a/b/",
                "/usr/lib/a/b/c/"
            ]
        );
    }

    #[test]
    fn ssg_binary_files_pattern() {
        // object_file_permissions_binary_files: a path pattern that starts the walk at `/`,
        // matches every directory under the binary directories, and goes through `/bin`.
        let fx = Fixture::new(tree);
        let got = fx.paths(
            &[],
            vec![
                lit(
                    "path",
                    Operation::PatternMatch,
                    r"^\/(|s)bin|^\/usr\/(|local\/)(|s)bin|^\/usr\/libexec",
                ),
                lit("filename", Operation::PatternMatch, "^.*$"),
            ],
        );
        assert_eq!(
            got,
            [
                "/bin/ls",
                "/sbin/sshd",
                "/usr/bin/ls",
                "/usr/libexec/x/helper",
                "/usr/sbin/sshd"
            ]
        );
    }

    #[test]
    fn ssg_only_local_directories_walk() {
        // object_only_local_directories: every directory from `/`, local file systems only.
        let fx = Fixture::new(tree);
        let got = fx.paths(
            &[
                ("recurse", "directories"),
                ("recurse_direction", "down"),
                ("max_depth", "-1"),
                ("recurse_file_system", "local"),
            ],
            vec![lit("path", Operation::Equals, "/"), nil("filename")],
        );
        assert_eq!(got[0], "/");
        assert!(got.contains(&"/usr/lib/a/b/c/".to_string()));
        // `recurse="directories"` does not follow `/bin`.
        assert!(!got.contains(&"/bin/".to_string()));
    }

    #[test]
    fn symlink_loops_in_a_walked_tree() {
        let fx = Fixture::new(|root| {
            fs::create_dir_all(root.join("d/e")).unwrap();
            fs::write(root.join("d/e/f"), "x").unwrap();
            symlink("/d", root.join("d/e/up")).unwrap();
            symlink("self", root.join("d/self")).unwrap();
            symlink("b", root.join("d/a")).unwrap();
            symlink("a", root.join("d/b")).unwrap();
        });
        let got = fx.paths(
            &[("recurse_direction", "down")],
            vec![
                lit("path", Operation::Equals, "/d"),
                lit("filename", Operation::PatternMatch, "."),
            ],
        );
        assert_eq!(got, ["/d/a", "/d/b", "/d/e/f", "/d/e/up", "/d/self"]);
        let got = fx.paths(
            &[],
            vec![lit("filepath", Operation::PatternMatch, "^/d/.*f$")],
        );
        assert_eq!(got, ["/d/e/f", "/d/self"]);
    }

    #[test]
    fn a_pattern_from_a_variable() {
        let fx = Fixture::new(tree);
        let mut e = lit("filepath", Operation::Equals, "/etc/passwd");
        e.values.push("/etc/sudoers".to_string());
        e.values.push("/etc/missing".to_string());
        e.from_variable = true;
        e.var_check = ato_content::oval::Check::AtLeastOne;
        assert_eq!(fx.paths(&[], vec![e]), ["/etc/passwd", "/etc/sudoers"]);
    }

    #[test]
    fn unreadable_directory_makes_the_object_incomplete() {
        let mut readable = false;
        let fx = Fixture::new(|root| {
            fs::create_dir_all(root.join("locked")).unwrap();
            fs::write(root.join("locked/x"), "x").unwrap();
            fs::set_permissions(root.join("locked"), fs::Permissions::from_mode(0o000)).unwrap();
            readable = fs::read_dir(root.join("locked")).is_ok();
        });
        if readable {
            // Running as root, which reads everything: nothing to test.
            return;
        }
        let c = fx.run(
            &[("recurse_direction", "down")],
            vec![
                lit("path", Operation::Equals, "/locked"),
                lit("filename", Operation::Equals, "x"),
            ],
        );
        assert_eq!(c.flag, Flag::Incomplete);
        assert!(
            c.messages.iter().any(|m| m.contains("/locked")),
            "{:?}",
            c.messages
        );
    }

    #[test]
    fn listings_are_shared_between_objects() {
        let fx = Fixture::new(tree);
        let dirs = [("recurse_direction", "down")];
        let entities = || {
            vec![
                lit("path", Operation::Equals, "/usr"),
                lit("filename", Operation::PatternMatch, "."),
            ]
        };
        fx.run(&dirs, entities());
        let cache = fx.shared.get_or_init(walk::FsCache::default);
        let before = cache.size();
        fx.run(&dirs, entities());
        fx.run(
            &[],
            vec![lit("filepath", Operation::PatternMatch, "^/usr/lib/.*")],
        );
        assert_eq!(cache.size(), before);
    }

    /// Dumps what the probes collect for the objects of a comparison with OpenSCAP on the
    /// reference tree (`ATO_COMPARE_OUT`), and times a cold walk of the whole tree.
    #[test]
    #[ignore = "needs the reference tree at /var/tmp/ato-target"]
    fn compare_with_reference_tree() {
        use crate::probes::independent::textfilecontent54;
        use crate::probes::{linux::partition, unix::symlink};
        let target = Target::offline(Path::new("/var/tmp/ato-target")).unwrap();
        let (regexes, shared) = (RegexCache::new(), SharedCache::new());
        let ctx = ProbeContext {
            target: &target,
            regexes: &regexes,
            shared: &shared,
        };
        let own = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        let mut inst = lit("instance", Operation::GreaterThanOrEqual, "1");
        inst.datatype = Datatype::Int;
        #[allow(clippy::type_complexity)]
        let objects: Vec<(&str, &str, Vec<(String, String)>, Vec<RequestEntity>)> = vec![
            (
                "1",
                "file",
                own(&[]),
                vec![
                    lit(
                        "path",
                        Operation::PatternMatch,
                        r"^\/(|s)bin|^\/usr\/(|local\/)(|s)bin|^\/usr\/libexec",
                    ),
                    lit("filename", Operation::PatternMatch, "^.*$"),
                ],
            ),
            (
                "2",
                "file",
                own(&[
                    ("recurse", "directories"),
                    ("recurse_direction", "down"),
                    ("max_depth", "-1"),
                    ("recurse_file_system", "local"),
                ]),
                vec![lit("path", Operation::Equals, "/"), nil("filename")],
            ),
            (
                "3",
                "tfc",
                own(&[]),
                vec![
                    lit(
                        "filepath",
                        Operation::PatternMatch,
                        r"^/etc/ssh/sshd_config(\.d/.*)?$",
                    ),
                    lit(
                        "pattern",
                        Operation::PatternMatch,
                        r"^[ \t]*(\w+)(?:[ \t]+(\S+))?[ \t]*$",
                    ),
                    inst.clone(),
                ],
            ),
            (
                "4",
                "partition",
                own(&[]),
                vec![lit("mount_point", Operation::PatternMatch, ".*")],
            ),
            (
                "5",
                "symlink",
                own(&[]),
                vec![lit("filepath", Operation::Equals, "/etc/localtime")],
            ),
            (
                "6",
                "file",
                own(&[("recurse_direction", "down"), ("max_depth", "1")]),
                vec![
                    lit("path", Operation::Equals, "/etc/systemd"),
                    lit("filename", Operation::PatternMatch, ".*"),
                ],
            ),
            (
                "7",
                "tfc",
                own(&[]),
                vec![
                    lit("path", Operation::Equals, "/etc/pam.d"),
                    lit("filename", Operation::PatternMatch, "^common-.*$"),
                    lit(
                        "pattern",
                        Operation::PatternMatch,
                        r"^\s*(auth|password)\s+(\S+)\s+(pam_\w+\.so)",
                    ),
                    inst.clone(),
                ],
            ),
        ];
        let mut out = String::new();
        for (id, probe, behaviors, entities) in objects {
            let k = kind(Family::Unix, probe);
            let req = ObjectRequest {
                filter: None,
                id,
                kind: &k,
                behaviors: &behaviors,
                entities,
            };
            let started = std::time::Instant::now();
            let c = match probe {
                "file" => collect(&req, &ctx),
                "tfc" => textfilecontent54::collect(&req, &ctx),
                "partition" => partition::collect(&req, &ctx),
                _ => symlink::collect(&req, &ctx),
            };
            eprintln!(
                "object {id}: {} items in {:?} {:?}",
                c.items.len(),
                started.elapsed(),
                c.messages
            );
            let mut lines: Vec<String> = c
                .items
                .iter()
                .map(|i| {
                    let fields: Vec<String> = i
                        .fields
                        .iter()
                        .filter(|f| !f.name.ends_with("_time"))
                        .map(|f| match f.status {
                            Status::Exists => format!("{}={}", f.name, f.value),
                            st => format!("{}=<{}>", f.name, st.as_str()),
                        })
                        .collect();
                    format!("{id} {}", fields.join(" "))
                })
                .collect();
            lines.sort();
            lines.dedup();
            out.push_str(&format!(
                "# {id} flag={} n={} uniq={}\n",
                c.flag.as_str(),
                c.items.len(),
                lines.len()
            ));
            for l in lines {
                out.push_str(&l);
                out.push('\n');
            }
        }
        if let Ok(path) = std::env::var("ATO_COMPARE_OUT") {
            fs::write(path, out).unwrap();
        }

        // A cold walk of everything, all file systems, for the files/s figure.
        let cold = SharedCache::new();
        let ctx = ProbeContext {
            target: &target,
            regexes: &regexes,
            shared: &cold,
        };
        let k = kind(Family::Unix, "file");
        let behaviors = own(&[("recurse", "directories"), ("recurse_direction", "down")]);
        let req = ObjectRequest {
            filter: None,
            id: "all",
            kind: &k,
            behaviors: &behaviors,
            entities: vec![
                lit("path", Operation::Equals, "/"),
                lit("filename", Operation::PatternMatch, ".*"),
            ],
        };
        let started = std::time::Instant::now();
        let c = collect(&req, &ctx);
        let cold_time = started.elapsed();
        let started = std::time::Instant::now();
        let again = collect(&req, &ctx);
        let warm_time = started.elapsed();
        let (dirs, entries) = cold.get_or_init(walk::FsCache::default).size();
        eprintln!(
            "whole tree: {} files, cold {:?} ({:.0} entries/s), warm {:?} ({} items); cache {dirs} dirs {entries} entries",
            c.items.len(),
            cold_time,
            entries as f64 / cold_time.as_secs_f64(),
            warm_time,
            again.items.len()
        );
    }
}
