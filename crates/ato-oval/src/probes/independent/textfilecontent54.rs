//! `ind:textfilecontent54_object` (OVAL 5.11.2 independent schema): the matches of a Perl
//! regular expression in the content of text files.
//!
//! Files are named as for `unix:file_object` (`filepath`, or `path` and `filename`, with the
//! same behaviors), by the same walk ([`crate::probes::unix::walk`]); of the paths found, those
//! that resolve to regular files are read whole, at most [`MAX_FILE_SIZE`] bytes. `pattern` is
//! compiled with the behaviors `multiline` (default true), `singleline` (false) and
//! `ignore_case` (false) and run over the whole content as one subject; every match is an
//! instance, numbered from 1, and a `textfilecontent_item` is made for each instance that
//! satisfies the `instance` entity: `filepath`, `path`, `filename`, `pattern`, `instance`,
//! `line`, `text` (the whole match) and one `subexpression` per capture group that took part in the
//! match, in order. A group that did not take part is left out, as OpenSCAP does, so the
//! subexpressions after it move up. Matching follows OpenSCAP's loop
//! ([`crate::pcre::Regex::captures_all_openscap`]): the subject ends at the first NUL byte, and
//! the search resumes where the last match ended. As PCRE's output vector holds 20 groups, at
//! most 19 subexpressions are reported.
//!
//! A pattern or path with several values (from a variable) is collected once per value.
//!
//! Content that is not valid UTF-8 (up to its first NUL) is not matched: OpenSCAP compiles
//! with `PCRE_UTF8` and PCRE refuses such a subject, so the object gets the flag `error` and a
//! message naming the file, while the other files are still collected. ato does the same, so
//! that an ISO-8859 file gives `error`, as OpenSCAP's `test_filecontent_non_utf` expects. A
//! file larger than [`MAX_FILE_SIZE`], or one that cannot be opened or read, also sets
//! `error` with a message naming it; a link that dangles or a path that is not a regular file
//! is skipped silently, as in OpenSCAP. A symlink loop is an `error` naming the path, where
//! OpenSCAP skips it: the file a check names cannot be read, and the report should say so.
//!
//! Offline, files are read inside the root through [`ato_target::Target`].
//!
//! Items also carry the deprecated `line` entity, holding the pattern, because OpenSCAP 1.3.7
//! writes it. Not supported: `windows_view`.

use ato_content::oval::Datatype;

use crate::item::{Collected, Flag, Item};
use crate::pcre::{Captures, Flags};
use crate::probes::unix::walk::{self, Found};
use crate::probes::{entity_error, ObjectRequest, ProbeContext};

/// The largest file read: 256 MiB (a million lines of sshd_config-like text is a tenth of it).
pub const MAX_FILE_SIZE: u64 = 256 << 20;

/// Subexpressions PCRE can report with OpenSCAP's 60-slot output vector.
const MAX_SUBEXPRESSIONS: usize = 19;

pub fn collect(req: &ObjectRequest<'_>, ctx: &ProbeContext<'_>) -> Collected {
    let (Some(pattern), Some(instance)) = (req.entity("pattern"), req.entity("instance")) else {
        return Collected::error(format!(
            "object `{}` needs both a pattern and an instance entity",
            req.id
        ));
    };
    let flags = Flags {
        multiline: req.behavior_bool("multiline", true),
        singleline: req.behavior_bool("singleline", false),
        ignore_case: req.behavior_bool("ignore_case", false),
    };
    let walked = match walk::find(req, ctx) {
        Ok(walked) => walked,
        Err(collected) => return collected,
    };

    let mut items = Vec::new();
    let mut errors = Vec::new();
    for value in &pattern.values {
        let regex = match ctx.regexes.get(value, flags) {
            Ok(regex) => regex,
            Err(e) => return Collected::error(format!("object `{}`: {e}", req.id)),
        };
        for found in walked.found.iter().filter(|f| f.filename.is_some()) {
            let filepath = found.filepath();
            let content = match read_text(ctx, &filepath) {
                Ok(Some(content)) => content,
                Ok(None) => continue,
                Err(message) => {
                    errors.push(message);
                    continue;
                }
            };
            let matches = match regex.captures_all_openscap(&content) {
                Ok(matches) => matches,
                Err(e) => {
                    errors.push(format!("`{filepath}`: {e}"));
                    continue;
                }
            };
            for (n, m) in matches.iter().enumerate() {
                let number = (n + 1).to_string();
                match instance.matches(&number, ctx.regexes) {
                    Ok(true) => {
                        let item = tfc_item(found, &filepath, value, &number, m, &content);
                        if req.keeps(&item) {
                            items.push(item);
                        }
                    }
                    Ok(false) => {}
                    Err(e) => return entity_error(req, "instance", &e),
                }
            }
        }
    }

    let mut collected = Collected::items(items);
    if !walked.problems.is_empty() {
        collected.flag = Flag::Incomplete;
    }
    if !errors.is_empty() {
        collected.flag = Flag::Error;
    }
    let id = req.id;
    let messages = walked
        .problems
        .into_iter()
        .chain(errors)
        .chain(walked.notes);
    collected
        .messages
        .extend(messages.map(|m| format!("object `{id}`: {m}")));
    collected
}

