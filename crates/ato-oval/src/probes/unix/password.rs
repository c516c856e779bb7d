//! `unix:password_object` (OVAL 5.11): the accounts of `/etc/passwd`.
//!
//! Reads the target's `/etc/passwd` as glibc's `fgetpwent` does: leading white space is
//! ignored, empty and `#` lines are skipped, and so is a line without a numeric uid and gid
//! (each skipped line is named in a message). `gcos`, `home_dir` and `login_shell` are empty
//! when the line stops early; a shell field keeps any further colons. `last_login` comes from
//! the `lastlog` record of the uid in `/var/log/lastlog` (32-bit time, 292-byte records, as
//! glibc lays it out on 64-bit Linux), `-1` without a record, as OpenSCAP reports it.
//!
//! The live host and an offline root are read the same way, through the target. OpenSCAP asks
//! NSS on the live host, so accounts from LDAP or SSSD appear there and not here: ato answers
//! for the local account database only, on both.

use std::io::{Read, Seek, SeekFrom};

use ato_content::oval::Datatype;
use ato_target::Target;

use crate::item::{Collected, Item};
use crate::probes::{entity_error, ObjectRequest, ProbeContext};

const PASSWD: &str = "/etc/passwd";
const LASTLOG: &str = "/var/log/lastlog";

/// Size of `struct lastlog` on 64-bit glibc: 32-bit time, 32-byte line, 256-byte host.
const LASTLOG_RECORD: u64 = 4 + 32 + 256;

/// The largest account file read.
const LIMIT: u64 = 64 << 20;

pub fn collect(req: &ObjectRequest<'_>, ctx: &ProbeContext<'_>) -> Collected {
    let Some(username) = req.entity("username") else {
        return Collected::error(format!("object `{}`: no `username` entity", req.id));
    };
    let text = match ctx.target.read(PASSWD, LIMIT) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) if e.is_not_found() => {
            return Collected::items(Vec::new()).with_message(format!("`{PASSWD}` does not exist"));
        }
        Err(e) => return Collected::error(format!("object `{}`: {e}", req.id)),
    };

    let mut items = Vec::new();
    let mut messages = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some(entry) = Passwd::parse(line) else {
            messages.push(format!(
                "line {} of `{PASSWD}` is malformed; skipped",
                number + 1
            ));
            continue;
        };
        match username.matches(entry.name, ctx.regexes) {
            Ok(true) => items.push(entry.item(ctx.target)),
            Ok(false) => {}
            Err(e) => return entity_error(req, "username", &e),
        }
    }
    let mut collected = Collected::items(items);
    collected.messages = messages;
    collected
}

/// One line of `/etc/passwd`.
struct Passwd<'a> {
    name: &'a str,
    password: &'a str,
    uid: u32,
    gid: u32,
    gcos: &'a str,
    home: &'a str,
    shell: &'a str,
}

impl<'a> Passwd<'a> {
    fn parse(line: &'a str) -> Option<Passwd<'a>> {
        let mut f = line.splitn(7, ':');
        let name = f.next().filter(|n| !n.is_empty())?;
        let password = f.next()?;
        let uid = number(f.next()?)?;
        let gid = number(f.next()?)?;
        let gcos = f.next().unwrap_or("");
        let home = f.next().unwrap_or("");
        let shell = f.next().unwrap_or("");
        Some(Passwd {
            name,
            password,
            uid,
            gid,
            gcos,
            home,
            shell,
        })
    }

    fn item(&self, target: &Target) -> Item {
        Item::new("password")
            .string("username", self.name)
            .string("password", self.password)
            .field("user_id", Datatype::Int, self.uid.to_string())
            .field("group_id", Datatype::Int, self.gid.to_string())
            .string("gcos", self.gcos)
            .string("home_dir", self.home)
            .string("login_shell", self.shell)
            .field(
                "last_login",
                Datatype::Int,
                last_login(target, self.uid).to_string(),
            )
    }
}

/// A uid or gid: decimal digits only, as glibc requires.
fn number(field: &str) -> Option<u32> {
    if field.is_empty() || !field.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    field.parse().ok()
}

/// The time of the last login of `uid` from `/var/log/lastlog`, `-1` if there is no record.
fn last_login(target: &Target, uid: u32) -> i64 {
    let Ok((mut file, st)) = target.open_file(LASTLOG) else {
        return -1;
    };
    let offset = u64::from(uid) * LASTLOG_RECORD;
    if offset + LASTLOG_RECORD > st.size {
        return -1;
    }
    let mut time = [0u8; 4];
    match file
        .seek(SeekFrom::Start(offset))
        .and_then(|_| file.read_exact(&mut time))
    {
        Ok(()) => i64::from(i32::from_le_bytes(time)),
        Err(e) => {
            tracing::debug!("`{LASTLOG}`: cannot read the record of uid {uid}: {e}");
            -1
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use ato_content::oval::{Family, Operation};

    use super::*;
    use crate::item::Flag;
    use crate::probes::RequestEntity;

    const PASSWD_TEXT: &str = "\
root:x:0:0:root:/root:/bin/bash
# a comment
   daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin

short:x:1001:1001
odd:x:1002:1002:a:b:/bin/sh:extra
bad:x:abc:1:bad:/:/bin/sh
:x:5:5::/:
";

    fn run(root: &std::path::Path, op: Operation, name: &str) -> Collected {
        let entity = RequestEntity::literal("username", op, name);
        crate::probes::run_one_entity(collect, root, (Family::Unix, "password"), entity)
    }

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("etc")).unwrap();
        fs::create_dir_all(dir.path().join("var/log")).unwrap();
        fs::write(dir.path().join("etc/passwd"), PASSWD_TEXT).unwrap();
        // A lastlog with a record for uid 1 only (uid 0 all zeros).
        let mut lastlog = vec![0u8; 2 * 292];
        lastlog[292..296].copy_from_slice(&1_700_000_000i32.to_le_bytes());
        fs::write(dir.path().join("var/log/lastlog"), lastlog).unwrap();
        dir
    }

    fn values(item: &Item) -> Vec<&str> {
        item.fields.iter().map(|f| f.value.as_str()).collect()
    }

    #[test]
    fn all_accounts_with_odd_lines() {
        let dir = tree();
        let c = run(dir.path(), Operation::PatternMatch, ".*");
        assert_eq!(c.flag, Flag::Complete);
        let names: Vec<_> = c.items.iter().map(|i| i.fields[0].value.as_str()).collect();
        assert_eq!(names, ["root", "daemon", "short", "odd"]);
        assert_eq!(
            values(&c.items[0]),
            ["root", "x", "0", "0", "root", "/root", "/bin/bash", "0"]
        );
        assert_eq!(c.items[1].fields[7].value, "1700000000");
        assert_eq!(values(&c.items[2])[4..], ["", "", "", "-1"]);
        assert_eq!(c.items[3].fields[6].value, "/bin/sh:extra");
        assert_eq!(c.messages.len(), 2, "{:?}", c.messages);
        assert!(c.messages[0].contains("line 7 of `/etc/passwd`"));
    }

    #[test]
    fn exact_user_and_absent_user() {
        let dir = tree();
        let c = run(dir.path(), Operation::Equals, "daemon");
        assert_eq!(c.items.len(), 1);
        assert_eq!(c.items[0].fields[2].datatype, Datatype::Int);
        assert_eq!(
            run(dir.path(), Operation::Equals, "nobody").flag,
            Flag::DoesNotExist
        );
    }

    #[test]
    fn no_passwd_file() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            run(dir.path(), Operation::Equals, "root").flag,
            Flag::DoesNotExist
        );
    }
}
