//! Variable values and the local-variable functions of OVAL 5.11 (section "Variable
//! evaluation"): each value set carries a collection flag, and functions combine the flags of
//! their components the way objects combine theirs.

use ato_content::oval::{ArithmeticOperation, Datatype, DateTimeFormat};
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use crate::item::Flag;
use crate::pcre::{Flags, RegexCache};

/// The values of a variable (or of one component) and how complete they are.
#[derive(Debug, Clone, PartialEq)]
pub struct Values {
    pub flag: Flag,
    pub datatype: Datatype,
    pub values: Vec<String>,
    pub message: Option<String>,
}

impl Values {
    pub fn complete(datatype: Datatype, values: Vec<String>) -> Values {
        Values {
            flag: Flag::Complete,
            datatype,
            values,
            message: None,
        }
    }

    pub fn error(message: impl Into<String>) -> Values {
        Values {
            flag: Flag::Error,
            datatype: Datatype::String,
            values: Vec::new(),
            message: Some(message.into()),
        }
    }

    /// Complete or incomplete: the values can be used.
    pub fn usable(&self) -> bool {
        matches!(self.flag, Flag::Complete | Flag::Incomplete)
    }
}

/// Combines the flags of two value sets: an error taints everything; otherwise not
/// applicable, not collected, does not exist and incomplete win over complete, in that order.
pub fn combine_flags(a: Option<Flag>, b: Flag) -> Flag {
    let Some(a) = a else { return b };
    fn rank(f: Flag) -> u8 {
        match f {
            Flag::Complete => 0,
            Flag::Incomplete => 1,
            Flag::DoesNotExist => 2,
            Flag::NotCollected => 3,
            Flag::NotApplicable => 4,
            Flag::Error => 5,
        }
    }
    if rank(a) >= rank(b) {
        a
    } else {
        b
    }
}

/// Combines the flags and messages of several components.
pub fn combined(parts: &[Values]) -> (Flag, Option<String>) {
    let mut flag = None;
    let mut message = None;
    for p in parts {
        flag = Some(combine_flags(flag, p.flag));
        if message.is_none() {
            message.clone_from(&p.message);
        }
    }
    (flag.unwrap_or(Flag::Complete), message)
}

fn derived(parts: &[Values], datatype: Datatype, values: Vec<String>) -> Values {
    let (flag, message) = combined(parts);
    Values {
        flag,
        datatype,
        values,
        message,
    }
}

/// `concat`: every combination of one value of each component, in order.
pub fn concat(parts: &[Values]) -> Values {
    let mut out = vec![String::new()];
    for p in parts {
        let mut next = Vec::with_capacity(out.len() * p.values.len());
        for prefix in &out {
            for v in &p.values {
                next.push(format!("{prefix}{v}"));
            }
        }
        out = next;
    }
    if parts.is_empty() {
        out.clear();
    }
    derived(parts, Datatype::String, out)
}

/// `count`: how many values the components have together.
pub fn count(parts: &[Values]) -> Values {
    let mut v = derived(parts, Datatype::Int, Vec::new());
    let n: usize = if v.usable() {
        parts.iter().map(|p| p.values.len()).sum()
    } else {
        0
    };
    v.values.push(n.to_string());
    v
}

/// `unique`: the values of all components, duplicates removed, first occurrence kept.
pub fn unique(parts: &[Values]) -> Values {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for p in parts {
        for v in &p.values {
            if seen.insert(v.as_str()) {
                out.push(v.clone());
            }
        }
    }
    let datatype = parts.first().map(|p| p.datatype).unwrap_or_default();
    derived(parts, datatype, out)
}

/// `arithmetic`: every combination, added or multiplied; ints stay ints when all inputs are.
pub fn arithmetic(op: ArithmeticOperation, parts: &[Values]) -> Values {
    let all_int = parts
        .iter()
        .all(|p| p.values.iter().all(|v| v.trim().parse::<i64>().is_ok()));
    let mut acc: Vec<f64> = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        let mut nums = Vec::new();
        for v in &p.values {
            match v.trim().parse::<f64>() {
                Ok(n) => nums.push(n),
                Err(_) => return Values::error(format!("arithmetic on a non-number `{v}`")),
            }
        }
        acc = if i == 0 {
            nums
        } else {
            let mut next = Vec::new();
            for a in &acc {
                for n in &nums {
                    next.push(match op {
                        ArithmeticOperation::Add => a + n,
                        ArithmeticOperation::Multiply => a * n,
                    });
                }
            }
            next
        };
    }
    let (datatype, values) = if all_int {
        (
            Datatype::Int,
            acc.iter().map(|n| format!("{}", *n as i64)).collect(),
        )
    } else {
        (
            Datatype::Float,
            acc.iter().map(|n| format!("{n}")).collect(),
        )
    };
    derived(parts, datatype, values)
}

