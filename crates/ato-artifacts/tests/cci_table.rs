//! The built-in CCI table is generated from the DISA CCI list in `shared/data/cci/`:
//! `ATO_UPDATE_CCI=1 cargo test -p ato-artifacts --test cci_table` rewrites it.

use std::path::PathBuf;

const NS: &str = "http://iase.disa.mil/cci";

fn shared() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

/// The table's text from the list's XML: a header, then per CCI its id, status and the
/// `@index` of its NIST SP 800-53 revision 5 and revision 4 references.
fn table_from(xml: &str) -> String {
    let xml = xml.trim_start_matches('\u{feff}');
    let doc = roxmltree::Document::parse(xml).unwrap();
    let version = doc
        .descendants()
        .find(|n| n.has_tag_name((NS, "version")))
        .and_then(|n| n.text())
        .unwrap_or("unknown");
    let mut out = format!(
        "# DISA CCI list -> NIST SP 800-53 (generated from shared/data/cci/disa-cci-list.xml)\n\
         # version: {version}\n\
         # columns: CCI, status, rev 5 indexes (;), rev 4 indexes (;)\n"
    );
    for item in doc
        .descendants()
        .filter(|n| n.has_tag_name((NS, "cci_item")))
    {
        let id = item.attribute("id").unwrap();
        let status = item
            .children()
            .find(|n| n.has_tag_name((NS, "status")))
            .and_then(|n| n.text())
            .unwrap_or("");
        let refs = |version: &str| -> String {
            item.descendants()
                .filter(|n| n.has_tag_name((NS, "reference")))
                .filter(|r| r.attribute("version") == Some(version))
                .filter(|r| r.attribute("title").is_some_and(|t| t.contains("800-53")))
                .filter(|r| !r.attribute("title").unwrap_or("").contains("800-53A"))
                .filter_map(|r| r.attribute("index"))
                .collect::<Vec<_>>()
                .join(";")
        };
        out.push_str(&format!("{id}\t{status}\t{}\t{}\n", refs("5"), refs("4")));
    }
    out
}

#[test]
fn cci_table_is_generated_from_the_disa_list() {
    let xml_path = shared().join("data/cci/disa-cci-list.xml");
    let Ok(xml) = std::fs::read_to_string(&xml_path) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "{} is missing",
            xml_path.display()
        );
        eprintln!("skipped: no {}", xml_path.display());
        return;
    };
    let table = table_from(&xml);
    let committed = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/cci-nist.tsv");
    if std::env::var_os("ATO_UPDATE_CCI").is_some() {
        std::fs::write(&committed, &table).unwrap();
        return;
    }
    let have = std::fs::read_to_string(&committed).unwrap();
    assert!(
        have == table,
        "data/cci-nist.tsv is out of date; regenerate it with ATO_UPDATE_CCI=1"
    );
    assert!(table.lines().count() > 5000);
}
