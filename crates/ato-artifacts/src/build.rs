//! A checklist from a scan's results.
//!
//! Rules are grouped by STIG id: a checklist has one VULN per STIG requirement, and several
//! SSG rules often check parts of one. A VULN is Open when any of its rules failed, Not_Reviewed
//! when none failed but one was not decided (a manual check, an error, a check ato does not
//! run), NotAFinding when the rest passed, and Not_Applicable when all were not applicable.
//! Rules without a STIG id get a VULN of their own, keyed by rule id.
//!
//! With a DISA STIG benchmark, the checklist is that benchmark's: every DISA rule in its order,
//! with DISA's ids and texts, and the result of the SSG rules that name its STIG id (or its
//! DISA rule id); DISA rules that no scanned rule covers stay Not_Reviewed with their check text.

use std::collections::HashMap;

use ato_content::xccdf::Rule;
use ato_xccdf::XccdfResult;

use crate::checklist::{Asset, Checklist, Status, Stig, Vuln};
use crate::controls::{map_rule, RuleControls};
use crate::results::{CheckInfo, RuleOutcome, ScanResults};
use crate::stig::{DisaRule, DisaStig};

/// The first and last lines of the block of FINDING_DETAILS that ato writes; a merge replaces
/// the block and keeps whatever a reviewer wrote around it.
pub const DETAILS_START: &str = "--- ato scan result";
pub const DETAILS_END: &str = "--- end of ato scan result ---";

/// Asset data given on the command line; each replaces what the scan says.
#[derive(Debug, Clone, Default)]
pub struct AssetInput {
    pub host_name: Option<String>,
    pub ip: Option<String>,
    pub mac: Option<String>,
    pub fqdn: Option<String>,
    pub role: Option<String>,
    pub marking: Option<String>,
}

/// The status of a rule result in a checklist.
pub fn status_of(result: XccdfResult) -> Status {
    match result {
        XccdfResult::Pass | XccdfResult::Fixed => Status::NotAFinding,
        XccdfResult::Fail => Status::Open,
        XccdfResult::NotApplicable => Status::NotApplicable,
        _ => Status::NotReviewed,
    }
}

/// The combined status of the rules behind one VULN (see the module documentation).
fn combined(results: &[XccdfResult]) -> Status {
    let statuses: Vec<Status> = results.iter().map(|r| status_of(*r)).collect();
    if statuses.contains(&Status::Open) {
        Status::Open
    } else if statuses.is_empty() || statuses.contains(&Status::NotReviewed) {
        Status::NotReviewed
    } else if statuses.contains(&Status::NotAFinding) {
        Status::NotAFinding
    } else {
        Status::NotApplicable
    }
}

/// One scanned rule with what it maps to.
struct Scanned<'a> {
    outcome: &'a RuleOutcome,
    rule: &'a Rule,
    controls: RuleControls,
}

/// Builds the checklist of `results`, with DISA's own ids and texts when `stig` is given.
pub fn checklist(results: &ScanResults, stig: Option<&DisaStig>, input: &AssetInput) -> Checklist {
    let rules = results.benchmark.rules();
    let by_id: HashMap<&str, &Rule> = rules.iter().map(|r| (r.base.id.as_str(), *r)).collect();
    let scanned: Vec<Scanned<'_>> = results
        .test_result
        .rule_results
        .iter()
        .filter(|rr| rr.result != XccdfResult::NotSelected)
        .filter_map(|rr| {
            let rule = by_id.get(rr.rule_id.as_str())?;
            Some(Scanned {
                outcome: rr,
                rule,
                controls: map_rule(rule, &rr.idents),
            })
        })
        .collect();

    let mut istig = match stig {
        Some(s) => disa_stig(results, s, &scanned),
        None => ssg_stig(results, &scanned),
    };
    if let Some(s) = stig {
        istig.set_info("filename", &s.filename);
    }
    let target_key = stig
        .and_then(|s| s.rules.first())
        .map(|r| r.target_key.clone())
        .unwrap_or_default();
    Checklist {
        comments: Vec::new(),
        asset: asset(results, input, &target_key),
        stigs: vec![istig],
        json: None,
    }
}

