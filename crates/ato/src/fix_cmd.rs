//! `ato fix`: a remediation script (bash) or playbook (Ansible) from the content's fixes, for a
//! profile's selected rules or for the rules that failed in a scan.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use ato_content::{Content, LoadOptions};
use ato_xccdf::fix::{self, FixRequest, FixType, Header, ScanFailures};
use clap::Args;

#[derive(Args)]
pub struct FixArgs {
    /// Profile id, or its short name (`stig`). Default: the profile of the results given with
    /// --results, else the benchmark's own selection.
    #[arg(long, value_name = "ID")]
    profile: Option<String>,
    /// XCCDF results of a scan (`ato scan --results`): fix only the rules that failed there.
    #[arg(long, value_name = "FILE")]
    results: Option<PathBuf>,
    /// The kind of script to write.
    #[arg(long, value_enum, default_value = "bash")]
    fix_type: FixTypeArg,
    /// Write the script to FILE (atomically) instead of stdout.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Fix only this rule, selected by the profile or not (repeatable; full id or short name).
    #[arg(long = "rule", value_name = "ID")]
    rules: Vec<String>,
    /// Apply an XCCDF 1.2 tailoring file: its profiles can then be named with --profile, and
    /// its values are the ones filled in.
    #[arg(long, value_name = "FILE")]
    tailoring_file: Option<PathBuf>,
    /// List the rules that would be fixed, and whether each has a fix, instead of writing a
    /// script.
    #[arg(long)]
    list: bool,
    /// SCAP content: a source data stream or an XCCDF benchmark.
    datastream: PathBuf,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum FixTypeArg {
    Bash,
    Ansible,
}

pub fn run(args: FixArgs) -> Result<ExitCode> {
    let mut content = Content::load(&args.datastream, &LoadOptions::default())?;
    if let Some(t) = &args.tailoring_file {
        content.apply_tailoring_file(t)?;
    }
    let bench = &content.benchmark;

    let failures = match &args.results {
        Some(path) => {
            let text = ato_content::read_bounded(path)?;
            Some(fix::scan_failures(&text, path)?)
        }
        None => None,
    };
    let profile = match (
        &args.profile,
        failures.as_ref().and_then(|f| f.profile.as_deref()),
    ) {
        (Some(name), _) => Some(ato_xccdf::find_profile(bench, name)?),
        (None, Some(id)) => Some(bench.profile(id).with_context(|| {
            format!(
                "the results name profile `{id}`, which the benchmark does not have\n\
                 hint: give the tailoring file of the scan with --tailoring-file, or a profile \
                 with --profile"
            )
        })?),
        (None, None) => None,
    };
    let policy = ato_xccdf::resolve(bench, profile)?;
    let only_rules = crate::rule_ids(bench, &args.rules)?;
    let fix_type = match args.fix_type {
        FixTypeArg::Bash => FixType::Bash,
        FixTypeArg::Ansible => FixType::Ansible,
    };

    let request = FixRequest {
        benchmark: bench,
        policy: &policy,
        profile,
        fix_type,
        only_rules: &only_rules,
        failures: failures.as_ref(),
    };
    let plan = fix::plan(&request);
    for w in &plan.warnings {
        eprintln!("warning: {w}");
    }
    if plan.rules.is_empty() {
        eprintln!("ato: no rule is in scope, so there is nothing to fix.");
        if profile.is_none() && only_rules.is_empty() {
            eprintln!("hint: name a profile with --profile (`ato info` lists them).");
        }
    }

    let text = if args.list {
        fix::listing(&plan)
    } else {
        let generated = jiff::Timestamp::now()
            .strftime("%Y-%m-%d %H:%M:%S UTC")
            .to_string();
        let generator = format!("ato {}", env!("CARGO_PKG_VERSION"));
        let header = Header {
            generated: &generated,
            generator: &generator,
        };
        match fix_type {
            FixType::Bash => fix::bash_script(&request, &plan, &header),
            FixType::Ansible => fix::ansible_playbook(&request, &plan, &header),
        }
    };
    match &args.output {
        Some(path) => {
            ato_xccdf::results::write_atomically(path, text.as_bytes())?;
            if !args.list {
                report(&plan, failures.as_ref(), &path.display().to_string());
            }
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())
                .and_then(|()| out.flush())
                .context("cannot write to stdout")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One line on stderr saying what was written.
fn report(plan: &fix::Plan<'_>, failures: Option<&ScanFailures>, to: &str) {
    let fixed = plan.fixed().count();
    let manual = plan.manual().count();
    let scope = match failures {
        Some(f) => format!(" of the {} failed rules", f.failed.len()),
        None => String::new(),
    };
    eprintln!(
        "ato: wrote {fixed} fixes{scope} to {to}; {manual} rules without {} need manual work",
        plan.fix_type.a_fix()
    );
}
