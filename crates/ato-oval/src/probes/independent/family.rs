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
    use ato_content::oval::Family;
    use ato_target::Target;

    use super::*;
    use crate::item::Flag;
    use crate::probes::run_probe;

    #[test]
    fn always_unix() {
        let dir = tempfile::tempdir().unwrap();
        let target = Target::offline(dir.path()).unwrap();
        let c = run_probe(collect, &target, (Family::Independent, "family"), vec![]);
        assert_eq!(c.flag, Flag::Complete);
        assert_eq!(c.items[0].fields[0].value, "unix");
    }
}
