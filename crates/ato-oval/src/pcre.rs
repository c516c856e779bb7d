//! Perl-compatible regular expressions with the semantics OVAL content expects from OpenSCAP.
//!
//! OpenSCAP 1.3.7 (as built by Debian) runs every OVAL `pattern match` through PCRE1 with the
//! `UTF8` option, plus `MULTILINE`, `DOTALL` and `CASELESS` when a textfilecontent54 object's
//! behaviors ask for them. PCRE is not compiled with `UCP`, so `\d \w \s \b` are ASCII-only.
//!
//! This module parses the PCRE pattern and writes an equivalent pattern for the `regex` crate
//! (linear time, used whenever possible) or, when the pattern needs backtracking features
//! (look-around, back-references, atomic groups, possessive quantifiers, a non-final
//! single-line `$`), for `fancy-regex`, run with a backtracking limit. The rewrite:
//!
//! * PCRE literals that Rust reads as syntax: `[` inside a class, `]` first in a class, `&&`,
//!   `--` and `~~` in a class, `{` that does not start a `{n}`, `{n,}` or `{n,m}` quantifier.
//! * `\d \w \s \h \v \R \N` and their negations become explicit ASCII (or PCRE's fixed Unicode)
//!   classes; `\b \B` become ASCII word boundaries.
//! * `^` and `$` are rewritten by the multiline state in force at that point (the `Flags` and
//!   inline `(?m)` changes): single-line `^` is `\A`; single-line `$` and `\Z` match at the end or
//!   before a final newline; multiline `^` does not match after a newline that ends the subject.
//! * `\Q…\E`, octal and `\x` escapes, `\cX`, named groups in all three spellings, `(?#…)`
//!   comments and `(?x)` extended mode are resolved here, so the engines never see them.
//!
//! Not supported (a compile error, as some also are for PCRE): recursion and subroutine calls,
//! branch reset `(?|`, `\K`, `\X`, `\C`, backtracking control verbs and POSIX collating
//! elements. OpenSCAP's recursion depth limit (3500 frames) is not reproduced; the backtracking
//! limit of `fancy-regex` plays its role and surfaces as [`RegexError::Limit`].

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, OnceLock, RwLock};

/// The PCRE compile options an OVAL evaluation can ask for (`UTF8` is always on).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Flags {
    /// `PCRE_MULTILINE`: `^` and `$` also match at internal line boundaries.
    pub multiline: bool,
    /// `PCRE_DOTALL`: `.` also matches a newline.
    pub singleline: bool,
    /// `PCRE_CASELESS`.
    pub ignore_case: bool,
}

impl Flags {
    /// The options textfilecontent54 uses by default (`multiline="true"`).
    pub const TFC54_DEFAULT: Flags = Flags {
        multiline: true,
        singleline: false,
        ignore_case: false,
    };
}

/// Failure to compile or run a pattern.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RegexError {
    #[error("cannot compile regular expression `{pattern}`: {message}")]
    Compile { pattern: String, message: String },
    #[error("regular expression `{pattern}` exceeded the backtracking limit")]
    Limit { pattern: String },
    #[error(
        "regular expression `{pattern}` matched more than {MAX_MATCHES} times or captured more \
         than {MAX_CAPTURED_BYTES} bytes in one subject"
    )]
    TooManyMatches { pattern: String },
}

/// The most matches [`Regex::captures_all_openscap`] collects from one subject.
pub const MAX_MATCHES: usize = 1 << 20;
/// The most bytes of text its matches' groups may hold together: a zero-width pattern with a
/// greedy group in a lookahead captures the rest of a long line at every position.
pub const MAX_CAPTURED_BYTES: usize = 64 << 20;

/// One match: its byte span in the subject and capture groups 1..n (`None` when a group did not
/// take part in the match).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Captures {
    pub start: usize,
    pub end: usize,
    pub groups: Vec<Option<String>>,
}

/// Backtracking steps `fancy-regex` may take for one search before giving up.
const BACKTRACK_LIMIT: usize = 1_000_000;

/// A compiled PCRE pattern.
#[derive(Debug)]
pub struct Regex {
    pattern: String,
    flags: Flags,
    engine: Engine,
}

#[derive(Debug)]
enum Engine {
    /// The `regex` crate.
    Plain {
        re: regex::Regex,
        /// Index of the group the rewrite appended for a final single-line `$`
        /// (`(?:(\n)?\z)`): when it took part, the match really ends one byte earlier.
        dollar_group: Option<usize>,
        /// The pattern has a multiline `^`, which Rust also matches after a newline that ends
        /// the subject. A match that reaches the end of such a subject is redone with the exact
        /// `fancy-regex` rewrite, compiled on first need.
        ml_caret: bool,
        exact: OnceLock<Result<fancy_regex::Regex, RegexError>>,
    },
    Fancy(fancy_regex::Regex),
}

impl Regex {
    /// Compiles `pattern` with `flags`, as `pcre_compile(pattern, PCRE_UTF8 | flags)` would.
    pub fn new(pattern: &str, flags: Flags) -> Result<Regex, RegexError> {
        let compile_error = |message: String| RegexError::Compile {
            pattern: pattern.to_owned(),
            message,
        };

        let plain = match translate(pattern, flags, Mode::Plain) {
            Ok(t) => Some(t),
            Err(TranslateError::NeedsFancy) => None,
            Err(TranslateError::Syntax(message)) => return Err(compile_error(message)),
        };
        // If the `regex` crate refuses the rewrite, fancy-regex may still take it (and gives the
        // error otherwise).
        if let Some(t) = plain {
            if let Ok(re) = regex::RegexBuilder::new(&t.rust).build() {
                let engine = Engine::Plain {
                    re,
                    dollar_group: t.dollar_group,
                    ml_caret: t.ml_caret,
                    exact: OnceLock::new(),
                };
                return Ok(Regex {
                    pattern: pattern.to_owned(),
                    flags,
                    engine,
                });
            }
        }

        let re = compile_fancy(pattern, flags)?;
        Ok(Regex {
            pattern: pattern.to_owned(),
            flags,
            engine: Engine::Fancy(re),
        })
    }

    /// The pattern as given.
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// The options it was compiled with.
    pub fn flags(&self) -> Flags {
        self.flags
    }

    /// Whether the backtracking engine runs this pattern (for diagnostics).
    pub fn is_backtracking(&self) -> bool {
        matches!(self.engine, Engine::Fancy(_))
    }

    /// Whether the pattern matches anywhere in `text`.
    pub fn is_match(&self, text: &str) -> Result<bool, RegexError> {
        match &self.engine {
            Engine::Plain { re, ml_caret, .. } => {
                if *ml_caret && text.ends_with('\n') {
                    match re.find(text) {
                        None => Ok(false),
                        Some(m) if m.end() < text.len() => Ok(true),
                        Some(_) => self.exact()?.is_match(text).map_err(|e| self.run_error(e)),
                    }
                } else {
                    Ok(re.is_match(text))
                }
            }
            Engine::Fancy(re) => re.is_match(text).map_err(|e| self.run_error(e)),
        }
    }

    /// All non-overlapping matches from left to right in the whole subject, each with its
    /// capture groups 1..n. After an empty match the search resumes one character further.
    pub fn captures_all(&self, text: &str) -> Result<Vec<Captures>, RegexError> {
        let mut out = Vec::new();
        let mut pos = 0;
        while pos <= text.len() {
            let Some(c) = self.captures_at(text, pos)? else {
                break;
            };
            pos = if c.end == c.start {
                c.end + char_len_at(text, c.end)
            } else {
                c.end
            };
            out.push(c);
        }
        Ok(out)
    }

