//! The checklist model that both formats read into and write from.
//!
//! It follows the CKL structure (STIG Viewer 2): an asset, then one or more STIGs, each with
//! its STIG_INFO pairs and its VULNs, each VULN a list of STIG_DATA pairs in file order plus
//! the reviewer's fields. CKLB (STIG Viewer 3) maps onto the same model; what CKLB has and CKL
//! does not (record uuids, `group_tree`, tool extensions, `null` values) is kept in a
//! [`JsonShape`] so that a CKLB file read and written back keeps every key and value type.

use std::collections::BTreeSet;

/// One checklist: an asset and the STIGs reviewed on it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Checklist {
    /// XML comments before the root element (the writing tool's banner).
    pub comments: Vec<String>,
    pub asset: Asset,
    pub stigs: Vec<Stig>,
    /// CKLB: the top-level keys besides `target_data` and `stigs`.
    pub json: Option<JsonShape>,
}

/// The ASSET element (CKLB `target_data`). `None` means the element was absent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Asset {
    pub role: Option<String>,
    pub asset_type: Option<String>,
    pub marking: Option<String>,
    pub host_name: Option<String>,
    pub host_ip: Option<String>,
    pub host_mac: Option<String>,
    pub host_guid: Option<String>,
    pub host_fqdn: Option<String>,
    pub target_comment: Option<String>,
    pub tech_area: Option<String>,
    pub target_key: Option<String>,
    pub stig_guid: Option<String>,
    pub web_or_database: Option<String>,
    pub web_db_site: Option<String>,
    pub web_db_instance: Option<String>,
    pub json: Option<JsonShape>,
}

impl Asset {
    /// The ASSET children in schema order, with their element names.
    pub fn fields(&self) -> [(&'static str, &Option<String>); 15] {
        [
            ("ROLE", &self.role),
            ("ASSET_TYPE", &self.asset_type),
            ("MARKING", &self.marking),
            ("HOST_NAME", &self.host_name),
            ("HOST_IP", &self.host_ip),
            ("HOST_MAC", &self.host_mac),
            ("HOST_GUID", &self.host_guid),
            ("HOST_FQDN", &self.host_fqdn),
            ("TARGET_COMMENT", &self.target_comment),
            ("TECH_AREA", &self.tech_area),
            ("TARGET_KEY", &self.target_key),
            ("STIG_GUID", &self.stig_guid),
            ("WEB_OR_DATABASE", &self.web_or_database),
            ("WEB_DB_SITE", &self.web_db_site),
            ("WEB_DB_INSTANCE", &self.web_db_instance),
        ]
    }

    /// The field for an ASSET element name, to fill while reading.
    pub fn field_mut(&mut self, element: &str) -> Option<&mut Option<String>> {
        Some(match element {
            "ROLE" => &mut self.role,
            "ASSET_TYPE" => &mut self.asset_type,
            "MARKING" => &mut self.marking,
            "HOST_NAME" => &mut self.host_name,
            "HOST_IP" => &mut self.host_ip,
            "HOST_MAC" => &mut self.host_mac,
            "HOST_GUID" => &mut self.host_guid,
            "HOST_FQDN" => &mut self.host_fqdn,
            "TARGET_COMMENT" => &mut self.target_comment,
            "TECH_AREA" => &mut self.tech_area,
            "TARGET_KEY" => &mut self.target_key,
            "STIG_GUID" => &mut self.stig_guid,
            "WEB_OR_DATABASE" => &mut self.web_or_database,
            "WEB_DB_SITE" => &mut self.web_db_site,
            "WEB_DB_INSTANCE" => &mut self.web_db_instance,
            _ => return None,
        })
    }
}

/// One iSTIG: the benchmark's identification and its rules.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stig {
    /// XML comments inside the iSTIG element (tool notes such as Evaluate-STIG's).
    pub comments: Vec<String>,
    /// STIG_INFO: SID_NAME and SID_DATA (absent: `None`) in file order.
    pub info: Vec<(String, Option<String>)>,
    pub vulns: Vec<Vuln>,
    pub json: Option<JsonShape>,
}

impl Stig {
    /// The SID_DATA of `name`, if present and not empty.
    pub fn info(&self, name: &str) -> Option<&str> {
        self.info
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.as_deref())
            .filter(|v| !v.is_empty())
    }

    /// Sets the SID_DATA of `name`, adding the pair at the end if it is missing.
    pub fn set_info(&mut self, name: &str, value: &str) {
        match self.info.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) => *v = Some(value.to_string()),
            None => self.info.push((name.to_string(), Some(value.to_string()))),
        }
    }
}

