//! Updating an existing checklist with a new scan, keeping what reviewers wrote.
//!
//! VULNs are matched within the iSTIG of the same `stigid` by Vuln_Num, then by STIG id
//! (Rule_Ver). For each matched VULN:
//! - COMMENTS, SEVERITY_OVERRIDE and SEVERITY_JUSTIFICATION are always the old ones;
//! - where the new scan decided the rule (NotAFinding, Open, Not_Applicable), its status
//!   replaces the old one, and its block of finding details replaces ato's old block, while any
//!   text a reviewer wrote outside that block stays;
//! - where it did not (Not_Reviewed: a manual check or an undecided one), the old status and
//!   finding details stay as they were.
//!
//! Old VULNs the new scan lacks, and old iSTIGs of other STIGs, stay unchanged; new VULNs are
//! added at the end. The old asset stays, with the fields the new scan or the command line
//! gives filled in where the old ones were empty. CKLB records keep their uuids and extra keys.

use crate::build::{DETAILS_END, DETAILS_START};
use crate::checklist::{Checklist, Status, Stig, Vuln};

/// Merges `new` (from a scan) into `old` (an existing checklist) and returns the result.
pub fn merge(old: &Checklist, new: &Checklist) -> Checklist {
    let mut out = old.clone();
    fill_asset(&mut out, new);
    for new_stig in &new.stigs {
        let id = new_stig.info("stigid");
        let pos = out
            .stigs
            .iter()
            .position(|s| s.info("stigid").is_some() && s.info("stigid") == id);
        match pos {
            Some(i) => merge_stig(&mut out.stigs[i], new_stig),
            None => out.stigs.push(new_stig.clone()),
        }
    }
    out
}

fn fill_asset(out: &mut Checklist, new: &Checklist) {
    let fields = new.asset.fields().map(|(n, v)| (n, v.clone()));
    for (name, value) in fields {
        let Some(value) = value.filter(|v| !v.is_empty()) else {
            continue;
        };
        if let Some(field) = out.asset.field_mut(name) {
            if field.as_deref().is_none_or(str::is_empty) {
                *field = Some(value);
            }
        }
    }
}

fn merge_stig(old: &mut Stig, new: &Stig) {
    for (name, value) in &new.info {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            if matches!(name.as_str(), "version" | "releaseinfo" | "title") {
                old.set_info(name, v);
            }
        }
    }
    for nv in &new.vulns {
        let found = old.vulns.iter().position(|ov| {
            (!nv.vuln_num().is_empty() && ov.vuln_num() == nv.vuln_num())
                || (!nv.stig_id().is_empty() && ov.stig_id() == nv.stig_id())
        });
        match found {
            Some(i) => {
                let merged = merge_vuln(&old.vulns[i], nv);
                old.vulns[i] = merged;
            }
            None => old.vulns.push(nv.clone()),
        }
    }
}

fn merge_vuln(old: &Vuln, new: &Vuln) -> Vuln {
    let mut v = old.clone();
    // Rule fields the old checklist left empty are taken from the new one; the others are
    // the old checklist's (its ids may be DISA's where the scan has only SSG's).
    for (name, value) in &new.data {
        if matches!(name.as_str(), "CCI_REF" | "LEGACY_ID") || value.is_empty() {
            continue;
        }
        if old.attr(name).is_none_or(str::is_empty) {
            v.set_attr(name, value);
        }
    }
    if new.status != Status::NotReviewed {
        v.status = new.status;
        let reviewer = reviewer_text(&old.finding_details);
        let scan = new.finding_details.trim();
        v.finding_details = match (reviewer.is_empty(), scan.is_empty()) {
            (true, _) => scan.to_string(),
            (false, true) => reviewer,
            (false, false) => format!("{reviewer}\n\n{scan}"),
        };
    }
    v
}

/// The finding details without ato's block: what a reviewer wrote.
pub fn reviewer_text(details: &str) -> String {
    let Some(start) = details.find(DETAILS_START) else {
        return details.trim().to_string();
    };
    let before = &details[..start];
    let after = details[start..]
        .find(DETAILS_END)
        .map(|e| &details[start + e + DETAILS_END.len()..])
        .unwrap_or("");
    let mut out = before.trim().to_string();
    let after = after.trim();
    if !after.is_empty() {
        if !out.is_empty() {
            out.push_str("\n\n");
        }
        out.push_str(after);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reviewer_text_is_what_lies_outside_the_block() {
        let d = format!("note\n\n{DETAILS_START} x ---\nRule r: pass\n{DETAILS_END}\nmore");
        assert_eq!(reviewer_text(&d), "note\n\nmore");
        assert_eq!(reviewer_text("just mine"), "just mine");
    }
}
