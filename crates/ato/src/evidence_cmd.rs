//! `ato poam` and `ato oscal`: the eMASS POA&M spreadsheet and OSCAL documents from XCCDF
//! results.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Result};
use ato_artifacts::oscal;
use ato_artifacts::poam::{self, Level, Per, PoamOptions, Policy};
use ato_artifacts::results::ScanResults;
use ato_artifacts::stig::DisaStig;
use ato_xccdf::results::write_atomically;
use clap::{Args, Subcommand};

use crate::config::{Config, MAX_DUE_DAYS};

const DEFAULT_OFFICE_ORG: &str = "System Owner";
const DEFAULT_RESOURCES: &str =
    "System administrator time to apply and verify the fix; no funding needed";

#[derive(Args)]
pub struct PoamArgs {
    /// XCCDF results of a scan (`ato scan --results`, `oscap xccdf eval --results`).
    #[arg(long, value_name = "FILE")]
    results: PathBuf,
    /// Write to FILE: `.xlsx` (the eMASS import template's layout) or `.csv`. Default:
    /// CSV on stdout.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// One item per open finding (failed rule) or per NIST SP 800-53 control.
    #[arg(long, value_enum, default_value = "finding")]
    per: PerArg,
    #[command(flatten)]
    policy: PolicyArgs,
    /// The date scheduled completion dates count from (YYYY-MM-DD). Default: the scan's date.
    #[arg(long, value_name = "DATE")]
    scan_date: Option<jiff::civil::Date>,
    /// Office/Org: "Organization, First Last, Phone, Email" (at least the organization).
    /// Default: `System Owner`.
    #[arg(long, value_name = "TEXT")]
    office_org: Option<String>,
    /// Resources Required of each item. Default: administrator time, no funding.
    #[arg(long, value_name = "TEXT")]
    resources: Option<String>,
    /// Add eMASS's "Devices Affected" column (after the template's last column) with TEXT;
    /// without TEXT, the scanned target's name.
    #[arg(long, value_name = "TEXT", num_args = 0..=1, default_missing_value = "")]
    devices_affected: Option<String>,
    /// The DISA STIG benchmark the content implements (`U_*_STIG_V#R#_Manual-xccdf.xml`): its
    /// rule ids (`SV-…_rule`) become the Security Checks, matched by STIG id.
    #[arg(long, value_name = "FILE")]
    stig: Option<PathBuf>,
}

#[derive(Args)]
struct PolicyArgs {
    /// Read the POA&M policy from FILE (TOML: `[poam]` and `[poam.due-days]`); flags win over
    /// it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Days from the scan to the scheduled completion of a CAT I (high) finding. Default: 30.
    #[arg(long, value_name = "DAYS", value_parser = days, allow_negative_numbers = true)]
    cat1_days: Option<u32>,
    /// Days for a CAT II (medium) finding. Default: 90.
    #[arg(long, value_name = "DAYS", value_parser = days, allow_negative_numbers = true)]
    cat2_days: Option<u32>,
    /// Days for a CAT III (low) finding. Default: 180.
    #[arg(long, value_name = "DAYS", value_parser = days, allow_negative_numbers = true)]
    cat3_days: Option<u32>,
    /// Relevance of Threat, the start of the risk columns (NIST SP 800-30): Very Low, Low,
    /// Moderate, High or Very High. Default: Moderate.
    #[arg(long, value_name = "LEVEL")]
    relevance_of_threat: Option<Level>,
}

fn days(s: &str) -> Result<u32, String> {
    match s.parse::<u32>() {
        Ok(d) if (1..=MAX_DUE_DAYS).contains(&d) => Ok(d),
        _ => Err(format!("give 1 to {MAX_DUE_DAYS} days")),
    }
}

impl PolicyArgs {
    /// The configuration file, or an empty one.
    fn config(&self) -> Result<Config> {
        match &self.config {
            Some(path) => Config::load(path),
            None => Ok(Config::default()),
        }
    }

