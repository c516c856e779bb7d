//! `ind:family_object` (OVAL 5.11): the target's OS family.
//!
//! ato scans Linux systems only, so the family is always `unix`, on the live host and on an
//! offline root alike (OpenSCAP hard-codes the family of its build the same way). Nothing is
//! read from the target.

use crate::item::{Collected, Item};
use crate::probes::{ObjectRequest, ProbeContext};

pub fn collect(_req: &ObjectRequest<'_>, _ctx: &ProbeContext<'_>) -> Collected {
    Collected::items(vec![Item::new("family").string("family", "unix")])
}

#[cfg(test)]
mod tests {
    use ato_content::oval::{Family, Kind};
    use ato_target::Target;

    use super::*;
    use crate::item::Flag;
    use crate::pcre::RegexCache;
    use crate::probes::SharedCache;

    #[test]
    fn always_unix() {
        let dir = tempfile::tempdir().unwrap();
        let target = Target::offline(dir.path()).unwrap();
        let kind = Kind {
            family: Family::Independent,
            name: "family".into(),
            namespace: String::new(),
        };
        let req = ObjectRequest {
            filter: None,
            id: "oval:t:obj:1",
            kind: &kind,
            behaviors: &[],
            entities: vec![],
        };
        let (regexes, shared) = (RegexCache::new(), SharedCache::new());
        let c = collect(
            &req,
            &ProbeContext {
                target: &target,
                regexes: &regexes,
                shared: &shared,
            },
        );
        assert_eq!(c.flag, Flag::Complete);
        assert_eq!(c.items[0].fields[0].value, "unix");
    }
}
