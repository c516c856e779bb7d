//! `ato`: SCAP scanning and ATO artifacts from one offline binary.

mod artifacts_cmd;
mod config;
mod content_choice;
mod evidence_cmd;
mod fix_cmd;
mod interrupt;
mod summary;

use std::collections::HashSet;
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use ato_content::{Content, LoadOptions};
use ato_target::Target;
use ato_xccdf::results::{self, ScanTimes, TargetFacts};
use ato_xccdf::{arf, oval_results};
use ato_xccdf::{ScanRequest, XccdfResult};
use clap::{Args, Parser, Subcommand};

use crate::content_choice::{Choice, OsRelease};

#[derive(Parser)]
#[command(
    name = "ato",
    version,
    about = "Scan a Linux system against SCAP content (DISA STIG, \
    CIS, ANSSI) and produce the evidence an Authority to Operate needs."
)]
struct Cli {
    /// More log output on stderr (-v info, -vv debug, -vvv trace).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Evaluate a SCAP source data stream (or XCCDF benchmark) against this host or an offline
    /// root.
    Scan(ScanArgs),
    /// The built-in baseline that is scanned when no installed content applies.
    Baseline(BaselineArgs),
    /// Show the data streams, profiles and rule counts of SCAP content.
    Info(InfoArgs),
    /// Write a remediation script (bash) or playbook (Ansible) from the content's fixes, for a
    /// profile or for the rules that failed in a scan.
    Fix(fix_cmd::FixArgs),
    /// Write a STIG checklist (CKL for STIG Viewer 2, CKLB for STIG Viewer 3) from XCCDF
    /// results, or merge a new scan into an existing checklist.
    Checklist(artifacts_cmd::ChecklistArgs),
    /// Roll XCCDF results up per NIST SP 800-53 control, through the rules' CCIs.
    Controls(artifacts_cmd::ControlsArgs),
    /// Write an eMASS POA&M (xlsx in the import template's layout, or CSV) from XCCDF results:
    /// one item per open finding or per control.
    Poam(evidence_cmd::PoamArgs),
    /// Write OSCAL JSON (assessment results or POA&M) from XCCDF results.
    Oscal(evidence_cmd::OscalArgs),
}

#[derive(Args)]
struct ScanArgs {
    /// Profile id, or its short name (`stig`, `standard`). Default: when ato chooses the
    /// content, its STIG profile if it has one, else `standard`; with a DATASTREAM named, the
    /// benchmark's own selection, as oscap does (an error if that selects no rule).
    #[arg(long)]
    profile: Option<String>,
    /// Scan the file system tree at DIR (an image, chroot or mounted disk) instead of this
    /// host. Nothing in it is executed and no path leaves it.
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// Write XCCDF 1.2 results (the benchmark with a TestResult) to FILE.
    #[arg(long, value_name = "FILE")]
    results: Option<PathBuf>,
    /// Write an ARF 1.1 report collection (data stream, XCCDF results, OVAL results and
    /// system characteristics) to FILE.
    #[arg(long, value_name = "FILE")]
    results_arf: Option<PathBuf>,
    /// Write OVAL 5.11 results of each OVAL document, as NAME.result.xml in the current
    /// directory.
    #[arg(long)]
    oval_results: bool,
    /// Write a self-contained HTML report to FILE.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Write the results as JSON (see docs/json-results.md) to FILE.
    #[arg(long, value_name = "FILE")]
    results_json: Option<PathBuf>,
    /// What to print on stdout: a summary table (`text`) or the JSON results (`json`).
    #[arg(long, value_enum, default_value = "text")]
    format: OutputFormat,
    /// Evaluate only this rule (repeatable; full id or short name).
    #[arg(long = "rule", value_name = "ID")]
    rules: Vec<String>,
    /// Do not evaluate this rule (repeatable).
    #[arg(long = "skip-rule", value_name = "ID")]
    skip_rules: Vec<String>,
    /// Use this data stream of a collection (default: the first).
    #[arg(long, value_name = "ID")]
    datastream_id: Option<String>,
    /// Use this checklist component-ref of the data stream (default: the first).
    #[arg(long, value_name = "ID")]
    xccdf_id: Option<String>,
    /// Apply an XCCDF 1.2 tailoring file: its profiles can then be named with --profile.
    #[arg(long, value_name = "FILE")]
    tailoring_file: Option<PathBuf>,
    /// Apply the tailoring component with this component-ref id from the data stream.
    #[arg(long, value_name = "ID")]
    tailoring_id: Option<String>,
    /// Print no summary.
    #[arg(short, long)]
    quiet: bool,
    /// Never draw a progress bar.
    #[arg(long)]
    no_progress: bool,
    /// SCAP content: a source data stream or an XCCDF benchmark. Default: the installed SSG
    /// data stream for the scanned system, or the built-in baseline.
    datastream: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum OutputFormat {
    Text,
    Json,
}

#[derive(Args)]
struct BaselineArgs {
    /// Write the built-in baseline data stream to FILE (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    export: Option<PathBuf>,
}

#[derive(Args)]
struct InfoArgs {
    /// A source data stream or an XCCDF benchmark.
    datastream: PathBuf,
}

fn main() -> ExitCode {
    // A usage error exits 1, as oscap's do: 2 means "a rule failed".
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    init_logging(cli.verbose);
    if let Err(e) = interrupt::install() {
        eprintln!(
            "ato: warning: {e:#}; if interrupted, ato may leave temporary files beside its outputs"
        );
    }
    let outcome = match cli.command {
        Command::Scan(args) => scan(args),
        Command::Baseline(args) => baseline(args).map(|()| ExitCode::SUCCESS),
        Command::Info(args) => info(args).map(|()| ExitCode::SUCCESS),
        Command::Fix(args) => fix_cmd::run(args),
        Command::Checklist(args) => artifacts_cmd::checklist(args),
        Command::Controls(args) => artifacts_cmd::controls(args),
        Command::Poam(args) => evidence_cmd::poam(args),
        Command::Oscal(args) => evidence_cmd::oscal(args),
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::from(1)
        }
    }
}

fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let plain = verbose == 0 && std::env::var_os("ATO_LOG").is_none();
    let filter = tracing_subscriber::EnvFilter::try_from_env("ATO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    if plain {
        builder.event_format(PlainMessages).init();
    } else {
        builder.init();
    }
}

/// Warnings as the rest of ato's messages read (`ato: warning: ...`), without the timestamp
/// and module path that `-v` logs carry.
struct PlainMessages;

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for PlainMessages
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let level = match *event.metadata().level() {
            tracing::Level::ERROR => "error",
            tracing::Level::WARN => "warning",
            tracing::Level::INFO => "info",
            tracing::Level::DEBUG => "debug",
            tracing::Level::TRACE => "trace",
        };
        write!(writer, "ato: {level}: ")?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// Writes `text` to stdout; a reader that stopped reading (`| head`) is not an error.
pub(crate) fn print_out(text: &str) -> Result<()> {
    Ok(results::write_atomically(Path::new("-"), text.as_bytes())?)
}

fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S+00:00")
        .to_string()
}

fn scan(args: ScanArgs) -> Result<ExitCode> {
    let target = match &args.root {
        Some(root) => Target::offline(root)
            .with_context(|| format!("cannot scan the tree at `{}`", root.display()))?,
        None => Target::live().context("cannot open the live host's root")?,
    };
    let options = LoadOptions {
        datastream_id: args.datastream_id.clone(),
        xccdf_id: args.xccdf_id.clone(),
        tailoring_id: args.tailoring_id.clone(),
    };
    let content = match &args.datastream {
        Some(path) => Content::load(path, &options)?,
        None => {
            let os = OsRelease::read(&target);
            match content_choice::choose(os.as_ref(), Path::new(content_choice::SSG_DIR)) {
                Choice::Installed(path) => {
                    eprintln!("ato: scanning with {}", path.display());
                    Content::load(&path, &options)?
                }
                Choice::Baseline { reason, hint } => {
                    eprintln!("ato: {reason}.");
                    eprintln!("hint: {hint}");
                    eprintln!("ato: scanning with the built-in baseline instead.");
                    Content::from_str(
                        content_choice::BASELINE,
                        Path::new(content_choice::BASELINE_NAME),
                        &options,
                    )?
                }
            }
        }
    };

    let mut content = content;
    if let Some(t) = &args.tailoring_file {
        content.apply_tailoring_file(t)?;
    }
    let content = content;
    let bench = &content.benchmark;
    let profile = match &args.profile {
        Some(name) => Some(ato_xccdf::find_profile(bench, name)?),
        None if args.datastream.is_none() => default_profile(bench),
        None => None,
    };
    let policy = ato_xccdf::resolve(bench, profile)?;
    if policy.selected.is_empty() && args.profile.is_some() {
        eprintln!(
            "ato: warning: profile `{}` selects no rule",
            policy.profile_id.as_deref().unwrap_or("")
        );
    } else if policy.selected.is_empty() {
        let ids: Vec<&str> = bench.profiles.iter().map(|p| p.id.as_str()).collect();
        bail!(
            "no rule of benchmark `{}` is selected{}; choose a profile with --profile (this \
             content has: {})",
            bench.id,
            match &policy.profile_id {
                Some(p) => format!(" by profile `{p}`"),
                None => " by default".to_string(),
            },
            if ids.is_empty() {
                "none".to_string()
            } else {
                ids.join(", ")
            }
        );
    }
    check_outputs(&args)?;
    let only_rules = rule_ids(bench, &args.rules)?;
    let skip_rules = rule_ids(bench, &args.skip_rules)?;

    let start = now();
    let total = bench
        .rules()
        .iter()
        .filter(|r| policy.is_selected(&r.base.id))
        .filter(|r| only_rules.is_empty() || only_rules.contains(&r.base.id))
        .count();
    let bar = progress_bar(total as u64, args.no_progress || args.quiet);
    let on_progress = |done: usize, _total: usize| {
        if let Some(b) = &bar {
            b.set_position(done as u64);
        }
    };
    let request = ScanRequest {
        content: &content,
        policy: &policy,
        target: &target,
        only_rules,
        skip_rules,
        progress: Some(&on_progress),
    };
    let outcome = ato_xccdf::scan(&request);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let end = now();
    let score = results::default_score(bench, &outcome);

    let facts = target_facts(&target, args.root.as_deref());
    let times = ScanTimes { start, end };
    let needs_test_result = args.results.is_some() || args.results_arf.is_some();
    let test_result = needs_test_result
        .then(|| results::test_result_xml(&content, &policy, &outcome, &facts, &times, score));
    if let (Some(path), Some(tr)) = (&args.results, &test_result) {
        let doc = results::results_document(&content, tr);
        results::write_atomically(path, doc.as_bytes())?;
    }
    if args.results_arf.is_some() || args.oval_results {
        let system = oval_results::SystemInfo::from_target(&target);
        let stamp = now();
        let generator = oval_results::Generator::ato(&stamp);
        if let (Some(path), Some(tr)) = (&args.results_arf, &test_result) {
            let asset = arf::AssetInfo::from_system(&system);
            let doc = arf::arf_document(&content, tr, &outcome, &asset, &system, &generator);
            results::write_atomically(path, doc.as_bytes())?;
        }
        if args.oval_results {
            for run in outcome.oval.iter().chain(&outcome.cpe_oval) {
                let name = PathBuf::from(oval_results::result_file_name(&run.href));
                let doc = oval_results::oval_results_xml(run, &generator, &system);
                results::write_atomically(&name, doc.as_bytes())?;
            }
        }
    }
    let report_input = ato_report::ReportInput {
        content: &content,
        policy: &policy,
        scan: &outcome,
        facts: &facts,
        times: &times,
        score,
    };
    if let Some(path) = &args.report {
        let html = ato_report::html_report(&report_input);
        results::write_atomically(path, html.as_bytes())?;
    }
    if let Some(path) = &args.results_json {
        let json = ato_report::json_results_string(&report_input);
        results::write_atomically(path, json.as_bytes())?;
    }
    match args.format {
        OutputFormat::Json => {
            let mut json = ato_report::json_results_string(&report_input);
            json.push('\n');
            print_out(&json)?;
        }
        OutputFormat::Text if !args.quiet => print_out(&summary::render(
            bench,
            policy.profile_id.as_deref(),
            &outcome,
            score,
        ))?,
        OutputFormat::Text => {}
    }
    let failing = outcome.rules.iter().any(|r| {
        matches!(
            r.result,
            XccdfResult::Fail | XccdfResult::Error | XccdfResult::Unknown
        )
    });
    Ok(if failing {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// Refuses outputs that cannot be written, that name the same file twice, or that would
/// overwrite the content being scanned, before the scan starts.
fn check_outputs(args: &ScanArgs) -> Result<()> {
    let mut outputs: Vec<&Path> = Vec::new();
    for p in [
        &args.results,
        &args.results_arf,
        &args.report,
        &args.results_json,
    ]
    .into_iter()
    .flatten()
    {
        results::check_writable(p)?;
        if p.as_os_str() != "-" && outputs.contains(&p.as_path()) {
            bail!("`{}` is given for two outputs", p.display());
        }
        outputs.push(p);
    }
    if let Some(input) = &args.datastream {
        let input = std::fs::canonicalize(input).ok();
        for p in &outputs {
            if input.is_some() && std::fs::canonicalize(p).ok() == input {
                bail!(
                    "`{}` is the content being scanned; refusing to overwrite it",
                    p.display()
                );
            }
        }
    }
    Ok(())
}

/// The STIG profile if there is one, else `standard`, else none.
fn default_profile(bench: &ato_content::xccdf::Benchmark) -> Option<&ato_content::xccdf::Profile> {
    ["stig", "standard"]
        .iter()
        .find_map(|name| ato_xccdf::find_profile(bench, name).ok())
        .or_else(|| bench.profiles.first())
}

/// Full rule ids for names given as full ids or short names.
pub(crate) fn rule_ids(
    bench: &ato_content::xccdf::Benchmark,
    names: &[String],
) -> Result<HashSet<String>> {
    let mut out = HashSet::new();
    let rules = bench.rules();
    for name in names {
        let found = rules.iter().find(|r| {
            r.base.id == *name
                || r.base
                    .id
                    .rsplit_once("_rule_")
                    .is_some_and(|(_, short)| short == name)
        });
        match found {
            Some(r) => {
                out.insert(r.base.id.clone());
            }
            None => bail!("no rule `{name}` in benchmark `{}`", bench.id),
        }
    }
    Ok(out)
}

fn progress_bar(total: u64, disabled: bool) -> Option<indicatif::ProgressBar> {
    if disabled || !std::io::stderr().is_terminal() || total == 0 {
        return None;
    }
    let bar = indicatif::ProgressBar::new(total);
    let style = indicatif::ProgressStyle::with_template("{spinner} {pos}/{len} rules {wide_bar}")
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    Some(bar)
}

fn target_facts(target: &Target, root: Option<&Path>) -> TargetFacts {
    let host_name = match target.uname() {
        Some(u) if !target.is_offline() => u.nodename,
        _ => target
            .read("/etc/hostname", 4096)
            .ok()
            .map(|b| String::from_utf8_lossy(&b).trim().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "unknown".to_string()),
    };
    let uid = rustix::process::geteuid();
    TargetFacts {
        host_name,
        root: root.map(|r| r.display().to_string()),
        user: user_name(uid.as_raw()),
        privileged: uid.is_root(),
    }
}

/// The scanning user's name from this host's passwd file (the scanner's identity, not the
/// target's), or the uid when it has none.
fn user_name(uid: u32) -> String {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 2 && f[2] == uid.to_string()).then(|| f[0].to_string())
        })
        .unwrap_or_else(|| uid.to_string())
}

