//! `unix:shadow_object` (OVAL 5.11): the accounts of `/etc/shadow`.
//!
//! Reads the target's `/etc/shadow` (live host and offline root alike, never through NSS) the
//! way glibc's `fgetspent` parses it, which is what OpenSCAP reports from:
//! - an empty numeric field is `-1`; an empty `flag` is glibc's `~0ul`,
//!   `18446744073709551615`; a line of the old five-field format has the last four missing;
//! - a line with a non-numeric number, or too few fields, is skipped (and named in a message);
//!   empty and `#` lines are skipped.
//!
//! `encrypt_method` is derived from the hash prefix exactly as OpenSCAP does: `_` BSDi, `$1$`
//! MD5, `$2$`/`$2a$` Blowfish, `$5$` SHA-256, `$6$` SHA-512, `$md5$` Sun MD5, any other text
//! not starting with `$` (including `!`, `*`, `!$6$...` and the empty password) DES; any other
//! `$` prefix (yescrypt `$y$`, `$2b$`, `$2y$`) gives no `encrypt_method` entity at all.

use ato_content::oval::Datatype;

use crate::item::{Collected, Item};
use crate::probes::{entity_error, ObjectRequest, ProbeContext};

const SHADOW: &str = "/etc/shadow";

/// The largest account file read.
const LIMIT: u64 = 64 << 20;

/// What glibc stores for an empty `flag` field.
const NO_FLAG: u64 = u64::MAX;

pub fn collect(req: &ObjectRequest<'_>, ctx: &ProbeContext<'_>) -> Collected {
    let Some(username) = req.entity("username") else {
        return Collected::error(format!("object `{}`: no `username` entity", req.id));
    };
    let text = match ctx.target.read(SHADOW, LIMIT) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) if e.is_not_found() => {
            return Collected::items(Vec::new()).with_message(format!("`{SHADOW}` does not exist"));
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
        let Some(entry) = Shadow::parse(line) else {
            messages.push(format!(
                "line {} of `{SHADOW}` is malformed; skipped",
                number + 1
            ));
            continue;
        };
        match username.matches(entry.name, ctx.regexes) {
            Ok(true) => items.push(entry.item()),
            Ok(false) => {}
            Err(e) => return entity_error(req, "username", &e),
        }
    }
    let mut collected = Collected::items(items);
    collected.messages = messages;
    collected
}

/// One line of `/etc/shadow`.
struct Shadow<'a> {
    name: &'a str,
    password: &'a str,
    /// chg_lst, chg_allow, chg_req, exp_warn, exp_inact, exp_date.
    numbers: [i64; 6],
    flag: u64,
}

impl<'a> Shadow<'a> {
    fn parse(line: &'a str) -> Option<Shadow<'a>> {
        let fields: Vec<&str> = line.split(':').collect();
        // Nine fields, or the old format of five.
        if fields.len() != 9 && fields.len() != 5 {
            return None;
        }
        let name = fields[0];
        if name.is_empty() {
            return None;
        }
        let mut numbers = [-1i64; 6];
        for (slot, field) in numbers.iter_mut().zip(&fields[2..fields.len().min(8)]) {
            *slot = number(field)?;
        }
        let flag = match fields.get(8) {
            Some(f) if !f.is_empty() => f.parse().ok()?,
            _ => NO_FLAG,
        };
        Some(Shadow {
            name,
            password: fields[1],
            numbers,
            flag,
        })
    }

    fn item(&self) -> Item {
        let mut item = Item::new("shadow")
            .string("username", self.name)
            .string("password", self.password);
        let names = [
            "chg_lst",
            "chg_allow",
            "chg_req",
            "exp_warn",
            "exp_inact",
            "exp_date",
        ];
        for (name, value) in names.iter().zip(self.numbers) {
            item.push(name, Datatype::Int, value.to_string());
        }
        item.push("flag", Datatype::String, self.flag.to_string());
        if let Some(method) = encrypt_method(self.password) {
            item.push("encrypt_method", Datatype::String, method);
        }
        item
    }
}

/// A numeric shadow field: empty is `-1`; otherwise an optionally signed decimal number.
fn number(field: &str) -> Option<i64> {
    if field.is_empty() {
        return Some(-1);
    }
    let digits = field.strip_prefix('-').unwrap_or(field);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    field.parse().ok()
}

/// The hash method of a shadow password field, as OpenSCAP names it.
fn encrypt_method(password: &str) -> Option<&'static str> {
    let Some(rest) = password.strip_prefix('$') else {
        return Some(if password.starts_with('_') {
            "BSDi"
        } else {
            "DES"
        });
    };
    let (method, rest) = if let Some(r) = rest.strip_prefix('1') {
        ("MD5", r)
    } else if let Some(r) = rest.strip_prefix('2') {
        ("Blowfish", r.strip_prefix('a').unwrap_or(r))
    } else if let Some(r) = rest.strip_prefix('5') {
        ("SHA-256", r)
    } else if let Some(r) = rest.strip_prefix('6') {
        ("SHA-512", r)
    } else if let Some(r) = rest.strip_prefix("md5") {
        ("Sun MD5", r)
    } else {
        return None;
    };
    rest.starts_with('$').then_some(method)
}

