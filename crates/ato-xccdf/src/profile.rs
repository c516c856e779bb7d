//! Profile resolution (XCCDF 1.2 section 6.2.7 and 7.2.2): which rules are selected and what
//! every Value is, after `extends`, `select`, `set-value`, `refine-value` and `refine-rule`.

use std::collections::{HashMap, HashSet};

use ato_content::xccdf::{Benchmark, Item, Profile, RefineRule};

use crate::error::XccdfError;

/// The result of resolving a profile against a benchmark.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// The profile's id, `None` for the benchmark's defaults.
    pub profile_id: Option<String>,
    /// Rules selected (themselves and every ancestor group), in benchmark order.
    pub selected: HashSet<String>,
    /// Every Value's effective value, by id.
    pub values: HashMap<String, String>,
    /// Value ids whose value the profile set or refined, in document order, for results.
    pub changed_values: Vec<String>,
    pub refine_rules: HashMap<String, RefineRule>,
}

impl Policy {
    pub fn is_selected(&self, rule_id: &str) -> bool {
        self.selected.contains(rule_id)
    }
}

/// Finds a profile by its full id or by a suffix after `_profile_` (`stig` for
/// `xccdf_org.ssgproject.content_profile_stig`), as oscap accepts.
pub fn find_profile<'b>(benchmark: &'b Benchmark, name: &str) -> Result<&'b Profile, XccdfError> {
    if let Some(p) = benchmark.profile(name) {
        return Ok(p);
    }
    let matches: Vec<&Profile> = benchmark
        .profiles
        .iter()
        .filter(|p| {
            p.id.rsplit_once("_profile_")
                .is_some_and(|(_, short)| short == name)
                || p.id.ends_with(&format!("_{name}"))
        })
        .collect();
    match matches.as_slice() {
        [one] => Ok(one),
        [] => Err(XccdfError::UnknownProfile {
            name: name.to_string(),
            available: benchmark.profiles.iter().map(|p| p.id.clone()).collect(),
        }),
        many => Err(XccdfError::AmbiguousProfile {
            name: name.to_string(),
            candidates: many.iter().map(|p| p.id.clone()).collect(),
        }),
    }
}

/// Resolves `profile` (or the benchmark defaults for `None`).
pub fn resolve(benchmark: &Benchmark, profile: Option<&Profile>) -> Result<Policy, XccdfError> {
    // The chain of profiles from the root of `extends` down to this one.
    let mut chain: Vec<&Profile> = Vec::new();
    let mut next = profile;
    while let Some(p) = next {
        if chain.iter().any(|c| c.id == p.id) {
            return Err(XccdfError::ProfileLoop {
                profile: p.id.clone(),
            });
        }
        chain.push(p);
        next = match &p.extends {
            Some(parent) => {
                Some(
                    benchmark
                        .profile(parent)
                        .ok_or_else(|| XccdfError::UnknownProfile {
                            name: parent.clone(),
                            available: Vec::new(),
                        })?,
                )
            }
            None => None,
        };
    }
    chain.reverse();

    // Select overrides by item id or cluster id, later profiles winning.
    let mut select: HashMap<&str, bool> = HashMap::new();
    let mut set_values: HashMap<&str, &str> = HashMap::new();
    let mut selectors: HashMap<&str, &str> = HashMap::new();
    let mut refine_rules = HashMap::new();
    let mut changed: Vec<String> = Vec::new();
    for p in &chain {
        for (idref, on) in &p.selects {
            select.insert(idref, *on);
        }
        for (idref, v) in &p.set_values {
            set_values.insert(idref, v);
            push_once(&mut changed, idref);
        }
        for r in &p.refine_values {
            if let Some(sel) = &r.selector {
                selectors.insert(&r.idref, sel);
            }
            push_once(&mut changed, &r.idref);
        }
        for r in &p.refine_rules {
            refine_rules.insert(r.idref.clone(), r.clone());
        }
    }

    let mut policy = Policy {
        profile_id: profile.map(|p| p.id.clone()),
        refine_rules,
        ..Policy::default()
    };
    walk(&benchmark.items, true, &select, &mut policy);

    for (id, value) in benchmark.values() {
        let v = match set_values.get(id) {
            Some(v) => Some(v.to_string()),
            None => value
                .value_for(selectors.get(id).copied())
                .map(str::to_string),
        };
        policy.values.insert(id.to_string(), v.unwrap_or_default());
    }
    policy.changed_values = changed;
    Ok(policy)
}

