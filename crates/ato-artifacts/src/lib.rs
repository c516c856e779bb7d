//! ATO artifacts from scan results: DISA STIG checklists (CKL for STIG Viewer 2, CKLB for STIG
//! Viewer 3), read and written in both directions and merged with new scans, and the control
//! mapping rule -> STIG id -> CCI -> NIST SP 800-53 with per-control rollups.
//!
//! ```no_run
//! # fn run() -> Result<(), ato_artifacts::ArtifactError> {
//! use std::path::Path;
//! use ato_artifacts::{build, ckl, results::ScanResults};
//!
//! let results = ScanResults::load(Path::new("results.xml"))?;
//! let checklist = build::checklist(&results, None, &build::AssetInput::default());
//! std::fs::write("host.ckl", ckl::write(&checklist)).ok();
//! let controls = ato_artifacts::controls::control_report(&results);
//! print!("{}", controls.table());
//! # Ok(()) }
//! ```

pub mod build;
pub mod cci;
pub mod checklist;
pub mod ckl;
pub mod cklb;
pub mod controls;
mod error;
pub mod ids;
pub mod merge;
pub mod oscal;
pub mod poam;
pub mod results;
pub mod stig;

use std::path::Path;

pub use checklist::{Checklist, Status};
pub use error::ArtifactError;

/// A checklist file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Ckl,
    Cklb,
}

impl Format {
    /// The format a file name's extension names, if any.
    pub fn from_path(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "ckl" => Some(Format::Ckl),
            "cklb" | "json" => Some(Format::Cklb),
            _ => None,
        }
    }
}

/// Reads a CKL or CKLB file, telling them apart by their first character.
pub fn read_checklist(path: &Path) -> Result<(Checklist, Format), ArtifactError> {
    let text = ato_content::read_bounded(path)?;
    let body = text.trim_start_matches('\u{feff}').trim_start();
    if body.starts_with('{') {
        Ok((cklb::read(&text, path)?, Format::Cklb))
    } else {
        Ok((ckl::read(&text, path)?, Format::Ckl))
    }
}

/// Writes a checklist in `format`.
pub fn write_checklist(checklist: &Checklist, format: Format) -> String {
    match format {
        Format::Ckl => ckl::write(checklist),
        Format::Cklb => cklb::write(checklist),
    }
}
