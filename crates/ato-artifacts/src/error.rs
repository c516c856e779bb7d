use std::path::PathBuf;

/// Why a checklist or control mapping could not be read or made.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error("cannot read `{path}`")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{path}` is not well-formed XML")]
    Xml {
        path: PathBuf,
        #[source]
        source: roxmltree::Error,
    },
    #[error("`{path}` is not valid JSON")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot use `{path}`: {message}")]
    Format { path: PathBuf, message: String },
    #[error("cannot make the POA&M: {0}")]
    Poam(String),
    #[error("cannot make the POA&M workbook")]
    Xlsx(#[source] rust_xlsxwriter::XlsxError),
    #[error("cannot write CSV")]
    Csv(#[source] csv::Error),
    #[error(transparent)]
    Content(#[from] ato_content::ContentError),
}
