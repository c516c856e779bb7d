//! `unix` family probes.

pub mod file;
pub mod interface;
pub mod password;
pub mod shadow;
pub mod symlink;
pub mod sysctl;
pub mod uname;
pub(crate) mod walk;
