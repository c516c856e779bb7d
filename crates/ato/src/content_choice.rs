//! Which content to scan with when the user names none: the installed SCAP Security Guide data
//! stream for the scanned system, or the built-in baseline.

use std::path::{Path, PathBuf};

use ato_target::Target;

/// Where Debian's ssg packages install the data streams.
pub const SSG_DIR: &str = "/usr/share/xml/scap/ssg/content";

/// The built-in baseline, a SCAP 1.3 source data stream written for ato.
pub const BASELINE: &str = include_str!("../baseline/ato-baseline-ds.xml");
pub const BASELINE_NAME: &str = "ato-baseline-ds.xml";

/// The scanned system's identity from its `/etc/os-release`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OsRelease {
    pub id: String,
    pub version_id: String,
    pub pretty_name: String,
}

impl OsRelease {
    /// Reads `/etc/os-release` (or `/usr/lib/os-release`) of the target.
    pub fn read(target: &Target) -> Option<OsRelease> {
        let text = ["/etc/os-release", "/usr/lib/os-release"]
            .iter()
            .find_map(|p| target.read(p, 64 * 1024).ok())?;
        let text = String::from_utf8_lossy(&text);
        let mut os = OsRelease::default();
        for line in text.lines() {
            let Some((k, v)) = line.split_once('=') else {
                continue;
            };
            let v = v.trim().trim_matches('"').trim_matches('\'').to_string();
            match k.trim() {
                "ID" => os.id = v,
                "VERSION_ID" => os.version_id = v,
                "PRETTY_NAME" => os.pretty_name = v,
                _ => {}
            }
        }
        Some(os)
    }

    /// The SSG product name for this system (`debian11`, `ubuntu2004`, `rhel8`).
    pub fn ssg_product(&self) -> Option<String> {
        let major = self.version_id.split('.').next().unwrap_or("");
        match self.id.as_str() {
            "debian" => Some(format!("debian{major}")),
            "ubuntu" => Some(format!("ubuntu{}", self.version_id.replace('.', ""))),
            "rhel" | "centos" | "almalinux" | "rocky" | "ol" | "fedora" | "sles" | "opensuse" => {
                let name = match self.id.as_str() {
                    "centos" => "centos",
                    "ol" => "ol",
                    "fedora" => "fedora",
                    "sles" => "sle",
                    "opensuse" => "opensuse",
                    _ => "rhel",
                };
                if name == "fedora" {
                    Some(name.to_string())
                } else {
                    Some(format!("{name}{major}"))
                }
            }
            _ => None,
        }
    }

    /// The Debian package that ships SSG content for this family.
    pub fn ssg_package(&self) -> &'static str {
        match self.id.as_str() {
            "debian" => "ssg-debian",
            "ubuntu" => "ssg-debderived",
            _ => "ssg-nondebian",
        }
    }

    pub fn describe(&self) -> String {
        if !self.pretty_name.is_empty() {
            self.pretty_name.clone()
        } else {
            format!("{} {}", self.id, self.version_id)
        }
    }
}

/// What `ato scan` without a data stream will scan with.
#[derive(Debug, Clone)]
pub enum Choice {
    /// An installed SSG data stream.
    Installed(PathBuf),
    /// The built-in baseline, with the reason no installed content was chosen.
    Baseline { reason: String, hint: String },
}

/// Picks content for the target from what is installed in `dir`.
pub fn choose(os: Option<&OsRelease>, dir: &Path) -> Choice {
    let Some(os) = os else {
        return Choice::Baseline {
            reason: "the scanned system has no /etc/os-release, so no SCAP Security Guide \
                     content can be matched to it"
                .into(),
            hint: "name a data stream: ato scan DATASTREAM".into(),
        };
    };
    let installed = dir.is_dir();
    if let Some(product) = os.ssg_product() {
        let file = dir.join(format!("ssg-{product}-ds.xml"));
        if file.is_file() {
            return Choice::Installed(file);
        }
        if !installed {
            return Choice::Baseline {
                reason: format!(
                    "no SCAP Security Guide content is installed ({} is missing)",
                    dir.display()
                ),
                hint: format!(
                    "for the full benchmark of {}, install it: apt-get install {}",
                    os.describe(),
                    os.ssg_package()
                ),
            };
        }
        return Choice::Baseline {
            reason: format!(
                "the installed SCAP Security Guide has no content for {} (no {})",
                os.describe(),
                file.display()
            ),
            hint: format!(
                "a newer SCAP Security Guide release covers {} (ComplianceAsCode content \
                 ships ssg-{product}-ds.xml); or name a data stream: ato scan DATASTREAM",
                os.describe()
            ),
        };
    }
    Choice::Baseline {
        reason: format!(
            "the SCAP Security Guide has no product for {}",
            os.describe()
        ),
        hint: "name a data stream: ato scan DATASTREAM".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(id: &str, v: &str) -> OsRelease {
        OsRelease {
            id: id.into(),
            version_id: v.into(),
            pretty_name: String::new(),
        }
    }

    #[test]
    fn products_follow_ssg_names() {
        assert_eq!(
            os("debian", "11").ssg_product().as_deref(),
            Some("debian11")
        );
        assert_eq!(
            os("ubuntu", "20.04").ssg_product().as_deref(),
            Some("ubuntu2004")
        );
        assert_eq!(os("rhel", "8.9").ssg_product().as_deref(), Some("rhel8"));
        assert_eq!(os("alpine", "3.19").ssg_product(), None);
    }

    #[test]
    fn missing_content_falls_back_to_the_baseline_with_a_hint() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ssg-debian11-ds.xml"), "x").unwrap();
        assert!(matches!(
            choose(Some(&os("debian", "11")), dir.path()),
            Choice::Installed(_)
        ));
        match choose(Some(&os("debian", "12")), dir.path()) {
            Choice::Baseline { reason, hint } => {
                assert!(reason.contains("no content for debian 12"), "{reason}");
                assert!(hint.contains("newer SCAP Security Guide"), "{hint}");
            }
            c => panic!("{c:?}"),
        }
        match choose(Some(&os("debian", "12")), &dir.path().join("absent")) {
            Choice::Baseline { hint, .. } => assert!(hint.contains("apt-get install ssg-debian")),
            c => panic!("{c:?}"),
        }
    }

    #[test]
    fn the_baseline_is_a_data_stream() {
        assert!(BASELINE.contains("data-stream-collection"));
    }
}
