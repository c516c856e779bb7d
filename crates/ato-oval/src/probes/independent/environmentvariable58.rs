//! `ind:environmentvariable58_object` (OVAL 5.11): environment variables of processes.
//!
//! - `pid` nil (or 0), live host: the environment of the scanning process itself, reported
//!   with its pid, as OpenSCAP does (it reads its own `/proc/<pid>/environ`). SSG uses this
//!   to check root's `PATH`, so run the scan from root's login environment.
//! - `pid` given: every matching process under the target's `/proc`, from
//!   `/proc/<pid>/environ` (NUL-separated `NAME=value`; entries without `=` are ignored).
//!   Offline, that is a `proc` file system mounted in the root, whose processes are those of
//!   the running system, not of the image.
//! - `pid` nil, offline root: the environment a root login on the scanned system starts
//!   with, since an image has no running process to ask and ato's own environment says
//!   nothing about the image: the variables of the root's `/etc/environment` (as pam_env reads
//!   it), `PATH` from `ENV_SUPATH` in its `/etc/login.defs` (what login(1) and su(1) give
//!   root; Debian's default path when neither file sets one), and `HOME`, `SHELL`, `USER` and
//!   `LOGNAME` from root's entry in its `/etc/passwd`. The items carry no pid (status `not
//!   collected`). OpenSCAP reads this case from its own `OSCAP_CONTAINER_VARS` variable, or,
//!   run inside a chroot, reports the environment of whoever started it.
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
            let vars = root_login_environment(ctx);
            let Some(name) = req.entity("name") else {
                return Collected::items(Vec::new());
            };
            for (key, value) in &vars {
                match name.matches(key, ctx.regexes) {
                    Ok(true) => {
                        let mut item = Item::new("environmentvariable58");
                        item.push_status("pid", Datatype::Int, Status::NotCollected);
                        item.push("name", Datatype::String, key.clone());
                        item.push("value", Datatype::String, value.clone());
                        items.push(item);
                    }
                    Ok(false) => {}
                    Err(e) => return entity_error(req, "name", &e),
                }
            }
            return Collected::items(items);
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

/// Debian's `ENV_SUPATH` default, for a root without one in `/etc/login.defs`.
const DEFAULT_SUPATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The environment a root login on an offline root starts with (see the module doc), sorted by
/// name.
fn root_login_environment(ctx: &ProbeContext<'_>) -> Vec<(String, String)> {
    let mut vars = std::collections::BTreeMap::new();
    let text = |path: &str| {
        ctx.target
            .read(path, 1 << 20)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    };
    for line in text("/etc/environment").lines() {
        let line = line.trim();
        let line = line.strip_prefix("export ").unwrap_or(line);
        if line.starts_with('#') {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            let v = v.trim().trim_matches('"').trim_matches('\'');
            if !k.trim().is_empty() {
                vars.insert(k.trim().to_string(), v.to_string());
            }
        }
    }
    let supath = text("/etc/login.defs").lines().find_map(|l| {
        let mut words = l.split_whitespace();
        (words.next() == Some("ENV_SUPATH"))
            .then(|| {
                words
                    .next()
                    .map(|w| w.strip_prefix("PATH=").unwrap_or(w).to_string())
            })
            .flatten()
    });
    match supath {
        Some(p) => {
            vars.insert("PATH".into(), p);
        }
        None => {
            vars.entry("PATH".into())
                .or_insert_with(|| DEFAULT_SUPATH.to_string());
        }
    }
    let passwd = text("/etc/passwd");
    if let Some(root) = passwd.lines().find(|l| l.split(':').nth(2) == Some("0")) {
        let f: Vec<&str> = root.split(':').collect();
        if f.len() >= 7 {
            vars.insert("HOME".into(), f[5].to_string());
            vars.insert("SHELL".into(), f[6].to_string());
            vars.insert("USER".into(), f[0].to_string());
            vars.insert("LOGNAME".into(), f[0].to_string());
        }
    }
    vars.into_iter().collect()
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
            filter: None,
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
    fn offline_nil_pid_is_a_root_login_environment() {
        let dir = tempfile::tempdir().unwrap();
        let etc = dir.path().join("etc");
        std::fs::create_dir_all(&etc).unwrap();
        std::fs::write(
            etc.join("environment"),
            "LANG=\"C.UTF-8\"\n# c\nPATH=/env/bin\n",
        )
        .unwrap();
        let target = Target::offline(dir.path()).unwrap();
        // No login.defs: the environment file's PATH stands.
        let c = run(&target, None, "PATH");
        assert_eq!(c.flag, Flag::Complete);
        assert_eq!(c.items[0].values("value").collect::<Vec<_>>(), ["/env/bin"]);
        std::fs::write(
            etc.join("login.defs"),
            "ENV_SUPATH\tPATH=/usr/sbin:/usr/bin\n",
        )
        .unwrap();
        std::fs::write(etc.join("passwd"), "root:x:0:0:root:/root:/bin/bash\n").unwrap();
        let target = Target::offline(dir.path()).unwrap();
        let c = run(&target, None, "PATH");
        assert_eq!(
            c.items[0].values("value").collect::<Vec<_>>(),
            ["/usr/sbin:/usr/bin"]
        );
        assert_eq!(c.items[0].fields[0].status, Status::NotCollected);
        let c = run(&target, None, "HOME");
        assert_eq!(c.items[0].values("value").collect::<Vec<_>>(), ["/root"]);
        assert_eq!(run(&target, None, "LANG").items.len(), 1);
        assert_eq!(run(&target, None, "NOPE").flag, Flag::DoesNotExist);
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
