//! Zeek's logs as input: single logs (TSV or JSON, plain or gzip) and log folders.

pub mod build;
pub mod fields;
pub mod folder;
pub mod reader;
pub mod schema;

pub use folder::open_folder;
pub use reader::ZeekLogReader;
pub use schema::LogKind;
