//! CKLB, the JSON checklist of DISA STIG Viewer 3.
//!
//! DISA publishes no schema for it; the key set and value types follow the STIG Viewer 3 and
//! Evaluate-STIG files in `shared/data/ckl/`: top-level `title`, `id`, `active`, `mode`,
//! `has_path`, `target_data`, `stigs`, `cklb_version`; per STIG its names, `release_info`,
//! `version` as a string, `uuid`, `reference_identifier`, `size` and `rules`; per rule the 37
//! keys of a STIG Viewer 3 rule, all strings except `check_content_ref` (an object),
//! `legacy_ids`, `ccis` and `group_tree` (lists) and `overrides` (an object).
//!
//! Keys that map onto CKL fields go into the [`Checklist`] model; the others, and which mapped
//! keys were `null`, absent or numbers, go into a [`JsonShape`], so that a file read and
//! written back keeps every key with its value and type.

use std::path::Path;

use serde_json::{Map, Value};

use crate::checklist::{Asset, Checklist, JsonShape, Status, Stig, Vuln};
use crate::error::ArtifactError;
use crate::ids;

/// CKLB `target_data` keys and the ASSET field each maps to.
const TARGET_KEYS: [(&str, &str); 12] = [
    ("target_type", "ASSET_TYPE"),
    ("host_name", "HOST_NAME"),
    ("ip_address", "HOST_IP"),
    ("mac_address", "HOST_MAC"),
    ("fqdn", "HOST_FQDN"),
    ("comments", "TARGET_COMMENT"),
    ("role", "ROLE"),
    ("is_web_database", "WEB_OR_DATABASE"),
    ("technology_area", "TECH_AREA"),
    ("web_db_site", "WEB_DB_SITE"),
    ("web_db_instance", "WEB_DB_INSTANCE"),
    ("classification", "MARKING"),
];

/// CKLB STIG keys and the SID_NAME each maps to.
const STIG_KEYS: [(&str, &str); 5] = [
    ("stig_name", "title"),
    ("stig_id", "stigid"),
    ("version", "version"),
    ("release_info", "releaseinfo"),
    ("uuid", "uuid"),
];

/// CKLB rule keys holding one string and the VULN_ATTRIBUTE each maps to.
const RULE_KEYS: [(&str, &str); 23] = [
    ("group_id", "Vuln_Num"),
    ("severity", "Severity"),
    ("group_title", "Group_Title"),
    ("rule_id_src", "Rule_ID"),
    ("rule_version", "Rule_Ver"),
    ("rule_title", "Rule_Title"),
    ("discussion", "Vuln_Discuss"),
    ("ia_controls", "IA_Controls"),
    ("check_content", "Check_Content"),
    ("fix_text", "Fix_Text"),
    ("false_positives", "False_Positives"),
    ("false_negatives", "False_Negatives"),
    ("documentable", "Documentable"),
    ("mitigations", "Mitigations"),
    ("potential_impacts", "Potential_Impact"),
    ("third_party_tools", "Third_Party_Tools"),
    ("mitigation_control", "Mitigation_Control"),
    ("responsibility", "Responsibility"),
    ("security_override_guidance", "Security_Override_Guidance"),
    ("weight", "Weight"),
    ("classification", "Class"),
    ("stig_ref", "STIGRef"),
    ("target_key", "TargetKey"),
];

/// Reads a CKLB document; `path` names it in errors.
pub fn read(text: &str, path: &Path) -> Result<Checklist, ArtifactError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let value: Value = serde_json::from_str(text).map_err(|source| ArtifactError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    let format = |message: &str| ArtifactError::Format {
        path: path.to_path_buf(),
        message: message.to_string(),
    };
    let Value::Object(mut top) = value else {
        return Err(format("the document is not a JSON object"));
    };
    let mut checklist = Checklist::default();
    let mut shape = JsonShape::default();
    match top.remove("target_data") {
        Some(Value::Object(t)) => checklist.asset = read_target(t),
        Some(Value::Null) | None => {
            shape.absent.insert("target_data".into());
        }
        Some(_) => return Err(format("`target_data` is not an object")),
    }
    match top.remove("stigs") {
        Some(Value::Array(stigs)) => {
            for s in stigs {
                let Value::Object(s) = s else {
                    return Err(format("an entry of `stigs` is not an object"));
                };
                checklist.stigs.push(read_stig(s, &format)?);
            }
        }
        Some(Value::Null) | None => {
            shape.absent.insert("stigs".into());
        }
        Some(_) => return Err(format("`stigs` is not a list")),
    }
    shape.extra = top;
    checklist.json = Some(shape);
    Ok(checklist)
}

