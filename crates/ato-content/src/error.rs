use std::path::PathBuf;

/// Why content could not be loaded. Every variant names the file and, where there is one, the
/// element id and position.
#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    #[error("cannot read `{path}`")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{path}` is {size} bytes, more than the limit of {limit} bytes for SCAP content")]
    TooLarge {
        path: PathBuf,
        size: u64,
        limit: u64,
    },
    #[error("`{path}` is not well-formed XML: {message}")]
    Xml { path: PathBuf, message: String },
    #[error(
        "`{path}` is not SCAP content: its root element is `{root}`, not a source data stream, \
         an XCCDF benchmark or OVAL definitions"
    )]
    NotScap { path: PathBuf, root: String },
    #[error("`{path}`: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("`{path}`: {element} `{id}` ({position}): {message}")]
    Element {
        path: PathBuf,
        element: String,
        id: String,
        position: String,
        message: String,
    },
}
