//! `unix:shadow_object`: not written yet; collection fails with an error naming the object.

use crate::item::Collected;
use crate::probes::{ObjectRequest, ProbeContext};

pub fn collect(req: &ObjectRequest<'_>, _ctx: &ProbeContext<'_>) -> Collected {
    Collected::error(format!("object `{}`: the {} probe is not written yet", req.id, req.kind))
}