    /// The matches OpenSCAP 1.3.7's textfilecontent54 probe reports, quirks included.
    ///
    /// The probe stops the subject at the first NUL byte, and resumes each search at the end of
    /// the previous match, moving one further only when that match ended where the search had
    /// started. So an empty match found past the search start is reported twice (`$` on `ab`
    /// gives two instances at offset 2). PCRE would fail on a resume offset inside a UTF-8
    /// sequence; here the search moves on by one whole character instead.
    pub fn captures_all_openscap(&self, text: &str) -> Result<Vec<Captures>, RegexError> {
        let text = text.find('\0').map_or(text, |nul| &text[..nul]);
        let mut out = Vec::new();
        let mut ofs = 0;
        let mut captured = 0usize;
        while ofs <= text.len() {
            let Some(c) = self.captures_at(text, ofs)? else {
                break;
            };
            captured += c.groups.iter().flatten().map(String::len).sum::<usize>();
            if out.len() >= MAX_MATCHES || captured > MAX_CAPTURED_BYTES {
                return Err(RegexError::TooManyMatches {
                    pattern: self.as_str().to_string(),
                });
            }
            ofs = if c.end == ofs {
                c.end + char_len_at(text, c.end)
            } else {
                c.end
            };
            out.push(c);
        }
        Ok(out)
    }

    /// The first match and its groups (OVAL `regex_capture` takes its first group).
    pub fn first_captures(&self, text: &str) -> Result<Option<Captures>, RegexError> {
        self.captures_at(text, 0)
    }

    /// The leftmost match starting at or after byte `pos`; what precedes `pos` still counts as
    /// context for `^`, `\b` and look-behind, as with PCRE's start offset.
    pub fn captures_at(&self, text: &str, pos: usize) -> Result<Option<Captures>, RegexError> {
        match &self.engine {
            Engine::Plain {
                re,
                dollar_group,
                ml_caret,
                ..
            } => {
                let Some(caps) = re.captures_at(text, pos) else {
                    return Ok(None);
                };
                let Some(whole) = caps.get(0) else {
                    return Ok(None);
                };
                if *ml_caret && whole.end() == text.len() && text.ends_with('\n') {
                    // Decide this match with the exact engine. Nothing matches before
                    // `whole.start()` (the fast engine accepts a superset), so start there:
                    // from `pos` the backtracking engine would redo the whole subject and, on
                    // a large file, hit its limit.
                    let exact = self.exact()?;
                    return fancy_captures(exact, text, whole.start())
                        .map_err(|e| self.run_error(e));
                }

                let mut end = whole.end();
                let mut n = caps.len() - 1;
                if let Some(g) = *dollar_group {
                    n = g - 1;
                    if caps.get(g).is_some() {
                        end -= 1;
                    }
                }
                let groups = (1..=n)
                    .map(|i| caps.get(i).map(|m| m.as_str().to_owned()))
                    .collect();
                Ok(Some(Captures {
                    start: whole.start(),
                    end,
                    groups,
                }))
            }
            Engine::Fancy(re) => fancy_captures(re, text, pos).map_err(|e| self.run_error(e)),
        }
    }

    /// The exact backtracking form of a `Plain` pattern.
    fn exact(&self) -> Result<&fancy_regex::Regex, RegexError> {
        match &self.engine {
            Engine::Plain { exact, .. } => exact
                .get_or_init(|| compile_fancy(&self.pattern, self.flags))
                .as_ref()
                .map_err(Clone::clone),
            Engine::Fancy(re) => Ok(re),
        }
    }

    fn run_error(&self, e: fancy_regex::Error) -> RegexError {
        match e {
            fancy_regex::Error::RuntimeError(_) => RegexError::Limit {
                pattern: self.pattern.clone(),
            },
            other => RegexError::Compile {
                pattern: self.pattern.clone(),
                message: other.to_string(),
            },
        }
    }
}

fn compile_fancy(pattern: &str, flags: Flags) -> Result<fancy_regex::Regex, RegexError> {
    let compile_error = |message: String| RegexError::Compile {
        pattern: pattern.to_owned(),
        message,
    };
    let t = translate(pattern, flags, Mode::Fancy).map_err(|e| match e {
        TranslateError::Syntax(message) => compile_error(message),
        // Mode::Fancy never asks for a more capable engine.
        TranslateError::NeedsFancy => compile_error("unsupported construct".to_owned()),
    })?;
    fancy_regex::RegexBuilder::new(&t.rust)
        .backtrack_limit(BACKTRACK_LIMIT)
        .build()
        .map_err(|e| compile_error(e.to_string()))
}

fn fancy_captures(
    re: &fancy_regex::Regex,
    text: &str,
    pos: usize,
) -> Result<Option<Captures>, fancy_regex::Error> {
    let Some(caps) = re.captures_from_pos(text, pos)? else {
        return Ok(None);
    };
    let Some(whole) = caps.get(0) else {
        return Ok(None);
    };
    let groups = (1..caps.len())
        .map(|i| caps.get(i).map(|m| m.as_str().to_owned()))
        .collect();
    Ok(Some(Captures {
        start: whole.start(),
        end: whole.end(),
        groups,
    }))
}

/// Length of the character at byte `i`, or 1 at the end (to step past it).
fn char_len_at(text: &str, i: usize) -> usize {
    text[i..].chars().next().map_or(1, char::len_utf8)
}

/// Compiled patterns shared by all evaluations, keyed by pattern and options. Compile errors are
/// kept too, so a bad pattern is parsed once.
#[derive(Debug, Default)]
pub struct RegexCache {
    map: RwLock<HashMap<(String, Flags), CacheEntry>>,
}

type CacheEntry = Result<Arc<Regex>, RegexError>;

impl RegexCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// The compiled form of `pattern` with `flags`, compiling it on first use.
    pub fn get(&self, pattern: &str, flags: Flags) -> Result<Arc<Regex>, RegexError> {
        let key = (pattern.to_owned(), flags);
        {
            // A poisoned lock only means another thread panicked while inserting; the map
            // itself is still consistent (an insert is a single call).
            let map = self.map.read().unwrap_or_else(|e| e.into_inner());
            if let Some(entry) = map.get(&key) {
                return entry.clone();
            }
        }

        let compiled = Regex::new(pattern, flags).map(Arc::new);
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        map.entry(key).or_insert(compiled).clone()
    }
}

// ---------------------------------------------------------------------------------------------
// PCRE to Rust syntax rewrite

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// For the `regex` crate: fails with `NeedsFancy` on anything it cannot express.
    Plain,
    /// For `fancy-regex`: exact PCRE semantics using look-around where needed.
    Fancy,
}

enum TranslateError {
    NeedsFancy,
    Syntax(String),
}

struct Translated {
    rust: String,
    dollar_group: Option<usize>,
    ml_caret: bool,
}

/// Inline options in force at a point of the pattern.
#[derive(Clone, Copy)]
struct State {
    multiline: bool,
    extended: bool,
}

const WORD: &str = "0-9A-Za-z_";
const SPACE: &str = r"\t\n\x0B\x0C\r ";
const HSPACE: &str = r"\t \xA0\x{1680}\x{180E}\x{2000}-\x{200A}\x{202F}\x{205F}\x{3000}";
const VSPACE: &str = r"\n\x0B\x0C\r\x{85}\x{2028}\x{2029}";

fn translate(pattern: &str, flags: Flags, mode: Mode) -> Result<Translated, TranslateError> {
    let mut t = Translator {
        chars: pattern.chars().collect(),
        pos: 0,
        mode,
        out: String::with_capacity(pattern.len() + 16),
        groups: 0,
        total_groups: count_groups(pattern),
        state: State {
            multiline: flags.multiline,
            extended: false,
        },
        stack: Vec::new(),
        top_alt: false,
        dollar_group: None,
        ml_caret: false,
    };
    if flags.ignore_case {
        t.out.push_str("(?i)");
    }
    if flags.singleline {
        t.out.push_str("(?s)");
    }
    t.run()?;
    Ok(Translated {
        rust: t.out,
        dollar_group: t.dollar_group,
        ml_caret: t.ml_caret,
    })
}

struct Translator {
    chars: Vec<char>,
    pos: usize,
    mode: Mode,
    out: String,
    groups: usize,
    total_groups: usize,
    state: State,
    stack: Vec<State>,
    top_alt: bool,
    dollar_group: Option<usize>,
    ml_caret: bool,
}

fn syntax<T>(message: impl Into<String>) -> Result<T, TranslateError> {
    Err(TranslateError::Syntax(message.into()))
}

