//! systemd's unit files as `systemctl --root` sees them: lookup paths and their precedence,
//! aliases, masks, drop-ins, `.wants/` and `.requires/` links and the unit file state. Shared
//! by the systemdunitdependency and systemdunitproperty probes, built once per scan.
//!
//! Only files are read: nothing here knows what a running manager has loaded or started, and
//! generated units exist only where a live host has them under `/run/systemd/generator*`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use ato_target::{FileType, Target};

/// systemd's system unit search path, highest precedence first (systemd 252).
pub const UNIT_PATHS: &[&str] = &[
    "/etc/systemd/system.control",
    "/run/systemd/system.control",
    "/run/systemd/transient",
    "/run/systemd/generator.early",
    "/etc/systemd/system",
    "/etc/systemd/system.attached",
    "/run/systemd/system",
    "/run/systemd/system.attached",
    "/run/systemd/generator",
    "/usr/local/lib/systemd/system",
    "/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/run/systemd/generator.late",
];

/// The directories whose links count as enablement (`systemctl enable` writes there).
const CONFIG_PATHS: &[&str] = &[
    "/etc/systemd/system.control",
    "/run/systemd/system.control",
    "/etc/systemd/system",
    "/etc/systemd/system.attached",
    "/run/systemd/system",
    "/run/systemd/system.attached",
];

const UNIT_SUFFIXES: &[&str] = &[
    ".service",
    ".socket",
    ".target",
    ".device",
    ".mount",
    ".automount",
    ".swap",
    ".timer",
    ".path",
    ".slice",
    ".scope",
];

/// The largest unit file read.
const UNIT_LIMIT: u64 = 4 << 20;

/// How a name appears in the highest-precedence unit directory that has it.
#[derive(Debug, Clone)]
enum Entry {
    /// A regular file (or a symlink to one of the same name: a linked unit file).
    File { path: String },
    /// Masked: a link to `/dev/null` or an empty file.
    Masked { path: String },
    /// A symlink to a unit of another name.
    Alias { target: String },
}

/// How a unit name resolves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    Loaded { id: String, fragment: String },
    Masked { id: String, path: String },
    NotFound { id: String },
}

impl Resolved {
    pub fn id(&self) -> &str {
        match self {
            Resolved::Loaded { id, .. }
            | Resolved::Masked { id, .. }
            | Resolved::NotFound { id } => id,
        }
    }

    pub fn load_state(&self) -> &'static str {
        match self {
            Resolved::Loaded { .. } => "loaded",
            Resolved::Masked { .. } => "masked",
            Resolved::NotFound { .. } => "not-found",
        }
    }
}

/// A parsed unit file: (section, key, value) in file order.
pub type Directives = Vec<(String, String, String)>;

/// Every unit directory of the target, listed once.
pub struct UnitDb {
    /// Name -> (index into UNIT_PATHS, entry), highest precedence only.
    names: HashMap<String, (usize, Entry)>,
    /// `<dir>/<name>.wants` and friends: (unit path index, directory name) -> entry names.
    link_dirs: HashMap<String, Vec<(usize, Vec<String>)>>,
    /// Read errors met while listing, for messages.
    pub errors: Vec<String>,
}

impl UnitDb {
    pub fn load(target: &Target) -> UnitDb {
        let mut db = UnitDb {
            names: HashMap::new(),
            link_dirs: HashMap::new(),
            errors: Vec::new(),
        };
        for (index, dir) in UNIT_PATHS.iter().enumerate() {
            let entries = match target.read_dir(dir) {
                Ok(e) => e,
                Err(e) if e.is_not_found() => continue,
                Err(e) => {
                    db.errors.push(e.to_string());
                    continue;
                }
            };
            for entry in entries {
                let path = format!("{dir}/{}", entry.name);
                if is_unit_name(&entry.name) {
                    if db.names.contains_key(&entry.name) {
                        continue;
                    }
                    if let Some(e) = classify(target, &path, &entry.name, entry.file_type) {
                        db.names.insert(entry.name.clone(), (index, e));
                    }
                } else if entry.name.ends_with(".d")
                    || entry.name.ends_with(".wants")
                    || entry.name.ends_with(".requires")
                    || entry.name.ends_with(".upholds")
                {
                    match target.read_dir(&path) {
                        Ok(list) => {
                            let names = list.into_iter().map(|e| e.name).collect();
                            db.link_dirs
                                .entry(entry.name.clone())
                                .or_default()
                                .push((index, names));
                        }
                        Err(e) if e.is_not_found() => {}
                        Err(e) => db.errors.push(e.to_string()),
                    }
                }
            }
        }
        db
    }

