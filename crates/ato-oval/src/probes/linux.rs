//! `linux` family probes.

pub mod dpkginfo;
pub mod partition;
pub mod rpminfo;
mod systemd;
pub mod systemdunitdependency;
pub mod systemdunitproperty;
