use std::path::PathBuf;

/// Why a scan could not be run or its results not written.
#[derive(Debug, thiserror::Error)]
pub enum XccdfError {
    #[error("no profile `{name}` in the benchmark{}", list(available))]
    UnknownProfile {
        name: String,
        available: Vec<String>,
    },
    #[error("profile name `{name}` is ambiguous: it could be {}", candidates.join(", "))]
    AmbiguousProfile {
        name: String,
        candidates: Vec<String>,
    },
    #[error("profile `{profile}` extends itself")]
    ProfileLoop { profile: String },
    #[error("no rule `{rule}` in the benchmark")]
    UnknownRule { rule: String },
    #[error("cannot use the XCCDF results in `{path}`: {message}")]
    Results { path: PathBuf, message: String },
    #[error("cannot write `{path}`")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn list(ids: &[String]) -> String {
    if ids.is_empty() {
        String::new()
    } else {
        format!("; it has: {}", ids.join(", "))
    }
}