    /// The canonical ids of every unit a manager could load from these files: unit files that
    /// are not aliases or templates, and the instances named in `.wants/` and `.requires/`.
    pub fn units(&self) -> BTreeSet<String> {
        let mut units = BTreeSet::new();
        for (name, (_, entry)) in &self.names {
            if !matches!(entry, Entry::Alias { .. }) && !is_template(name) {
                units.insert(name.clone());
            }
        }
        for (dir, lists) in &self.link_dirs {
            if dir.ends_with(".d") {
                continue;
            }
            for (_, names) in lists {
                for n in names.iter().filter(|n| is_unit_name(n) && !is_template(n)) {
                    if let r @ (Resolved::Loaded { .. } | Resolved::Masked { .. }) = self.resolve(n)
                    {
                        units.insert(r.id().to_string());
                    }
                }
            }
        }
        units
    }

    /// Follows aliases (and templates for an instance) to the unit file.
    pub fn resolve(&self, name: &str) -> Resolved {
        let mut current = name.to_string();
        for _ in 0..32 {
            match self.names.get(&current).map(|(_, e)| e) {
                Some(Entry::File { path }) => {
                    return Resolved::Loaded {
                        id: current,
                        fragment: path.clone(),
                    };
                }
                Some(Entry::Masked { path }) => {
                    return Resolved::Masked {
                        id: current,
                        path: path.clone(),
                    };
                }
                Some(Entry::Alias { target }) => current = basename(target).to_string(),
                None => {
                    let Some((template, instance)) = split_instance(&current) else {
                        return Resolved::NotFound { id: current };
                    };
                    return match self.resolve(&template) {
                        Resolved::Loaded { id, fragment } => Resolved::Loaded {
                            id: instantiate(&id, instance),
                            fragment,
                        },
                        Resolved::Masked { id, path } => Resolved::Masked {
                            id: instantiate(&id, instance),
                            path,
                        },
                        Resolved::NotFound { .. } => Resolved::NotFound { id: current },
                    };
                }
            }
        }
        Resolved::NotFound { id: current }
    }

    /// Every name that resolves to `id` (the id first, then aliases in order).
    pub fn names_of(&self, id: &str) -> Vec<String> {
        let mut names = vec![id.to_string()];
        let mut aliases: Vec<String> = self
            .names
            .iter()
            .filter(|(n, (_, e))| matches!(e, Entry::Alias { .. }) && n.as_str() != id)
            .filter(|(n, _)| self.resolve(n).id() == id)
            .map(|(n, _)| n.clone())
            .collect();
        aliases.sort();
        names.extend(aliases);
        names
    }

    /// The drop-in files of a unit, in the order systemd applies them.
    pub fn dropins(&self, target: &Target, id: &str) -> Vec<String> {
        let mut dirs: Vec<String> = Vec::new();
        if let Some(suffix) = UNIT_SUFFIXES.iter().find(|s| id.ends_with(*s)) {
            dirs.push(format!("{}.d", &suffix[1..]));
            // Prefix drop-ins: foo-bar-baz.service reads foo-.service.d and foo-bar-.service.d.
            let stem = &id[..id.len() - suffix.len()];
            for (i, _) in stem.match_indices('-') {
                dirs.push(format!("{}-{suffix}.d", &stem[..i]));
            }
        }
        let mut names = self.names_of(id);
        if let Some((template, _)) = split_instance(id) {
            names.push(template);
        }
        dirs.extend(names.iter().map(|n| format!("{n}.d")));

        // Per file name, the highest-precedence directory wins.
        let mut chosen: BTreeMap<String, (usize, String)> = BTreeMap::new();
        for dir in &dirs {
            for (index, files) in self.link_dirs.get(dir).into_iter().flatten() {
                for f in files.iter().filter(|f| f.ends_with(".conf")) {
                    let path = format!("{}/{dir}/{f}", UNIT_PATHS[*index]);
                    match chosen.get(f) {
                        Some((i, _)) if *i <= *index => {}
                        _ => {
                            chosen.insert(f.clone(), (*index, path));
                        }
                    }
                }
            }
        }
        chosen
            .into_values()
            .map(|(_, path)| path)
            .filter(|p| !is_masked_file(target, p))
            .collect()
    }