impl Translator {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.chars.get(self.pos + n).copied()
    }

    fn fancy(&self) -> Result<(), TranslateError> {
        match self.mode {
            Mode::Plain => Err(TranslateError::NeedsFancy),
            Mode::Fancy => Ok(()),
        }
    }

    fn run(&mut self) -> Result<(), TranslateError> {
        while let Some(c) = self.peek() {
            self.pos += 1;
            if self.state.extended {
                if c.is_ascii_whitespace() {
                    continue;
                }
                if c == '#' {
                    while let Some(d) = self.peek() {
                        self.pos += 1;
                        if d == '\n' {
                            break;
                        }
                    }
                    continue;
                }
            }
            match c {
                '\\' => self.escape()?,
                '[' => self.class()?,
                '(' => self.group()?,
                ')' => {
                    let Some(outer) = self.stack.pop() else {
                        return syntax("unmatched parentheses");
                    };
                    self.state = outer;
                    self.out.push(')');
                }
                '|' => {
                    if self.stack.is_empty() {
                        self.top_alt = true;
                    }
                    self.out.push('|');
                }
                '^' => self.caret(),
                '$' => self.dollar()?,
                '.' => self.out.push('.'),
                '*' | '+' | '?' => {
                    self.out.push(c);
                    self.quantifier_suffix()?;
                }
                '{' => {
                    if let Some(len) = self.counted_quantifier() {
                        self.out.push('{');
                        for _ in 0..len {
                            if let Some(d) = self.peek() {
                                self.out.push(d);
                                self.pos += 1;
                            }
                        }
                        self.quantifier_suffix()?;
                    } else {
                        self.out.push_str(r"\{");
                    }
                }
                _ => push_literal(&mut self.out, c),
            }
        }
        if !self.stack.is_empty() {
            return syntax("missing )");
        }
        Ok(())
    }

    /// After a quantifier: `?` (lazy) passes through, `+` (possessive) needs backtracking.
    fn quantifier_suffix(&mut self) -> Result<(), TranslateError> {
        match self.peek() {
            Some('?') => {
                self.pos += 1;
                self.out.push('?');
            }
            Some('+') => {
                self.fancy()?;
                self.pos += 1;
                self.out.push('+');
            }
            _ => {}
        }
        Ok(())
    }

    /// If `{` (already consumed) starts `{n}`, `{n,}` or `{n,m}`, the length of the rest
    /// including `}`. PCRE reads anything else, `{,m}` included, as literal text.
    fn counted_quantifier(&self) -> Option<usize> {
        let mut i = 0;
        let digits = |i: &mut usize| {
            let start = *i;
            while self.peek_at(*i).is_some_and(|c| c.is_ascii_digit()) {
                *i += 1;
            }
            *i > start
        };
        if !digits(&mut i) {
            return None;
        }
        if self.peek_at(i) == Some(',') {
            i += 1;
            digits(&mut i);
        }
        (self.peek_at(i) == Some('}')).then_some(i + 1)
    }

    fn caret(&mut self) {
        if !self.state.multiline {
            self.out.push_str(r"\A");
            return;
        }
        match self.mode {
            Mode::Plain => {
                self.ml_caret = true;
                self.out.push_str("(?m:^)");
            }
            // PCRE's multiline ^ does not match after a newline that ends the subject.
            Mode::Fancy => self.out.push_str(r"(?:\A|(?m:^)(?!\z))"),
        }
    }

    fn dollar(&mut self) -> Result<(), TranslateError> {
        if self.state.multiline {
            self.out.push_str("(?m:$)");
            Ok(())
        } else {
            self.end_or_final_newline()
        }
    }

    /// Single-line `$` and `\Z`: the end of the subject or before a newline that ends it.
    fn end_or_final_newline(&mut self) -> Result<(), TranslateError> {
        match self.mode {
            Mode::Fancy => {
                self.out.push_str(r"(?=\n?\z)");
                Ok(())
            }
            Mode::Plain => {
                // As the very last token of a pattern without top-level alternation, every
                // match ends here, so the final newline can be consumed in a group of our own
                // and taken off the match afterwards.
                let last = self.pos == self.chars.len();
                if !last || !self.stack.is_empty() || self.top_alt {
                    return Err(TranslateError::NeedsFancy);
                }
                self.dollar_group = Some(self.total_groups + 1);
                self.out.push_str(r"(?:(\n)?\z)");
                Ok(())
            }
        }
    }

    fn word_boundary(&mut self, negated: bool) {
        match (self.mode, negated) {
            (Mode::Plain, false) => self.out.push_str(r"(?-u:\b)"),
            (Mode::Plain, true) => self.out.push_str(r"(?-u:\B)"),
            (Mode::Fancy, false) => {
                let _ = write!(
                    self.out,
                    "(?:(?<=[{WORD}])(?![{WORD}])|(?<![{WORD}])(?=[{WORD}]))"
                );
            }
            (Mode::Fancy, true) => {
                let _ = write!(
                    self.out,
                    "(?:(?<=[{WORD}])(?=[{WORD}])|(?<![{WORD}])(?![{WORD}]))"
                );
            }
        }
    }

    /// An escape outside a class; the backslash is consumed.
    fn escape(&mut self) -> Result<(), TranslateError> {
        let Some(c) = self.peek() else {
            return syntax(r"\ at end of pattern");
        };
        self.pos += 1;
        if let Some(class) = type_class(c) {
            self.out.push_str(&class);
            return Ok(());
        }
        match c {
            'b' => self.word_boundary(false),
            'B' => self.word_boundary(true),
            'A' => self.out.push_str(r"\A"),
            'z' => self.out.push_str(r"\z"),
            'Z' => self.end_or_final_newline()?,
            'G' => {
                self.fancy()?;
                self.out.push_str(r"\G");
            }
            'R' => {
                self.out
                    .push_str(r"(?:\r\n|[\n\x0B\x0C\r\x{85}\x{2028}\x{2029}])");
            }
            'N' => self.out.push_str(r"[^\n]"),
            'Q' => {
                while let Some(d) = self.peek() {
                    if d == '\\' && self.peek_at(1) == Some('E') {
                        self.pos += 2;
                        return Ok(());
                    }
                    self.pos += 1;
                    push_literal(&mut self.out, d);
                }
            }
            'E' => {}
            'p' | 'P' => {
                let prop = self.property()?;
                let _ = write!(self.out, r"\{c}{{{prop}}}");
            }
            'g' => {
                let n = self.g_reference()?;
                self.backref(&n)?;
            }
            'k' => {
                let name = self.delimited_name()?;
                self.backref(&name)?;
            }
            '1'..='9' => {
                let start = self.pos - 1;
                let mut end = self.pos;
                while self.chars.get(end).is_some_and(char::is_ascii_digit) {
                    end += 1;
                }
                let digits: String = self.chars[start..end].iter().collect();
                let n: usize = digits.parse().unwrap_or(usize::MAX);
                if n < 10 || n <= self.total_groups {
                    self.pos = end;
                    self.backref(&digits)?;
                } else {
                    // Not a group: up to three octal digits (PCRE's rule).
                    self.pos = start;
                    let ch = self.octal(3)?;
                    push_literal(&mut self.out, ch);
                }
            }
            'K' | 'X' | 'C' => return syntax(format!(r"\{c} is not supported")),
            _ => {
                let ch = self.char_escape(c)?;
                push_literal(&mut self.out, ch);
            }
        }
        Ok(())
    }

    fn backref(&mut self, target: &str) -> Result<(), TranslateError> {
        self.fancy()?;
        if target.chars().all(|c| c.is_ascii_digit()) {
            let _ = write!(self.out, r"\{target}");
        } else {
            let _ = write!(self.out, r"\k<{target}>");
        }
        Ok(())
    }

    /// `\g` forms: `\gN`, `\g{N}`, `\g{-N}`, `\g{name}`; the `\g` is consumed.
    fn g_reference(&mut self) -> Result<String, TranslateError> {
        let body = if self.peek() == Some('{') {
            self.pos += 1;
            let start = self.pos;
            while self.peek().is_some_and(|c| c != '}') {
                self.pos += 1;
            }
            if self.peek() != Some('}') {
                return syntax(r"\g{ is not terminated");
            }
            let body: String = self.chars[start..self.pos].iter().collect();
            self.pos += 1;
            body
        } else if self.peek() == Some('<') || self.peek() == Some('\'') {
            return syntax(r"subroutine calls (\g<...>) are not supported");
        } else {
            let start = self.pos;
            if self.peek() == Some('-') {
                self.pos += 1;
            }
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.pos += 1;
            }
            self.chars[start..self.pos].iter().collect()
        };
        if let Some(rel) = body.strip_prefix('-') {
            let back: usize = rel.parse().map_err(|_| syn(r"invalid \g reference"))?;
            if back == 0 || back > self.groups {
                return syntax(r"\g reference to a non-existent group");
            }
            return Ok((self.groups + 1 - back).to_string());
        }
        if body.is_empty() {
            return syntax(r"\g is not followed by a group reference");
        }
        Ok(body)
    }

    /// `\k<name>`, `\k'name'` or `\k{name}`; the `\k` is consumed.
    fn delimited_name(&mut self) -> Result<String, TranslateError> {
        let close = match self.peek() {
            Some('<') => '>',
            Some('\'') => '\'',
            Some('{') => '}',
            _ => return syntax(r"\k is not followed by a name"),
        };
        self.pos += 1;
        self.name_until(close)
    }

    fn name_until(&mut self, close: char) -> Result<String, TranslateError> {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            self.pos += 1;
        }
        if self.peek() != Some(close) || self.pos == start {
            return syntax("invalid group name");
        }
        let name: String = self.chars[start..self.pos].iter().collect();
        self.pos += 1;
        Ok(name)
    }

    /// `\p` / `\P` argument: `{Name}`, `{^Name}` or a single letter; the `\p` is consumed.
    fn property(&mut self) -> Result<String, TranslateError> {
        match self.peek() {
            Some('{') => {
                self.pos += 1;
                let start = self.pos;
                while self.peek().is_some_and(|c| c != '}') {
                    self.pos += 1;
                }
                if self.peek() != Some('}') {
                    return syntax(r"\p{ is not terminated");
                }
                let name: String = self.chars[start..self.pos].iter().collect();
                self.pos += 1;
                // PCRE's `L&` is Rust's cased letter.
                Ok(if name == "L&" { "LC".to_owned() } else { name })
            }
            Some(c) if c.is_ascii_alphabetic() => {
                self.pos += 1;
                Ok(c.to_string())
            }
            _ => syntax(r"malformed \p or \P sequence"),
        }
    }

    /// A character escape (`\n`, `\x41`, `\cA`, `\012`, `\.`...) whose letter is consumed.
    fn char_escape(&mut self, c: char) -> Result<char, TranslateError> {
        Ok(match c {
            'a' => '\x07',
            'e' => '\x1B',
            'f' => '\x0C',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            '0' => {
                self.pos -= 1;
                self.octal(3)?
            }
            'o' => {
                if self.peek() != Some('{') {
                    return syntax(r"\o is not followed by {");
                }
                self.pos += 1;
                let v = self.radix_digits(8, usize::MAX)?;
                if self.peek() != Some('}') {
                    return syntax(r"\o{ is not terminated");
                }
                self.pos += 1;
                char_from(v)?
            }
            'x' => {
                if self.peek() == Some('{') {
                    self.pos += 1;
                    let v = self.radix_digits(16, usize::MAX)?;
                    if self.peek() != Some('}') {
                        return syntax(r"\x{ is not terminated");
                    }
                    self.pos += 1;
                    char_from(v)?
                } else {
                    char_from(self.radix_digits(16, 2)?)?
                }
            }
            'c' => {
                let Some(d) = self.peek() else {
                    return syntax(r"\c at end of pattern");
                };
                if !d.is_ascii() {
                    return syntax(r"\c must be followed by an ASCII character");
                }
                self.pos += 1;
                char::from((d.to_ascii_uppercase() as u8) ^ 0x40)
            }
            'L' | 'l' | 'U' | 'u' => return syntax(format!(r"PCRE does not support \{c}")),
            // Any other escaped character stands for itself (PCRE ignores unknown letters).
            other => other,
        })
    }

    /// Up to `max` octal digits starting at the current position.
    fn octal(&mut self, max: usize) -> Result<char, TranslateError> {
        let v = self.radix_digits(8, max)?;
        char_from(v)
    }

    fn radix_digits(&mut self, radix: u32, max: usize) -> Result<u32, TranslateError> {
        let mut v: u32 = 0;
        let mut n = 0;
        while n < max {
            let Some(d) = self.peek().and_then(|c| c.to_digit(radix)) else {
                break;
            };
            v = v
                .checked_mul(radix)
                .and_then(|v| v.checked_add(d))
                .ok_or_else(|| syn("character code point value in escape is too large"))?;
            self.pos += 1;
            n += 1;
        }
        Ok(v)
    }

    /// A group opener; `(` is consumed.
    fn group(&mut self) -> Result<(), TranslateError> {
        if self.peek() == Some('*') {
            return syntax("backtracking control verbs are not supported");
        }
        if self.peek() != Some('?') {
            self.groups += 1;
            self.open("(");
            return Ok(());
        }
        self.pos += 1;

        let Some(c) = self.peek() else {
            return syntax("unterminated group");
        };
        match c {
            '#' => {
                while let Some(d) = self.peek() {
                    self.pos += 1;
                    if d == ')' {
                        return Ok(());
                    }
                }
                syntax("missing ) after comment")
            }
            ':' => {
                self.pos += 1;
                self.open("(?:");
                Ok(())
            }
            '=' | '!' => {
                self.fancy()?;
                self.pos += 1;
                self.open(if c == '=' { "(?=" } else { "(?!" });
                Ok(())
            }
            '>' => {
                self.fancy()?;
                self.pos += 1;
                self.open("(?>");
                Ok(())
            }
            '<' if matches!(self.peek_at(1), Some('=' | '!')) => {
                self.fancy()?;
                let look = if self.peek_at(1) == Some('=') {
                    "(?<="
                } else {
                    "(?<!"
                };
                self.pos += 2;
                self.open(look);
                Ok(())
            }
            '<' | '\'' => {
                self.pos += 1;
                let name = self.name_until(if c == '<' { '>' } else { '\'' })?;
                self.named_group(&name);
                Ok(())
            }
            'P' => match self.peek_at(1) {
                Some('<') => {
                    self.pos += 2;
                    let name = self.name_until('>')?;
                    self.named_group(&name);
                    Ok(())
                }
                Some('=') => {
                    self.pos += 2;
                    let name = self.name_until(')')?;
                    self.backref(&name)
                }
                _ => syntax("subroutine calls are not supported"),
            },
            '(' => {
                // Conditional group: the condition is passed on as written.
                self.fancy()?;
                self.out.push_str("(?(");
                self.pos += 1;
                while let Some(d) = self.peek() {
                    self.pos += 1;
                    self.out.push(d);
                    if d == ')' {
                        break;
                    }
                }
                self.stack.push(self.state);
                Ok(())
            }
            '|' => syntax("branch reset groups are not supported"),
            'R' | '&' | '+' | '0'..='9' => {
                syntax("recursion and subroutine calls are not supported")
            }
            _ => self.inline_flags(),
        }
    }

    fn named_group(&mut self, name: &str) {
        self.groups += 1;
        let open = format!("(?P<{name}>");
        self.open(&open);
    }

    fn open(&mut self, opener: &str) {
        self.stack.push(self.state);
        self.out.push_str(opener);
    }

    /// `(?imsx-imsx)` or `(?imsx-imsx:`; `(?` is consumed.
    fn inline_flags(&mut self) -> Result<(), TranslateError> {
        let mut on = String::new();
        let mut off = String::new();
        let mut negate = false;
        let mut state = self.state;
        loop {
            let Some(c) = self.peek() else {
                return syntax("unterminated group");
            };
            self.pos += 1;
            match c {
                '-' if !negate => negate = true,
                'm' => state.multiline = !negate,
                'x' => state.extended = !negate,
                'i' | 's' | 'U' => {
                    if negate { &mut off } else { &mut on }.push(c);
                }
                ')' | ':' => {
                    let mut flags = String::new();
                    if !on.is_empty() || !off.is_empty() {
                        flags.push_str(&on);
                        if !off.is_empty() {
                            flags.push('-');
                            flags.push_str(&off);
                        }
                    }
                    if c == ')' {
                        // Applies to the rest of the enclosing group.
                        self.state = state;
                        if !flags.is_empty() {
                            let _ = write!(self.out, "(?{flags})");
                        }
                    } else {
                        self.stack.push(self.state);
                        self.state = state;
                        let _ = write!(self.out, "(?{flags}:");
                    }
                    return Ok(());
                }
                'J' | 'X' => return syntax(format!("option (?{c}) is not supported")),
                _ => return syntax(format!("unrecognized character after (? or (?-: {c:?}")),
            }
        }
    }

    /// A character class; `[` is consumed.
    fn class(&mut self) -> Result<(), TranslateError> {
        self.out.push('[');
        if self.peek() == Some('^') {
            self.pos += 1;
            self.out.push('^');
        }
        let mut first = true;
        // The last item was a single character, so a following `-x` makes a range.
        let mut prev_char: Option<char> = None;
        loop {
            let Some(c) = self.peek() else {
                return syntax("missing terminating ] for class");
            };
            self.pos += 1;
            if c == ']' && !first {
                break;
            }
            first = false;

            if c == '-' {
                if let (Some(lo), Some(next)) = (prev_char, self.peek()) {
                    if next != ']' {
                        if let Some(hi) = self.class_char()? {
                            if hi < lo {
                                return syntax("range out of order in character class");
                            }
                            self.out.push('-');
                            push_class_literal(&mut self.out, hi);
                            prev_char = None;
                            continue;
                        }
                        // `x-\d`: the hyphen is literal, the class escape is emitted below.
                        push_class_literal(&mut self.out, '-');
                        prev_char = None;
                        continue;
                    }
                }
                push_class_literal(&mut self.out, '-');
                prev_char = Some('-');
                continue;
            }

            self.pos -= 1;
            if let Some(ch) = self.class_char()? {
                push_class_literal(&mut self.out, ch);
                prev_char = Some(ch);
            } else {
                prev_char = None;
            }
        }
        self.out.push(']');
        Ok(())
    }

    /// One class member at the current position. A single character is returned (not emitted);
    /// a set (`\d`, `[:alpha:]`, `\p{L}`, `\Q…\E` text) is emitted and `None` returned.
    fn class_char(&mut self) -> Result<Option<char>, TranslateError> {
        let Some(c) = self.peek() else {
            return syntax("missing terminating ] for class");
        };
        self.pos += 1;
        match c {
            '[' => {
                if matches!(self.peek(), Some(':' | '.' | '=')) {
                    let kind = self.peek();
                    if let Some(len) = self.posix_class_len() {
                        if kind != Some(':') {
                            return syntax("POSIX collating elements are not supported");
                        }
                        let body: String = self.chars[self.pos..self.pos + len].iter().collect();
                        self.pos += len;
                        self.out.push('[');
                        self.out.push_str(&body);
                        return Ok(None);
                    }
                }
                Ok(Some('['))
            }
            '\\' => {
                let Some(e) = self.peek() else {
                    return syntax(r"\ at end of pattern");
                };
                self.pos += 1;
                if let Some(set) = class_escape(e) {
                    self.out.push_str(set);
                    return Ok(None);
                }
                match e {
                    'b' => Ok(Some('\x08')),
                    'p' | 'P' => {
                        let prop = self.property()?;
                        let _ = write!(self.out, r"\{e}{{{prop}}}");
                        Ok(None)
                    }
                    'Q' => {
                        while let Some(d) = self.peek() {
                            if d == '\\' && self.peek_at(1) == Some('E') {
                                self.pos += 2;
                                break;
                            }
                            self.pos += 1;
                            push_class_literal(&mut self.out, d);
                        }
                        Ok(None)
                    }
                    'E' => Ok(None),
                    '1'..='7' => {
                        self.pos -= 1;
                        Ok(Some(self.octal(3)?))
                    }
                    'B' | 'R' | 'X' | 'N' | 'g' | 'k' | 'A' | 'z' | 'Z' | 'G' | 'K' | 'C' => {
                        syntax(format!(
                            r"escape sequence \{e} is invalid in character class"
                        ))
                    }
                    _ => Ok(Some(self.char_escape(e)?)),
                }
            }
            _ => Ok(Some(c)),
        }
    }

    /// Length of `:name:]` / `:^name:]` after a `[` inside a class, if it is one.
    fn posix_class_len(&self) -> Option<usize> {
        let delim = self.peek()?;
        let mut i = 1;
        while let Some(c) = self.peek_at(i) {
            if c == delim && self.peek_at(i + 1) == Some(']') {
                return Some(i + 2);
            }
            if c == ']' || c == '\\' || c == '[' {
                return None;
            }
            i += 1;
        }
        None
    }
}

