//! OVAL entity comparison: one collected value against one expected value under a datatype and
//! an operation (OVAL 5.11.2, "Datatypes" and "Operations").
//!
//! The operations each datatype allows follow the specification's table; any other pair is
//! [`CompareError::Unsupported`]. Where the specification leaves room, the behaviour of OpenSCAP
//! 1.3.7 is taken:
//!
//! * `int` is parsed like `strtoimax(s, &end, 10)` with the whole string consumed: leading
//!   whitespace and a sign are accepted, trailing characters, an empty string and overflow are
//!   errors (`"1  "` is an error, `" +05"` is 5).
//! * `boolean` is true for `true` and `1` and false for anything else (case matters).
//! * `float` values equal within a relative error of 1e-9.
//! * `case insensitive` string operations fold ASCII letters only (`strcasecmp`).
//! * `pattern match` uses PCRE with no options besides UTF (no multiline), as state comparisons
//!   do in OpenSCAP.
//! * `evr_string` uses the RPM algorithm even on dpkg versions, as SSG's Debian and Ubuntu
//!   content expects; `debian_evr_string` uses the dpkg algorithm.
//! * `ios_version` and `fileset_revision`, which OpenSCAP does not evaluate, are compared like
//!   `version`.

use std::cmp::Ordering;
use std::net::{Ipv4Addr, Ipv6Addr};

use ato_content::oval::{Datatype, Operation};

use crate::pcre::{Flags, RegexCache, RegexError};

/// Why a comparison has no true or false answer (OVAL result `error`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CompareError {
    #[error("operation `{operation}` is not defined for datatype `{datatype}`")]
    Unsupported {
        datatype: Datatype,
        operation: Operation,
    },
    #[error("`{value}` is not a valid {datatype} value: {reason}")]
    Invalid {
        datatype: Datatype,
        value: String,
        reason: String,
    },
    #[error(transparent)]
    Regex(#[from] RegexError),
}

/// Compares the collected `actual` value with `expected` (from a state, an object entity or a
/// variable). Ordering operations read as `actual <op> expected`; for `pattern match`,
/// `expected` is the pattern.
pub fn compare(
    datatype: Datatype,
    operation: Operation,
    actual: &str,
    expected: &str,
    regexes: &RegexCache,
) -> Result<bool, CompareError> {
    use Operation as Op;

    if !allowed(datatype, operation) {
        return Err(CompareError::Unsupported {
            datatype,
            operation,
        });
    }

    // `ordered` answers every operation `allowed` lets through for the ordered datatypes.
    let by_order = |ord: Ordering| Ok(ordered(operation, ord).unwrap_or(false));
    match datatype {
        Datatype::String => Ok(match operation {
            Op::Equals => actual == expected,
            Op::NotEqual => actual != expected,
            Op::CaseInsensitiveEquals => actual.eq_ignore_ascii_case(expected),
            Op::CaseInsensitiveNotEqual => !actual.eq_ignore_ascii_case(expected),
            _ => regexes.get(expected, Flags::default())?.is_match(actual)?,
        }),

        Datatype::Int => {
            let a = parse_int(actual)?;
            let e = parse_int(expected)?;
            match operation {
                Op::BitwiseAnd => Ok(a & e == e),
                Op::BitwiseOr => Ok(a | e == e),
                _ => by_order(a.cmp(&e)),
            }
        }

        Datatype::Boolean => {
            let truth = |s: &str| s == "true" || s == "1";
            by_order(truth(actual).cmp(&truth(expected)))
        }

        Datatype::Float => by_order(float_cmp(parse_float(actual)?, parse_float(expected)?)),

        Datatype::EvrString => by_order(rpm_evr_cmp(actual, expected)),

        Datatype::DebianEvrString => by_order(parse_debian(actual)?.cmp(&parse_debian(expected)?)),

        Datatype::Version | Datatype::IosVersion | Datatype::Fileset => {
            let a = parse_version(datatype, actual)?;
            let e = parse_version(datatype, expected)?;
            by_order(version_cmp(&a, &e))
        }

        Datatype::Binary => {
            let same = parse_binary(actual)?.eq_ignore_ascii_case(parse_binary(expected)?);
            Ok(if operation == Op::Equals { same } else { !same })
        }

        Datatype::Ipv4Address | Datatype::Ipv6Address => {
            let v6 = datatype == Datatype::Ipv6Address;
            let a = Net::parse(datatype, actual, v6)?;
            let e = Net::parse(datatype, expected, v6)?;
            match operation {
                Op::Equals => Ok(a == e),
                Op::NotEqual => Ok(a != e),
                Op::SubsetOf => Ok(a.within(&e)),
                Op::SupersetOf => Ok(e.within(&a)),
                _ => by_order(a.addr.cmp(&e.addr)),
            }
        }

        // `allowed` rejects every operation on a record.
        Datatype::Record => Err(CompareError::Unsupported {
            datatype,
            operation,
        }),
    }
}