/// A checklist status (CKL STATUS, CKLB `status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Status {
    NotAFinding,
    Open,
    NotApplicable,
    #[default]
    NotReviewed,
}

impl Status {
    pub const ALL: [Status; 4] = [
        Status::Open,
        Status::NotAFinding,
        Status::NotApplicable,
        Status::NotReviewed,
    ];

    /// The CKL spelling.
    pub fn as_ckl(self) -> &'static str {
        match self {
            Status::NotAFinding => "NotAFinding",
            Status::Open => "Open",
            Status::NotApplicable => "Not_Applicable",
            Status::NotReviewed => "Not_Reviewed",
        }
    }

    /// The CKLB spelling.
    pub fn as_cklb(self) -> &'static str {
        match self {
            Status::NotAFinding => "not_a_finding",
            Status::Open => "open",
            Status::NotApplicable => "not_applicable",
            Status::NotReviewed => "not_reviewed",
        }
    }

    /// Reads either spelling; anything else is `None`.
    pub fn parse(s: &str) -> Option<Status> {
        Some(match s.trim() {
            "NotAFinding" | "not_a_finding" => Status::NotAFinding,
            "Open" | "open" => Status::Open,
            "Not_Applicable" | "not_applicable" => Status::NotApplicable,
            "Not_Reviewed" | "not_reviewed" => Status::NotReviewed,
            _ => return None,
        })
    }
}

/// One VULN: a rule of the STIG and its review.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Vuln {
    pub comments: Vec<String>,
    /// STIG_DATA: VULN_ATTRIBUTE and ATTRIBUTE_DATA in file order; CCI_REF and LEGACY_ID
    /// repeat, one pair per value.
    pub data: Vec<(String, String)>,
    pub status: Status,
    pub finding_details: String,
    /// The reviewer's comments (COMMENTS), not XML comments.
    pub review_comments: String,
    pub severity_override: String,
    pub severity_justification: String,
    pub json: Option<JsonShape>,
}

impl Vuln {
    /// The first value of attribute `name`, if present.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.data
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of attribute `name` (CCI_REF and LEGACY_ID repeat).
    pub fn attrs<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.data
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Sets the first value of `name`, adding the pair if it is missing.
    pub fn set_attr(&mut self, name: &str, value: &str) {
        match self.data.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) => *v = value.to_string(),
            None => self.data.push((name.to_string(), value.to_string())),
        }
    }

    /// Vuln_Num, the group id (V-######).
    pub fn vuln_num(&self) -> &str {
        self.attr("Vuln_Num").unwrap_or("")
    }

    /// Rule_Ver, the STIG id (e.g. UBTU-20-010000).
    pub fn stig_id(&self) -> &str {
        self.attr("Rule_Ver").unwrap_or("")
    }
}

/// What a CKLB object had that the CKL model does not: keys without a CKL counterpart (kept
/// with their values) and, for the keys that have one, which were `null`, absent or numbers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JsonShape {
    pub extra: serde_json::Map<String, serde_json::Value>,
    pub nulls: BTreeSet<String>,
    pub absent: BTreeSet<String>,
    pub numbers: BTreeSet<String>,
}

/// STIG_DATA attributes in the order STIG Viewer 2.17 writes them; CKL files ato writes
/// follow it.
pub const ATTRIBUTE_ORDER: [&str; 27] = [
    "Vuln_Num",
    "Severity",
    "Group_Title",
    "Rule_ID",
    "Rule_Ver",
    "Rule_Title",
    "Vuln_Discuss",
    "IA_Controls",
    "Check_Content",
    "Fix_Text",
    "False_Positives",
    "False_Negatives",
    "Documentable",
    "Mitigations",
    "Potential_Impact",
    "Third_Party_Tools",
    "Mitigation_Control",
    "Responsibility",
    "Security_Override_Guidance",
    "Check_Content_Ref",
    "Weight",
    "Class",
    "STIGRef",
    "TargetKey",
    "STIG_UUID",
    "LEGACY_ID",
    "CCI_REF",
];

/// Counts of each status over all STIGs of a checklist.
pub fn status_counts(checklist: &Checklist) -> [(Status, usize); 4] {
    Status::ALL.map(|s| {
        let n = checklist
            .stigs
            .iter()
            .flat_map(|st| &st.vulns)
            .filter(|v| v.status == s)
            .count();
        (s, n)
    })
}
