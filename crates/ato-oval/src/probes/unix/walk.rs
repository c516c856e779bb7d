//! The file-system walk behind every object that names files by `filepath` or by `path` and
//! `filename` (`unix:file_object`, `ind:textfilecontent54_object`), and the per-scan cache of
//! directory listings that lets all of those objects share one read of each directory.
//!
//! # Semantics (OpenSCAP 1.3.7's `oval_fts.c`, re-implemented)
//!
//! A walk has two phases.
//!
//! 1. **Match phase**: find the directories that satisfy `path` (or the files that satisfy
//!    `filepath`). With `equals` only the named path is examined. With `pattern match` the walk
//!    starts at the longest literal directory prefix of the pattern (computed the way OpenSCAP
//!    does, so `^\/(|s)bin|^\/usr\/...` starts at `/` and `^/etc/a|^/usr/b` starts at `/etc`,
//!    a quirk kept on purpose) and descends only into directories that can still lead to a
//!    match. With any other operation the walk covers `/`. This phase follows every symbolic
//!    link (as OpenSCAP does), skips a directory that is its own ancestor (a cycle), and with
//!    `recurse_file_system="local"` skips directories on file systems that are not local.
//!    `filepath` only ever matches entries that are not directories once links are followed;
//!    `path` only directories.
//! 2. **Recursion phase** (path + filename only): from each matched directory, collect the
//!    directory itself (`filename` nil, `recurse_direction="none"`), or walk it: `down` to
//!    `max_depth` levels (-1 unlimited; the files directly in the directory are level 1),
//!    descending into real directories if `recurse` includes directories and into linked
//!    directories if it includes symlinks; `up` through the parent directories. Non-directory
//!    entries (regular files, links, devices, ...) are compared with `filename`; with `filename`
//!    nil the directories are collected. A directory on a non-local file system (with
//!    `local`) or on another device (with `defined`) is collected but not entered.
//!
//! `recurse="files and directories"` behaves as `"symlinks"`, as it does in OpenSCAP 1.3.7
//! (its flag constant includes symlinks but not directories).
//!
//! "Local" file systems are those `df -l` counts: every mount except `proc`, `sysfs`, `autofs`
//! and network file systems (nfs, cifs, ceph, sshfs, glusterfs, ... also under `fuse.`), by the
//! device numbers of the target's mount table ([`ato_target::Target::mounts`]).
//!
//! A path found twice (a pattern that matches nested directories, a followed link to a file)
//! is reported once. [`visit`] hands each path to the probe as it is found, so a probe can
//! drop what the object's filters exclude before anything accumulates; only the paths kept are
//! remembered for that check (a path found again has the same metadata, so it would be
//! dropped again).
//!
//! # The cache
//!
//! [`FsCache`] lives in the scan's [`SharedCache`](crate::probes::SharedCache). It maps a
//! directory's `(device, inode)` to its sorted listing with an `lstat` of every entry, stored
//! compactly (one name buffer per directory, 64 bytes of metadata per entry: about 40 MB for
//! 500,000 files), and a symbolic link's path to what it resolves to. Each directory is read
//! once per scan whichever object gets there first; others wait for that read and reuse it.
//! Keying by inode means `/bin` and `/usr/bin` on a merged-`/usr` system share one listing.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

use ato_content::oval::Operation;
use ato_target::{FileStat, FileType, TargetError};

use crate::item::Collected;
use crate::probes::{entity_error, ObjectRequest, ProbeContext, RequestEntity};

/// How many directories deep a walk may go before it is cut off (a guard against a hostile
/// tree; cycles are detected separately).
const MAX_WALK_DEPTH: usize = 256;

/// One path the walk found: a file (with `filename`) or a directory (without).
#[derive(Debug, Clone)]
pub(crate) struct Found {
    /// The directory, as walked (`/bin` stays `/bin` even if it links to `/usr/bin`).
    pub path: String,
    /// The entry's name; `None` when the directory itself was found.
    pub filename: Option<String>,
    /// `lstat` of the path found.
    pub stat: FileStat,
}

impl Found {
    /// `path/filename`, or the directory path.
    pub fn filepath(&self) -> String {
        match &self.filename {
            Some(name) => join(&self.path, name),
            None => self.path.clone(),
        }
    }
}

/// What a walk produced: the paths found ([`find`] only; [`visit`] hands them over one at a
/// time) and what went wrong on the way.
#[derive(Debug, Default)]
pub(crate) struct Walked {
    pub found: Vec<Found>,
    /// Problems that make the result incomplete (an unreadable directory), naming the path.
    pub problems: Vec<String>,
    /// Things worth telling that change nothing (a cycle, a walk cut off).
    pub notes: Vec<String>,
}

/// Finds the paths named by a request's `filepath`, or `path` and `filename`, entities and its
/// behaviors. An `Err` is the object's whole result (a bad behavior, a bad pattern).
pub(crate) fn find(req: &ObjectRequest<'_>, ctx: &ProbeContext<'_>) -> Result<Walked, Collected> {
    let mut found = Vec::new();
    let mut walked = visit(req, ctx, |f: &Found| {
        found.push(f.clone());
        true
    })?;
    walked.found = found;
    Ok(walked)
}