fn read_target(mut t: Map<String, Value>) -> Asset {
    let mut asset = Asset::default();
    let mut shape = JsonShape::default();
    for (key, field) in TARGET_KEYS {
        let value = take(&mut t, key, &mut shape);
        if let Some(f) = asset.field_mut(field) {
            *f = value;
        }
    }
    shape.extra = t;
    asset.json = Some(shape);
    asset
}

fn read_stig(
    mut s: Map<String, Value>,
    format: &dyn Fn(&str) -> ArtifactError,
) -> Result<Stig, ArtifactError> {
    let mut stig = Stig::default();
    let mut shape = JsonShape::default();
    for (key, sid) in STIG_KEYS {
        if s.contains_key(key) {
            let value = take(&mut s, key, &mut shape);
            stig.info.push((sid.to_string(), value));
        } else {
            shape.absent.insert(key.to_string());
        }
    }
    match s.remove("rules") {
        Some(Value::Array(rules)) => {
            for r in rules {
                let Value::Object(r) = r else {
                    return Err(format("an entry of `rules` is not an object"));
                };
                stig.vulns.push(read_rule(r));
            }
        }
        Some(Value::Null) | None => {
            shape.absent.insert("rules".into());
        }
        Some(_) => return Err(format("`rules` is not a list")),
    }
    shape.extra = s;
    stig.json = Some(shape);
    Ok(stig)
}

fn read_rule(mut r: Map<String, Value>) -> Vuln {
    let mut vuln = Vuln::default();
    let mut shape = JsonShape::default();
    for (key, attr) in RULE_KEYS {
        if r.contains_key(key) {
            let value = take(&mut r, key, &mut shape).unwrap_or_default();
            vuln.data.push((attr.to_string(), value));
        } else {
            shape.absent.insert(key.to_string());
        }
    }
    // Check_Content_Ref is the `name` of an object whose `href` has no CKL field.
    if let Some(Value::Object(cref)) = r.get_mut("check_content_ref") {
        if let Some(Value::String(name)) = cref.remove("name") {
            vuln.data.push(("Check_Content_Ref".into(), name));
        } else {
            shape.absent.insert("check_content_ref.name".into());
        }
    }
    for (key, attr) in [("legacy_ids", "LEGACY_ID"), ("ccis", "CCI_REF")] {
        match r.remove(key) {
            Some(Value::Array(list)) => {
                for v in list {
                    match v {
                        Value::String(s) => vuln.data.push((attr.into(), s)),
                        other => vuln.data.push((attr.into(), other.to_string())),
                    }
                }
            }
            Some(Value::Null) => {
                shape.nulls.insert(key.into());
            }
            Some(other) => {
                r.insert(key.into(), other);
            }
            None => {
                shape.absent.insert(key.into());
            }
        }
    }
    match take(&mut r, "status", &mut shape) {
        Some(s) => {
            vuln.status = Status::parse(&s).unwrap_or_else(|| {
                tracing::warn!("unknown CKLB status `{s}` read as not_reviewed");
                Status::NotReviewed
            })
        }
        None => vuln.status = Status::NotReviewed,
    }
    vuln.finding_details = take(&mut r, "finding_details", &mut shape).unwrap_or_default();
    vuln.review_comments = take(&mut r, "comments", &mut shape).unwrap_or_default();
    if let Some(Value::Object(o)) = r.get_mut("overrides") {
        if let Some(Value::Object(sev)) = o.get("severity") {
            let field = |k: &str| sev.get(k).and_then(Value::as_str).map(str::to_string);
            vuln.severity_override = field("severity").unwrap_or_default();
            vuln.severity_justification = field("reason")
                .or_else(|| field("justification"))
                .unwrap_or_default();
            o.remove("severity");
        }
    }
    shape.extra = r;
    vuln.json = Some(shape);
    vuln
}

/// Removes `key` and returns its text, noting in `shape` whether it was absent, `null` or a
/// number; other values are kept as their JSON text.
fn take(map: &mut Map<String, Value>, key: &str, shape: &mut JsonShape) -> Option<String> {
    match map.remove(key) {
        None => {
            shape.absent.insert(key.into());
            None
        }
        Some(Value::Null) => {
            shape.nulls.insert(key.into());
            None
        }
        Some(Value::String(s)) => Some(s),
        Some(Value::Bool(b)) => Some(b.to_string()),
        Some(Value::Number(n)) => {
            shape.numbers.insert(key.into());
            Some(n.to_string())
        }
        Some(other) => {
            // Lists or objects where text is expected: kept as they are.
            map.insert(key.into(), other);
            None
        }
    }
}