fn baseline(args: BaselineArgs) -> Result<()> {
    match args.export {
        Some(path) => {
            results::write_atomically(&path, content_choice::BASELINE.as_bytes())?;
            eprintln!("ato: wrote the built-in baseline to {}", path.display());
        }
        None => {
            let content = Content::from_str(
                content_choice::BASELINE,
                Path::new(content_choice::BASELINE_NAME),
                &LoadOptions::default(),
            )?;
            let b = &content.benchmark;
            let mut out = format!("{} ({})\n", b.title.trim(), b.version);
            for r in b.rules() {
                let _ = writeln!(out, "  {:<8} {}", r.severity.as_str(), r.base.title.trim());
            }
            out.push_str("Export it with: ato baseline --export FILE\n");
            print_out(&out)?;
        }
    }
    Ok(())
}

fn info(args: InfoArgs) -> Result<()> {
    let content = Content::load(&args.datastream, &LoadOptions::default())?;
    let b = &content.benchmark;
    let mut out = format!("Document: {}\n", args.datastream.display());
    if let Some(ds) = &content.datastream_id {
        let _ = writeln!(out, "Data stream: {ds}");
    }
    let _ = writeln!(out, "Benchmark: {}", b.id);
    let _ = writeln!(out, "  title:   {}", b.title.trim());
    let _ = writeln!(out, "  version: {}", b.version);
    let _ = writeln!(out, "  status:  {}", b.status);
    let _ = writeln!(out, "  rules:   {}", b.rules().len());
    out.push_str("Profiles:\n");
    for p in &b.profiles {
        let policy = ato_xccdf::resolve(b, Some(p))?;
        let _ = writeln!(out, "  {}  ({} rules)", p.id, policy.selected.len());
        let _ = writeln!(out, "      {}", p.title.trim());
    }
    print_out(&out)
}