/// Whether the OVAL 5.11.2 operations table allows `operation` on `datatype`.
pub fn allowed(datatype: Datatype, operation: Operation) -> bool {
    use Operation as Op;

    let equality = matches!(operation, Op::Equals | Op::NotEqual);
    let ordering = equality
        || matches!(
            operation,
            Op::GreaterThan | Op::GreaterThanOrEqual | Op::LessThan | Op::LessThanOrEqual
        );
    match datatype {
        Datatype::String => {
            equality
                || matches!(
                    operation,
                    Op::CaseInsensitiveEquals | Op::CaseInsensitiveNotEqual | Op::PatternMatch
                )
        }
        Datatype::Int => ordering || matches!(operation, Op::BitwiseAnd | Op::BitwiseOr),
        Datatype::Boolean | Datatype::Binary => equality,
        Datatype::Float
        | Datatype::EvrString
        | Datatype::DebianEvrString
        | Datatype::Version
        | Datatype::IosVersion
        | Datatype::Fileset => ordering,
        Datatype::Ipv4Address | Datatype::Ipv6Address => {
            ordering || matches!(operation, Op::SubsetOf | Op::SupersetOf)
        }
        // The spec allows `equals` on records, compared field by field by the caller.
        Datatype::Record => false,
    }
}

/// The answer of an equality or ordering operation given `actual.cmp(expected)`; `None` for
/// any other operation.
fn ordered(operation: Operation, ord: Ordering) -> Option<bool> {
    Some(match operation {
        Operation::Equals => ord == Ordering::Equal,
        Operation::NotEqual => ord != Ordering::Equal,
        Operation::GreaterThan => ord == Ordering::Greater,
        Operation::GreaterThanOrEqual => ord != Ordering::Less,
        Operation::LessThan => ord == Ordering::Less,
        Operation::LessThanOrEqual => ord != Ordering::Greater,
        _ => return None,
    })
}

fn invalid(datatype: Datatype, value: &str, reason: impl Into<String>) -> CompareError {
    CompareError::Invalid {
        datatype,
        value: value.to_owned(),
        reason: reason.into(),
    }
}

/// C's `isspace` in the "C" locale.
fn is_c_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0B' | '\x0C' | '\r')
}

/// A decimal integer as `strtoimax(s, &end, 10)` reads it, with nothing left over.
pub fn parse_int(value: &str) -> Result<i64, CompareError> {
    let s = value.trim_start_matches(is_c_space);
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        let reason = if digits.is_empty() {
            "no digits"
        } else {
            "not a decimal integer"
        };
        return Err(invalid(Datatype::Int, value, reason));
    }
    // `i64::from_str` takes the same sign-and-digits form.
    s.parse::<i64>()
        .map_err(|_| invalid(Datatype::Int, value, "out of the 64-bit range"))
}

/// A floating-point number as `strtod` with the whole string consumed (decimal forms, `inf`,
/// `nan`; hexadecimal floats are not accepted).
fn parse_float(value: &str) -> Result<f64, CompareError> {
    let s = value.trim_start_matches(is_c_space);
    s.parse::<f64>()
        .map_err(|_| invalid(Datatype::Float, value, "not a floating-point number"))
}