fn asset(results: &ScanResults, input: &AssetInput, target_key: &str) -> Asset {
    let tr = &results.test_result;
    let host = tr
        .fact("urn:xccdf:fact:asset:identifier:host_name")
        .map(str::to_string)
        .unwrap_or_else(|| tr.target.clone());
    let ips: Vec<&str> = tr
        .target_addresses
        .iter()
        .map(String::as_str)
        .filter(|a| a.contains('.') || a.contains(':'))
        .filter(|a| !matches!(*a, "127.0.0.1" | "::1") && !a.starts_with("fe80"))
        .collect();
    let macs: Vec<&str> = tr
        .facts
        .iter()
        .filter(|(n, v)| n.ends_with(":MAC") && v != "00:00:00:00:00:00")
        .map(|(_, v)| v.as_str())
        .collect();
    let fqdn = tr
        .fact("urn:xccdf:fact:asset:identifier:fqdn")
        .unwrap_or("")
        .to_string();
    let pick = |given: &Option<String>, found: String| Some(given.clone().unwrap_or(found));
    Asset {
        role: pick(&input.role, "None".into()),
        asset_type: Some("Computing".into()),
        marking: input.marking.clone(),
        host_name: pick(&input.host_name, host),
        host_ip: pick(&input.ip, dedup_join(&ips)),
        host_mac: pick(&input.mac, dedup_join(&macs)),
        host_fqdn: pick(&input.fqdn, fqdn),
        target_comment: Some(String::new()),
        tech_area: Some("UNIX OS".into()),
        target_key: Some(target_key.to_string()),
        web_or_database: Some("false".into()),
        web_db_site: Some(String::new()),
        web_db_instance: Some(String::new()),
        ..Asset::default()
    }
}

fn dedup_join(items: &[&str]) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for i in items {
        if !seen.contains(i) {
            seen.push(i);
        }
    }
    seen.join(", ")
}

