//! `ato poam` and `ato oscal`: the eMASS POA&M spreadsheet and OSCAL documents from XCCDF
//! results.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use ato_artifacts::oscal;
use ato_artifacts::poam::{self, Per, PoamOptions, Policy};
use ato_artifacts::results::ScanResults;
use ato_xccdf::results::write_atomically;
use clap::{Args, Subcommand};

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
    #[arg(long, value_name = "TEXT", default_value = "System Owner")]
    office_org: String,
    /// Resources Required of each item.
    #[arg(
        long,
        value_name = "TEXT",
        default_value = "System administrator time to apply and verify the fix; no funding needed"
    )]
    resources: String,
}

#[derive(Args)]
struct PolicyArgs {
    /// Days from the scan to the scheduled completion of a CAT I (high) finding.
    #[arg(long, value_name = "DAYS", default_value_t = 30)]
    cat1_days: u32,
    /// Days for a CAT II (medium) finding.
    #[arg(long, value_name = "DAYS", default_value_t = 90)]
    cat2_days: u32,
    /// Days for a CAT III (low) finding.
    #[arg(long, value_name = "DAYS", default_value_t = 180)]
    cat3_days: u32,
}

impl PolicyArgs {
    fn policy(&self) -> Policy {
        Policy {
            cat1_days: self.cat1_days,
            cat2_days: self.cat2_days,
            cat3_days: self.cat3_days,
        }
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
    let results = ScanResults::load(&args.results)?;
    let options = PoamOptions {
        per: match args.per {
            PerArg::Finding => Per::Finding,
            PerArg::Control => Per::Control,
        },
        policy: args.policy.policy(),
        scan_date: args.scan_date,
        office_org: args.office_org,
        resources: args.resources,
    };
    if options.office_org.trim().is_empty() || options.resources.trim().is_empty() {
        bail!("eMASS requires Office/Org and Resources Required: give `--office-org` and `--resources` some text");
    }
    let poam = poam::poam(&results, &options);
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
            let results = ScanResults::load(&a.results)?;
            (oscal::assessment_results(&results, &a.policy.policy()), a)
        }
        OscalDocument::Poam(a) => {
            let results = ScanResults::load(&a.results)?;
            let Some(doc) = oscal::poam(&results, &a.policy.policy()) else {
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
    match output {
        Some(path) => write_atomically(path, bytes)
            .with_context(|| format!("cannot write `{}`", path.display())),
        None => {
            use std::io::Write as _;
            std::io::stdout()
                .write_all(bytes)
                .context("cannot write to stdout")
        }
    }
}