/// `time_difference`: the seconds from each value of the second component to each value of
/// the first (the first minus the second), for every combination. With one component, each of
/// its values is subtracted from `now`, and it is read in `format_2` as the schema says.
/// Date-times that carry no UTC offset are taken as UTC. A value that does not follow its
/// format is an error that names `var_id`, the variable being evaluated.
pub fn time_difference(
    var_id: &str,
    format_1: DateTimeFormat,
    format_2: DateTimeFormat,
    parts: &[Values],
    now: Timestamp,
) -> Values {
    let read = |part: &Values, format| instants(var_id, part, format);
    let (firsts, seconds) = match parts {
        [only] => (Ok(vec![now]), read(only, format_2)),
        [first, second] => (read(first, format_1), read(second, format_2)),
        _ => {
            return Values::error(format!(
                "variable `{var_id}`: time_difference takes one or two components, not {}",
                parts.len()
            ))
        }
    };
    let (firsts, seconds) = match (firsts, seconds) {
        (Ok(firsts), Ok(seconds)) => (firsts, seconds),
        (Err(e), _) | (_, Err(e)) => return e,
    };

    let mut out = Vec::with_capacity(firsts.len() * seconds.len());
    for a in &firsts {
        for b in &seconds {
            out.push(a.duration_since(*b).as_secs().to_string());
        }
    }
    derived(parts, Datatype::Int, out)
}

/// The values of one `time_difference` component as instants.
fn instants(var_id: &str, part: &Values, format: DateTimeFormat) -> Result<Vec<Timestamp>, Values> {
    part.values
        .iter()
        .map(|v| {
            instant(v, format).ok_or_else(|| {
                Values::error(format!(
                    "variable `{var_id}`: time_difference cannot read `{v}` as a {format} date-time"
                ))
            })
        })
        .collect()
}

/// Reads one value in `format` (`DateTimeFormatEnumeration`); `None` if it does not follow the
/// format or names a date-time that does not exist.
fn instant(value: &str, format: DateTimeFormat) -> Option<Timestamp> {
    let value = value.trim();
    match format {
        DateTimeFormat::YearMonthDay => year_month_day(value),
        DateTimeFormat::MonthDayYear => month_day_year(value),
        DateTimeFormat::DayMonthYear => {
            let (date, time) = date_and_time(value)?;
            let [day, month, year] = separated_date(date, [TWO, TWO, YEAR])?;
            utc([year, month, day], time, 0)
        }
        DateTimeFormat::WinFiletime => win_filetime(value),
        DateTimeFormat::SecondsSinceEpoch => Timestamp::from_second(value.parse().ok()?).ok(),
        DateTimeFormat::CimDatetime => cim_datetime(value),
    }
}

// The digits a separated field may have: a year has four; a month, a day, an hour, a minute or
// a second one or two.
const YEAR: (usize, usize) = (4, 4);
const TWO: (usize, usize) = (1, 2);

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// `yyyymmdd`, `yyyymmddThhmmss`, or `yyyy/mm/dd` and `yyyy-mm-dd` with an optional time.
fn year_month_day(s: &str) -> Option<Timestamp> {
    if let Some((date, time)) = s.split_once('T') {
        return utc(packed(date, [4, 2, 2])?, packed(time, [2, 2, 2])?, 0);
    }
    if let Some(date) = packed(s, [4, 2, 2]) {
        return utc(date, [0; 3], 0);
    }
    let (date, time) = date_and_time(s)?;
    utc(separated_date(date, [YEAR, TWO, TWO])?, time, 0)
}