    /// The names listed in `<name>.<kind>/` directories of any of the unit's names, with a
    /// template entry instantiated for an instance and masked entries left out.
    pub fn linked(&self, target: &Target, id: &str, kind: &str) -> Vec<String> {
        let mut names = self.names_of(id);
        let instance = split_instance(id).map(|(t, i)| (t, i.to_string()));
        if let Some((template, _)) = &instance {
            names.push(template.clone());
        }
        let mut found = Vec::new();
        for name in names {
            let dir = format!("{name}.{kind}");
            for (index, entries) in self.link_dirs.get(&dir).into_iter().flatten() {
                for e in entries.iter().filter(|e| is_unit_name(e)) {
                    let path = format!("{}/{dir}/{e}", UNIT_PATHS[*index]);
                    if is_masked_file(target, &path) {
                        continue;
                    }
                    if is_template(e) {
                        if let Some((_, inst)) = &instance {
                            found.push(instantiate(e, inst));
                        }
                    } else {
                        found.push(e.clone());
                    }
                }
            }
        }
        found
    }

    /// `systemctl is-enabled`: the unit file state of `name`, or `None` without a unit file.
    pub fn unit_file_state(&self, target: &Target, name: &str) -> Option<String> {
        let runtime = |index: usize| UNIT_PATHS[index].starts_with("/run/");
        let lookup = self
            .names
            .get(name)
            .or_else(|| split_instance(name).and_then(|(t, _)| self.names.get(&t)));
        let (index, entry) = lookup?;
        match entry {
            Entry::Masked { .. } => {
                return Some(
                    if runtime(*index) {
                        "masked-runtime"
                    } else {
                        "masked"
                    }
                    .into(),
                );
            }
            Entry::Alias { .. } if split_instance(name).is_none() => return Some("alias".into()),
            _ => {}
        }
        let dir = UNIT_PATHS[*index];
        if dir.contains("/generator") {
            return Some("generated".into());
        }
        if dir == "/run/systemd/transient" {
            return Some("transient".into());
        }
        let resolved = self.resolve(name);
        let Resolved::Loaded { id, fragment } = &resolved else {
            return Some(
                if matches!(resolved, Resolved::Masked { .. }) {
                    "masked"
                } else {
                    "bad"
                }
                .into(),
            );
        };
        let install = read_unit(target, fragment)
            .map(|d| install_section(&d))
            .unwrap_or_default();

        // Links in the configuration directories' dependency directories enable the unit;
        // a link to it under another name makes it indirect.
        let base = split_instance(id).map_or(id.clone(), |(t, _)| t);
        let mut indirect = false;
        for (link_dir, lists) in &self.link_dirs {
            if ![".wants", ".requires", ".upholds"]
                .iter()
                .any(|s| link_dir.ends_with(s))
            {
                continue;
            }
            for (index, entries) in lists {
                let config = UNIT_PATHS[*index];
                if !CONFIG_PATHS.contains(&config) {
                    continue;
                }
                for e in entries {
                    let instance_of = split_instance(e).is_some_and(|(t, _)| t == name);
                    if e == name || (is_template(name) && instance_of) {
                        let run = config.starts_with("/run/");
                        return Some(if run { "enabled-runtime" } else { "enabled" }.into());
                    }
                    let path = format!("{config}/{link_dir}/{e}");
                    if target.read_link(&path).is_ok_and(|t| basename(&t) == base) {
                        indirect = true;
                    }
                }
            }
        }
        // Alias= links created by enable.
        for alias in &install.aliases {
            for config in CONFIG_PATHS {
                let path = format!("{config}/{alias}");
                if target.read_link(&path).is_ok_and(|t| basename(&t) == base) {
                    return Some("enabled".into());
                }
            }
        }
        // Another name for it in a configuration directory.
        indirect |= self.names.iter().any(|(n, (index, e))| match e {
            Entry::Alias { target } => {
                n != name && CONFIG_PATHS.contains(&UNIT_PATHS[*index]) && basename(target) == base
            }
            _ => false,
        });
        if indirect {
            return Some("indirect".into());
        }
        Some(
            if install.has_rules() {
                "disabled"
            } else if install.also {
                "indirect"
            } else {
                "static"
            }
            .into(),
        )
    }
}

