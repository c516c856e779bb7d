//! `independent` family probes.

pub mod environmentvariable58;
pub mod family;
pub mod textfilecontent54;
