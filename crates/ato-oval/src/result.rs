//! OVAL results and the specification's tables for combining them: operators (AND, ONE, OR,
//! XOR) for criteria and states, checks (all, at least one, none satisfy, only one) for items
//! and values, and existence checks over item statuses.

use ato_content::oval::{Check, Existence, Operator};

/// `oval-res:ResultEnumeration`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OvalResult {
    True,
    False,
    Unknown,
    Error,
    NotEvaluated,
    NotApplicable,
}

impl OvalResult {
    pub fn as_str(self) -> &'static str {
        match self {
            OvalResult::True => "true",
            OvalResult::False => "false",
            OvalResult::Unknown => "unknown",
            OvalResult::Error => "error",
            OvalResult::NotEvaluated => "not evaluated",
            OvalResult::NotApplicable => "not applicable",
        }
    }

    pub fn from_bool(b: bool) -> OvalResult {
        if b {
            OvalResult::True
        } else {
            OvalResult::False
        }
    }

    /// `negate="true"`: true and false swap, the rest stay.
    pub fn negate(self, negate: bool) -> OvalResult {
        match (negate, self) {
            (true, OvalResult::True) => OvalResult::False,
            (true, OvalResult::False) => OvalResult::True,
            (_, r) => r,
        }
    }
}

/// How many of each result a combination saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub t: usize,
    pub f: usize,
    pub error: usize,
    pub unknown: usize,
    pub not_evaluated: usize,
    pub not_applicable: usize,
}

impl Tally {
    pub fn add(&mut self, r: OvalResult) {
        match r {
            OvalResult::True => self.t += 1,
            OvalResult::False => self.f += 1,
            OvalResult::Error => self.error += 1,
            OvalResult::Unknown => self.unknown += 1,
            OvalResult::NotEvaluated => self.not_evaluated += 1,
            OvalResult::NotApplicable => self.not_applicable += 1,
        }
    }

    pub fn of(results: impl IntoIterator<Item = OvalResult>) -> Tally {
        let mut t = Tally::default();
        for r in results {
            t.add(r);
        }
        t
    }

    fn is_empty(&self) -> bool {
        *self == Tally::default()
    }

    fn only_not_applicable(&self) -> bool {
        self.not_applicable > 0
            && self.t + self.f + self.error + self.unknown + self.not_evaluated == 0
    }

    /// The first of error, unknown, not evaluated that occurs, for the rows of the tables
    /// that neither true nor false decide.
    fn undecided(&self) -> OvalResult {
        if self.error > 0 {
            OvalResult::Error
        } else if self.unknown > 0 {
            OvalResult::Unknown
        } else if self.not_evaluated > 0 {
            OvalResult::NotEvaluated
        } else {
            OvalResult::Error
        }
    }

    fn settled(&self) -> bool {
        self.error + self.unknown + self.not_evaluated == 0
    }

    /// Combines with an operator (criteria, state entities, states of a test).
    pub fn by_operator(&self, op: Operator) -> OvalResult {
        if self.is_empty() {
            return OvalResult::Unknown;
        }
        if self.only_not_applicable() {
            return OvalResult::NotApplicable;
        }
        match op {
            Operator::And => {
                if self.f > 0 {
                    OvalResult::False
                } else if self.t > 0 && self.settled() {
                    OvalResult::True
                } else {
                    self.undecided()
                }
            }
            Operator::Or => {
                if self.t > 0 {
                    OvalResult::True
                } else if self.f > 0 && self.settled() {
                    OvalResult::False
                } else {
                    self.undecided()
                }
            }
            Operator::One => {
                if self.t >= 2 {
                    OvalResult::False
                } else if self.settled() {
                    OvalResult::from_bool(self.t == 1)
                } else {
                    self.undecided()
                }
            }
            Operator::Xor => {
                if self.settled() {
                    OvalResult::from_bool(self.t % 2 == 1)
                } else {
                    self.undecided()
                }
            }
        }
    }

    /// Combines with a check (items of a test, values of a variable, fields of an item).
    pub fn by_check(&self, check: Check) -> OvalResult {
        if self.is_empty() {
            return OvalResult::Unknown;
        }
        if self.only_not_applicable() {
            return OvalResult::NotApplicable;
        }
        match check {
            Check::All => self.by_operator(Operator::And),
            Check::AtLeastOne => self.by_operator(Operator::Or),
            Check::NoneSatisfy | Check::NoneExist => {
                if self.t > 0 {
                    OvalResult::False
                } else if self.settled() && self.f > 0 {
                    OvalResult::True
                } else {
                    self.undecided()
                }
            }
            Check::OnlyOne => {
                if self.t >= 2 {
                    OvalResult::False
                } else if self.settled() {
                    OvalResult::from_bool(self.t == 1)
                } else {
                    self.undecided()
                }
            }
        }
    }
}