fn syn(message: &str) -> TranslateError {
    TranslateError::Syntax(message.to_owned())
}

fn char_from(v: u32) -> Result<char, TranslateError> {
    char::from_u32(v).ok_or_else(|| syn("character code point value in escape is invalid"))
}

/// Outside a class: PCRE's character types as explicit classes.
fn type_class(c: char) -> Option<String> {
    let (set, negated) = match c {
        'd' => ("0-9", false),
        'D' => ("0-9", true),
        'w' => (WORD, false),
        'W' => (WORD, true),
        's' => (SPACE, false),
        'S' => (SPACE, true),
        'h' => (HSPACE, false),
        'H' => (HSPACE, true),
        'v' => (VSPACE, false),
        'V' => (VSPACE, true),
        _ => return None,
    };
    Some(format!("[{}{set}]", if negated { "^" } else { "" }))
}

/// Inside a class: the members of a character type (negated ones as a nested class).
fn class_escape(c: char) -> Option<&'static str> {
    Some(match c {
        'd' => "0-9",
        'D' => "[^0-9]",
        'w' => WORD,
        'W' => "[^0-9A-Za-z_]",
        's' => SPACE,
        'S' => r"[^\t\n\x0B\x0C\r ]",
        'h' => HSPACE,
        'H' => r"[^\t \xA0\x{1680}\x{180E}\x{2000}-\x{200A}\x{202F}\x{205F}\x{3000}]",
        'v' => VSPACE,
        'V' => r"[^\n\x0B\x0C\r\x{85}\x{2028}\x{2029}]",
        _ => return None,
    })
}

