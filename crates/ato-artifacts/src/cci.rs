//! The DISA CCI list, built into the binary: CCI -> NIST SP 800-53 revision 5 and revision 4
//! references.
//!
//! `data/cci-nist.tsv` is generated from `shared/data/cci/disa-cci-list.xml` (DISA's
//! `U_CCI_List.xml` of 2025-01-23) and committed: one line per CCI with its status and its
//! rev 5 and rev 4 `@index` values. It is about 150 KB against 3.2 MB of XML, since the
//! definitions and the 800-53A and rev 3 references are left out, and it needs no XML parsing
//! at run time. The test `cci_table_is_generated_from_the_disa_list` regenerates it with
//! `ATO_UPDATE_CCI=1` and otherwise checks that it matches the XML.

use std::collections::HashMap;
use std::sync::OnceLock;

const TABLE: &str = include_str!("../data/cci-nist.tsv");

/// One CCI's NIST SP 800-53 references, as DISA writes them (`AC-2 (1)`, `CM-6 b`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CciEntry {
    pub deprecated: bool,
    pub rev5: Vec<&'static str>,
    pub rev4: Vec<&'static str>,
}

/// The version (`metadata/version`) of the built-in CCI list.
pub fn list_version() -> &'static str {
    TABLE
        .lines()
        .find_map(|l| l.strip_prefix("# version: "))
        .unwrap_or("unknown")
}

/// The entry of `cci` (`CCI-000366`), if the list has it.
pub fn lookup(cci: &str) -> Option<&'static CciEntry> {
    static MAP: OnceLock<HashMap<&'static str, CciEntry>> = OnceLock::new();
    MAP.get_or_init(|| parse_table(TABLE)).get(cci.trim())
}

fn parse_table(table: &'static str) -> HashMap<&'static str, CciEntry> {
    let split = |s: &'static str| -> Vec<&'static str> {
        s.split(';')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .collect()
    };
    table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let mut f = l.split('\t');
            let id = f.next()?;
            let status = f.next().unwrap_or("");
            let entry = CciEntry {
                deprecated: status == "deprecated",
                rev5: split(f.next().unwrap_or("")),
                rev4: split(f.next().unwrap_or("")),
            };
            Some((id, entry))
        })
        .collect()
}

/// The control or enhancement a DISA index or SSG reference names: `AC-2 (1) (a)` and
/// `AC-2(1)(a)` are `AC-2(1)`, `CM-6 b` and `CM-6(b)` are `CM-6`, `AC-1.1 (i)` is `AC-1`.
/// `None` when the text does not start with a control id.
pub fn control_id(index: &str) -> Option<String> {
    let s = index.trim();
    let family: String = s.chars().take_while(char::is_ascii_uppercase).collect();
    if family.len() != 2 {
        return None;
    }
    let rest = s[2..].strip_prefix('-')?;
    let number: String = rest.chars().take_while(char::is_ascii_digit).collect();
    if number.is_empty() {
        return None;
    }
    let number = number.trim_start_matches('0');
    let mut id = format!("{family}-{}", if number.is_empty() { "0" } else { number });
    let after = rest[rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len())..]
        .trim_start();
    if let Some(inner) = after.strip_prefix('(') {
        let enh: String = inner.chars().take_while(char::is_ascii_digit).collect();
        if !enh.is_empty() && inner[enh.len()..].starts_with(')') {
            let enh = enh.trim_start_matches('0');
            id.push_str(&format!("({enh})"));
        }
    }
    Some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_ids_from_disa_and_ssg_forms() {
        assert_eq!(control_id("AC-2 (1) (a)").as_deref(), Some("AC-2(1)"));
        assert_eq!(control_id("AC-2(1)(a)").as_deref(), Some("AC-2(1)"));
        assert_eq!(control_id("CM-6 b").as_deref(), Some("CM-6"));
        assert_eq!(control_id("CM-6(a)").as_deref(), Some("CM-6"));
        assert_eq!(control_id("AC-1.1 (i)").as_deref(), Some("AC-1"));
        assert_eq!(control_id("AC-02(01)").as_deref(), Some("AC-2(1)"));
        assert_eq!(control_id("IA-10").as_deref(), Some("IA-10"));
        assert_eq!(control_id("5.1"), None);
    }

    #[test]
    fn the_built_in_list_maps_cci_000366_to_cm_6() {
        let e = lookup("CCI-000366").unwrap();
        assert_eq!(e.rev5, ["CM-6 b"]);
        assert!(list_version().starts_with("20"));
    }
}
