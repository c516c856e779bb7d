//! `ind:environmentvariable58_object` (OVAL 5.11): environment variables of processes.
//!
//! - `pid` nil (or 0), live host: the environment of the scanning process itself, reported
//!   with its pid, as OpenSCAP does (it reads its own `/proc/<pid>/environ`). SSG uses this
//!   to check root's `PATH`, so run the scan from root's login environment.
//! - `pid` given: every matching process under the target's `/proc`, from
//!   `/proc/<pid>/environ` (NUL-separated `NAME=value`; entries without `=` are ignored).
//!   Offline, that is a `proc` file system mounted in the root, whose processes are those of
//!   the running system, not of the image.
//! - `pid` nil, offline root: `not collected`. An image has no running process whose
//!   environment could be asked for, and ato's own environment says nothing about the image.
//!   OpenSCAP reads variables for this case from its own `OSCAP_CONTAINER_VARS` variable; ato
//!   takes no input from its environment behind the user's back.
//!
//! A process whose `environ` cannot be read gives an item with status `error` (pid only) and
//! a message naming the path; the object flag is then `error`.

use ato_content::oval::Datatype;
use ato_target::FileType;

use crate::item::{Collected, Flag, Item, Status};
use crate::probes::{entity_error, ObjectRequest, ProbeContext};

/// The largest environment read from one process.
const ENVIRON_LIMIT: u64 = 16 << 20;

pub fn collect(req: &ObjectRequest<'_>, ctx: &ProbeContext<'_>) -> Collected {
    let (Some(_), Some(pid)) = (req.entity("name"), req.entity("pid")) else {
        return Collected::error(format!(
            "object `{}`: needs `pid` and `name` entities",
            req.id
        ));
    };
    let own = pid.nil || pid.values.iter().all(|v| v.trim() == "0");

    let mut items = Vec::new();
    let mut messages = Vec::new();
    if own {
        if ctx.target.is_offline() {
            return Collected::not_collected(format!(
                "object `{}`: an offline root has no scanning process whose environment could be \
                 read (`pid` is nil)",
                req.id
            ));
        }
        let me = std::process::id();
        let vars: Vec<(String, String)> = std::env::vars_os()
            .map(|(k, v)| {
                (
                    k.to_string_lossy().into_owned(),
                    v.to_string_lossy().into_owned(),
                )
            })
            .collect();
        if let Err(c) = push_matching(req, ctx, me, &vars, &mut items) {
            return c;
        }
    } else {
        let entries = match ctx.target.read_dir("/proc") {
            Ok(e) => e,
            Err(e) => return Collected::error(format!("object `{}`: {e}", req.id)),
        };
        for entry in entries {
            let Ok(number) = entry.name.parse::<u32>() else {
                continue;
            };
            if entry.file_type != FileType::Directory {
                continue;
            }
            match pid.matches(&number.to_string(), ctx.regexes) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => return entity_error(req, "pid", &e),
            }
            let path = format!("/proc/{number}/environ");
            match ctx.target.read(&path, ENVIRON_LIMIT) {
                Ok(bytes) => {
                    let vars = parse_environ(&bytes);
                    if let Err(c) = push_matching(req, ctx, number, &vars, &mut items) {
                        return c;
                    }
                }
                // The process ended while we looked.
                Err(e) if e.is_not_found() => {}
                Err(e) => {
                    let mut item = Item::new("environmentvariable58");
                    item.push("pid", Datatype::Int, number.to_string());
                    item.status = Status::Error;
                    items.push(item);
                    messages.push(format!("object `{}`: {e}", req.id));
                }
            }
        }
    }
    let mut collected = Collected::items(items);
    if !messages.is_empty() {
        collected.flag = Flag::Error;
        collected.messages = messages;
    }
    collected
}

fn push_matching(
    req: &ObjectRequest<'_>,
    ctx: &ProbeContext<'_>,
    pid: u32,
    vars: &[(String, String)],
    items: &mut Vec<Item>,
) -> Result<(), Collected> {
    let Some(name) = req.entity("name") else {
        return Ok(());
    };
    for (key, value) in vars {
        match name.matches(key, ctx.regexes) {
            Ok(true) => items.push(
                Item::new("environmentvariable58")
                    .field("pid", Datatype::Int, pid.to_string())
                    .string("name", key)
                    .string("value", value),
            ),
            Ok(false) => {}
            Err(e) => return Err(entity_error(req, "name", &e)),
        }
    }
    Ok(())
}

/// `NAME=value` entries of a `/proc/<pid>/environ` file; the value is everything after the
/// first `=`.
fn parse_environ(bytes: &[u8]) -> Vec<(String, String)> {
    bytes
        .split(|b| *b == 0)
        .filter_map(|entry| {
            let text = String::from_utf8_lossy(entry);
            let (k, v) = text.split_once('=')?;
            Some((k.to_string(), v.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::fs;

    use ato_content::oval::{Check, Family, Kind, Operation};
    use ato_target::Target;

    use super::*;
    use crate::pcre::RegexCache;
    use crate::probes::{RequestEntity, SharedCache};

    fn run(target: &Target, pid: Option<&str>, name: &str) -> Collected {
        let kind = Kind {
            family: Family::Independent,
            name: "environmentvariable58".into(),
            namespace: String::new(),
        };
        let pid = RequestEntity {
            name: "pid".into(),
            datatype: Datatype::Int,
            operation: Operation::Equals,
            values: pid.map(|p| vec![p.to_string()]).unwrap_or_default(),
            var_check: Check::All,
            nil: pid.is_none(),
            from_variable: false,
        };
        let req = ObjectRequest {
            id: "oval:t:obj:1",
            kind: &kind,
            behaviors: &[],
            entities: vec![pid, RequestEntity::literal("name", Operation::Equals, name)],
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
    fn offline_nil_pid_is_not_collected() {
        let dir = tempfile::tempdir().unwrap();
        let target = Target::offline(dir.path()).unwrap();
        assert_eq!(run(&target, None, "PATH").flag, Flag::NotCollected);
    }

    #[test]
    fn offline_pid_reads_the_roots_proc() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("proc/42")).unwrap();
        fs::write(
            dir.path().join("proc/42/environ"),
            b"PATH=/usr/bin:/bin\0odd\0X=a=b\0",
        )
        .unwrap();
        let target = Target::offline(dir.path()).unwrap();
        let c = run(&target, Some("42"), "PATH");
        assert_eq!(c.flag, Flag::Complete);
        let v: Vec<_> = c.items[0].fields.iter().map(|f| f.value.as_str()).collect();
        assert_eq!(v, ["42", "PATH", "/usr/bin:/bin"]);
        assert_eq!(
            run(&target, Some("42"), "X").items[0].fields[2].value,
            "a=b"
        );
        assert_eq!(run(&target, Some("43"), "PATH").flag, Flag::DoesNotExist);
    }

    #[test]
    fn live_nil_pid_is_our_own_environment() {
        // Reads only this process's environment; nothing of the host's files.
        let target = Target::live().unwrap();
        let Some((key, value)) = std::env::vars().next() else {
            return;
        };
        let c = run(&target, None, &key);
        assert_eq!(c.flag, Flag::Complete);
        assert_eq!(c.items[0].fields[0].value, std::process::id().to_string());
        assert_eq!(c.items[0].fields[2].value, value);
    }
}