/// What `[Install]` asks for.
#[derive(Debug, Default)]
struct Install {
    rules: bool,
    aliases: Vec<String>,
    also: bool,
}

impl Install {
    fn has_rules(&self) -> bool {
        self.rules || !self.aliases.is_empty()
    }
}

fn install_section(directives: &Directives) -> Install {
    let mut install = Install::default();
    for (section, key, value) in directives {
        if section != "Install" || value.trim().is_empty() {
            continue;
        }
        match key.as_str() {
            "WantedBy" | "RequiredBy" | "UpheldBy" => install.rules = true,
            "Alias" => install
                .aliases
                .extend(value.split_whitespace().map(String::from)),
            "Also" => install.also = true,
            _ => {}
        }
    }
    install
}

/// Reads and parses a unit file or drop-in.
pub fn read_unit(target: &Target, path: &str) -> Result<Directives, String> {
    let bytes = target.read(path, UNIT_LIMIT).map_err(|e| e.to_string())?;
    Ok(parse_unit(&String::from_utf8_lossy(&bytes)))
}

/// systemd's unit file syntax: `[Section]`, `Key=Value`, `#`/`;` comments, a trailing `\`
/// continues the line (comment lines inside a continuation are skipped).
pub fn parse_unit(text: &str) -> Directives {
    let mut out = Vec::new();
    let mut section = String::new();
    let mut pending = String::new();
    for raw in text.lines() {
        let line = raw.trim();
        if !pending.is_empty() && (line.starts_with('#') || line.starts_with(';')) {
            continue;
        }
        let (continued, body) = match line.strip_suffix('\\') {
            Some(b) => (true, b),
            None => (false, line),
        };
        if !pending.is_empty() {
            pending.push(' ');
        }
        pending.push_str(body);
        if continued {
            continue;
        }
        let full = std::mem::take(&mut pending);
        let full = full.trim();
        if full.is_empty() || full.starts_with('#') || full.starts_with(';') {
            continue;
        }
        if let Some(name) = full.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            section = name.to_string();
        } else if let Some((k, v)) = full.split_once('=') {
            out.push((section.clone(), k.trim().to_string(), v.trim().to_string()));
        }
    }
    out
}

/// A list directive (`Wants=`, `Documentation=`) over several files: values accumulate, an
/// empty assignment clears what came before.
pub fn list_values(files: &[Directives], section: &str, key: &str) -> Vec<String> {
    let mut values = Vec::new();
    for d in files {
        for (s, k, v) in d {
            if s == section && k == key {
                if v.is_empty() {
                    values.clear();
                } else {
                    values.extend(v.split_whitespace().map(String::from));
                }
            }
        }
    }
    values
}

/// A single-valued directive: the last assignment wins.
pub fn last_value(files: &[Directives], section: &str, key: &str) -> Option<String> {
    files
        .iter()
        .rev()
        .find_map(|d| d.iter().rev().find(|(s, k, _)| s == section && k == key))
        .map(|(_, _, v)| v.clone())
}

