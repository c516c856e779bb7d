//! `linux` family probes.

pub mod dpkginfo;
pub mod partition;
pub mod rpminfo;
mod systemd;
mod systemd_dbus;
pub mod systemdunitdependency;
pub mod systemdunitproperty;
