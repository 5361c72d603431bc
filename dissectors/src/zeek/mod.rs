//! Zeek's log formats: the ASCII (TSV) writer with its `#` header and footer, and the JSON
//! lines writer of `LogAscii::use_json=T`. Records describe their columns once (a schema)
//! and write values through a [`Row`], which renders them for either format.

mod escape;
mod logset;
mod row;
mod writer;

pub use escape::{escape_bytes_lossy, escape_owned_bytes_lossy, push_json_str, write_tsv_escaped};
pub use logset::{LogSet, SinkFactory};
pub use row::Row;
pub use writer::{write_record_line, zeek_wall_time, LogFormat, LogWriter};

use crate::time::Timestamp;

/// Zeek's column types, as printed in the `#types` header line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldType {
    Time,
    Interval,
    String,
    Addr,
    Port,
    Enum,
    Count,
    Int,
    Double,
    Bool,
    SetString,
    SetEnum,
    VectorString,
    VectorInterval,
    VectorAddr,
}

impl FieldType {
    pub fn zeek_name(self) -> &'static str {
        match self {
            FieldType::Time => "time",
            FieldType::Interval => "interval",
            FieldType::String => "string",
            FieldType::Addr => "addr",
            FieldType::Port => "port",
            FieldType::Enum => "enum",
            FieldType::Count => "count",
            FieldType::Int => "int",
            FieldType::Double => "double",
            FieldType::Bool => "bool",
            FieldType::SetString => "set[string]",
            FieldType::SetEnum => "set[enum]",
            FieldType::VectorString => "vector[string]",
            FieldType::VectorInterval => "vector[interval]",
            FieldType::VectorAddr => "vector[addr]",
        }
    }
}

/// One column of a log: its flattened name (`id.orig_h`) and type.
#[derive(Clone, Copy, Debug)]
pub struct Field {
    pub name: &'static str,
    pub ty: FieldType,
}

/// A column. Its name must be plain (ASCII letters, digits, `_`, `.`), which is checked
/// when the schema constant is evaluated, at compile time: JSON keys are then written as
/// they are, with no escaping pass per column of every row.
pub const fn field(name: &'static str, ty: FieldType) -> Field {
    let bytes = name.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        assert!(
            b.is_ascii_alphanumeric() || b == b'_' || b == b'.',
            "a field name needs no escaping"
        );
        i += 1;
    }
    Field { name, ty }
}

/// A record that Zeek would write to the log named `PATH` (e.g. `conn` for conn.log).
pub trait ZeekRecord {
    const PATH: &'static str;
    const FIELDS: &'static [Field];

    /// Time the record is ordered by in the written log.
    fn ts(&self) -> Timestamp;

    /// Writes every column, in `FIELDS` order, through `row`.
    fn write_row(&self, row: &mut Row<'_>);
}