/// A test's `check_existence` over the number of items that exist and that had errors.
pub fn existence(check: Existence, exists: usize, errors: usize) -> OvalResult {
    match check {
        Existence::AllExist | Existence::AtLeastOneExists => {
            if exists >= 1 && (errors == 0 || check == Existence::AtLeastOneExists) {
                OvalResult::True
            } else if errors == 0 {
                OvalResult::False
            } else {
                OvalResult::Error
            }
        }
        Existence::AnyExist => {
            if errors == 0 || exists >= 1 {
                OvalResult::True
            } else {
                OvalResult::Error
            }
        }
        Existence::NoneExist => {
            if exists >= 1 {
                OvalResult::False
            } else if errors == 0 {
                OvalResult::True
            } else {
                OvalResult::Error
            }
        }
        Existence::OnlyOneExists => {
            if exists >= 2 {
                OvalResult::False
            } else if errors > 0 {
                OvalResult::Error
            } else {
                OvalResult::from_bool(exists == 1)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use OvalResult::*;

    fn op(o: Operator, rs: &[OvalResult]) -> OvalResult {
        Tally::of(rs.iter().copied()).by_operator(o)
    }

    #[test]
    fn and_is_false_on_any_false_even_with_errors() {
        assert_eq!(op(Operator::And, &[True, Error, False]), False);
        assert_eq!(op(Operator::And, &[True, Error, Unknown]), Error);
        assert_eq!(op(Operator::And, &[True, NotApplicable]), True);
        assert_eq!(
            op(Operator::And, &[NotApplicable, NotApplicable]),
            NotApplicable
        );
        assert_eq!(op(Operator::And, &[]), Unknown);
    }

    #[test]
    fn or_one_xor_follow_the_tables() {
        assert_eq!(op(Operator::Or, &[False, Error, True]), True);
        assert_eq!(op(Operator::Or, &[False, Unknown]), Unknown);
        assert_eq!(op(Operator::Or, &[False, False]), False);
        assert_eq!(op(Operator::One, &[True, False]), True);
        assert_eq!(op(Operator::One, &[True, True, Error]), False);
        assert_eq!(op(Operator::One, &[True, Error]), Error);
        assert_eq!(op(Operator::One, &[False, False]), False);
        assert_eq!(op(Operator::Xor, &[True, True, True]), True);
        assert_eq!(op(Operator::Xor, &[True, True]), False);
        assert_eq!(op(Operator::Xor, &[True, NotEvaluated]), NotEvaluated);
    }

    #[test]
    fn checks_follow_the_tables() {
        let chk = |c, rs: &[OvalResult]| Tally::of(rs.iter().copied()).by_check(c);
        assert_eq!(chk(Check::NoneSatisfy, &[False, False]), True);
        assert_eq!(chk(Check::NoneSatisfy, &[False, True]), False);
        assert_eq!(chk(Check::NoneSatisfy, &[False, Error]), Error);
        assert_eq!(chk(Check::OnlyOne, &[False, True]), True);
        assert_eq!(chk(Check::OnlyOne, &[True, True]), False);
        assert_eq!(chk(Check::AtLeastOne, &[False, Unknown, True]), True);
        assert_eq!(chk(Check::All, &[True, True]), True);
    }

    #[test]
    fn existence_follows_the_table() {
        assert_eq!(existence(Existence::AllExist, 2, 0), True);
        assert_eq!(existence(Existence::AllExist, 2, 1), Error);
        assert_eq!(existence(Existence::AtLeastOneExists, 2, 1), True);
        assert_eq!(existence(Existence::AtLeastOneExists, 0, 0), False);
        assert_eq!(existence(Existence::AtLeastOneExists, 0, 1), Error);
        assert_eq!(existence(Existence::AnyExist, 0, 0), True);
        assert_eq!(existence(Existence::AnyExist, 0, 1), Error);
        assert_eq!(existence(Existence::NoneExist, 1, 1), False);
        assert_eq!(existence(Existence::NoneExist, 0, 1), Error);
        assert_eq!(existence(Existence::OnlyOneExists, 1, 0), True);
        assert_eq!(existence(Existence::OnlyOneExists, 0, 0), False);
        assert_eq!(existence(Existence::OnlyOneExists, 1, 1), Error);
    }
}