/// Puts a mapped key back: as it was read when `shape` says so, else as a string.
fn put(map: &mut Map<String, Value>, key: &str, value: Option<&str>, shape: Option<&JsonShape>) {
    if map.contains_key(key) {
        return;
    }
    let was = |set: fn(&JsonShape) -> &std::collections::BTreeSet<String>| {
        shape.is_some_and(|s| set(s).contains(key))
    };
    let v = match value {
        None if was(|s| &s.absent) => return,
        None if was(|s| &s.nulls) => Value::Null,
        None => Value::String(String::new()),
        Some("") if was(|s| &s.absent) => return,
        Some("") if was(|s| &s.nulls) => Value::Null,
        Some(v) if was(|s| &s.numbers) => match v.parse::<i64>() {
            Ok(n) => Value::from(n),
            Err(_) => Value::String(v.to_string()),
        },
        Some(v) => Value::String(v.to_string()),
    };
    map.insert(key.to_string(), v);
}

/// Writes a checklist as CKLB, pretty-printed with a final newline.
pub fn write(checklist: &Checklist) -> String {
    let mut s = serde_json::to_string_pretty(&to_value(checklist)).unwrap_or_default();
    s.push('\n');
    s
}

/// The CKLB document of a checklist.
pub fn to_value(checklist: &Checklist) -> Value {
    let shape = checklist.json.as_ref();
    let mut top = shape.map(|s| s.extra.clone()).unwrap_or_default();
    if shape.is_none() {
        let title = checklist
            .asset
            .host_name
            .as_deref()
            .filter(|h| !h.is_empty())
            .map(|h| format!("{h} checklist"))
            .unwrap_or_else(|| "checklist".to_string());
        let seed = checklist_seed(checklist);
        top.insert("title".into(), Value::String(title));
        top.insert("id".into(), Value::String(ids::uuid(&[&seed, "checklist"])));
        top.insert("active".into(), Value::Bool(false));
        top.insert("mode".into(), Value::from(1));
        top.insert("has_path".into(), Value::Bool(true));
        top.insert("cklb_version".into(), Value::String("1.0".into()));
    }
    let absent = |k: &str| shape.is_some_and(|s| s.absent.contains(k));
    if !absent("target_data") {
        top.insert("target_data".into(), target_value(&checklist.asset));
    }
    if !absent("stigs") {
        let stigs = checklist.stigs.iter().map(stig_value).collect();
        top.insert("stigs".into(), Value::Array(stigs));
    }
    Value::Object(top)
}

fn checklist_seed(checklist: &Checklist) -> String {
    let stig_ids: Vec<&str> = checklist
        .stigs
        .iter()
        .filter_map(|s| s.info("stigid"))
        .collect();
    format!(
        "{}|{}",
        checklist.asset.host_name.as_deref().unwrap_or(""),
        stig_ids.join(",")
    )
}

fn target_value(asset: &Asset) -> Value {
    let shape = asset.json.as_ref();
    let mut t = shape.map(|s| s.extra.clone()).unwrap_or_default();
    for (key, field) in TARGET_KEYS {
        let value = asset
            .fields()
            .iter()
            .find(|(name, _)| *name == field)
            .and_then(|(_, v)| v.as_deref());
        match key {
            "is_web_database" if value.is_some() || shape.is_none() => {
                t.insert(key.into(), Value::Bool(value == Some("true")));
            }
            // A marking is optional in CKLB; written only when there is one.
            "classification" if shape.is_none() => {
                if let Some(v) = value.filter(|v| !v.is_empty()) {
                    t.insert(key.into(), Value::String(v.into()));
                }
            }
            "role" if shape.is_none() => {
                t.insert(key.into(), Value::String(value.unwrap_or("None").into()));
            }
            "target_type" if shape.is_none() => {
                let v = value.unwrap_or("Computing");
                t.insert(key.into(), Value::String(v.into()));
            }
            _ => put(&mut t, key, value, shape),
        }
    }
    Value::Object(t)
}

fn stig_value(stig: &Stig) -> Value {
    let shape = stig.json.as_ref();
    let mut s = shape.map(|s| s.extra.clone()).unwrap_or_default();
    for (key, sid) in STIG_KEYS {
        let value = stig
            .info
            .iter()
            .find(|(n, _)| n == sid)
            .and_then(|(_, v)| v.as_deref());
        put(&mut s, key, value, shape);
    }
    let title = stig.info("title").unwrap_or("");
    let stig_uuid = stig_uuid(stig);
    if shape.is_none() {
        let display = title
            .trim_end_matches(" Security Technical Implementation Guide")
            .to_string();
        s.insert("uuid".into(), Value::String(stig_uuid.clone()));
        s.insert("display_name".into(), Value::String(display));
        s.insert("reference_identifier".into(), Value::String(String::new()));
        s.insert("size".into(), Value::from(stig.vulns.len()));
    }
    let absent = shape.is_some_and(|sh| sh.absent.contains("rules"));
    if !absent {
        let rules = stig
            .vulns
            .iter()
            .map(|v| rule_value(v, &stig_uuid))
            .collect();
        s.insert("rules".into(), Value::Array(rules));
    }
    Value::Object(s)
}