/// A literal character outside a class, escaped when Rust would read it as syntax.
fn push_literal(out: &mut String, c: char) {
    if r"\.+*?()|[]{}^$#&-~".contains(c) {
        out.push('\\');
        out.push(c);
    } else if c.is_whitespace() || c.is_control() {
        let _ = write!(out, r"\x{{{:X}}}", u32::from(c));
    } else {
        out.push(c);
    }
}

/// A literal character inside a class, escaped when Rust would read it as class syntax
/// (`[`, `]`, `^`, `-`, and the set operators `&&`, `--`, `~~`).
fn push_class_literal(out: &mut String, c: char) {
    if r"\[]^-&~".contains(c) {
        out.push('\\');
        out.push(c);
    } else if c.is_whitespace() || c.is_control() {
        let _ = write!(out, r"\x{{{:X}}}", u32::from(c));
    } else {
        out.push(c);
    }
}

/// Capturing groups in a PCRE pattern (needed to tell `\10` the back-reference from `\10` the
/// octal escape).
fn count_groups(pattern: &str) -> usize {
    let chars: Vec<char> = pattern.chars().collect();
    let mut n = 0;
    let mut i = 0;
    let mut in_class = false;
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                if chars.get(i + 1) == Some(&'Q') {
                    i += 2;
                    while i < chars.len() && !(chars[i] == '\\' && chars.get(i + 1) == Some(&'E')) {
                        i += 1;
                    }
                }
                i += 1;
            }
            '[' if !in_class => {
                in_class = true;
                if chars.get(i + 1) == Some(&'^') {
                    i += 1;
                }
                if chars.get(i + 1) == Some(&']') {
                    i += 1;
                }
            }
            '[' if chars.get(i + 1) == Some(&':') => {
                if let Some(end) = (i + 2..chars.len()).find(|&j| chars[j] == ']') {
                    i = end;
                }
            }
            ']' if in_class => in_class = false,
            '(' if !in_class => {
                let next = chars.get(i + 1).copied();
                let after = chars.get(i + 2).copied();
                let counts = match next {
                    Some('?') => match after {
                        Some('<') => !matches!(chars.get(i + 3), Some('=' | '!')),
                        Some('\'') => true,
                        Some('P') => chars.get(i + 3) == Some(&'<'),
                        _ => false,
                    },
                    Some('*') => false,
                    _ => true,
                };
                if counts {
                    n += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    n
}

#[cfg(test)]
mod tests {

    #[test]
    fn captures_that_grow_without_bound_are_an_error_not_an_exhaustion() {
        // A zero-width match at every position, each capturing the rest of the line.
        let re = Regex::new("(?=(a+)+$)", Flags::TFC54_DEFAULT).unwrap();
        let text = "a".repeat(200_000);
        let started = std::time::Instant::now();
        assert!(matches!(
            re.captures_all_openscap(&text),
            Err(RegexError::TooManyMatches { .. })
        ));
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
        // Ordinary patterns over the same text are unaffected.
        let re = Regex::new("a{1000}", Flags::TFC54_DEFAULT).unwrap();
        assert_eq!(re.captures_all_openscap(&text).unwrap().len(), 200);
    }

    use super::*;

    const ML: Flags = Flags {
        multiline: true,
        singleline: false,
        ignore_case: false,
    };
    const NONE: Flags = Flags {
        multiline: false,
        singleline: false,
        ignore_case: false,
    };

    fn m(pattern: &str, flags: Flags, text: &str) -> bool {
        Regex::new(pattern, flags).unwrap().is_match(text).unwrap()
    }

    fn spans(pattern: &str, flags: Flags, text: &str) -> Vec<(usize, usize)> {
        let re = Regex::new(pattern, flags).unwrap();
        re.captures_all(text)
            .unwrap()
            .iter()
            .map(|c| (c.start, c.end))
            .collect()
    }

    fn groups(pattern: &str, flags: Flags, text: &str) -> Vec<Vec<Option<String>>> {
        let re = Regex::new(pattern, flags).unwrap();
        re.captures_all(text)
            .unwrap()
            .into_iter()
            .map(|c| c.groups)
            .collect()
    }

    fn s(v: &str) -> Option<String> {
        Some(v.to_owned())
    }

    #[test]
    fn class_with_literal_open_bracket() {
        assert!(m(r"[^[\s]", NONE, "a"));
        assert!(!m(r"^[^[\s]$", NONE, "["));
        assert!(!m(r"^[^[\s]$", NONE, " "));
        assert!(m(r"^[[a]+$", NONE, "[a[a"));
    }

    #[test]
    fn class_with_leading_close_bracket() {
        assert!(m(r"^[^]]+$", NONE, "abc"));
        assert!(!m(r"[^]]", NONE, "]]"));
        assert!(m(r"^[]a]+$", NONE, "]a]"));
    }

    #[test]
    fn literal_brace_is_not_a_quantifier() {
        assert!(m(r"@@{DBDIR}", NONE, "database=file:@@{DBDIR}/aide.db"));
        assert!(m(r"a{,2}", NONE, "a{,2}"));
        assert!(!m(r"a{,2}", NONE, "aa"));
        assert!(m(r"^a{2}$", NONE, "aa"));
        assert!(m(r"^a{2,}$", NONE, "aaa"));
        assert!(m(r"^a{1,2}?b$", NONE, "ab"));
        assert!(m(r"x}", NONE, "x}"));
    }

    #[test]
    fn class_set_operators_are_literal() {
        assert!(m(r"^[a&&b]+$", NONE, "a&&b"));
        assert!(m(r"^[%--]+$", NONE, "--"));
        assert!(m(r"^[a~~b]+$", NONE, "~"));
        assert!(m(r"^[&&]+$", NONE, "&"));
        assert!(m(r"^[\w-.]+$", NONE, "a-b.c"));
        assert!(m(r"^[a-]+$", NONE, "-a"));
        assert!(m(r"^[-a]+$", NONE, "-a"));
        assert!(!m(r"^[a-c]+$", NONE, "-"));
    }

    #[test]
    fn posix_classes() {
        assert!(m(r"^[[:digit:]]+$", NONE, "123"));
        assert!(m(r"^[[:^digit:]]+$", NONE, "abc"));
        assert!(m(r"^[[:space:][:alpha:]]+$", NONE, "a b"));
    }

    #[test]
    fn ascii_character_types() {
        assert!(!m(r"\d", NONE, "٣"));
        assert!(!m(r"\w", NONE, "é"));
        assert!(m(r"\W", NONE, "é"));
        assert!(m(r"^\s$", NONE, "\u{b}"));
        assert!(!m(r"\s", NONE, "\u{a0}"));
        assert!(m(r"\h", NONE, "\u{a0}"));
        assert!(m(r"^[\d]+$", NONE, "42"));
        assert!(!m(r"[\d]", NONE, "٣"));
        assert!(m(r"^[^\D]+$", NONE, "42"));
        // \b: non-ASCII letters are not word characters.
        assert_eq!(spans(r"\ba\b", NONE, "éa a"), vec![(2, 3), (4, 5)]);
        // Same through the backtracking engine.
        assert_eq!(spans(r"\ba\b(?=)", NONE, "éa a"), vec![(2, 3), (4, 5)]);
        assert!(m(r"\Bb", NONE, "ab"));
        assert!(m(r"\Bb(?!x)", NONE, "ab"));
    }

    #[test]
    fn single_line_dollar_matches_before_final_newline() {
        assert!(m(r"no$", NONE, "no\n"));
        assert!(m(r"^PermitRootLogin no$", NONE, "PermitRootLogin no\n"));
        assert!(!m(r"no$", NONE, "no\n\n"));
        assert!(!m(r"no$", NONE, "no\nx"));
        assert_eq!(spans(r"no$", NONE, "no\n"), vec![(0, 2)]);
        assert_eq!(spans(r"o\n?$", NONE, "no\n"), vec![(1, 3)]);
        assert_eq!(spans(r"a$|b", NONE, "ba\n"), vec![(0, 1), (1, 2)]);
        assert_eq!(spans(r"(a$)", NONE, "a\n"), vec![(0, 1)]);
        assert_eq!(groups(r"^(\w+)$", NONE, "yes\n"), vec![vec![s("yes")]]);
        assert!(m(r"a\Z", ML, "a\n"));
        assert!(!m(r"a\Z", ML, "a\nb"));
        assert!(m(r"a\z", NONE, "a"));
        assert!(!m(r"a\z", NONE, "a\n"));
        assert!(m(r"\Aa", ML, "a"));
        assert!(!m(r"\Ab", ML, "a\nb"));
    }

    #[test]
    fn single_line_caret_is_start_of_subject() {
        assert!(!m(r"^b", NONE, "a\nb"));
        assert!(m(r"^b", ML, "a\nb"));
        assert!(m(r"(?m)^b", NONE, "a\nb"));
        assert!(!m(r"(?m)(?-m)^b", NONE, "a\nb"));
        assert!(m(r"(?m:^b)", NONE, "a\nb"));
    }

    #[test]
    fn multiline_no_match_after_terminating_newline() {
        assert_eq!(spans(r"^.*$", ML, "a\nb\n"), vec![(0, 1), (2, 3)]);
        assert_eq!(spans(r"^.*$", ML, "a\nb"), vec![(0, 1), (2, 3)]);
        assert_eq!(spans(r"^.*$", ML, "a\n\nb"), vec![(0, 1), (2, 2), (3, 4)]);
        assert_eq!(spans(r"^", ML, ""), vec![(0, 0)]);
        assert!(!m(r"^$", ML, "a\n"));
        assert!(m(r"^$", ML, "a\n\n"));
        assert_eq!(spans(r"$", ML, "a\n"), vec![(1, 1), (2, 2)]);
        assert_eq!(
            spans(r"^.*$", ML, "a\nb\n"),
            spans(r"^.*$(?=)", ML, "a\nb\n")
        );
    }

    #[test]
    fn lookahead_and_backreference() {
        let re = r"^((?!#).)*(public|private).*";
        assert!(m(re, ML, "community public"));
        assert!(!m(re, ML, "# public"));
        assert!(!m(re, ML, "x # public"));
        let g = groups(re, ML, "a private\n#public\n");
        assert_eq!(g, vec![vec![s(" "), s("private")]]);

        let re = r#"superusers=("?)[a-zA-Z_]+\1$"#;
        assert!(m(re, NONE, "set superusers=\"root\"\n"));
        assert!(m(re, NONE, "set superusers=root"));
        assert!(!m(re, NONE, "set superusers=\"root"));
        assert!(Regex::new(re, NONE).unwrap().is_backtracking());
    }

    #[test]
    fn inline_case_switch() {
        let re = r"^[ \t]*(?i)Compression(?-i)[ \t]+(\w+)";
        assert_eq!(groups(re, ML, "compression no\n"), vec![vec![s("no")]]);
        assert_eq!(
            groups(re, ML, "COMPRESSION\tdelayed\n"),
            vec![vec![s("delayed")]]
        );
        assert!(!m(r"^(?i)a(?-i)b", NONE, "AB"));
        assert!(m(r"^(?i)a(?-i)b", NONE, "Ab"));
        assert!(m(
            "ab",
            Flags {
                ignore_case: true,
                ..NONE
            },
            "AB"
        ));
        assert!(!m(
            "(?-i)ab",
            Flags {
                ignore_case: true,
                ..NONE
            },
            "AB"
        ));
    }

    #[test]
    fn lazy_capture_before_comment() {
        let re = r"^\s*Ciphers\s+(.+?)[ \t]*(?:$|#)";
        let g = groups(
            re,
            ML,
            "Ciphers aes256-ctr,aes128-ctr  # comment\nCiphers x\n",
        );
        assert_eq!(g, vec![vec![s("aes256-ctr,aes128-ctr")], vec![s("x")]]);
        assert_eq!(
            groups(r"(.+?)[ \t]*(?:$|#)", NONE, "value \n"),
            vec![vec![s("value")]]
        );
    }

    #[test]
    fn possessive_and_atomic() {
        assert!(!m(r"a++a", NONE, "aaa"));
        assert!(m(r"a+a", NONE, "aaa"));
        assert!(!m(r"(?>a+)a", NONE, "aaa"));
        assert!(Regex::new(r"a*+", NONE).unwrap().is_backtracking());
    }

    #[test]
    fn empty_matches_advance_one_character() {
        assert_eq!(spans(r"x*", NONE, "éx"), vec![(0, 0), (2, 3), (3, 3)]);
        assert_eq!(spans(r"a??", NONE, "a"), vec![(0, 0), (1, 1)]);
        let re = Regex::new(r"$", NONE).unwrap();
        let oscap: Vec<_> = re
            .captures_all_openscap("ab")
            .unwrap()
            .iter()
            .map(|c| c.start)
            .collect();
        assert_eq!(oscap, vec![2, 2]);
        let re = Regex::new(r"b", NONE).unwrap();
        assert_eq!(re.captures_all_openscap("ab\0b").unwrap().len(), 1);
    }

    #[test]
    fn escapes() {
        assert!(m(r"\Qa.b\E+", NONE, "a.bb"));
        assert!(!m(r"\Qa.b\E", NONE, "axb"));
        assert!(m(r"\x41\x{42}\101\o{103}", NONE, "ABAC"));
        assert!(m(r"^\x$", NONE, "\0"));
        assert!(m(r"\cA", NONE, "\u{1}"));
        assert!(m(r"\/\-\#\ \'", NONE, "/-# '"));
        assert!(m(r"[\]\\]", NONE, "\\"));
        assert!(m(r"[\b]", NONE, "\u{8}"));
        assert!(m(r"a\R", NONE, "a\r\n"));
        assert!(m(r"a\Nb", NONE, "axb"));
        assert!(!m(r"a\Nb", NONE, "a\nb"));
        assert!(m(r"\p{L}+", NONE, "é"));
        assert!(m(r"(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)\10", NONE, "abcdefghijj"));
        assert!(m(r"a\12", NONE, "a\n"));
        assert!(m(r"(a)\g{-1}\g1", NONE, "aaa"));
        assert!(m(r"(?<q>x)\k<q>(?P=q)", NONE, "xxx"));
    }

    #[test]
    fn groups_and_comments() {
        assert_eq!(
            groups(r"(?<k>\w+)=(?'v'\w+)", NONE, "a=b"),
            vec![vec![s("a"), s("b")]]
        );
        assert_eq!(groups(r"(?P<k>a)(x)?", NONE, "a"), vec![vec![s("a"), None]]);
        assert!(m(r"a(?#comment)b", NONE, "ab"));
        assert!(m(r"(?x) a b # comment", NONE, "ab"));
        assert!(m(r"(?x: a \  b )c", NONE, "a bc"));
        assert!(m(r"(?s)a.b", NONE, "a\nb"));
        assert!(m(
            r"a.b",
            Flags {
                singleline: true,
                ..NONE
            },
            "a\nb"
        ));
        assert!(!m(r"a.b", NONE, "a\nb"));
    }

    #[test]
    fn compile_errors_name_the_pattern() {
        for bad in [
            r"(a", r"a)", r"[a", r"\", r"(?|a)", r"(?R)", r"a\K", r"[z-a]", r"*a",
        ] {
            let err = Regex::new(bad, NONE).unwrap_err();
            assert!(matches!(err, RegexError::Compile { .. }), "{bad}");
            assert!(err.to_string().contains(bad), "{err}");
        }
    }

    #[test]
    fn backtracking_limit_is_an_error() {
        let re = Regex::new(r"^(a|aa)+(?=b)\1$", NONE).unwrap();
        let text = "a".repeat(40);
        assert!(matches!(re.is_match(&text), Err(RegexError::Limit { .. })));
    }

    #[test]
    fn first_captures_takes_first_match() {
        let re = Regex::new(r"umask\s+(\d+)", ML).unwrap();
        let c = re
            .first_captures("umask 027\numask 077\n")
            .unwrap()
            .unwrap();
        assert_eq!(c.groups, vec![s("027")]);
        assert_eq!((c.start, c.end), (0, 9));
        assert!(re.first_captures("none").unwrap().is_none());
    }

    #[test]
    fn cache_shares_and_keeps_errors() {
        let cache = RegexCache::new();
        let a = cache.get("a+", NONE).unwrap();
        let b = cache.get("a+", NONE).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        let c = cache.get("a+", ML).unwrap();
        assert!(!Arc::ptr_eq(&a, &c));
        assert!(cache.get("(", NONE).is_err());
        assert!(cache.get("(", NONE).is_err());
    }

    #[test]
    fn is_send_sync() {
        fn check<T: Send + Sync>() {}
        check::<Regex>();
        check::<RegexCache>();
    }

    /// A C program over the system's PCRE1 (`libpcre3-dev`), printing every match the way
    /// [`Regex::captures_all`] finds them.
    const ORACLE_C: &str = r#"
#include <pcre.h>
#include <stdio.h>
#include <string.h>
static void unesc(char *s) {
  char *o = s;
  for (; *s; s++) {
    if (*s == '\\' && s[1]) { s++; *o++ = *s == 'n' ? '\n' : *s == 't' ? '\t' : *s; }
    else *o++ = *s;
  }
  *o = 0;
}
int main(void) {
  static char line[65536], subj[65536];
  while (fgets(line, sizeof line, stdin)) {
    line[strcspn(line, "\n")] = 0;
    char *f = line, *p = strchr(f, '\t'), *s;
    if (!p) continue;
    *p++ = 0;
    s = strchr(p, '\t');
    if (!s) continue;
    *s++ = 0;
    strcpy(subj, s); unesc(subj); unesc(p);
    int opts = PCRE_UTF8, eo, ov[60], ofs = 0, len = strlen(subj);
    if (strchr(f, 'm')) opts |= PCRE_MULTILINE;
    if (strchr(f, 's')) opts |= PCRE_DOTALL;
    if (strchr(f, 'i')) opts |= PCRE_CASELESS;
    const char *err;
    pcre *re = pcre_compile(p, opts, &err, &eo, NULL);
    if (!re) { printf("ERR\n"); continue; }
    while (ofs <= len) {
      int rc = pcre_exec(re, NULL, subj, len, ofs, 0, ov, 60);
      if (rc < 0) { if (rc != -1) printf("RUNERR"); break; }
      printf("(%d,%d)", ov[0], ov[1]);
      for (int i = 1; i < rc; i++) {
        if (ov[2 * i] < 0) printf("[-]");
        else {
          putchar('[');
          for (int k = ov[2 * i]; k < ov[2 * i + 1]; k++)
            if (subj[k] == '\n') printf("\\n"); else putchar(subj[k]);
          putchar(']');
        }
      }
      if (ov[1] == ov[0]) {
        ofs = ov[1] + 1;
        while (ofs < len && (subj[ofs] & 0xC0) == 0x80) ofs++;
      } else ofs = ov[1];
    }
    printf("\n");
    pcre_free(re);
  }
  return 0;
}
"#;

    /// Differential test against PCRE1 itself: needs a C compiler and `libpcre3-dev`; skipped
    /// otherwise. Run with `cargo test -p ato-oval --lib pcre -- --ignored --nocapture`.
    #[test]
    #[ignore = "needs cc and libpcre3-dev"]
    fn agrees_with_pcre1() {
        use std::io::Write as _;
        use std::process::{Command, Stdio};

        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("oracle.c");
        let bin = dir.path().join("oracle");
        std::fs::write(&src, ORACLE_C).unwrap();
        let built = Command::new("cc")
            .arg("-o")
            .arg(&bin)
            .arg(&src)
            .arg("-lpcre")
            .status();
        if !built.is_ok_and(|s| s.success()) {
            eprintln!("skipping: cannot build the PCRE oracle");
            return;
        }

        let subjects = [
            "a\nb\n",
            "no\n",
            "PermitRootLogin no\n#PermitRootLogin yes\n",
            "  Compression delayed # x\nCIPHERS aes128-ctr,aes256-ctr\n\n",
            "set superusers=\"root\"\npassword_pbkdf2 root grub.pbkdf2\n",
            "com2sec notConfigUser default public\n# public\nx private\n",
            "é٣ x_1 [a] {b} @@{DBDIR}/aide.db\tend\n",
            "umask 027\n\tumask\t077\nUMASK 0022",
            "",
            "\n",
            "key = value # comment\n  key2=v2\n",
        ];
        let patterns = [
            r"^.*$",
            r"^",
            r"$",
            r"^$",
            r"no$",
            r"\s*$",
            r"(?m)^\s*$",
            r"\b\w+\b",
            r"\d+",
            r"[^[\s]+",
            r"[^]]+",
            r"@@{DBDIR}",
            r"[\w-.]+",
            r"^((?!#).)*(public|private).*",
            r#"superusers=("?)[a-zA-Z_]+\1$"#,
            r"^[ \t]*(?i)Compression(?-i)[ \t]+(\w+)",
            r"(.+?)[ \t]*(?:$|#)",
            r"^\s*(\w+)\s*=\s*(\S+)",
            r"x*",
            r"(a|b)?c?",
            r"\Z",
            r"\z",
            r".\Z",
            r"(?i)umask\s+(\d+)",
            r"(\w+)(?=,)",
            r"[[:alpha:]]+",
            r"\S+$",
            r"^\S",
            r"\h+",
            r"\v",
            r"[\d\s]+",
            r"(?s).+",
            r"a{,2}",
            r"\x{e9}",
            r"(?m)^\w+$(?-m)",
            r"^\s*$",
            r"e$|^c",
            r"\w+\s*$",
            r"[^\n]*\n?$",
            r"\B\w",
        ];
        let mut cases: Vec<(&str, &str, &str)> = Vec::new();
        for p in patterns {
            for subject in subjects {
                for f in ["-", "m", "s", "i", "ms"] {
                    cases.push((f, p, subject));
                }
            }
        }

        let esc = |s: &str| {
            s.replace('\\', r"\\")
                .replace('\n', r"\n")
                .replace('\t', r"\t")
        };
        let input: String = cases
            .iter()
            .map(|(f, p, s)| format!("{f}\t{}\t{}\n", esc(p), esc(s)))
            .collect();
        let mut child = Command::new(&bin)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let expected = String::from_utf8(out.stdout).unwrap();
        assert_eq!(expected.lines().count(), cases.len());

        let mut mismatches = Vec::new();
        for (&(f, p, text), want) in cases.iter().zip(expected.lines()) {
            let flags = Flags {
                multiline: f.contains('m'),
                singleline: f.contains('s'),
                ignore_case: f.contains('i'),
            };
            let got = match Regex::new(p, flags).and_then(|re| re.captures_all(text)) {
                Err(RegexError::Compile { .. }) => "ERR".to_owned(),
                Err(RegexError::Limit { .. } | RegexError::TooManyMatches { .. }) => {
                    "RUNERR".to_owned()
                }
                Ok(all) => {
                    let mut s = String::new();
                    for mut c in all {
                        let _ = write!(s, "({},{})", c.start, c.end);
                        // PCRE leaves trailing unset groups out of its count.
                        while c.groups.last() == Some(&None) {
                            c.groups.pop();
                        }
                        for g in c.groups {
                            let g = g.map_or("-".to_owned(), |g| g.replace('\n', r"\n"));
                            let _ = write!(s, "[{g}]");
                        }
                    }
                    s
                }
            };
            if got != want {
                mismatches.push(format!("{f} {p:?} on {text:?}: pcre {want} ours {got}"));
            }
        }
        eprintln!("{} cases, {} mismatches", cases.len(), mismatches.len());
        assert!(mismatches.is_empty(), "{mismatches:#?}");
    }

    /// Every pattern-match literal and `regex_capture` pattern of the installed SSG datastreams
    /// compiles in both single-line and multiline mode.
    #[test]
    fn ssg_corpus_compiles() {
        let dir = "/usr/share/xml/scap/ssg/content";
        let mut seen = std::collections::BTreeSet::new();
        for name in ["ssg-debian11-ds.xml", "ssg-ubuntu2004-ds.xml"] {
            let Ok(xml) = std::fs::read_to_string(format!("{dir}/{name}")) else {
                eprintln!("skipping {name}: not installed");
                continue;
            };
            let doc = roxmltree::Document::parse_with_options(
                &xml,
                roxmltree::ParsingOptions {
                    allow_dtd: true,
                    ..Default::default()
                },
            )
            .unwrap();
            for node in doc.descendants().filter(roxmltree::Node::is_element) {
                if node.attribute("operation") == Some("pattern match") {
                    if let Some(text) = node.text() {
                        if node.attribute("var_ref").is_none() {
                            seen.insert(text.to_owned());
                        }
                    }
                }
                if node.tag_name().name() == "regex_capture" {
                    if let Some(p) = node.attribute("pattern") {
                        seen.insert(p.to_owned());
                    }
                }
            }
        }
        let mut failures = Vec::new();
        let mut fancy = 0;
        for p in &seen {
            for flags in [NONE, ML] {
                match Regex::new(p, flags) {
                    Ok(re) => fancy += usize::from(re.is_backtracking() && flags == ML),
                    Err(e) => failures.push(e.to_string()),
                }
            }
        }
        eprintln!(
            "{} unique patterns, {fancy} on the backtracking engine",
            seen.len()
        );
        assert!(failures.is_empty(), "{failures:#?}");
    }
}