/// The content of a file as text: `None` when the path is not a regular file (or a link to
/// one) or is gone, an error message naming the path when it cannot be used.
fn read_text(ctx: &ProbeContext<'_>, filepath: &str) -> Result<Option<String>, String> {
    let bytes = match ctx.target.read(filepath, MAX_FILE_SIZE) {
        Ok(bytes) => bytes,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(ato_target::TargetError::NotRegular { .. }) => return Ok(None),
        Err(e) => return Err(walk::error_chain(&e)),
    };
    // PCRE validates the subject up to its end, which OpenSCAP puts at the first NUL.
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    match String::from_utf8(bytes) {
        Ok(text) => Ok(Some(text)),
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            if valid >= end {
                // Valid up to the NUL: what follows it is never matched.
                let mut bytes = e.into_bytes();
                bytes.truncate(end);
                return Ok(String::from_utf8(bytes).ok());
            }
            Err(format!(
                "`{filepath}` is not valid UTF-8 text (byte {valid}), so the pattern cannot be matched against it"
            ))
        }
    }
}

fn tfc_item(
    found: &Found,
    filepath: &str,
    pattern: &str,
    instance: &str,
    m: &Captures,
    content: &str,
) -> Item {
    let mut item = Item::new("textfilecontent")
        .string("filepath", filepath)
        .string("path", found.path.clone())
        .string("filename", found.filename.clone().unwrap_or_default())
        .string("pattern", pattern)
        .field("instance", Datatype::Int, instance)
        .string("line", pattern)
        .string("text", content.get(m.start..m.end).unwrap_or(""));
    for group in m.groups.iter().flatten().take(MAX_SUBEXPRESSIONS) {
        item.push("subexpression", Datatype::String, group.clone());
    }
    item
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::Path;

    use ato_content::oval::{Family, Kind, Operation};
    use ato_target::Target;

    use super::*;
    use crate::pcre::RegexCache;
    use crate::probes::{RequestEntity, SharedCache};

    struct Fixture {
        _dir: tempfile::TempDir,
        target: Target,
        regexes: RegexCache,
        shared: SharedCache,
    }

    impl Fixture {
        fn new(files: &[(&str, &[u8])]) -> Fixture {
            let dir = tempfile::tempdir().unwrap();
            for (path, content) in files {
                let full = dir.path().join(path);
                fs::create_dir_all(full.parent().unwrap()).unwrap();
                fs::write(full, content).unwrap();
            }
            let target = Target::offline(dir.path()).unwrap();
            Fixture {
                _dir: dir,
                target,
                regexes: RegexCache::new(),
                shared: SharedCache::new(),
            }
        }

        fn root(&self) -> &Path {
            self._dir.path()
        }

        fn run(&self, behaviors: &[(&str, &str)], entities: Vec<RequestEntity>) -> Collected {
            let kind = Kind {
                family: Family::Independent,
                name: "textfilecontent54".to_string(),
                namespace: String::new(),
            };
            let behaviors: Vec<(String, String)> = behaviors
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect();
            let req = ObjectRequest {
                filter: None,
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
    }

    fn lit(name: &str, op: Operation, value: &str) -> RequestEntity {
        RequestEntity::literal(name, op, value)
    }

    fn instance_ge_1() -> RequestEntity {
        let mut e = lit("instance", Operation::GreaterThanOrEqual, "1");
        e.datatype = Datatype::Int;
        e
    }

    fn obj(filepath: &str, pattern: &str) -> Vec<RequestEntity> {
        vec![
            lit("filepath", Operation::Equals, filepath),
            lit("pattern", Operation::PatternMatch, pattern),
            instance_ge_1(),
        ]
    }

    const SSHD: &[u8] =
        b"# comment\nPermitRootLogin no\nPort 22\n#Port 2222\nClientAliveInterval 600\n";

    #[test]
    fn instances_and_subexpressions() {
        let fx = Fixture::new(&[("etc/ssh/sshd_config", SSHD)]);
        let c = fx.run(
            &[],
            obj("/etc/ssh/sshd_config", r"^[ \t]*(\w+)[ \t]+(\S+)[ \t]*$"),
        );
        assert_eq!(c.flag, Flag::Complete);
        assert_eq!(c.items.len(), 3);
        let first = &c.items[0];
        let names: Vec<&str> = first.fields.iter().map(|f| f.name).collect();
        assert_eq!(
            names,
            [
                "filepath",
                "path",
                "filename",
                "pattern",
                "instance",
                "line",
                "text",
                "subexpression",
                "subexpression"
            ]
        );
        assert_eq!(first.values("text").next(), Some("PermitRootLogin no"));
        assert_eq!(
            first.values("subexpression").collect::<Vec<_>>(),
            ["PermitRootLogin", "no"]
        );
        assert_eq!(first.values("path").next(), Some("/etc/ssh"));
        assert_eq!(first.values("filename").next(), Some("sshd_config"));
        let instances: Vec<&str> = c.items.iter().flat_map(|i| i.values("instance")).collect();
        assert_eq!(instances, ["1", "2", "3"]);

        // Only the second instance.
        let mut entities = obj("/etc/ssh/sshd_config", r"^(\w+) (\S+)$");
        entities[2] = {
            let mut e = lit("instance", Operation::Equals, "2");
            e.datatype = Datatype::Int;
            e
        };
        let c = fx.run(&[], entities);
        assert_eq!(c.items.len(), 1);
        assert_eq!(c.items[0].values("text").next(), Some("Port 22"));
    }

    #[test]
    fn a_group_that_did_not_take_part_is_left_out() {
        let fx = Fixture::new(&[("f", b"b=2\n")]);
        let c = fx.run(&[], obj("/f", r"^(a=(\d))?(b)=(\d)$"));
        assert_eq!(c.items.len(), 1);
        assert_eq!(
            c.items[0].values("subexpression").collect::<Vec<_>>(),
            ["b", "2"]
        );
    }

    #[test]
    fn multiline_and_singleline() {
        let fx = Fixture::new(&[("f", b"one\ntwo\nthree\n")]);
        // Default: multiline, `^` at each line.
        assert_eq!(fx.run(&[], obj("/f", r"^t\w+$")).items.len(), 2);
        // multiline false: `^` only at the start.
        let c = fx.run(&[("multiline", "false")], obj("/f", r"^t\w+$"));
        assert_eq!(c.flag, Flag::DoesNotExist);
        // singleline: `.` crosses lines.
        let c = fx.run(&[("singleline", "true")], obj("/f", r"one.two"));
        assert_eq!(c.items.len(), 1);
        assert_eq!(fx.run(&[], obj("/f", r"one.two")).flag, Flag::DoesNotExist);
        let c = fx.run(&[("ignore_case", "true")], obj("/f", r"^TWO$"));
        assert_eq!(c.items.len(), 1);
    }

    #[test]
    fn pattern_from_a_variable_is_collected_per_value() {
        let fx = Fixture::new(&[("etc/ssh/sshd_config", SSHD)]);
        let mut entities = obj("/etc/ssh/sshd_config", r"^Port\s+(\d+)$");
        entities[1]
            .values
            .push(r"^PermitRootLogin\s+(\w+)$".to_string());
        entities[1].from_variable = true;
        let c = fx.run(&[], entities);
        let subs: Vec<&str> = c
            .items
            .iter()
            .flat_map(|i| i.values("subexpression"))
            .collect();
        assert_eq!(subs, ["22", "no"]);
        let patterns: Vec<&str> = c.items.iter().flat_map(|i| i.values("pattern")).collect();
        assert_eq!(patterns[0], r"^Port\s+(\d+)$");
    }

    #[test]
    fn ssg_sudoers_d_shape() {
        // The SSG sudo rules: filepath pattern over /etc/sudoers and /etc/sudoers.d.
        let fx = Fixture::new(&[
            ("etc/sudoers", b"Defaults use_pty\n"),
            (
                "etc/sudoers.d/admins",
                b"Defaults  use_pty\n%admin ALL=(ALL) ALL\n",
            ),
            ("etc/sudoers.d/README", b"# nothing\n"),
        ]);
        let entities = vec![
            lit(
                "filepath",
                Operation::PatternMatch,
                r"^/etc/sudoers(\.d/.*)?$",
            ),
            lit(
                "pattern",
                Operation::PatternMatch,
                r"^[\s]*Defaults[\s]+use_pty.*$",
            ),
            instance_ge_1(),
        ];
        let c = fx.run(&[], entities);
        let files: Vec<&str> = c.items.iter().flat_map(|i| i.values("filepath")).collect();
        assert_eq!(files, ["/etc/sudoers", "/etc/sudoers.d/admins"]);
    }

    #[test]
    fn path_and_filename_with_recursion() {
        let fx = Fixture::new(&[
            ("etc/audit/rules.d/a.rules", b"-w /etc/passwd -p wa\n"),
            ("etc/audit/rules.d/sub/b.rules", b"-w /etc/group -p wa\n"),
        ]);
        let entities = |depth: &str| {
            (
                [("recurse_direction", "down"), ("max_depth", depth)]
                    .map(|(a, b)| (a.to_string(), b.to_string())),
                vec![
                    lit("path", Operation::Equals, "/etc/audit/rules.d"),
                    lit("filename", Operation::PatternMatch, r"\.rules$"),
                    lit("pattern", Operation::PatternMatch, r"^-w (\S+)"),
                    instance_ge_1(),
                ],
            )
        };
        let (b, e) = entities("0");
        let b: Vec<(&str, &str)> = b.iter().map(|(x, y)| (x.as_str(), y.as_str())).collect();
        assert_eq!(fx.run(&b, e).items.len(), 1);
        let (b, e) = entities("-1");
        let b: Vec<(&str, &str)> = b.iter().map(|(x, y)| (x.as_str(), y.as_str())).collect();
        assert_eq!(fx.run(&b, e).items.len(), 2);
    }

    #[test]
    fn non_utf8_file_names_make_the_object_incomplete() {
        use std::os::unix::ffi::OsStrExt;
        let fx = Fixture::new(&[("etc/conf.d/a.conf", b"root\n")]);
        let odd = std::ffi::OsStr::from_bytes(b"b\xff.conf");
        fs::write(fx.root().join("etc/conf.d").join(odd), b"root\n").unwrap();
        let entities = |path: &str| {
            vec![
                lit("path", Operation::Equals, path),
                lit("filename", Operation::PatternMatch, r"\.conf$"),
                lit("pattern", Operation::PatternMatch, r"root"),
                instance_ge_1(),
            ]
        };
        let c = fx.run(&[], entities("/etc/conf.d"));
        assert_eq!(c.flag, Flag::Incomplete);
        assert_eq!(c.items.len(), 1);
        assert!(
            c.messages
                .iter()
                .any(|m| m.contains("/etc/conf.d") && m.contains("not UTF-8")),
            "{:?}",
            c.messages
        );
        // With nothing else found, the object is still incomplete, not "does not exist".
        fs::remove_file(fx.root().join("etc/conf.d/a.conf")).unwrap();
        let fx2 = Fixture {
            _dir: fx._dir,
            target: fx.target,
            regexes: RegexCache::new(),
            shared: SharedCache::new(),
        };
        let c = fx2.run(&[], entities("/etc/conf.d"));
        assert_eq!(c.flag, Flag::Incomplete, "{:?}", c.messages);
        assert!(c.items.is_empty());
    }

    #[test]
    fn non_utf8_content_is_an_error_naming_the_file() {
        let fx = Fixture::new(&[("latin1", b"caf\xe9 root:x:0:0\n"), ("ok", b"root:x:0:0\n")]);
        let entities = vec![
            lit("filepath", Operation::PatternMatch, r"^/(latin1|ok)$"),
            lit("pattern", Operation::PatternMatch, r"root"),
            instance_ge_1(),
        ];
        let c = fx.run(&[], entities);
        assert_eq!(c.flag, Flag::Error);
        assert_eq!(c.items.len(), 1);
        assert!(
            c.messages.iter().any(|m| m.contains("/latin1")),
            "{:?}",
            c.messages
        );
        // Bytes after a NUL are never looked at.
        let fx = Fixture::new(&[("f", b"root\n\0\xff\xfe")]);
        let c = fx.run(&[], obj("/f", "root"));
        assert_eq!(c.flag, Flag::Complete);
    }

    #[test]
    fn does_not_exist_and_directories() {
        let fx = Fixture::new(&[("etc/x", b"x")]);
        assert_eq!(
            fx.run(&[], obj("/etc/missing", "x")).flag,
            Flag::DoesNotExist
        );
        assert_eq!(fx.run(&[], obj("/etc", "x")).flag, Flag::DoesNotExist);
        std::os::unix::fs::symlink("/nowhere", fx.root().join("etc/dangling")).unwrap();
        assert_eq!(
            fx.run(&[], obj("/etc/dangling", "x")).flag,
            Flag::DoesNotExist
        );
    }

    #[test]
    fn a_million_lines() {
        let mut content = String::with_capacity(30_000_000);
        for i in 0..1_000_000 {
            content.push_str(&format!("key{i} = value{i}\n"));
        }
        content.push_str("PermitRootLogin no\n");
        let fx = Fixture::new(&[("big", content.as_bytes())]);
        let c = fx.run(&[], obj("/big", r"^PermitRootLogin\s+(\w+)$"));
        assert_eq!(c.items.len(), 1);
        assert_eq!(c.items[0].values("subexpression").next(), Some("no"));
    }
}