fn stig_uuid(stig: &Stig) -> String {
    match stig.info("uuid") {
        Some(u) => u.to_string(),
        None => ids::uuid(&[stig.info("stigid").unwrap_or(""), "stig"]),
    }
}

fn rule_value(v: &Vuln, stig_uuid: &str) -> Value {
    let shape = v.json.as_ref();
    let mut r = shape.map(|s| s.extra.clone()).unwrap_or_default();
    for (key, attr) in RULE_KEYS {
        put(&mut r, key, v.attr(attr), shape);
    }
    for (key, attr) in [("legacy_ids", "LEGACY_ID"), ("ccis", "CCI_REF")] {
        let list: Vec<Value> = v.attrs(attr).map(|s| Value::String(s.into())).collect();
        let skip = shape
            .is_some_and(|s| list.is_empty() && (s.absent.contains(key) || s.nulls.contains(key)));
        if skip {
            if shape.is_some_and(|s| s.nulls.contains(key)) {
                r.insert(key.into(), Value::Null);
            }
        } else if !r.contains_key(key) {
            r.insert(key.into(), Value::Array(list));
        }
    }
    let cref_name = v.attr("Check_Content_Ref");
    match r.get_mut("check_content_ref") {
        Some(Value::Object(cref)) => {
            if let Some(name) = cref_name {
                cref.insert("name".into(), Value::String(name.into()));
            }
        }
        Some(_) => {}
        None if shape.is_none() => {
            let mut cref = Map::new();
            cref.insert("href".into(), Value::String(String::new()));
            cref.insert(
                "name".into(),
                Value::String(cref_name.unwrap_or("M").into()),
            );
            r.insert("check_content_ref".into(), Value::Object(cref));
        }
        None => {}
    }
    put(&mut r, "status", Some(v.status.as_cklb()), shape);
    put(&mut r, "finding_details", Some(&v.finding_details), shape);
    put(&mut r, "comments", Some(&v.review_comments), shape);
    let overrides = r
        .entry("overrides")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(o) = overrides {
        if !v.severity_override.is_empty() {
            let mut sev = Map::new();
            sev.insert(
                "severity".into(),
                Value::String(v.severity_override.clone()),
            );
            sev.insert(
                "reason".into(),
                Value::String(v.severity_justification.clone()),
            );
            o.insert("severity".into(), Value::Object(sev));
        }
    }
    if shape.is_none() {
        generated_rule_keys(&mut r, v, stig_uuid);
    }
    Value::Object(r)
}

/// The keys of a STIG Viewer 3 rule that CKL has no field for, for a rule ato made or read
/// from CKL.
fn generated_rule_keys(r: &mut Map<String, Value>, v: &Vuln, stig_uuid: &str) {
    let rule_id_src = v.attr("Rule_ID").unwrap_or("");
    let rule_id = rule_id_src.strip_suffix("_rule").unwrap_or(rule_id_src);
    let stamp = v.attr("STIG_UUID").unwrap_or(stig_uuid).to_string();
    let mut tree = Map::new();
    tree.insert("id".into(), Value::String(v.vuln_num().into()));
    tree.insert(
        "title".into(),
        Value::String(v.attr("Group_Title").unwrap_or("").into()),
    );
    tree.insert(
        "description".into(),
        Value::String("<GroupDescription></GroupDescription>".into()),
    );
    let s = |x: &str| Value::String(x.to_string());
    r.insert(
        "uuid".into(),
        s(&ids::uuid(&[stig_uuid, v.vuln_num(), rule_id_src])),
    );
    r.insert("stig_uuid".into(), s(&stamp));
    r.insert("STIGUuid".into(), s(&stamp));
    r.insert("rule_id".into(), s(rule_id));
    r.insert("group_tree".into(), Value::Array(vec![Value::Object(tree)]));
    r.insert("createdAt".into(), s(""));
    r.insert("updatedAt".into(), s(""));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_absent_and_numbers_come_back_as_they_were() {
        let text = r#"{"title":"t","stigs":[{"stig_id":"X","version":2,"rules":[
            {"group_id":"V-1","mitigations":null,"status":"open","ccis":["CCI-000366"],
             "uuid":"u","overrides":{}}]}],"target_data":{"host_name":"h","role":null,
             "is_web_database":false}}"#;
        let c = read(text, Path::new("t.cklb")).unwrap();
        assert_eq!(c.stigs[0].vulns[0].status, Status::Open);
        assert_eq!(c.stigs[0].info("version"), Some("2"));
        let back = to_value(&c);
        let orig: Value = serde_json::from_str(text).unwrap();
        assert_eq!(back, orig);
    }
}
