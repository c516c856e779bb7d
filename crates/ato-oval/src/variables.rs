//! Variable values and the local-variable functions of OVAL 5.11 (section "Variable
//! evaluation"): each value set carries a collection flag, and functions combine the flags of
//! their components the way objects combine theirs.

use ato_content::oval::{ArithmeticOperation, Datatype};

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

    #[test]
    fn begin_end_escape() {
        assert_eq!(begin("/", vals(&["etc", "/usr"])).values, ["/etc", "/usr"]);
        assert_eq!(end("/", vals(&["etc"])).values, ["etc/"]);
        assert_eq!(escape_regex(vals(&["a.b*"])).values, ["a\\.b\\*"]);
    }
}
