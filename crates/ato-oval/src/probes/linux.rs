//! `linux` family probes.

pub mod dpkginfo;
pub mod partition;
pub mod rpminfo;
pub mod systemdunitdependency;
pub mod systemdunitproperty;