/// `mm/dd/yyyy`, `mm-dd-yyyy`, or `NameOfMonth, dd yyyy` with the month's full or three-letter
/// English name in any case; each with an optional time.
fn month_day_year(s: &str) -> Option<Timestamp> {
    let mut words = s.split_whitespace();
    if let Some(name) = words.next()?.strip_suffix(',') {
        let month = month_number(name)?;
        let day = digits(words.next()?, TWO)?;
        let year = digits(words.next()?, YEAR)?;
        return utc([year, month, day], trailing_time(words)?, 0);
    }
    let (date, time) = date_and_time(s)?;
    let [month, day, year] = separated_date(date, [TWO, TWO, YEAR])?;
    utc([year, month, day], time, 0)
}

fn month_number(name: &str) -> Option<i32> {
    let i = MONTHS
        .iter()
        .position(|m| name.eq_ignore_ascii_case(m) || name.eq_ignore_ascii_case(&m[..3]))?;
    i32::try_from(i + 1).ok()
}

/// A Windows FILETIME in decimal: 100-nanosecond ticks since 1601-01-01 00:00:00 UTC.
fn win_filetime(s: &str) -> Option<Timestamp> {
    const TICKS_PER_SECOND: u64 = 10_000_000;
    const SECONDS_1601_TO_1970: i64 = 11_644_473_600;

    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let ticks: u64 = s.parse().ok()?;
    let seconds = i64::try_from(ticks / TICKS_PER_SECOND).ok()?;
    let nanos = i32::try_from(ticks % TICKS_PER_SECOND * 100).ok()?;
    Timestamp::from_second(-SECONDS_1601_TO_1970)
        .ok()?
        .checked_add(SignedDuration::new(seconds, nanos))
        .ok()
}

/// The CIM form `yyyymmddHHMMSS.mmmmmmsUUU`, where `sUUU` is the offset from UTC in minutes,
/// or the WQL form `yyyy-mm-dd HH:MM:SS:mmm`, taken as UTC.
fn cim_datetime(s: &str) -> Option<Timestamp> {
    if let Some((stamp, rest)) = s.split_once('.') {
        let [year, month, day, hour, minute, second] = packed(stamp, [4, 2, 2, 2, 2, 2])?;
        let (micros, rest) = rest.split_at_checked(6)?;
        let (sign, offset) = rest.split_at_checked(1)?;
        let [micros] = packed(micros, [6])?;
        let [offset] = packed(offset, [3])?;
        let offset = match sign {
            "+" => offset,
            "-" => -offset,
            _ => return None,
        };
        let local = utc([year, month, day], [hour, minute, second], micros * 1000)?;
        return local
            .checked_sub(SignedDuration::from_mins(i64::from(offset)))
            .ok();
    }
    let (date, time) = s.split_once(' ')?;
    let date = fields(date, '-', [(4, 4), (2, 2), (2, 2)])?;
    let [hour, minute, second, millis] = fields(time, ':', [(2, 2), (2, 2), (2, 2), (3, 3)])?;
    utc(date, [hour, minute, second], millis * 1_000_000)
}

/// Splits a date and an optional `hh:mm:ss` after whitespace; midnight without one.
fn date_and_time(s: &str) -> Option<(&str, [i32; 3])> {
    let mut words = s.split_whitespace();
    let date = words.next()?;
    Some((date, trailing_time(words)?))
}

/// The optional `hh:mm:ss` that ends a value, midnight if there is none.
fn trailing_time<'s>(mut words: impl Iterator<Item = &'s str>) -> Option<[i32; 3]> {
    let time = match words.next() {
        Some(t) => fields(t, ':', [TWO, TWO, TWO])?,
        None => [0; 3],
    };
    words.next().is_none().then_some(time)
}

/// Three date fields separated all by `/` or all by `-`, in the order they are written.
fn separated_date(s: &str, widths: [(usize, usize); 3]) -> Option<[i32; 3]> {
    let separator = if s.contains('/') { '/' } else { '-' };
    fields(s, separator, widths)
}

/// Exactly `N` fields of digits between `separator`s, each within its (least, most) digits.
fn fields<const N: usize>(
    s: &str,
    separator: char,
    widths: [(usize, usize); N],
) -> Option<[i32; N]> {
    let mut parts = s.split(separator);
    let mut out = [0; N];
    for (slot, width) in out.iter_mut().zip(widths) {
        *slot = digits(parts.next()?, width)?;
    }
    parts.next().is_none().then_some(out)
}