fn push_once(list: &mut Vec<String>, id: &str) {
    if !list.iter().any(|c| c == id) {
        list.push(id.to_string());
    }
}

fn walk(items: &[Item], parent_on: bool, select: &HashMap<&str, bool>, policy: &mut Policy) {
    let effective = |id: &str, cluster: &Option<String>, default: bool| -> bool {
        if let Some(on) = select.get(id) {
            return *on;
        }
        if let Some(on) = cluster.as_deref().and_then(|c| select.get(c)) {
            return *on;
        }
        default
    };
    for item in items {
        match item {
            Item::Group(g) => {
                let on = effective(&g.base.id, &g.base.cluster_id, g.base.selected);
                walk(&g.children, parent_on && on, select, policy);
            }
            Item::Rule(r) => {
                let on = effective(&r.base.id, &r.base.cluster_id, r.base.selected);
                if parent_on && on && !r.base.abstract_ {
                    policy.selected.insert(r.base.id.clone());
                }
            }
            Item::Value(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    const BENCH: &str = r#"<Benchmark xmlns="http://checklists.nist.gov/xccdf/1.2" id="xccdf_t_benchmark_b">
  <title>b</title>
  <Profile id="xccdf_t_profile_base">
    <title>base</title>
    <select idref="xccdf_t_rule_a" selected="true"/>
    <refine-value idref="xccdf_t_value_len" selector="strict"/>
  </Profile>
  <Profile id="xccdf_t_profile_child" extends="xccdf_t_profile_base">
    <title>child</title>
    <select idref="xccdf_t_group_g" selected="true"/>
    <select idref="xccdf_t_rule_a" selected="false"/>
    <set-value idref="xccdf_t_value_name">set</set-value>
  </Profile>
  <Value id="xccdf_t_value_len" type="number">
    <value>8</value>
    <value selector="strict">15</value>
  </Value>
  <Value id="xccdf_t_value_name"><value>default</value></Value>
  <Rule id="xccdf_t_rule_a" selected="false"><title>a</title></Rule>
  <Group id="xccdf_t_group_g" selected="false">
    <title>g</title>
    <Rule id="xccdf_t_rule_b" selected="true"><title>b</title></Rule>
    <Rule id="xccdf_t_rule_c" selected="false"><title>c</title></Rule>
  </Group>
</Benchmark>"#;

    fn bench() -> Benchmark {
        let doc = roxmltree::Document::parse(BENCH).unwrap();
        ato_content::xccdf::parse_benchmark(doc.root_element(), BENCH, Path::new("t")).unwrap()
    }

    #[test]
    fn defaults_follow_the_selected_attributes_and_groups() {
        let b = bench();
        let p = resolve(&b, None).unwrap();
        // rule_b is selected itself but its group is not.
        assert!(p.selected.is_empty(), "{:?}", p.selected);
        assert_eq!(p.values["xccdf_t_value_len"], "8");
    }

    #[test]
    fn a_profile_selects_and_refines() {
        let b = bench();
        let p = resolve(&b, Some(find_profile(&b, "base").unwrap())).unwrap();
        assert_eq!(p.selected, HashSet::from(["xccdf_t_rule_a".to_string()]));
        assert_eq!(p.values["xccdf_t_value_len"], "15");
        assert_eq!(p.changed_values, ["xccdf_t_value_len"]);
    }

    #[test]
    fn extends_applies_the_parent_first() {
        let b = bench();
        let p = resolve(&b, Some(find_profile(&b, "child").unwrap())).unwrap();
        assert_eq!(p.selected, HashSet::from(["xccdf_t_rule_b".to_string()]));
        assert_eq!(
            p.values["xccdf_t_value_len"], "15",
            "inherited refine-value"
        );
        assert_eq!(p.values["xccdf_t_value_name"], "set");
    }

    #[test]
    fn unknown_profiles_are_errors_that_list_the_profiles() {
        let b = bench();
        let e = find_profile(&b, "nope").unwrap_err().to_string();
        assert!(
            e.contains("xccdf_t_profile_base") && e.contains("xccdf_t_profile_child"),
            "{e}"
        );
    }
}