    /// The policy: flags, then the file, then the defaults.
    fn policy(&self, config: &Config) -> Result<Policy> {
        let d = Policy::default();
        let due = &config.poam.due_days;
        Ok(Policy {
            cat1_days: self.cat1_days.or(due.cat1).unwrap_or(d.cat1_days),
            cat2_days: self.cat2_days.or(due.cat2).unwrap_or(d.cat2_days),
            cat3_days: self.cat3_days.or(due.cat3).unwrap_or(d.cat3_days),
            relevance_of_threat: match self.relevance_of_threat {
                Some(l) => l,
                None => config
                    .relevance_of_threat()?
                    .unwrap_or(d.relevance_of_threat),
            },
        })
    }
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum PerArg {
    Finding,
    Control,
}

#[derive(Args)]
pub struct OscalArgs {
    #[command(subcommand)]
    document: OscalDocument,
}

#[derive(Subcommand)]
enum OscalDocument {
    /// Assessment Results: the scan's observations, a finding per control, a risk per failed
    /// rule.
    AssessmentResults(OscalDocArgs),
    /// Plan of Action and Milestones: an item per failed rule, linked to its risk.
    Poam(OscalDocArgs),
}

#[derive(Args)]
struct OscalDocArgs {
    /// XCCDF results of a scan.
    #[arg(long, value_name = "FILE")]
    results: PathBuf,
    /// Write the JSON to FILE instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    #[command(flatten)]
    policy: PolicyArgs,
}

pub fn poam(args: PoamArgs) -> Result<ExitCode> {
    let config = args.policy.config()?;
    let results = ScanResults::load(&args.results)?;
    let c = &config.poam;
    let options = PoamOptions {
        per: match args.per {
            PerArg::Finding => Per::Finding,
            PerArg::Control => Per::Control,
        },
        policy: args.policy.policy(&config)?,
        scan_date: args.scan_date,
        office_org: args
            .office_org
            .or_else(|| c.office_org.clone())
            .unwrap_or_else(|| DEFAULT_OFFICE_ORG.to_string()),
        resources: args
            .resources
            .or_else(|| c.resources.clone())
            .unwrap_or_else(|| DEFAULT_RESOURCES.to_string()),
        devices_affected: args.devices_affected.or_else(|| c.devices_affected.clone()),
        stig: match &args.stig {
            Some(path) => Some(std::sync::Arc::new(DisaStig::load(path)?)),
            None => None,
        },
    };
    if options.office_org.trim().is_empty() || options.resources.trim().is_empty() {
        bail!("eMASS requires Office/Org and Resources Required: give `--office-org` and `--resources` some text");
    }
    let poam = poam::poam(&results, &options)?;
    let xlsx = args
        .output
        .as_deref()
        .and_then(Path::extension)
        .is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
    let bytes = if xlsx { poam.xlsx()? } else { poam.csv()? };
    emit(args.output.as_deref(), &bytes)?;
    eprintln!(
        "ato: poam: {} items ({} open findings)",
        poam.items.len(),
        poam.items.iter().map(|i| i.rules.len()).sum::<usize>()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn oscal(args: OscalArgs) -> Result<ExitCode> {
    let (doc, args) = match args.document {
        OscalDocument::AssessmentResults(a) => {
            let policy = a.policy.policy(&a.policy.config()?)?;
            let results = ScanResults::load(&a.results)?;
            (oscal::assessment_results(&results, &policy), a)
        }
        OscalDocument::Poam(a) => {
            let policy = a.policy.policy(&a.policy.config()?)?;
            let results = ScanResults::load(&a.results)?;
            let Some(doc) = oscal::poam(&results, &policy) else {
                bail!(
                    "no rule failed in `{}`: an OSCAL POA&M needs at least one item",
                    a.results.display()
                );
            };
            (doc, a)
        }
    };
    let mut text = serde_json::to_string_pretty(&doc)?;
    text.push('\n');
    emit(args.output.as_deref(), text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

fn emit(output: Option<&Path>, bytes: &[u8]) -> Result<()> {
    // The error names the path; `-` and no output are stdout, where a reader that stopped
    // reading is not an error.
    Ok(write_atomically(output.unwrap_or(Path::new("-")), bytes)?)
}