/// Fields of digits packed together without separators, of exactly these widths.
fn packed<const N: usize>(s: &str, widths: [usize; N]) -> Option<[i32; N]> {
    let mut rest = s;
    let mut out = [0; N];
    for (slot, width) in out.iter_mut().zip(widths) {
        let (field, tail) = rest.split_at_checked(width)?;
        *slot = digits(field, (width, width))?;
        rest = tail;
    }
    rest.is_empty().then_some(out)
}

/// A field of ASCII digits only, with a length within (least, most), at most six.
fn digits(s: &str, (least, most): (usize, usize)) -> Option<i32> {
    if !(least..=most).contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// The instant of a civil date and time read as UTC; `None` if there is no such date or time.
fn utc(
    [year, month, day]: [i32; 3],
    [hour, minute, second]: [i32; 3],
    nanos: i32,
) -> Option<Timestamp> {
    let date = Date::new(
        year.try_into().ok()?,
        month.try_into().ok()?,
        day.try_into().ok()?,
    )
    .ok()?;
    let time = Time::new(
        hour.try_into().ok()?,
        minute.try_into().ok()?,
        second.try_into().ok()?,
        nanos,
    )
    .ok()?;
    TimeZone::UTC
        .to_timestamp(DateTime::from_parts(date, time))
        .ok()
}

/// `begin`: prefixes `character` to each value that does not start with it.
pub fn begin(character: &str, arg: Values) -> Values {
    map(arg, |v| {
        if v.starts_with(character) {
            v.to_string()
        } else {
            format!("{character}{v}")
        }
    })
}

/// `end`: appends `character` to each value that does not end with it.
pub fn end(character: &str, arg: Values) -> Values {
    map(arg, |v| {
        if v.ends_with(character) {
            v.to_string()
        } else {
            format!("{v}{character}")
        }
    })
}

/// `escape_regex`: escapes the characters that are special in a Perl regular expression.
pub fn escape_regex(arg: Values) -> Values {
    map(arg, |v| {
        let mut out = String::with_capacity(v.len());
        for c in v.chars() {
            if "\\^$.|?*+()[]{}".contains(c) {
                out.push('\\');
            }
            out.push(c);
        }
        out
    })
}

/// `split`: each value split at every occurrence of the delimiter.
pub fn split(delimiter: &str, arg: Values) -> Values {
    let mut out = Vec::new();
    for v in &arg.values {
        if delimiter.is_empty() {
            out.push(v.clone());
        } else {
            out.extend(v.split(delimiter).map(str::to_string));
        }
    }
    Values {
        values: out,
        datatype: Datatype::String,
        ..arg
    }
}

/// `substring`: `length` characters from the 1-based `start`; a negative length takes the
/// rest; a start before the first character counts from the first.
pub fn substring(start: i64, length: i64, arg: Values) -> Values {
    map(arg, |v| {
        let chars: Vec<char> = v.chars().collect();
        let from = (start.max(1) - 1) as usize;
        if from >= chars.len() {
            return String::new();
        }
        let to = if length < 0 {
            chars.len()
        } else {
            (from + length as usize).min(chars.len())
        };
        chars[from..to].iter().collect()
    })
}

/// `regex_capture`: the first group of the first match in each value, or the empty string.
pub fn regex_capture(pattern: &str, arg: Values, regexes: &RegexCache) -> Values {
    let re = match regexes.get(pattern, Flags::default()) {
        Ok(re) => re,
        Err(e) => return Values::error(format!("regex_capture: {e}")),
    };
    let mut out = Vec::with_capacity(arg.values.len());
    for v in &arg.values {
        match re.first_captures(v) {
            Ok(Some(c)) => out.push(c.groups.first().cloned().flatten().unwrap_or_default()),
            Ok(None) => out.push(String::new()),
            Err(e) => return Values::error(format!("regex_capture: {e}")),
        }
    }
    let flag = if out.is_empty() {
        arg.flag
    } else {
        Flag::Complete
    };
    Values {
        flag,
        datatype: Datatype::String,
        values: out,
        message: arg.message,
    }
}

/// `glob_to_regex`: a shell glob (POSIX 2.13) turned into an anchored regular expression.
pub fn glob_to_regex(glob_noescape: bool, arg: Values) -> Values {
    map(arg, |v| glob_pattern(v, glob_noescape))
}

fn glob_pattern(glob: &str, noescape: bool) -> String {
    let mut out = String::from("^");
    let chars: Vec<char> = glob.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' if !noescape && i + 1 < chars.len() => {
                i += 1;
                push_literal(&mut out, chars[i]);
            }
            '*' => out.push_str("[^/]*"),
            '?' => out.push_str("[^/]"),
            '[' => {
                // A bracket expression, if it closes; otherwise a literal bracket.
                let mut j = i + 1;
                if j < chars.len() && (chars[j] == '!' || chars[j] == '^') {
                    j += 1;
                }
                if j < chars.len() && chars[j] == ']' {
                    j += 1;
                }
                while j < chars.len() && chars[j] != ']' {
                    j += 1;
                }
                if j >= chars.len() {
                    out.push_str("\\[");
                } else {
                    out.push('[');
                    let mut k = i + 1;
                    if chars[k] == '!' || chars[k] == '^' {
                        out.push('^');
                        k += 1;
                    }
                    while k < j {
                        if chars[k] == '\\' || chars[k] == '[' {
                            out.push('\\');
                        }
                        out.push(chars[k]);
                        k += 1;
                    }
                    out.push(']');
                    i = j;
                }
            }
            _ => push_literal(&mut out, c),
        }
        i += 1;
    }
    out.push('$');
    out
}