/// The iSTIG of the scanned benchmark itself, one VULN per STIG id.
fn ssg_stig(results: &ScanResults, scanned: &[Scanned<'_>]) -> Stig {
    let bench = &results.benchmark;
    let profile = results.test_result.profile.as_deref().unwrap_or("");
    let short_id = bench
        .id
        .strip_prefix("xccdf_org.ssgproject.content_benchmark_")
        .unwrap_or(&bench.id);
    let mut stig = Stig {
        info: vec![
            ("version".into(), Some(bench.version.clone())),
            ("classification".into(), Some("UNCLASSIFIED".into())),
            ("customname".into(), None),
            ("stigid".into(), Some(short_id.to_string())),
            ("description".into(), Some(one_line(&bench.title))),
            ("filename".into(), Some(file_name(results))),
            (
                "releaseinfo".into(),
                Some(format!(
                    "Benchmark version {}, profile {profile}, scanned {}",
                    bench.version, results.test_result.end_time
                )),
            ),
            ("title".into(), Some(one_line(&bench.title))),
            (
                "uuid".into(),
                Some(crate::ids::uuid(&[&bench.id, &bench.version, profile])),
            ),
            ("notice".into(), Some("terms-of-use".into())),
            ("source".into(), Some(String::new())),
        ],
        ..Stig::default()
    };
    let stig_ref = format!("{} :: Version {}", one_line(&bench.title), bench.version);
    // Group by STIG id in scan order.
    let mut order: Vec<String> = Vec::new();
    let mut groups: HashMap<String, Vec<&Scanned<'_>>> = HashMap::new();
    for s in scanned {
        let key = s
            .controls
            .stig_ids
            .first()
            .cloned()
            .unwrap_or_else(|| s.rule.base.id.clone());
        if !groups.contains_key(&key) {
            order.push(key.clone());
        }
        groups.entry(key).or_default().push(s);
    }
    for key in order {
        let members = &groups[&key];
        let first = members[0];
        let has_stig_id = !first.controls.stig_ids.is_empty();
        let mut v = Vuln::default();
        let rule_id = first
            .controls
            .disa_rule_ids
            .first()
            .cloned()
            .unwrap_or_else(|| first.rule.base.id.clone());
        let text = results.texts.get(&first.rule.base.id);
        let severity = worst_severity(members.iter().map(|s| s.outcome.severity.as_str()));
        let check = check_text(results, members);
        let fix = text.map(|t| t.fix_text.clone()).unwrap_or_default();
        let mut discussion = text.map(|t| t.description.clone()).unwrap_or_default();
        if let Some(r) = text.filter(|t| !t.rationale.is_empty()) {
            discussion.push_str("\n\n");
            discussion.push_str(&r.rationale);
        }
        let srg = first.controls.srgs.first().cloned().unwrap_or_default();
        let title = members
            .iter()
            .map(|s| one_line(&s.rule.base.title))
            .collect::<Vec<_>>()
            .join("; ");
        let attrs: Vec<(&str, String)> = vec![
            ("Vuln_Num", key.clone()),
            ("Severity", severity),
            ("Group_Title", srg),
            ("Rule_ID", rule_id),
            (
                "Rule_Ver",
                if has_stig_id {
                    key.clone()
                } else {
                    String::new()
                },
            ),
            ("Rule_Title", title),
            ("Vuln_Discuss", discussion),
            ("IA_Controls", String::new()),
            ("Check_Content", check),
            ("Fix_Text", fix),
            ("False_Positives", String::new()),
            ("False_Negatives", String::new()),
            ("Documentable", "false".into()),
            ("Mitigations", String::new()),
            ("Potential_Impact", String::new()),
            ("Third_Party_Tools", String::new()),
            ("Mitigation_Control", String::new()),
            ("Responsibility", String::new()),
            ("Security_Override_Guidance", String::new()),
            ("Check_Content_Ref", "M".into()),
            ("Weight", "10.0".into()),
            ("Class", "Unclass".into()),
            ("STIGRef", stig_ref.clone()),
            ("TargetKey", String::new()),
            ("STIG_UUID", stig.info("uuid").unwrap_or("").to_string()),
        ];
        v.data = attrs
            .into_iter()
            .map(|(k, val)| (k.to_string(), val))
            .collect();
        let mut ccis: Vec<&str> = members
            .iter()
            .flat_map(|s| s.controls.ccis.iter().map(String::as_str))
            .collect();
        ccis.sort_unstable();
        ccis.dedup();
        v.data
            .extend(ccis.iter().map(|c| ("CCI_REF".to_string(), c.to_string())));
        let outcomes: Vec<XccdfResult> = members.iter().map(|s| s.outcome.result).collect();
        v.status = combined(&outcomes);
        v.finding_details = finding_details(results, members);
        stig.vulns.push(v);
    }
    stig
}

/// The DISA benchmark's iSTIG, filled with the results of the SSG rules that match.
fn disa_stig(results: &ScanResults, disa: &DisaStig, scanned: &[Scanned<'_>]) -> Stig {
    let uuid = crate::ids::uuid(&[&disa.id, &disa.version, &disa.release_info]);
    let mut stig = Stig {
        info: vec![
            ("version".into(), Some(disa.version.clone())),
            ("classification".into(), Some("UNCLASSIFIED".into())),
            ("customname".into(), None),
            ("stigid".into(), Some(disa.id.clone())),
            ("description".into(), Some(disa.description.clone())),
            ("filename".into(), Some(disa.filename.clone())),
            ("releaseinfo".into(), Some(disa.release_info.clone())),
            ("title".into(), Some(disa.title.clone())),
            ("uuid".into(), Some(uuid.clone())),
            ("notice".into(), Some(disa.notice.clone())),
            ("source".into(), Some(disa.source.clone())),
        ],
        ..Stig::default()
    };
    let stig_ref = disa.stig_ref();
    let mut used = vec![false; scanned.len()];
    for d in &disa.rules {
        let members: Vec<&Scanned<'_>> = scanned
            .iter()
            .enumerate()
            .filter(|(_, s)| matches_disa(s, d))
            .map(|(i, s)| {
                used[i] = true;
                s
            })
            .collect();
        let mut v = disa_vuln(d, &stig_ref, &uuid);
        if members.is_empty() {
            v.status = Status::NotReviewed;
            v.finding_details = format!(
                "{DETAILS_START} ---\nNo rule of the scanned content `{}` checks {}; it needs a manual review.\n{DETAILS_END}",
                file_name(results),
                d.stig_id
            );
        } else {
            let outcomes: Vec<XccdfResult> = members.iter().map(|s| s.outcome.result).collect();
            v.status = combined(&outcomes);
            v.finding_details = finding_details(results, &members);
        }
        stig.vulns.push(v);
    }
    let extraneous = used.iter().filter(|u| !**u).count();
    if extraneous > 0 {
        tracing::warn!(
            "{extraneous} scanned rules match no rule of the DISA STIG `{}` by STIG id",
            disa.id
        );
    }
    stig
}

fn matches_disa(s: &Scanned<'_>, d: &DisaRule) -> bool {
    let base = |id: &str| id.split('r').next().unwrap_or(id).to_string();
    s.controls.stig_ids.contains(&d.stig_id)
        || s.controls
            .disa_rule_ids
            .iter()
            .any(|id| base(id) == base(&d.rule_id))
}

fn disa_vuln(d: &DisaRule, stig_ref: &str, uuid: &str) -> Vuln {
    let part = |name: &str| {
        d.parts
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let mut data: Vec<(String, String)> = vec![
        ("Vuln_Num".into(), d.vuln_num.clone()),
        ("Severity".into(), d.severity.clone()),
        ("Group_Title".into(), d.group_title.clone()),
        ("Rule_ID".into(), d.rule_id.clone()),
        ("Rule_Ver".into(), d.stig_id.clone()),
        ("Rule_Title".into(), d.title.clone()),
    ];
    for name in ["Vuln_Discuss", "IA_Controls"] {
        data.push((name.into(), part(name)));
    }
    data.push(("Check_Content".into(), d.check_content.clone()));
    data.push(("Fix_Text".into(), d.fix_text.clone()));
    for name in [
        "False_Positives",
        "False_Negatives",
        "Documentable",
        "Mitigations",
        "Potential_Impact",
        "Third_Party_Tools",
        "Mitigation_Control",
        "Responsibility",
        "Security_Override_Guidance",
    ] {
        data.push((name.into(), part(name)));
    }
    data.push(("Check_Content_Ref".into(), d.check_content_ref.clone()));
    data.push(("Weight".into(), d.weight.clone()));
    data.push(("Class".into(), "Unclass".into()));
    data.push(("STIGRef".into(), stig_ref.to_string()));
    data.push(("TargetKey".into(), d.target_key.clone()));
    data.push(("STIG_UUID".into(), uuid.to_string()));
    data.extend(d.legacy_ids.iter().map(|l| ("LEGACY_ID".into(), l.clone())));
    data.extend(d.ccis.iter().map(|c| ("CCI_REF".into(), c.clone())));
    Vuln {
        data,
        ..Vuln::default()
    }
}

/// What the VULN's rules check: the content's own check text where it has one, else what
/// the automated check is and, for manual rules, the rule's description to review against.
fn check_text(results: &ScanResults, members: &[&Scanned<'_>]) -> String {
    let mut parts = Vec::new();
    for s in members {
        let text = results.texts.get(&s.rule.base.id);
        let own = text.map(|t| t.check_content.as_str()).unwrap_or("");
        let auto = s
            .outcome
            .check
            .as_ref()
            .filter(|c| c.system.contains("oval"))
            .and_then(|c| c.name.as_deref().map(|n| (n, c.href.as_str())));
        let part = match (own.is_empty(), auto) {
            (false, _) => own.to_string(),
            (true, Some((def, href))) => format!(
                "Automated check: OVAL definition {def} in {href}, for rule {}.",
                s.rule.base.id
            ),
            (true, None) => format!(
                "Manual check (the content has no automated check for rule {}): verify that \
                 the system meets the requirement below.\n\n{}",
                s.rule.base.id,
                text.map(|t| t.description.as_str()).unwrap_or("")
            ),
        };
        parts.push(part);
    }
    parts.join("\n\n")
}

/// FINDING_DETAILS: per rule, what was checked and what was found, between the markers a
/// merge recognises.
fn finding_details(results: &ScanResults, members: &[&Scanned<'_>]) -> String {
    let tr = &results.test_result;
    let mut out = format!(
        "{DETAILS_START} ({}, {}) ---\n",
        scanner(&tr.test_system),
        tr.end_time
    );
    for s in members {
        let o = s.outcome;
        out.push_str(&format!(
            "Rule {} ({}): {}\n",
            o.rule_id,
            one_line(&s.rule.base.title),
            o.result.as_str()
        ));
        if let Some(c) = &o.check {
            let exports: Vec<String> = c
                .exports
                .iter()
                .map(|(id, _)| {
                    let v = results.values.get(id).map(String::as_str).unwrap_or("?");
                    format!("{} = {v}", short_value_id(id))
                })
                .collect();
            let with = if exports.is_empty() {
                String::new()
            } else {
                format!(", with {}", exports.join(", "))
            };
            if o.instances.is_empty() {
                out.push_str(&format!("  Checked: {}{with}.\n", checked(c)));
            } else {
                out.push_str(&format!(
                    "  Checked: one result per OVAL definition (multi-check){with}:\n"
                ));
                for i in &o.instances {
                    let what = i.check.as_ref().map(checked).unwrap_or_default();
                    out.push_str(&format!("    {what}: {}\n", i.result.as_str()));
                }
            }
        }
        let found = match o.result {
            XccdfResult::Pass => "the system meets the check.",
            XccdfResult::Fixed => "the system was remediated and now meets the check.",
            XccdfResult::Fail => {
                "the system does not meet the check; see the rule's check and fix text."
            }
            XccdfResult::NotApplicable => {
                "the rule does not apply to this system (its platform is not present)."
            }
            XccdfResult::NotChecked => "nothing automated; the rule needs a manual check.",
            XccdfResult::Error => "the check could not be completed (an error while collecting).",
            XccdfResult::Unknown => "the check could not decide.",
            XccdfResult::Informational => "informational only.",
            XccdfResult::NotSelected => "not selected.",
        };
        out.push_str(&format!("  Found: {found}\n"));
        for m in &o.messages {
            out.push_str(&format!("  Message: {}\n", one_line(m)));
        }
    }
    out.push_str(DETAILS_END);
    out
}

/// What a check evaluated, in words.
fn checked(c: &CheckInfo) -> String {
    match (&c.name, c.system.contains("oval")) {
        (Some(n), true) => format!("OVAL definition {n} in {}", c.href),
        (Some(n), false) => format!("{n} in {} ({})", c.href, c.system),
        (None, _) => format!("{} ({})", c.href, c.system),
    }
}

fn scanner(test_system: &str) -> String {
    match test_system.strip_prefix("cpe:/a:") {
        Some(rest) => rest.replace(':', " "),
        None if test_system.is_empty() => "scanner".into(),
        None => test_system.to_string(),
    }
}

fn short_value_id(id: &str) -> &str {
    id.rsplit_once("_value_").map(|(_, s)| s).unwrap_or(id)
}

fn worst_severity<'a>(sevs: impl Iterator<Item = &'a str>) -> String {
    let rank = |s: &str| match s {
        "high" => 3,
        "medium" => 2,
        "low" => 1,
        _ => 0,
    };
    let worst = sevs.max_by_key(|s| rank(s)).unwrap_or("medium");
    // STIG Viewer knows only these three.
    match worst {
        "high" | "medium" | "low" => worst.to_string(),
        _ => "low".to_string(),
    }
}

fn file_name(results: &ScanResults) -> String {
    results
        .path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combined_status_prefers_open_then_not_reviewed() {
        use XccdfResult::*;
        assert_eq!(combined(&[Pass, Fail]), Status::Open);
        assert_eq!(combined(&[Pass, NotChecked]), Status::NotReviewed);
        assert_eq!(combined(&[Pass, NotApplicable]), Status::NotAFinding);
        assert_eq!(combined(&[NotApplicable]), Status::NotApplicable);
        assert_eq!(combined(&[Error]), Status::NotReviewed);
    }
}