/// Equal within a relative error of 1e-9, else by value (NaN compares unequal and unordered,
/// reported as greater).
fn float_cmp(a: f64, b: f64) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let scale = a.abs().max(b.abs());
    if ((a - b) / scale).abs() <= 1e-9 {
        return Ordering::Equal;
    }
    a.partial_cmp(&b).unwrap_or(Ordering::Greater)
}

/// RPM `epoch:version-release` comparison. The epoch is the leading digits before a `:`
/// (missing or empty = 0); the release follows the last `-` (missing = empty).
fn rpm_evr_cmp(a: &str, b: &str) -> Ordering {
    let split = |s: &str| -> (String, String, String) {
        let digits = s.bytes().take_while(u8::is_ascii_digit).count();
        let (epoch, rest) = if s[digits..].starts_with(':') {
            (
                if digits == 0 { "0" } else { &s[..digits] },
                &s[digits + 1..],
            )
        } else {
            ("0", s)
        };
        let (version, release) = rest.rsplit_once('-').unwrap_or((rest, ""));
        (epoch.to_owned(), version.to_owned(), release.to_owned())
    };
    let (ea, va, ra) = split(a);
    let (eb, vb, rb) = split(b);
    let a = rpm_version::Evr::new(ea, va, ra);
    let b = rpm_version::Evr::new(eb, vb, rb);
    a.cmp(&b)
}

fn parse_debian(value: &str) -> Result<debversion::Version, CompareError> {
    value.parse().map_err(|e: debversion::ParseError| {
        invalid(Datatype::DebianEvrString, value, e.to_string())
    })
}

/// A version as its alphanumeric components (separated by any other characters).
fn parse_version(datatype: Datatype, value: &str) -> Result<Vec<&str>, CompareError> {
    let parts: Vec<&str> = value
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
        .collect();
    if parts.is_empty() {
        return Err(invalid(datatype, value, "no version components"));
    }
    Ok(parts)
}

