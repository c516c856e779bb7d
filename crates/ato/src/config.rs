//! The configuration file (`--config FILE`): what an organization decides once and a scan
//! cannot know. TOML; every key is optional, a flag on the command line wins over the file, and
//! the file wins over the built-in defaults.
//!
//! ```toml
//! [poam]
//! office-org = "DISA, Jane Doe, 555-0100, jane.doe@example.mil"
//! resources = "Two hours of administrator time per finding"
//! relevance-of-threat = "Moderate"   # Very Low, Low, Moderate, High, Very High
//! devices-affected = "web01"         # adds eMASS's "Devices Affected" column
//!
//! [poam.due-days]                    # days from the scan to the scheduled completion
//! cat1 = 30
//! cat2 = 90
//! cat3 = 180
//! ```
//!
//! An unknown key is an error, so that a misspelt policy is not silently ignored.

use std::path::Path;

use anyhow::{bail, Context, Result};
use ato_artifacts::poam::Level;
use serde::Deserialize;

/// The longest due date a policy may set, in days (ten years).
pub const MAX_DUE_DAYS: u32 = 3650;

/// A configuration file larger than this is refused: no real one comes near it.
const MAX_SIZE: u64 = 1 << 20;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    #[serde(default)]
    pub poam: PoamSection,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PoamSection {
    pub office_org: Option<String>,
    pub resources: Option<String>,
    pub relevance_of_threat: Option<String>,
    pub devices_affected: Option<String>,
    #[serde(default)]
    pub due_days: DueDays,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DueDays {
    pub cat1: Option<u32>,
    pub cat2: Option<u32>,
    pub cat3: Option<u32>,
}

impl Config {
    /// Reads and checks `path`; the errors name the file and the key.
    pub fn load(path: &Path) -> Result<Config> {
        let size = std::fs::metadata(path)
            .with_context(|| format!("cannot read the configuration file `{}`", path.display()))?
            .len();
        if size > MAX_SIZE {
            bail!(
                "the configuration file `{}` is {size} bytes: more than the {MAX_SIZE} a \
                 configuration file may have",
                path.display()
            );
        }
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the configuration file `{}`", path.display()))?;
        let config: Config = toml::from_str(&text)
            .with_context(|| format!("in the configuration file `{}`", path.display()))?;
        config
            .check()
            .with_context(|| format!("in the configuration file `{}`", path.display()))?;
        Ok(config)
    }

    fn check(&self) -> Result<()> {
        let d = &self.poam.due_days;
        for (key, days) in [("cat1", d.cat1), ("cat2", d.cat2), ("cat3", d.cat3)] {
            if let Some(days) = days {
                if !(1..=MAX_DUE_DAYS).contains(&days) {
                    bail!("poam.due-days.{key} = {days}: give 1 to {MAX_DUE_DAYS} days");
                }
            }
        }
        self.relevance_of_threat()?;
        for (key, value) in [
            ("office-org", &self.poam.office_org),
            ("resources", &self.poam.resources),
        ] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                bail!(
                    "poam.{key} is empty: eMASS requires it; give some text or leave the key out"
                );
            }
        }
        if self
            .poam
            .devices_affected
            .as_deref()
            .is_some_and(|v| v.trim().is_empty())
        {
            bail!(
                "poam.devices-affected is empty: give the devices, or leave the key out and use \
                 `--devices-affected` for the scanned target's name"
            );
        }
        Ok(())
    }

    /// `poam.relevance-of-threat`, parsed.
    pub fn relevance_of_threat(&self) -> Result<Option<Level>> {
        self.poam
            .relevance_of_threat
            .as_deref()
            .map(|v| {
                v.parse::<Level>()
                    .map_err(|e| anyhow::anyhow!("poam.relevance-of-threat: {e}"))
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Config> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ato.toml");
        std::fs::write(&path, text).unwrap();
        Config::load(&path)
    }

    #[test]
    fn a_full_file_is_read() {
        let c = load(
            "[poam]\noffice-org = \"ISSO\"\nrelevance-of-threat = \"very high\"\n\
             [poam.due-days]\ncat1 = 15\n",
        )
        .unwrap();
        assert_eq!(c.poam.office_org.as_deref(), Some("ISSO"));
        assert_eq!(c.relevance_of_threat().unwrap(), Some(Level::VeryHigh));
        assert_eq!(c.poam.due_days.cat1, Some(15));
        assert_eq!(c.poam.due_days.cat2, None);
    }

    #[test]
    fn errors_name_the_file_and_the_key() {
        let e = format!("{:#}", load("[poam]\nofice-org = \"x\"\n").unwrap_err());
        assert!(e.contains("ato.toml") && e.contains("ofice-org"), "{e}");
        let e = format!("{:#}", load("[poam.due-days]\ncat2 = 0\n").unwrap_err());
        assert!(e.contains("poam.due-days.cat2 = 0"), "{e}");
        let e = format!(
            "{:#}",
            load("[poam]\nrelevance-of-threat = \"bad\"\n").unwrap_err()
        );
        assert!(
            e.contains("relevance-of-threat") && e.contains("`bad`"),
            "{e}"
        );
        let e = format!("{:#}", load("[poam]\nresources = \" \"\n").unwrap_err());
        assert!(e.contains("poam.resources is empty"), "{e}");
        let e = format!(
            "{:#}",
            load("[poam]\ndevices-affected = \"\"\n").unwrap_err()
        );
        assert!(e.contains("poam.devices-affected is empty"), "{e}");
        let e = format!("{:#}", load("[poam\n").unwrap_err());
        assert!(e.contains("ato.toml"), "{e}");
    }
}
