//! `ato checklist` and `ato controls`: STIG checklists and the control rollup from XCCDF
//! results.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use ato_artifacts::build::{self, AssetInput};
use ato_artifacts::checklist::status_counts;
use ato_artifacts::controls::control_report;
use ato_artifacts::results::ScanResults;
use ato_artifacts::stig::DisaStig;
use ato_artifacts::{merge, read_checklist, write_checklist, Format, Status};
use ato_xccdf::results::write_atomically;
use clap::Args;

#[derive(Args)]
pub struct ChecklistArgs {
    /// XCCDF results of a scan (`ato scan --results`, `oscap xccdf eval --results`).
    #[arg(long, value_name = "FILE")]
    results: PathBuf,
    /// Checklist format: `ckl` (STIG Viewer 2) or `cklb` (STIG Viewer 3). Default: from the
    /// output's extension, else the merged checklist's format, else `ckl`.
    #[arg(long, value_enum)]
    format: Option<ChecklistFormat>,
    /// Write the checklist to FILE instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// A DISA STIG benchmark (`U_*_STIG_V#R#_Manual-xccdf.xml`): the checklist gets its ids,
    /// titles and check texts, matched to the scanned rules by STIG id.
    #[arg(long, value_name = "FILE")]
    stig: Option<PathBuf>,
    /// Update this existing checklist (CKL or CKLB) with the scan, keeping the statuses of
    /// manual checks, comments, finding details and severity overrides that reviewers wrote.
    #[arg(long, value_name = "OLD")]
    merge: Option<PathBuf>,
    /// Asset host name (default: the scanned target's).
    #[arg(long, value_name = "NAME")]
    host_name: Option<String>,
    /// Asset IP addresses, comma-separated.
    #[arg(long, value_name = "ADDR")]
    ip: Option<String>,
    /// Asset MAC addresses, comma-separated.
    #[arg(long, value_name = "ADDR")]
    mac: Option<String>,
    /// Asset fully qualified domain name.
    #[arg(long, value_name = "NAME")]
    fqdn: Option<String>,
    /// Asset role.
    #[arg(long, value_parser = ["None", "Workstation", "Member Server", "Domain Controller"])]
    role: Option<String>,
    /// Marking of the checklist (e.g. `CUI`).
    #[arg(long, value_name = "TEXT")]
    marking: Option<String>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ChecklistFormat {
    Ckl,
    Cklb,
}

#[derive(Args)]
pub struct ControlsArgs {
    /// XCCDF results of a scan.
    #[arg(long, value_name = "FILE")]
    results: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: ControlsFormat,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ControlsFormat {
    Table,
    Csv,
    Json,
}

pub fn checklist(args: ChecklistArgs) -> Result<ExitCode> {
    let results = ScanResults::load(&args.results)?;
    let stig = match &args.stig {
        Some(p) => Some(DisaStig::load(p)?),
        None => None,
    };
    let asset = AssetInput {
        host_name: args.host_name,
        ip: args.ip,
        mac: args.mac,
        fqdn: args.fqdn,
        role: args.role,
        marking: args.marking,
    };
    let mut checklist = build::checklist(&results, stig.as_ref(), &asset);
    let mut format = args.format.map(|f| match f {
        ChecklistFormat::Ckl => Format::Ckl,
        ChecklistFormat::Cklb => Format::Cklb,
    });
    format = format.or_else(|| args.output.as_deref().and_then(Format::from_path));
    if let Some(old_path) = &args.merge {
        let (old, old_format) = read_checklist(old_path)
            .with_context(|| format!("cannot merge into `{}`", old_path.display()))?;
        checklist = merge::merge(&old, &checklist);
        format = format.or(Some(old_format));
    }
    if format.is_none() {
        if let Some(path) = &args.output {
            eprintln!(
                "ato: checklist: `{}` ends in neither .ckl nor .cklb: writing CKL (STIG Viewer 2); \
                 give --format cklb for STIG Viewer 3",
                path.display()
            );
        }
    }
    let text = write_checklist(&checklist, format.unwrap_or(Format::Ckl));
    match &args.output {
        Some(path) => write_atomically(path, text.as_bytes())?,
        None => crate::print_out(&text)?,
    }
    let counts = status_counts(&checklist);
    let n = |s: Status| counts.iter().find(|(c, _)| *c == s).map_or(0, |(_, n)| *n);
    eprintln!(
        "ato: checklist: {} open, {} not a finding, {} not applicable, {} not reviewed ({} rules)",
        n(Status::Open),
        n(Status::NotAFinding),
        n(Status::NotApplicable),
        n(Status::NotReviewed),
        counts.iter().map(|(_, n)| n).sum::<usize>()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn controls(args: ControlsArgs) -> Result<ExitCode> {
    let results = ScanResults::load(&args.results)?;
    let report = control_report(&results);
    match args.format {
        ControlsFormat::Table => crate::print_out(&report.table())?,
        ControlsFormat::Csv => crate::print_out(&report.csv())?,
        ControlsFormat::Json => {
            let mut json = serde_json::to_string_pretty(&report.json())?;
            json.push('\n');
            crate::print_out(&json)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