/// Component by component: numerically when both are digits, else as text; a missing component
/// counts as 0.
fn version_cmp(a: &[&str], b: &[&str]) -> Ordering {
    let n = a.len().max(b.len());
    for i in 0..n {
        let x = a.get(i).copied().unwrap_or("0");
        let y = b.get(i).copied().unwrap_or("0");
        let numeric = |s: &str| s.bytes().all(|c| c.is_ascii_digit());
        let ord = if numeric(x) && numeric(y) {
            let x = x.trim_start_matches('0');
            let y = y.trim_start_matches('0');
            x.len().cmp(&y.len()).then_with(|| x.cmp(y))
        } else {
            x.cmp(y)
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

/// `xsd:hexBinary`: an even number of hex digits.
fn parse_binary(value: &str) -> Result<&str, CompareError> {
    if value.len() % 2 == 1 || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invalid(
            Datatype::Binary,
            value,
            "not an even number of hex digits",
        ));
    }
    Ok(value)
}

/// An address with its prefix length; the address is kept masked to the prefix.
#[derive(Debug, PartialEq, Eq)]
struct Net {
    addr: u128,
    prefix: u32,
    bits: u32,
}

impl Net {
    fn parse(datatype: Datatype, value: &str, v6: bool) -> Result<Net, CompareError> {
        let bits = if v6 { 128 } else { 32 };
        let (addr, prefix) = match value.split_once('/') {
            Some((a, p)) => {
                let p: u32 = p
                    .parse()
                    .ok()
                    .filter(|&p| p <= bits)
                    .ok_or_else(|| invalid(datatype, value, "invalid prefix length"))?;
                (a, p)
            }
            None => (value, bits),
        };
        let addr = if v6 {
            addr.parse::<Ipv6Addr>().map(u128::from)
        } else {
            addr.parse::<Ipv4Addr>().map(|a| u128::from(u32::from(a)))
        }
        .map_err(|e| invalid(datatype, value, e.to_string()))?;
        Ok(Net {
            addr: addr & mask(prefix, bits),
            prefix,
            bits,
        })
    }

    /// Every address of `self` is in `other`.
    fn within(&self, other: &Net) -> bool {
        self.prefix >= other.prefix && self.addr & mask(other.prefix, self.bits) == other.addr
    }
}

/// The network mask of a prefix length in an address of `bits` bits.
fn mask(prefix: u32, bits: u32) -> u128 {
    let all = if bits == 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    };
    if prefix == 0 {
        0
    } else {
        all & !((1u128 << (bits - prefix)) - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Operation as Op;

    fn cmp(dt: Datatype, op: Op, actual: &str, expected: &str) -> Result<bool, CompareError> {
        compare(dt, op, actual, expected, &RegexCache::new())
    }

    /// Rows of (operation, actual, expected, result).
    fn table(dt: Datatype, rows: &[(Op, &str, &str, bool)]) {
        for &(op, a, e, want) in rows {
            assert_eq!(cmp(dt, op, a, e), Ok(want), "{dt} {op}: {a:?} vs {e:?}");
        }
    }

    fn unsupported(dt: Datatype, ops: &[Op]) {
        for &op in ops {
            let err = cmp(dt, op, "1", "1").unwrap_err();
            assert_eq!(
                err,
                CompareError::Unsupported {
                    datatype: dt,
                    operation: op
                }
            );
        }
    }

    fn invalid_values(dt: Datatype, op: Op, values: &[&str]) {
        for v in values {
            let err = cmp(dt, op, v, v).unwrap_err();
            assert!(
                matches!(err, CompareError::Invalid { .. }),
                "{dt} {v:?}: {err:?}"
            );
        }
    }

    #[test]
    fn string() {
        table(
            Datatype::String,
            &[
                (Op::Equals, "abc", "abc", true),
                (Op::Equals, "abc", "ABC", false),
                (Op::NotEqual, "abc", "abd", true),
                (Op::CaseInsensitiveEquals, "Yes", "yES", true),
                (Op::CaseInsensitiveEquals, "É", "é", false),
                (Op::CaseInsensitiveNotEqual, "Yes", "no", true),
                (
                    Op::PatternMatch,
                    "PermitRootLogin no\n",
                    "^PermitRootLogin no$",
                    true,
                ),
                (Op::PatternMatch, "a\nb", "^b", false),
                (Op::PatternMatch, "x", "", true),
            ],
        );
        unsupported(
            Datatype::String,
            &[Op::GreaterThan, Op::BitwiseAnd, Op::SubsetOf],
        );
        let err = cmp(Datatype::String, Op::PatternMatch, "x", "(").unwrap_err();
        assert!(matches!(
            err,
            CompareError::Regex(RegexError::Compile { .. })
        ));
    }

    #[test]
    fn int() {
        table(
            Datatype::Int,
            &[
                (Op::Equals, "5", "5", true),
                (Op::Equals, "+5", "5", true),
                (Op::Equals, " 005", "5", true),
                (Op::Equals, "-0", "0", true),
                (Op::NotEqual, "5", "6", true),
                (Op::GreaterThan, "6", "5", true),
                (Op::GreaterThan, "5", "5", false),
                (Op::GreaterThanOrEqual, "5", "5", true),
                (Op::LessThan, "-1", "0", true),
                (Op::LessThanOrEqual, "1", "0", false),
                (Op::BitwiseAnd, "6", "4", true),
                (Op::BitwiseAnd, "2", "4", false),
                (Op::BitwiseOr, "4", "6", true),
                (Op::BitwiseOr, "8", "6", false),
                (
                    Op::Equals,
                    "9223372036854775807",
                    "9223372036854775807",
                    true,
                ),
            ],
        );
        unsupported(
            Datatype::Int,
            &[Op::PatternMatch, Op::CaseInsensitiveEquals, Op::SubsetOf],
        );
        invalid_values(
            Datatype::Int,
            Op::Equals,
            &[
                "1  ",
                "",
                " ",
                "+",
                "0x10",
                "1.0",
                "abc",
                "9223372036854775808",
            ],
        );
    }

    #[test]
    fn boolean() {
        table(
            Datatype::Boolean,
            &[
                (Op::Equals, "true", "1", true),
                (Op::Equals, "false", "0", true),
                (Op::Equals, "TRUE", "true", false),
                (Op::NotEqual, "1", "false", true),
                (Op::NotEqual, "0", "false", false),
            ],
        );
        unsupported(
            Datatype::Boolean,
            &[Op::GreaterThan, Op::PatternMatch, Op::BitwiseAnd],
        );
    }

    #[test]
    fn float() {
        table(
            Datatype::Float,
            &[
                (Op::Equals, "1.0", "1", true),
                (Op::Equals, "1e3", "1000.0000000001", true),
                (Op::NotEqual, "1.5", "1.25", true),
                (Op::GreaterThan, "1.5", "1.25", true),
                (Op::GreaterThanOrEqual, "-2", "-2.0", true),
                (Op::LessThan, "-2", "2", true),
                (Op::LessThanOrEqual, "3", "2", false),
            ],
        );
        unsupported(Datatype::Float, &[Op::BitwiseAnd, Op::PatternMatch]);
        invalid_values(Datatype::Float, Op::Equals, &["", "1.0 ", "one"]);
    }

    #[test]
    fn evr_string() {
        table(
            Datatype::EvrString,
            &[
                (Op::Equals, "0:1.2-3", "1.2-3", true),
                (Op::Equals, ":1.2-3", "0:1.2-3", true),
                (Op::NotEqual, "1:1.2-3", "1.2-3", true),
                (Op::GreaterThan, "1:1.0-1", "0:9.9-9", true),
                (Op::LessThan, "1.2~rc1", "1.2", true),
                (Op::LessThan, "0:1.2~rc1-1", "0:1.2-1", true),
                (Op::GreaterThan, "1.10-1", "1.9-1", true),
                (
                    Op::GreaterThanOrEqual,
                    "2.34-0ubuntu3.2",
                    "2.34-0ubuntu3",
                    true,
                ),
                (Op::LessThan, "1.2", "1.2-1", true),
                (Op::Equals, "1.2-3-4", "1.2-3-4", true),
                (Op::LessThan, "1.2-3-4", "1.2-3-5", true),
                (
                    Op::LessThanOrEqual,
                    "1:9.8p1-3+deb11u1",
                    "1:9.8p1-3+deb11u1",
                    true,
                ),
                // RPM rules on a dpkg version: `+` is only a separator.
                (Op::Equals, "1.2+b1", "1.2.b1", true),
            ],
        );
        unsupported(Datatype::EvrString, &[Op::PatternMatch, Op::BitwiseAnd]);
    }

    #[test]
    fn debian_evr_string() {
        table(
            Datatype::DebianEvrString,
            &[
                (Op::Equals, "0:1.2-3", "1.2-3", true),
                (Op::LessThan, "1.2~rc1", "1.2", true),
                (Op::LessThan, "1.2", "1.2+b1", true),
                (Op::GreaterThan, "1:0.1", "2.0", true),
                (
                    Op::GreaterThanOrEqual,
                    "2.34-0ubuntu3.2",
                    "2.34-0ubuntu3",
                    true,
                ),
                (Op::NotEqual, "1.0-1", "1.0-2", true),
                (Op::LessThanOrEqual, "1.0a", "1.0", false),
            ],
        );
        unsupported(Datatype::DebianEvrString, &[Op::PatternMatch, Op::SubsetOf]);
        invalid_values(Datatype::DebianEvrString, Op::Equals, &["", "1 .0", "ä"]);
    }

    #[test]
    fn version() {
        for dt in [Datatype::Version, Datatype::IosVersion, Datatype::Fileset] {
            table(
                dt,
                &[
                    (Op::Equals, "1.2", "1.2.0", true),
                    (Op::Equals, "1.02", "1.2", true),
                    (Op::NotEqual, "1.2", "1.3", true),
                    (Op::GreaterThan, "1.10", "1.9", true),
                    (Op::GreaterThanOrEqual, "5.4", "5.4.0.0", true),
                    (Op::LessThan, "2-1", "2.2", true),
                    (Op::LessThanOrEqual, "3.0", "2.99", false),
                    (Op::GreaterThan, "12.2(33)SXH", "12.2(33)SXA", true),
                ],
            );
            unsupported(dt, &[Op::PatternMatch, Op::BitwiseOr]);
            invalid_values(dt, Op::Equals, &["", "..."]);
        }
    }

    #[test]
    fn binary() {
        table(
            Datatype::Binary,
            &[
                (Op::Equals, "0aFF", "0AFF", true),
                (Op::Equals, "", "", true),
                (Op::NotEqual, "00", "01", true),
            ],
        );
        unsupported(Datatype::Binary, &[Op::GreaterThan, Op::PatternMatch]);
        invalid_values(Datatype::Binary, Op::Equals, &["abc", "zz", "0x00"]);
    }

    #[test]
    fn ipv4_address() {
        table(
            Datatype::Ipv4Address,
            &[
                (Op::Equals, "10.0.0.1", "10.0.0.1/32", true),
                (Op::Equals, "10.0.0.1/8", "10.1.2.3/8", true),
                (Op::Equals, "10.0.0.1/8", "10.0.0.1/16", false),
                (Op::NotEqual, "10.0.0.1", "10.0.0.2", true),
                (Op::GreaterThan, "10.0.0.10", "10.0.0.9", true),
                (Op::LessThanOrEqual, "9.255.255.255", "10.0.0.0", true),
                (Op::SubsetOf, "192.168.1.0/24", "192.168.0.0/16", true),
                (Op::SubsetOf, "192.168.0.0/16", "192.168.1.0/24", false),
                (Op::SupersetOf, "0.0.0.0/0", "8.8.8.8", true),
                (Op::SubsetOf, "10.0.0.1", "10.0.0.1", true),
            ],
        );
        unsupported(Datatype::Ipv4Address, &[Op::PatternMatch, Op::BitwiseAnd]);
        invalid_values(
            Datatype::Ipv4Address,
            Op::Equals,
            &["10.0.0", "10.0.0.1/33", "::1"],
        );
    }

    #[test]
    fn ipv6_address() {
        table(
            Datatype::Ipv6Address,
            &[
                (Op::Equals, "::1", "0:0:0:0:0:0:0:1", true),
                (Op::Equals, "fe80::1/64", "FE80::2/64", true),
                (Op::NotEqual, "fe80::1", "fe80::2", true),
                (Op::LessThan, "fe80::1", "fe80::2", true),
                (Op::SubsetOf, "2001:db8:1::/48", "2001:db8::/32", true),
                (Op::SupersetOf, "::/0", "::1", true),
                (Op::SupersetOf, "2001:db8::/33", "2001:db8::/32", false),
            ],
        );
        unsupported(Datatype::Ipv6Address, &[Op::CaseInsensitiveEquals]);
        invalid_values(
            Datatype::Ipv6Address,
            Op::Equals,
            &["10.0.0.1", "::1/129", "g::"],
        );
    }

    #[test]
    fn record_is_unsupported() {
        unsupported(Datatype::Record, &[Op::Equals]);
    }

    #[test]
    fn errors_read_well() {
        let err = cmp(Datatype::Int, Op::Equals, "1  ", "1").unwrap_err();
        assert_eq!(
            err.to_string(),
            "`1  ` is not a valid int value: not a decimal integer"
        );
        let err = cmp(Datatype::Int, Op::PatternMatch, "1", "1").unwrap_err();
        assert_eq!(
            err.to_string(),
            "operation `pattern match` is not defined for datatype `int`"
        );
    }
}