/// Walks as [`find`] does, handing each path found to `keep`, in the order found, instead of
/// collecting them; `keep` tells whether the path was kept. A path is handed over again if it
/// is found again after `keep` refused it, never after `keep` kept it. `Walked::found` stays
/// empty.
pub(crate) fn visit(
    req: &ObjectRequest<'_>,
    ctx: &ProbeContext<'_>,
    keep: impl FnMut(&Found) -> bool,
) -> Result<Walked, Collected> {
    let behaviors = Behaviors::parse(req)?;
    let cache = ctx.shared.get_or_init(FsCache::default);
    let local = match behaviors.file_system {
        FileSystem::Local => Some(cache.local_devs(ctx).map_err(|e| {
            Collected::error(format!(
                "object `{}`: recurse_file_system=\"local\" needs the mount table: {e}",
                req.id
            ))
        })?),
        _ => None,
    };
    let mut walker = Walker {
        req,
        ctx,
        cache: &cache,
        behaviors,
        local,
        out: Walked::default(),
        keep,
        kept: HashSet::new(),
    };

    if let Some(filepath) = req.entity("filepath") {
        for single in singles(filepath) {
            walker.match_phase(&single, Target::Files)?;
        }
    } else {
        let (Some(path), Some(filename)) = (req.entity("path"), req.entity("filename")) else {
            return Err(Collected::error(format!(
                "object `{}` needs either a filepath entity or both path and filename",
                req.id
            )));
        };
        let filenames = if filename.nil {
            Vec::new()
        } else {
            singles(filename)
        };
        for single in singles(path) {
            walker.match_phase(&single, Target::Dirs(&filenames))?;
        }
    }
    Ok(walker.out)
}

