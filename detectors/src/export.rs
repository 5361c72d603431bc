//! `slipstream export`: a table of `flows.sqlite` (flows with their labels, evidence,
//! alerts, profiles, time windows) written out as TSV or JSON lines.

use std::io::Write;
use std::path::Path;

use rusqlite::types::ValueRef;

use crate::error::Error;
use dissectors::zeek::escape_bytes_lossy;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// Tab-separated, with a `#fields` header line and `-` for NULL.
    Tsv,
    /// One JSON object per row.
    Json,
}

/// Tables that can be exported, in the order a reader would want them.
pub const TABLES: &[&str] = &[
    "flows",
    "evidence",
    "alerts",
    "profiles",
    "timewindows",
    "records",
];

/// Writes every row of `table` from the database at `db` to `out`, ordered by time where
/// the table has one; returns the number of rows.
pub fn export(
    db: &Path,
    table: &str,
    format: ExportFormat,
    out: &mut dyn Write,
) -> Result<u64, Error> {
    if !TABLES.contains(&table) {
        return Err(Error::Config {
            path: db.to_path_buf(),
            key: "table".into(),
            message: format!("unknown table {table:?}; one of {}", TABLES.join(", ")),
        });
    }
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| Error::sqlite(db, e))?;
    let order = match table {
        "flows" | "evidence" | "alerts" | "records" => " ORDER BY ts",
        "timewindows" => " ORDER BY profile, twid",
        _ => "",
    };
    // The table name comes from the fixed list above, never from the user's text.
    let mut stmt = conn
        .prepare(&format!("SELECT * FROM {table}{order}"))
        .map_err(|e| Error::sqlite(db, e))?;
    let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
    let io = |e| Error::io(db, e);
    if format == ExportFormat::Tsv {
        writeln!(out, "#fields\t{}", names.join("\t")).map_err(io)?;
    }
    let mut rows = stmt.query([]).map_err(|e| Error::sqlite(db, e))?;
    let mut count = 0;
    let mut line = String::new();
    while let Some(row) = rows.next().map_err(|e| Error::sqlite(db, e))? {
        line.clear();
        let mut object = serde_json::Map::new();
        for (i, name) in names.iter().enumerate() {
            let value = row.get_ref(i).map_err(|e| Error::sqlite(db, e))?;
            match format {
                ExportFormat::Tsv => {
                    if i > 0 {
                        line.push('\t');
                    }
                    match value {
                        ValueRef::Null => line.push('-'),
                        ValueRef::Integer(n) => line.push_str(&n.to_string()),
                        ValueRef::Real(f) => line.push_str(&format!("{f:.6}")),
                        ValueRef::Text(t) | ValueRef::Blob(t) => {
                            line.push_str(&escape_bytes_lossy(t).replace('\t', "\\x09"))
                        }
                    }
                }
                ExportFormat::Json => {
                    let v = match value {
                        ValueRef::Null => serde_json::Value::Null,
                        ValueRef::Integer(n) => n.into(),
                        ValueRef::Real(f) => f.into(),
                        ValueRef::Text(t) | ValueRef::Blob(t) => {
                            String::from_utf8_lossy(t).into_owned().into()
                        }
                    };
                    object.insert(name.clone(), v);
                }
            }
        }
        if format == ExportFormat::Json {
            line = serde_json::Value::Object(object).to_string();
        }
        writeln!(out, "{line}").map_err(io)?;
        count += 1;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database(dir: &Path) -> std::path::PathBuf {
        let db = dir.join("flows.sqlite");
        let c = rusqlite::Connection::open(&db).unwrap();
        c.execute_batch(
            "CREATE TABLE flows (uid TEXT, ts REAL, service TEXT, orig_pkts INTEGER, label TEXT);
             INSERT INTO flows VALUES ('C2', 2.5, NULL, 3, 'malicious');
             INSERT INTO flows VALUES ('C1', 1.25, 'dns', 1, 'benign');",
        )
        .unwrap();
        db
    }

    #[test]
    fn flows_as_tsv_and_json_in_time_order() {
        let dir = std::env::temp_dir().join(format!("slipstream-export-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let db = database(&dir);
        let mut tsv = Vec::new();
        assert_eq!(
            export(&db, "flows", ExportFormat::Tsv, &mut tsv).unwrap(),
            2
        );
        assert_eq!(
            String::from_utf8(tsv).unwrap(),
            "#fields\tuid\tts\tservice\torig_pkts\tlabel\nC1\t1.250000\tdns\t1\tbenign\nC2\t2.500000\t-\t3\tmalicious\n"
        );
        let mut json = Vec::new();
        export(&db, "flows", ExportFormat::Json, &mut json).unwrap();
        let first: serde_json::Value =
            serde_json::from_str(String::from_utf8(json).unwrap().lines().next().unwrap()).unwrap();
        assert_eq!(first["uid"], "C1");
        assert_eq!(first["orig_pkts"], 1);
        let err = export(
            &db,
            "flows; DROP TABLE flows",
            ExportFormat::Tsv,
            &mut Vec::new(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown table"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
