//! SCAP content model and loaders: SCAP 1.3 source data streams, XCCDF 1.2 benchmarks,
//! OVAL 5.11 definitions and CPE dictionaries. Pure parsing; nothing here touches the scanned
//! system.

pub mod cpe;
mod error;
mod load;
pub mod oval;
mod oval_parse;
mod split;
pub mod xccdf;
pub mod xml;

pub use error::ContentError;
pub use load::{parse_document, read_bounded, CheckComponent, Content, LoadOptions};
pub use oval_parse::parse_oval_definitions;
