//! XCCDF 1.2 evaluation: profile resolution, applicability through CPE, check dispatch to
//! OVAL, rule results, the default score, results files, and remediation scripts from the
//! content's fixes.

pub mod arf;
mod error;
pub mod eval;
pub mod fix;
pub mod oval_results;
pub mod pending;
pub mod profile;
pub mod results;

pub use error::XccdfError;
pub use eval::{scan, RuleResult, ScanRequest, ScanResult, XccdfResult};
pub use profile::{find_profile, resolve, Policy};