/// An entity once per value: OpenSCAP collects an object whose entity has several values (from
/// a variable) once per value and merges the items.
fn singles(entity: &RequestEntity) -> Vec<RequestEntity> {
    if entity.values.len() <= 1 {
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

/// What the match phase looks for.
#[derive(Clone, Copy)]
enum Target<'f> {
    /// `filepath`: entries that are not directories.
    Files,
    /// `path`: directories; then their content by these `filename` values (empty = nil).
    Dirs(&'f [RequestEntity]),
}

// ---------------------------------------------------------------------------------------------
// Behaviors

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    None,
    Down,
    Up,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileSystem {
    All,
    Local,
    Defined,
}

#[derive(Debug, Clone, Copy)]
struct Behaviors {
    max_depth: i64,
    recurse_dirs: bool,
    recurse_symlinks: bool,
    direction: Direction,
    file_system: FileSystem,
}

impl Behaviors {
    fn parse(req: &ObjectRequest<'_>) -> Result<Behaviors, Collected> {
        let bad = |name: &str, value: &str| {
            Collected::error(format!(
                "object `{}`: behavior {name}=\"{value}\" is not valid",
                req.id
            ))
        };
        let max_depth = match req.behavior("max_depth") {
            None => -1,
            Some(v) => v.trim().parse::<i64>().map_err(|_| bad("max_depth", v))?,
        };
        let (recurse_dirs, recurse_symlinks) = match req.behavior("recurse") {
            None | Some("symlinks and directories") => (true, true),
            Some("directories") => (true, false),
            // OpenSCAP 1.3.7 defines "files and directories" as files + symlinks.
            Some("symlinks") | Some("files and directories") => (false, true),
            Some(v) => return Err(bad("recurse", v)),
        };
        let direction = match req.behavior("recurse_direction") {
            None | Some("none") => Direction::None,
            Some("down") => Direction::Down,
            Some("up") => Direction::Up,
            Some(v) => return Err(bad("recurse_direction", v)),
        };
        let file_system = match req.behavior("recurse_file_system") {
            None | Some("all") => FileSystem::All,
            Some("local") => FileSystem::Local,
            Some("defined") => FileSystem::Defined,
            Some(v) => return Err(bad("recurse_file_system", v)),
        };
        Ok(Behaviors {
            max_depth,
            recurse_dirs,
            recurse_symlinks,
            direction,
            file_system,
        })
    }

    fn depth_allows(&self, level: usize) -> bool {
        self.max_depth < 0 || i64::try_from(level).is_ok_and(|l| l <= self.max_depth)
    }
}

// ---------------------------------------------------------------------------------------------
// The walker

/// An entry being walked: its path, its `lstat`, and what it is once a link is followed.
#[derive(Clone)]
struct Node {
    path: String,
    lstat: FileStat,
    /// The followed metadata: `lstat` itself unless this is a link that was followed.
    stat: FileStat,
}

impl Node {
    fn is_dir(&self) -> bool {
        self.stat.is_dir()
    }
}

/// The (device, inode) of the directories above an entry, for cycle detection.
type Ancestors = Arc<Vec<(u64, u64)>>;

struct Walker<'w, 'r, K> {
    req: &'w ObjectRequest<'r>,
    ctx: &'w ProbeContext<'r>,
    cache: &'w FsCache,
    behaviors: Behaviors,
    local: Option<Arc<HashSet<u64>>>,
    out: Walked,
    keep: K,
    /// The paths `keep` kept, so that a path found again is not reported twice.
    kept: HashSet<(String, Option<String>)>,
}

impl<K: FnMut(&Found) -> bool> Walker<'_, '_, K> {
    /// Phase 1 for one value of `path` or `filepath`.
    fn match_phase(&mut self, entity: &RequestEntity, target: Target<'_>) -> Result<(), Collected> {
        let Some(value) = entity.values.first() else {
            return Ok(());
        };
        let (start, leads) = match entity.operation {
            Operation::Equals => (value.clone(), None),
            Operation::PatternMatch => {
                let leads = literal_leads(value);
                if leads
                    .as_ref()
                    .is_some_and(|l| l.iter().all(|p| !compatible(p, "/")))
                {
                    // OpenSCAP refuses a pattern that cannot match anything under `/`.
                    return Ok(());
                }
                (fixed_prefix(value), leads)
            }
            _ => ("/".to_string(), None),
        };
        let Some(root) = self.root_node(&start)? else {
            return Ok(());
        };
        let root_dev = root.stat.dev;

        if entity.operation == Operation::Equals {
            // Only the named path can be equal.
            if root.is_dir() && !self.is_local(&root.stat) {
                return Ok(());
            }
            if self.is_match(entity, &root, target)? {
                self.matched(&root, target, root_dev)?;
            }
            return Ok(());
        }

        // Depth-first, pre-order, like fts; `stack` holds the pending entries and the
        // (device, inode) of the directories above them.
        let mut stack: Vec<(Node, Ancestors)> = vec![(root, Arc::new(Vec::new()))];
        while let Some((node, ancestors)) = stack.pop() {
            if node.is_dir() {
                let id = (node.stat.dev, node.stat.ino);
                if ancestors.contains(&id) {
                    self.out
                        .notes
                        .push(format!("file system cycle at `{}`", node.path));
                    continue;
                }
                if !self.is_local(&node.stat) || !self.same_device(&node.stat, root_dev) {
                    continue;
                }
                if let Some(leads) = &leads {
                    if !leads.iter().any(|l| compatible(l, &node.path)) {
                        continue;
                    }
                }
            }
            if self.is_match(entity, &node, target)? {
                self.matched(&node, target, root_dev)?;
            }
            if node.is_dir() {
                if ancestors.len() >= MAX_WALK_DEPTH {
                    self.out
                        .notes
                        .push(format!("walk cut off at `{}`", node.path));
                    continue;
                }
                let mut below = Vec::with_capacity(ancestors.len() + 1);
                below.extend_from_slice(&ancestors);
                below.push((node.stat.dev, node.stat.ino));
                let below = Arc::new(below);
                let children = self.children(&node, true);
                for child in children.into_iter().rev() {
                    stack.push((child, Arc::clone(&below)));
                }
            }
        }
        Ok(())
    }

    /// Whether a match-phase entry satisfies the `path` or `filepath` entity.
    fn is_match(
        &self,
        entity: &RequestEntity,
        node: &Node,
        target: Target<'_>,
    ) -> Result<bool, Collected> {
        let wanted = match target {
            Target::Files => !node.is_dir(),
            Target::Dirs(_) => node.is_dir(),
        };
        if !wanted {
            return Ok(false);
        }
        entity
            .matches(&node.path, self.ctx.regexes)
            .map_err(|e| entity_error(self.req, &entity.name, &e))
    }

    /// A match-phase hit: a file found by `filepath`, or a directory to walk by `filename`.
    fn matched(&mut self, node: &Node, target: Target<'_>, root_dev: u64) -> Result<(), Collected> {
        match target {
            Target::Files => {
                if self.is_local(&node.stat) {
                    let (dir, name) = split(&node.path);
                    self.emit(dir, Some(name), node.lstat);
                }
                Ok(())
            }
            Target::Dirs(filenames) => match self.behaviors.direction {
                Direction::None if filenames.is_empty() => {
                    self.emit(node.path.clone(), None, node.lstat);
                    Ok(())
                }
                Direction::None | Direction::Down => self.recurse_down(node, filenames, root_dev),
                Direction::Up => self.recurse_up(node, filenames, root_dev),
            },
        }
    }

    /// Phase 2, `recurse_direction` none or down, from a matched directory.
    fn recurse_down(
        &mut self,
        start: &Node,
        filenames: &[RequestEntity],
        root_dev: u64,
    ) -> Result<(), Collected> {
        let collect_dirs = filenames.is_empty();
        // (node, level, reached by following a link, ancestors)
        let mut stack: Vec<(Node, usize, bool, Ancestors)> =
            vec![(start.clone(), 0, false, Arc::new(Vec::new()))];
        while let Some((node, level, followed, ancestors)) = stack.pop() {
            let is_dir = node.stat.is_dir();
            if is_dir && ancestors.contains(&(node.stat.dev, node.stat.ino)) {
                self.out
                    .notes
                    .push(format!("file system cycle at `{}`", node.path));
                continue;
            }

            // Collect.
            if collect_dirs {
                if is_dir && self.behaviors.depth_allows(level) {
                    self.emit(node.path.clone(), None, node.lstat);
                }
            } else if !is_dir {
                let (dir, name) = split(&node.path);
                if self.filename_matches(filenames, &name)? {
                    self.emit(dir, Some(name), node.lstat);
                }
            }

            // Decide whether to go further.
            if level > 0 {
                if self.behaviors.direction == Direction::None
                    || !self.behaviors.depth_allows(level)
                {
                    continue;
                }
                if node.lstat.is_symlink() && !followed {
                    if !self.behaviors.recurse_symlinks
                        || !self.is_local(&node.lstat)
                        || !self.same_device(&node.lstat, root_dev)
                    {
                        continue;
                    }
                    // Visit the entry again as what it links to.
                    if let Some(target) = self.follow(&node.path) {
                        let again = Node {
                            stat: target,
                            ..node
                        };
                        stack.push((again, level, true, ancestors));
                    }
                    continue;
                }
                if !is_dir {
                    continue;
                }
                let allowed = if followed {
                    self.behaviors.recurse_symlinks
                } else {
                    self.behaviors.recurse_dirs
                };
                if !allowed {
                    continue;
                }
            } else if !is_dir {
                continue;
            }
            if !self.is_local(&node.stat) || !self.same_device(&node.stat, root_dev) {
                continue;
            }
            if ancestors.len() >= MAX_WALK_DEPTH {
                self.out
                    .notes
                    .push(format!("walk cut off at `{}`", node.path));
                continue;
            }
            let mut below = Vec::with_capacity(ancestors.len() + 1);
            below.extend_from_slice(&ancestors);
            below.push((node.stat.dev, node.stat.ino));
            let below = Arc::new(below);
            for child in self.children(&node, false).into_iter().rev() {
                stack.push((child, level + 1, false, Arc::clone(&below)));
            }
        }
        Ok(())
    }

    /// Phase 2, `recurse_direction="up"`: the directory and its parents, up to `max_depth`.
    fn recurse_up(
        &mut self,
        start: &Node,
        filenames: &[RequestEntity],
        root_dev: u64,
    ) -> Result<(), Collected> {
        let mut current = Some(start.clone());
        let mut level = 0;
        while let Some(node) = current.take() {
            if !self.behaviors.depth_allows(level)
                || !self.is_local(&node.stat)
                || !self.same_device(&node.stat, root_dev)
            {
                break;
            }
            if filenames.is_empty() {
                if node.is_dir() {
                    self.emit(node.path.clone(), None, node.lstat);
                }
            } else {
                for child in self.children(&node, true) {
                    if child.is_dir() {
                        continue;
                    }
                    let (dir, name) = split(&child.path);
                    if self.filename_matches(filenames, &name)? {
                        self.emit(dir, Some(name), child.lstat);
                    }
                }
            }
            if node.path == "/" {
                break;
            }
            let (parent, _) = split(&node.path);
            current = self.root_node(&parent)?;
            level += 1;
        }
        Ok(())
    }

    fn filename_matches(&self, filenames: &[RequestEntity], name: &str) -> Result<bool, Collected> {
        for entity in filenames {
            let hit = entity
                .matches(name, self.ctx.regexes)
                .map_err(|e| entity_error(self.req, &entity.name, &e))?;
            if hit {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn emit(&mut self, path: String, filename: Option<String>, stat: FileStat) {
        let key = (path, filename);
        if self.kept.contains(&key) {
            return;
        }
        let (path, filename) = key;
        let found = Found {
            path,
            filename,
            stat,
        };
        if (self.keep)(&found) {
            self.kept.insert((found.path, found.filename));
        }
    }

    /// The node for a start path: `lstat`, then followed if it is a link (fts' `COMFOLLOW`).
    /// `None` if it does not exist; an error other than absence is recorded as a problem.
    fn root_node(&mut self, path: &str) -> Result<Option<Node>, Collected> {
        let lstat = match self.ctx.target.lstat(path) {
            Ok(st) => st,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => {
                self.out.problems.push(error_chain(&e));
                return Ok(None);
            }
        };
        let stat = if lstat.is_symlink() {
            self.follow(path).unwrap_or(lstat)
        } else {
            lstat
        };
        Ok(Some(Node {
            path: path.to_string(),
            lstat,
            stat,
        }))
    }

    /// The entries of a directory node, from the cache. With `follow_links`, links are
    /// resolved now (match phase); otherwise they stay links (recursion phase).
    fn children(&mut self, dir: &Node, follow_links: bool) -> Vec<Node> {
        // Entries of /proc and /sys that even root may not list describe the kernel, not the
        // system's configuration: skipped, as OpenSCAP does, with a note instead of a problem.
        let pseudo = self.cache.is_pseudo_fs(self.ctx, dir.stat.dev);
        let listing = match self.cache.listing(self.ctx, &dir.path, &dir.stat) {
            Ok(listing) => listing,
            Err(message) => {
                let out = if pseudo {
                    &mut self.out.notes
                } else {
                    &mut self.out.problems
                };
                out.push(message.to_string());
                return Vec::new();
            }
        };
        for problem in listing.problems.iter() {
            let out = if pseudo {
                &mut self.out.notes
            } else {
                &mut self.out.problems
            };
            out.push(problem.to_string());
        }
        let mut nodes = Vec::with_capacity(listing.len());
        for (name, lstat) in listing.iter() {
            let path = join(&dir.path, name);
            let stat = if follow_links && lstat.is_symlink() {
                self.follow(&path).unwrap_or(lstat)
            } else {
                lstat
            };
            nodes.push(Node { path, lstat, stat });
        }
        nodes
    }

    /// What a link resolves to; `None` if it dangles or loops (treated as a plain entry).
    fn follow(&self, path: &str) -> Option<FileStat> {
        self.cache.follow(self.ctx, path)
    }

    fn is_local(&self, stat: &FileStat) -> bool {
        self.local
            .as_ref()
            .is_none_or(|devs| devs.contains(&stat.dev))
    }

    fn same_device(&self, stat: &FileStat, root_dev: u64) -> bool {
        self.behaviors.file_system != FileSystem::Defined || stat.dev == root_dev
    }
}

// ---------------------------------------------------------------------------------------------
// Paths and patterns

/// `dir/name` without a double slash.
pub(crate) fn join(dir: &str, name: &str) -> String {
    if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// A path's directory and last component, as fts reports them (`/etc/passwd` -> `/etc`,
/// `passwd`; `/bin` -> `/`, `bin`).
fn split(path: &str) -> (String, String) {
    let trimmed = if path.len() > 1 {
        path.trim_end_matches('/')
    } else {
        path
    };
    match trimmed.rfind('/') {
        Some(0) => ("/".to_string(), trimmed[1..].to_string()),
        Some(i) => (trimmed[..i].to_string(), trimmed[i + 1..].to_string()),
        None => ("/".to_string(), trimmed.to_string()),
    }
}

/// The directory a `pattern match` walk starts from, as OpenSCAP 1.3.7 computes it: drop a
/// leading `^`, cut the pattern at its first unescaped `^ * ? $ . ( [`, back up to the last
/// `/` before it, and unescape; `/` when that leaves nothing absolute.
pub(crate) fn fixed_prefix(pattern: &str) -> String {
    let body = pattern.strip_prefix('^').unwrap_or(pattern);
    let bytes = body.as_bytes();
    let mut cut = bytes.len();
    let mut escaped = false;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\\' {
            escaped = !escaped;
        } else if b"^*?$.([".contains(&b) {
            if !escaped {
                cut = i;
                break;
            }
            escaped = false;
        }
    }
    if cut < bytes.len() {
        // Back up to the `/` that ends the literal directory part.
        let mut s = cut.saturating_sub(1);
        while s > 1 && bytes[s] != b'/' {
            s -= 1;
        }
        cut = s;
    }
    if cut <= 1 {
        return "/".to_string();
    }
    // A backslash just before the cut takes its character from beyond it, as OpenSCAP's
    // unescaping reads past the end of the prefix it was given.
    let mut out = String::with_capacity(cut);
    let mut i = 0;
    while i < cut {
        let c = body[i..].chars().next().unwrap_or('/');
        if c == '\\' {
            match body[i + 1..].chars().next() {
                Some(next) => out.push(next),
                None => return "/".to_string(),
            }
            i += 1 + body[i + 1..].chars().next().map_or(1, char::len_utf8);
        } else {
            out.push(c);
            i += c.len_utf8();
        }
    }
    if out.starts_with('/') {
        out
    } else {
        "/".to_string()
    }
}

/// Whether a directory path can lead to a match of a branch whose literal beginning is
/// `lead`: one is a prefix of the other.
fn compatible(lead: &str, path: &str) -> bool {
    lead.starts_with(path) || path.starts_with(lead)
}

/// The literal beginnings of an anchored pattern, one or more per top-level alternative, used
/// to prune the match phase the way OpenSCAP's partial matching does (never more than it).
/// `None` when some alternative is not anchored or the pattern is too irregular to tell, in
/// which case nothing is pruned.
fn literal_leads(pattern: &str) -> Option<Vec<String>> {
    const MAX_LEADS: usize = 256;
    let mut leads = Vec::new();
    for (index, alternative) in split_top(pattern)?.into_iter().enumerate() {
        // OpenSCAP adds a `^` in front of a pattern that lacks one.
        let body = match alternative.strip_prefix('^') {
            Some(body) => body,
            None if index == 0 => alternative,
            None => return None,
        };
        leads.extend(branch_leads(body, MAX_LEADS));
        if leads.len() > MAX_LEADS * 4 {
            return None;
        }
    }
    Some(leads)
}

/// Splits a pattern at its top-level `|`s (outside groups and classes); `None` if the
/// brackets do not balance.
fn split_top(pattern: &str) -> Option<Vec<&str>> {
    let bytes = pattern.as_bytes();
    let (mut depth, mut in_class, mut i, mut start) = (0usize, false, 0usize, 0usize);
    let mut parts = Vec::new();
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b'[' if !in_class => {
                in_class = true;
                // A `]` right after `[` or `[^` is a literal.
                if bytes.get(i + 1) == Some(&b'^') {
                    i += 1;
                }
                if bytes.get(i + 1) == Some(&b']') {
                    i += 1;
                }
            }
            b']' if in_class => in_class = false,
            b'(' if !in_class => depth += 1,
            b')' if !in_class => depth = depth.checked_sub(1)?,
            b'|' if !in_class && depth == 0 => {
                parts.push(&pattern[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if depth != 0 || in_class {
        return None;
    }
    parts.push(&pattern[start..]);
    Some(parts)
}

/// The literal beginnings of one anchored branch (without its `^`): literal characters and
/// groups of literal alternatives, up to the first anything else.
fn branch_leads(body: &str, max: usize) -> Vec<String> {
    let chars: Vec<char> = body.chars().collect();
    let mut leads = vec![String::new()];
    let mut i = 0;
    while i < chars.len() {
        let quantified = |at: usize| matches!(chars.get(at), Some('?' | '*' | '{' | '+'));
        match chars[i] {
            '\\' => {
                let Some(&next) = chars.get(i + 1) else { break };
                if next.is_ascii_alphanumeric() {
                    break;
                }
                if quantified(i + 2) {
                    break;
                }
                leads.iter_mut().for_each(|l| l.push(next));
                i += 2;
            }
            '(' => {
                let Some((alternatives, end)) = literal_group(&chars, i) else {
                    break;
                };
                if quantified(end + 1) || leads.len() * alternatives.len() > max {
                    break;
                }
                leads = leads
                    .iter()
                    .flat_map(|l| alternatives.iter().map(move |a| format!("{l}{a}")))
                    .collect();
                i = end + 1;
            }
            '[' | '.' | '^' | '$' | ')' | '|' | '?' | '*' | '+' | '{' => break,
            c => {
                // `c?` begins with `c` or not: both (`^\/s?bin` leads to `/bin` and `/sbin`, so
                // the walk does not enter `/proc`, as OpenSCAP's partial match does not).
                let optional = chars.get(i + 1) == Some(&'?') && !quantified(i + 2);
                if optional && leads.len() * 2 <= max {
                    leads = leads
                        .iter()
                        .flat_map(|l| [l.clone(), format!("{l}{c}")])
                        .collect();
                    i += 2;
                    continue;
                }
                // `c+` still begins with `c`; `c*` and `c{0,n}` may not.
                if quantified(i + 1) {
                    if chars.get(i + 1) == Some(&'+') {
                        leads.iter_mut().for_each(|l| l.push(c));
                    }
                    break;
                }
                leads.iter_mut().for_each(|l| l.push(c));
                i += 1;
            }
        }
    }
    leads
}

/// A group at `open` made only of literal alternatives (`(|s)`, `(?:local\/|)`): the
/// alternatives and the index of the closing `)`.
fn literal_group(chars: &[char], open: usize) -> Option<(Vec<String>, usize)> {
    let mut i = open + 1;
    if chars.get(i) == Some(&'?') {
        if chars.get(i + 1) != Some(&':') {
            return None;
        }
        i += 2;
    }
    let mut alternatives = vec![String::new()];
    while i < chars.len() {
        match chars[i] {
            ')' => return Some((alternatives, i)),
            '|' => alternatives.push(String::new()),
            '\\' => {
                let next = *chars.get(i + 1)?;
                if next.is_ascii_alphanumeric() {
                    return None;
                }
                alternatives.last_mut()?.push(next);
                i += 1;
            }
            '(' | '[' | '.' | '^' | '$' | '?' | '*' | '+' | '{' => return None,
            c => alternatives.last_mut()?.push(c),
        }
        i += 1;
    }
    None
}

/// An error and its causes on one line.
pub(crate) fn error_chain(e: &TargetError) -> String {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

// ---------------------------------------------------------------------------------------------
// The cache

/// Directory listings and link resolutions shared by every object of a scan.
#[derive(Default)]
pub(crate) struct FsCache {
    dirs: Mutex<HashMap<(u64, u64), ListingCell>>,
    links: Mutex<HashMap<String, Option<FileStat>>>,
    local_devs: OnceLock<Result<Arc<HashSet<u64>>, String>>,
    pseudo_devs: OnceLock<Arc<HashSet<u64>>>,
}

type ListingResult = Result<Arc<Listing>, Arc<str>>;
type ListingCell = Arc<OnceLock<ListingResult>>;

impl FsCache {
    /// The listing of the directory at `path` whose (followed) metadata is `stat`, read on
    /// first use.
    fn listing(&self, ctx: &ProbeContext<'_>, path: &str, stat: &FileStat) -> ListingResult {
        let cell = {
            let mut dirs = self.dirs.lock().unwrap_or_else(|e| e.into_inner());
            Arc::clone(dirs.entry((stat.dev, stat.ino)).or_default())
        };
        cell.get_or_init(|| Listing::read(ctx, path)).clone()
    }

    /// What the link at `path` resolves to (`None`: dangling, a loop, unreadable).
    fn follow(&self, ctx: &ProbeContext<'_>, path: &str) -> Option<FileStat> {
        if let Some(hit) = self
            .links
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(path)
        {
            return *hit;
        }
        let resolved = ctx.target.stat(path).ok();
        self.links
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(path.to_string(), resolved);
        resolved
    }

    /// The device numbers of the local file systems.
    fn local_devs(&self, ctx: &ProbeContext<'_>) -> Result<Arc<HashSet<u64>>, String> {
        self.local_devs
            .get_or_init(|| {
                let mounts = ctx.target.try_mounts().map_err(|e| error_chain(&e))?;
                Ok(Arc::new(
                    mounts
                        .iter()
                        .filter(|m| is_local_fs(&m.fs_type))
                        .map(|m| m.dev)
                        .collect(),
                ))
            })
            .clone()
    }

    /// Whether `dev` holds a kernel pseudo file system (proc, sysfs and the like).
    fn is_pseudo_fs(&self, ctx: &ProbeContext<'_>, dev: u64) -> bool {
        let devs = self.pseudo_devs.get_or_init(|| {
            let mounts = ctx.target.try_mounts().unwrap_or_default();
            Arc::new(
                mounts
                    .iter()
                    .filter(|m| PSEUDO_FS.contains(&m.fs_type.as_str()))
                    .map(|m| m.dev)
                    .collect(),
            )
        });
        devs.contains(&dev)
    }

    /// How many directories and entries are cached (for measurements).
    #[cfg(test)]
    pub(crate) fn size(&self) -> (usize, usize) {
        let dirs = self.dirs.lock().unwrap_or_else(|e| e.into_inner());
        let entries = dirs
            .values()
            .filter_map(|cell| cell.get())
            .filter_map(|r| r.as_ref().ok())
            .map(|l| l.len())
            .sum();
        (dirs.len(), entries)
    }
}

/// Kernel pseudo file systems: what they hold describes the running kernel.
const PSEUDO_FS: &[&str] = &[
    "proc",
    "sysfs",
    "cgroup",
    "cgroup2",
    "debugfs",
    "securityfs",
    "tracefs",
    "bpf",
    "pstore",
    "configfs",
    "fusectl",
    "mqueue",
    "devpts",
    "binfmt_misc",
    "efivarfs",
    "selinuxfs",
];

/// Whether a file system type counts as local (`df -l`): not a pseudo file system that
/// describes the kernel, not autofs, not a network file system.
pub(crate) fn is_local_fs(fs_type: &str) -> bool {
    const NOT_LOCAL: &[&str] = &[
        "proc",
        "sysfs",
        "afs",
        "ceph",
        "cifs",
        "smb3",
        "smbfs",
        "sshfs",
        "ncpfs",
        "ncp",
        "nfs",
        "nfs4",
        "gfs",
        "gfs2",
        "glusterfs",
        "gpfs",
        "pvfs2",
        "ocfs2",
        "lustre",
        "davfs",
    ];
    if fs_type == "autofs" {
        return false;
    }
    let fs_type = fs_type.strip_prefix("fuse.").unwrap_or(fs_type);
    !NOT_LOCAL.contains(&fs_type)
}

/// A directory's entries, sorted by name, each with its `lstat`, stored compactly.
pub(crate) struct Listing {
    names: Box<str>,
    entries: Box<[Entry]>,
    /// Entries that could not be examined, as messages naming them.
    problems: Box<[Box<str>]>,
}

/// One entry: where its name ends in [`Listing::names`] and its metadata (64 bytes).
#[derive(Clone, Copy)]
struct Entry {
    size: u64,
    ino: u64,
    dev: u64,
    atime: i64,
    mtime: i64,
    ctime: i64,
    uid: u32,
    gid: u32,
    name_end: u32,
    mode: u16,
    file_type: FileType,
}

impl Listing {
    fn read(ctx: &ProbeContext<'_>, path: &str) -> ListingResult {
        // Each entry is examined relative to the directory just listed, not resolved again
        // from the root: on a large tree that resolution was most of the walk's time.
        let entries = ctx
            .target
            .read_dir_with_stat(path)
            .map_err(|e| Arc::from(error_chain(&e)))?;
        let mut names = String::new();
        let mut compact = Vec::with_capacity(entries.len());
        let mut problems = Vec::new();
        for (entry, stat) in entries {
            if entry.name.as_bytes() != entry.raw_name.as_slice() {
                problems.push(
                    format!("`{}`: an entry's name is not UTF-8; it was skipped", path).into(),
                );
                continue;
            }
            let st = match stat {
                Ok(st) => st,
                // Gone since the directory was read: as if it had never been there.
                Err(e) if e.is_not_found() => continue,
                Err(e) => {
                    problems.push(error_chain(&e).into());
                    continue;
                }
            };
            names.push_str(&entry.name);
            let Ok(name_end) = u32::try_from(names.len()) else {
                problems.push(format!("`{path}` has too many entries to list").into());
                break;
            };
            compact.push(Entry {
                size: st.size,
                ino: st.ino,
                dev: st.dev,
                atime: st.atime,
                mtime: st.mtime,
                ctime: st.ctime,
                uid: st.uid,
                gid: st.gid,
                name_end,
                // `FileStat::mode` holds only the permission bits (`& 0o7777`).
                mode: u16::try_from(st.mode & 0o7777).unwrap_or(0),
                file_type: st.file_type,
            });
        }
        Ok(Arc::new(Listing {
            names: names.into_boxed_str(),
            entries: compact.into_boxed_slice(),
            problems: problems.into_boxed_slice(),
        }))
    }

    fn len(&self) -> usize {
        self.entries.len()
    }

    /// The entries' names and metadata, in order.
    fn iter(&self) -> impl Iterator<Item = (&str, FileStat)> + '_ {
        let mut start = 0usize;
        self.entries.iter().map(move |e| {
            let end = e.name_end as usize;
            let name = self.names.get(start..end).unwrap_or("");
            start = end;
            let stat = FileStat {
                file_type: e.file_type,
                mode: u32::from(e.mode),
                uid: e.uid,
                gid: e.gid,
                size: e.size,
                dev: e.dev,
                ino: e.ino,
                nlink: 0,
                atime: e.atime,
                mtime: e.mtime,
                ctime: e.ctime,
            };
            (name, stat)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_prefix_like_openscap() {
        assert_eq!(
            fixed_prefix(r"^\/(|s)bin|^\/usr\/(|local\/)(|s)bin|^\/usr\/libexec"),
            "/"
        );
        assert_eq!(fixed_prefix(r"^/etc/sudoers.d/.*$"), "/etc");
        // An escape is not reset by an ordinary character, so `\.` counts as unescaped here.
        assert_eq!(
            fixed_prefix(r"^\/etc\/audit\/rules\.d\/.*\.rules$"),
            "/etc/audit/"
        );
        assert_eq!(
            fixed_prefix(r"^/etc/audit/rules\.d/.*\.rules$"),
            "/etc/audit/rules.d"
        );
        assert_eq!(fixed_prefix(r"^/etc/a|^/usr/b"), "/etc");
        assert_eq!(fixed_prefix(r"/etc/.*\.conf"), "/etc");
        assert_eq!(fixed_prefix(r"^/lib"), "/lib");
        assert_eq!(fixed_prefix(r".*"), "/");
        assert_eq!(fixed_prefix(r"^etc/x.y"), "/");
    }

    #[test]
    fn leads_expand_literal_groups() {
        let leads = literal_leads(r"^\/(|s)bin|^\/usr\/(|local\/)(|s)bin|^\/usr\/libexec").unwrap();
        assert_eq!(
            leads,
            [
                "/bin",
                "/sbin",
                "/usr/bin",
                "/usr/sbin",
                "/usr/local/bin",
                "/usr/local/sbin",
                "/usr/libexec"
            ]
        );
        assert!(leads.iter().any(|l| compatible(l, "/usr/lib")));
        assert!(!leads
            .iter()
            .any(|l| compatible(l, "/usr/lib/x86_64-linux-gnu")));
        assert!(leads.iter().any(|l| compatible(l, "/usr/libexec/foo/bar")));
        assert_eq!(literal_leads(r"^/etc/a+b").unwrap(), ["/etc/a"]);
        assert_eq!(literal_leads(r"^/etc/ab?").unwrap(), ["/etc/a", "/etc/ab"]);
        assert_eq!(literal_leads(r"^/etc/ab??").unwrap(), ["/etc/a"]);
        let leads = literal_leads(r"^\/s?bin|^\/usr\/s?bin|^\/usr\/local\/s?bin").unwrap();
        assert_eq!(
            leads,
            [
                "/bin",
                "/sbin",
                "/usr/bin",
                "/usr/sbin",
                "/usr/local/bin",
                "/usr/local/sbin"
            ]
        );
        assert!(!leads.iter().any(|l| compatible(l, "/proc")));
        assert_eq!(literal_leads(r"^/etc/(a|b)?x").unwrap(), ["/etc/"]);
        assert!(literal_leads(r"^/a|/b").is_none());
        assert_eq!(literal_leads(r"(?i)^/a").unwrap(), [""]);
    }

    #[test]
    fn split_like_fts() {
        assert_eq!(
            split("/etc/passwd"),
            ("/etc".to_string(), "passwd".to_string())
        );
        assert_eq!(split("/bin"), ("/".to_string(), "bin".to_string()));
        assert_eq!(join("/", "bin"), "/bin");
        assert_eq!(join("/etc", "passwd"), "/etc/passwd");
    }

    #[test]
    fn local_file_systems() {
        assert!(is_local_fs("ext4"));
        assert!(is_local_fs("tmpfs"));
        assert!(!is_local_fs("proc"));
        assert!(!is_local_fs("sysfs"));
        assert!(!is_local_fs("nfs4"));
        assert!(!is_local_fs("fuse.sshfs"));
        assert!(!is_local_fs("autofs"));
    }
}