fn push_literal(out: &mut String, c: char) {
    if "\\^$.|?*+()[]{}".contains(c) {
        out.push('\\');
    }
    out.push(c);
}

fn map(arg: Values, f: impl Fn(&str) -> String) -> Values {
    let values = arg.values.iter().map(|v| f(v)).collect();
    Values {
        values,
        datatype: Datatype::String,
        ..arg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vals(v: &[&str]) -> Values {
        Values::complete(Datatype::String, v.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn concat_takes_every_combination() {
        let v = concat(&[vals(&["a", "b"]), vals(&["1", "2"])]);
        assert_eq!(v.values, ["a1", "a2", "b1", "b2"]);
    }

    #[test]
    fn count_of_nothing_is_zero_and_keeps_the_flag() {
        let mut none = vals(&[]);
        none.flag = Flag::DoesNotExist;
        let v = count(&[none]);
        assert_eq!(v.values, ["0"]);
        assert_eq!(v.flag, Flag::DoesNotExist);
        assert_eq!(count(&[vals(&["x", "y"]), vals(&["z"])]).values, ["3"]);
    }

    #[test]
    fn flags_combine_with_error_first() {
        assert_eq!(
            combine_flags(Some(Flag::Complete), Flag::DoesNotExist),
            Flag::DoesNotExist
        );
        assert_eq!(
            combine_flags(Some(Flag::Error), Flag::NotApplicable),
            Flag::Error
        );
        assert_eq!(combine_flags(None, Flag::Incomplete), Flag::Incomplete);
    }

    #[test]
    fn substring_and_split() {
        assert_eq!(substring(2, 3, vals(&["abcdef"])).values, ["bcd"]);
        assert_eq!(substring(3, -1, vals(&["abcdef"])).values, ["cdef"]);
        assert_eq!(substring(9, 2, vals(&["abc"])).values, [""]);
        assert_eq!(split(",", vals(&["a,b,,c"])).values, ["a", "b", "", "c"]);
    }

    #[test]
    fn arithmetic_keeps_ints() {
        let v = arithmetic(
            ArithmeticOperation::Multiply,
            &[vals(&["3"]), vals(&["86400"])],
        );
        assert_eq!(v.values, ["259200"]);
        assert_eq!(v.datatype, Datatype::Int);
        let v = arithmetic(
            ArithmeticOperation::Add,
            &[vals(&["1", "2"]), vals(&["10"])],
        );
        assert_eq!(v.values, ["11", "12"]);
    }

    #[test]
    fn globs_become_anchored_patterns() {
        assert_eq!(glob_pattern("/etc/*.conf", false), "^/etc/[^/]*\\.conf$");
        assert_eq!(glob_pattern("a?[!x]", false), "^a[^/][^x]$");
        assert_eq!(glob_pattern("a\\*", false), "^a\\*$");
        assert_eq!(glob_pattern("[unclosed", false), "^\\[unclosed$");
    }

    /// 2009-04-02 00:00:00 UTC and 13:45:30 that day, in seconds since the epoch.
    const APRIL_2: i64 = 1_238_630_400;
    const APRIL_2_AFTERNOON: i64 = 1_238_679_930;

    /// Seconds from the epoch to `value` read in `format`, through `time_difference`.
    fn at(format: DateTimeFormat, value: &str) -> i64 {
        let v = time_difference(
            "oval:t:var:1",
            format,
            DateTimeFormat::SecondsSinceEpoch,
            &[vals(&[value]), vals(&["0"])],
            Timestamp::UNIX_EPOCH,
        );
        assert_eq!(v.flag, Flag::Complete, "{value}: {:?}", v.message);
        assert_eq!(v.datatype, Datatype::Int);
        v.values[0].parse().unwrap()
    }

    #[test]
    fn time_difference_year_month_day() {
        let f = DateTimeFormat::YearMonthDay;
        for v in ["20090402", "2009/04/02", "2009-04-02", " 2009-4-2 "] {
            assert_eq!(at(f, v), APRIL_2, "{v}");
        }
        for v in [
            "20090402T134530",
            "2009/04/02 13:45:30",
            "2009-04-02 13:45:30",
        ] {
            assert_eq!(at(f, v), APRIL_2_AFTERNOON, "{v}");
        }
    }

    #[test]
    fn time_difference_month_day_year() {
        let f = DateTimeFormat::MonthDayYear;
        for v in ["04/02/2009", "04-02-2009", "April, 02 2009", "apr, 2 2009"] {
            assert_eq!(at(f, v), APRIL_2, "{v}");
        }
        for v in [
            "04/02/2009 13:45:30",
            "04-02-2009 13:45:30",
            "April, 02 2009 13:45:30",
            "Apr, 02 2009 13:45:30",
        ] {
            assert_eq!(at(f, v), APRIL_2_AFTERNOON, "{v}");
        }
    }

    #[test]
    fn time_difference_day_month_year() {
        let f = DateTimeFormat::DayMonthYear;
        assert_eq!(at(f, "02/04/2009"), APRIL_2);
        assert_eq!(at(f, "02-04-2009"), APRIL_2);
        assert_eq!(at(f, "02/04/2009 13:45:30"), APRIL_2_AFTERNOON);
        assert_eq!(at(f, "02-04-2009 13:45:30"), APRIL_2_AFTERNOON);
    }

    #[test]
    fn time_difference_win_filetime() {
        let f = DateTimeFormat::WinFiletime;
        assert_eq!(at(f, "128831040000000000"), APRIL_2);
        // Ticks below a second are dropped; the epoch itself is 11644473600 seconds after 1601.
        assert_eq!(at(f, "128831040009999999"), APRIL_2);
        assert_eq!(at(f, "116444736000000000"), 0);
        assert_eq!(at(f, "0"), -11_644_473_600);
    }

    #[test]
    fn time_difference_seconds_since_epoch() {
        let f = DateTimeFormat::SecondsSinceEpoch;
        assert_eq!(at(f, "1238630400"), APRIL_2);
        assert_eq!(at(f, "-86400"), -86_400);
    }

    #[test]
    fn time_difference_cim_datetime() {
        let f = DateTimeFormat::CimDatetime;
        assert_eq!(at(f, "20090402134530.000000+000"), APRIL_2_AFTERNOON);
        // 12:30 five hours behind UTC is 17:30 UTC; 15:45:30 two hours ahead is 13:45:30.
        assert_eq!(
            at(f, "20090402123000.500000-300"),
            APRIL_2 + 17 * 3600 + 30 * 60
        );
        assert_eq!(at(f, "20090402154530.000000+120"), APRIL_2_AFTERNOON);
        assert_eq!(at(f, "2009-04-02 13:45:30:250"), APRIL_2_AFTERNOON);
    }

    #[test]
    fn time_difference_is_first_minus_second_for_every_combination() {
        // The schema's own example: two values less three values give six differences.
        let v = time_difference(
            "oval:t:var:1",
            DateTimeFormat::MonthDayYear,
            DateTimeFormat::MonthDayYear,
            &[
                vals(&["04/02/2009", "04/03/2009"]),
                vals(&["02/02/2005", "02/03/2005", "02/04/2005"]),
            ],
            Timestamp::UNIX_EPOCH,
        );
        let day = 86_400;
        let base = APRIL_2 - 1_107_302_400;
        let expected: Vec<String> = [0, 1]
            .into_iter()
            .flat_map(|first| [0, 1, 2].map(|second| (base + (first - second) * day).to_string()))
            .collect();
        assert_eq!(v.values, expected);
        assert_eq!(v.datatype, Datatype::Int);
    }

    #[test]
    fn time_difference_of_one_component_is_from_now() {
        let now = Timestamp::from_second(APRIL_2_AFTERNOON).unwrap();
        // format_1 does not apply: the one component is read in format_2.
        let v = time_difference(
            "oval:t:var:1",
            DateTimeFormat::WinFiletime,
            DateTimeFormat::YearMonthDay,
            &[vals(&["20090402", "20090403"])],
            now,
        );
        assert_eq!(v.flag, Flag::Complete);
        assert_eq!(v.values, ["49530", "-36870"]);
    }

    #[test]
    fn time_difference_keeps_the_flags_of_its_components() {
        let mut part = vals(&["20090402"]);
        part.flag = Flag::Incomplete;
        let v = time_difference(
            "oval:t:var:1",
            DateTimeFormat::YearMonthDay,
            DateTimeFormat::YearMonthDay,
            &[part, vals(&["20090401"])],
            Timestamp::UNIX_EPOCH,
        );
        assert_eq!(v.flag, Flag::Incomplete);
        assert_eq!(v.values, ["86400"]);
    }

    #[test]
    fn time_difference_of_a_bad_value_is_an_error_naming_variable_and_value() {
        let bad = [
            (DateTimeFormat::YearMonthDay, "2009-02-30"),
            (DateTimeFormat::YearMonthDay, "2009/04-02"),
            (DateTimeFormat::YearMonthDay, "2009-04-02 25:00:00"),
            (DateTimeFormat::YearMonthDay, "20090402T1345"),
            (DateTimeFormat::YearMonthDay, "04/02/2009"),
            (DateTimeFormat::MonthDayYear, "Aprill, 02 2009"),
            (DateTimeFormat::MonthDayYear, "April 02 2009"),
            (DateTimeFormat::MonthDayYear, "04/02/2009 13:45:30 extra"),
            (DateTimeFormat::DayMonthYear, "2009-04-02"),
            (DateTimeFormat::WinFiletime, "-1"),
            (DateTimeFormat::WinFiletime, "0x01C9B3A6"),
            (DateTimeFormat::SecondsSinceEpoch, "1.5"),
            (DateTimeFormat::SecondsSinceEpoch, "99999999999999999"),
            (DateTimeFormat::CimDatetime, "20090402134530.000000*000"),
            (DateTimeFormat::CimDatetime, "20090402134530"),
            (DateTimeFormat::CimDatetime, "2009040213453é.000000+000"),
            (DateTimeFormat::CimDatetime, ""),
        ];
        for (format, value) in bad {
            let v = time_difference(
                "oval:t:var:7",
                DateTimeFormat::YearMonthDay,
                format,
                &[vals(&["20090402"]), vals(&[value])],
                Timestamp::UNIX_EPOCH,
            );
            assert_eq!(v.flag, Flag::Error, "{format} `{value}`");
            assert!(v.values.is_empty());
            let message = v.message.unwrap();
            assert!(message.contains("`oval:t:var:7`"), "{message}");
            assert!(message.contains(&format!("`{value}`")), "{message}");
            assert!(message.contains(format.as_str()), "{message}");
        }
    }

    #[test]
    fn time_difference_needs_one_or_two_components() {
        let v = time_difference(
            "oval:t:var:1",
            DateTimeFormat::YearMonthDay,
            DateTimeFormat::YearMonthDay,
            &[],
            Timestamp::UNIX_EPOCH,
        );
        assert_eq!(v.flag, Flag::Error);
        assert!(v.message.unwrap().contains("one or two components"));
    }

    #[test]
    fn begin_end_escape() {
        assert_eq!(begin("/", vals(&["etc", "/usr"])).values, ["/etc", "/usr"]);
        assert_eq!(end("/", vals(&["etc"])).values, ["etc/"]);
        assert_eq!(escape_regex(vals(&["a.b*"])).values, ["a\\.b\\*"]);
    }
}