#[cfg(test)]
mod tests {
    use std::fs;

    use ato_content::oval::{Family, Operation};

    use super::*;
    use crate::item::Flag;
    use crate::probes::RequestEntity;

    const SHADOW_TEXT: &str = "\
root:$6$salt$hash:19000:0:99999:7:::
daemon:*:19000:0:99999:7:::
nopass::19000::::::
old:$1$s$h:18000:0:90
yes:$y$j9T$abc:19500:1:60:7:30:20000:0
bad:x:abc:0:99999:7:::
# comment
few:x:1
";

    fn run(root: &std::path::Path, op: Operation, name: &str) -> Collected {
        let entity = RequestEntity::literal("username", op, name);
        crate::probes::run_one_entity(collect, root, (Family::Unix, "shadow"), entity)
    }

    fn values(item: &Item) -> Vec<&str> {
        item.fields.iter().map(|f| f.value.as_str()).collect()
    }

    #[test]
    fn fields_as_glibc_and_openscap() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("etc")).unwrap();
        fs::write(dir.path().join("etc/shadow"), SHADOW_TEXT).unwrap();
        let c = run(dir.path(), Operation::PatternMatch, ".*");
        assert_eq!(c.flag, Flag::Complete);
        let max = "18446744073709551615";
        let root = [
            "root",
            "$6$salt$hash",
            "19000",
            "0",
            "99999",
            "7",
            "-1",
            "-1",
            max,
            "SHA-512",
        ];
        assert_eq!(values(&c.items[0]), root);
        assert_eq!(values(&c.items[1])[9], "DES");
        assert_eq!(values(&c.items[2])[1..4], ["", "19000", "-1"]);
        assert_eq!(values(&c.items[2])[9], "DES");
        assert_eq!(
            values(&c.items[3])[2..],
            ["18000", "0", "90", "-1", "-1", "-1", max, "MD5"]
        );
        // yescrypt: no encrypt_method entity.
        assert_eq!(values(&c.items[4]).len(), 9);
        assert_eq!(values(&c.items[4])[8], "0");
        assert_eq!(c.items.len(), 5);
        assert_eq!(c.messages.len(), 2, "{:?}", c.messages);
    }

    #[test]
    fn encrypt_methods() {
        assert_eq!(encrypt_method("_abc"), Some("BSDi"));
        assert_eq!(encrypt_method("$2a$10$x"), Some("Blowfish"));
        assert_eq!(encrypt_method("$2b$10$x"), None);
        assert_eq!(encrypt_method("$5$s$h"), Some("SHA-256"));
        assert_eq!(encrypt_method("$md5$s$h"), Some("Sun MD5"));
        assert_eq!(encrypt_method("!$6$s$h"), Some("DES"));
        assert_eq!(encrypt_method("$6"), None);
    }

    #[test]
    fn unreadable_shadow_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("etc/shadow")).unwrap();
        let c = run(dir.path(), Operation::Equals, "root");
        assert_eq!(c.flag, Flag::Error);
        assert!(c.messages[0].contains("/etc/shadow"));
    }
}