/// Expands the specifiers of a unit name written in a unit file (`%i`, `%n`, ...); `None` for
/// one ato does not know.
pub fn expand_specifiers(value: &str, id: &str) -> Option<String> {
    if !value.contains('%') {
        return Some(value.to_string());
    }
    let stem = UNIT_SUFFIXES
        .iter()
        .find_map(|s| id.strip_suffix(s))
        .unwrap_or(id);
    let (prefix, instance) = match stem.split_once('@') {
        Some((p, i)) => (p, i),
        None => (stem, ""),
    };
    let mut out = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            'i' | 'I' => out.push_str(instance),
            'n' => out.push_str(id),
            'N' => out.push_str(stem),
            'p' | 'P' => out.push_str(prefix),
            '%' => out.push('%'),
            _ => return None,
        }
    }
    Some(out)
}

fn classify(target: &Target, path: &str, name: &str, file_type: FileType) -> Option<Entry> {
    match file_type {
        FileType::Symlink => {
            let text = target.read_link(path).ok()?;
            if text == "/dev/null" {
                return Some(Entry::Masked {
                    path: path.to_string(),
                });
            }
            if basename(&text) != name {
                return Some(Entry::Alias { target: text });
            }
            let fragment = if text.starts_with('/') {
                text
            } else {
                format!("{}/{text}", path.rsplit_once('/').map_or("", |(d, _)| d))
            };
            if is_masked_file(target, &fragment) {
                Some(Entry::Masked {
                    path: path.to_string(),
                })
            } else {
                Some(Entry::File { path: fragment })
            }
        }
        FileType::Regular if is_masked_file(target, path) => Some(Entry::Masked {
            path: path.to_string(),
        }),
        FileType::Regular => Some(Entry::File {
            path: path.to_string(),
        }),
        _ => None,
    }
}

/// systemd's `null_or_empty`: a link to `/dev/null`, a character device, or an empty file.
fn is_masked_file(target: &Target, path: &str) -> bool {
    if target.read_link(path).is_ok_and(|t| t == "/dev/null") {
        return true;
    }
    match target.stat(path) {
        Ok(st) => st.file_type == FileType::CharDevice || (st.is_file() && st.size == 0),
        Err(_) => false,
    }
}

pub fn is_unit_name(name: &str) -> bool {
    UNIT_SUFFIXES
        .iter()
        .any(|s| name.len() > s.len() && name.ends_with(s))
}

pub fn is_template(name: &str) -> bool {
    UNIT_SUFFIXES
        .iter()
        .any(|s| name.ends_with(&format!("@{s}")))
}

/// `getty@tty1.service` -> (`getty@.service`, `tty1`).
fn split_instance(name: &str) -> Option<(String, &str)> {
    let suffix = UNIT_SUFFIXES.iter().find(|s| name.ends_with(*s))?;
    let stem = &name[..name.len() - suffix.len()];
    let (prefix, instance) = stem.split_once('@')?;
    if instance.is_empty() {
        return None;
    }
    Some((format!("{prefix}@{suffix}"), instance))
}

/// `getty@.service` + `tty1` -> `getty@tty1.service`.
fn instantiate(template: &str, instance: &str) -> String {
    match template.split_once("@.") {
        Some((p, s)) => format!("{p}@{instance}.{s}"),
        None => template.to_string(),
    }
}

fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_syntax() {
        let d = parse_unit("[Unit]\n# c\nWants=a.service \\\n  b.service\n;x\n[Install]\nWantedBy=multi-user.target\n");
        assert_eq!(
            d[0],
            ("Unit".into(), "Wants".into(), "a.service  b.service".into())
        );
        assert_eq!(
            list_values(std::slice::from_ref(&d), "Unit", "Wants"),
            ["a.service", "b.service"]
        );
        assert!(install_section(&d).has_rules());
    }

    #[test]
    fn names() {
        assert_eq!(
            split_instance("getty@tty1.service"),
            Some(("getty@.service".into(), "tty1"))
        );
        assert_eq!(split_instance("getty@.service"), None);
        assert_eq!(instantiate("getty@.service", "tty2"), "getty@tty2.service");
        assert_eq!(
            expand_specifiers("x@%i.service", "y@tty1.service").unwrap(),
            "x@tty1.service"
        );
    }
}
