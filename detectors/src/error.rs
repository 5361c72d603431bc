//! Errors of the detection layer; each names the file (and the key or line) at fault.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A configuration file that cannot be used; `key` is the dotted YAML path.
    #[error("{path}: {key}: {message}")]
    Config {
        path: PathBuf,
        key: String,
        message: String,
    },
    /// A bad line in a data file (whitelist, organisation ranges ...).
    #[error("{path}: line {line}: {message}")]
    Data {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{path}: SQLite: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("{path}: MaxMind database: {message}")]
    Geo { path: PathBuf, message: String },
    #[error("the storage writer stopped: {0}")]
    Storage(String),
}

impl Error {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub fn sqlite(path: &Path, source: rusqlite::Error) -> Self {
        Error::Sqlite {
            path: path.to_path_buf(),
            source,
        }
    }
}
