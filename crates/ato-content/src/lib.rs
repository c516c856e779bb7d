//! SCAP content model and loaders: SCAP 1.3 source data streams, XCCDF 1.2 benchmarks,
//! OVAL 5.11 definitions and CPE dictionaries. Pure parsing; nothing here touches the scanned
//! system.

pub mod oval;
