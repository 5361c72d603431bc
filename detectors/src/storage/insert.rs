//! A prepared INSERT that binds its text without copying it.
//!
//! rusqlite binds every string with `SQLITE_TRANSIENT`: SQLite allocates and copies each
//! one before the row is stepped, then frees it. The writer thread binds some twenty values
//! a flow, and those copies (with their malloc and free) were a sixth of its instructions.
//! Here text is bound with `SQLITE_STATIC` and the row is stepped at once, while the
//! borrowed values are still alive.

use std::ffi::{c_int, CStr};
use std::marker::PhantomData;
use std::ptr::NonNull;

use rusqlite::{ffi, Connection};

/// One value of a row.
#[derive(Clone, Copy, Debug)]
pub enum Value<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(&'a str),
    /// Text already known to be UTF-8, bound without a check.
    Utf8(&'a [u8]),
}

impl From<i64> for Value<'_> {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<u16> for Value<'_> {
    fn from(v: u16) -> Self {
        Value::Int(i64::from(v))
    }
}

impl From<u32> for Value<'_> {
    fn from(v: u32) -> Self {
        Value::Int(i64::from(v))
    }
}

impl From<bool> for Value<'_> {
    fn from(v: bool) -> Self {
        Value::Int(i64::from(v))
    }
}

impl From<f64> for Value<'_> {
    fn from(v: f64) -> Self {
        Value::Real(v)
    }
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(v: &'a str) -> Self {
        Value::Text(v)
    }
}

impl<'a, T: Into<Value<'a>>> From<Option<T>> for Value<'a> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// A prepared statement of the connection it borrows, finalized when dropped.
pub struct Insert<'c> {
    stmt: NonNull<ffi::sqlite3_stmt>,
    db: *mut ffi::sqlite3,
    params: usize,
    _conn: PhantomData<&'c Connection>,
}

impl<'c> Insert<'c> {
    pub fn prepare(conn: &'c Connection, sql: &str) -> rusqlite::Result<Insert<'c>> {
        // SAFETY: the handle is only used while `conn` is borrowed (the `'c` of the
        // result), on the thread that owns `conn`: `Insert` is neither Send nor Sync,
        // through its raw pointers.
        let db = unsafe { conn.handle() };
        let mut stmt = std::ptr::null_mut();
        let len = c_int::try_from(sql.len()).map_err(|_| rusqlite::Error::InvalidQuery)?;
        // SAFETY: `sql` is valid for `len` bytes; `stmt` receives the new statement.
        let rc = unsafe {
            ffi::sqlite3_prepare_v2(
                db,
                sql.as_ptr().cast(),
                len,
                &mut stmt,
                std::ptr::null_mut(),
            )
        };
        if rc != ffi::SQLITE_OK {
            return Err(error(db, rc));
        }
        let stmt = NonNull::new(stmt).ok_or(rusqlite::Error::InvalidQuery)?;
        // SAFETY: `stmt` is a live statement of `db`.
        let params = unsafe { ffi::sqlite3_bind_parameter_count(stmt.as_ptr()) } as usize;
        Ok(Insert {
            stmt,
            db,
            params,
            _conn: PhantomData,
        })
    }

    /// Binds `row` (one value for each parameter, in order) and runs the statement.
    pub fn execute(&mut self, row: &[Value<'_>]) -> rusqlite::Result<()> {
        if row.len() != self.params {
            return Err(rusqlite::Error::InvalidParameterCount(
                row.len(),
                self.params,
            ));
        }
        let stmt = self.stmt.as_ptr();
        for (i, value) in row.iter().enumerate() {
            let index = i as c_int + 1;
            // SAFETY: `stmt` is live and `index` is within its parameters. Text is bound
            // with SQLITE_STATIC: SQLite reads it during the step below, while `row`
            // borrows it. Every execution binds every parameter before it steps, so a
            // pointer left bound after this call is never read again.
            let rc = unsafe {
                match *value {
                    Value::Null => ffi::sqlite3_bind_null(stmt, index),
                    Value::Int(v) => ffi::sqlite3_bind_int64(stmt, index, v),
                    Value::Real(v) => ffi::sqlite3_bind_double(stmt, index, v),
                    Value::Text(s) => bind_text(stmt, index, s.as_bytes()),
                    Value::Utf8(s) => bind_text(stmt, index, s),
                }
            };
            if rc != ffi::SQLITE_OK {
                return Err(error(self.db, rc));
            }
        }
        // SAFETY: `stmt` is live with every parameter bound.
        let rc = unsafe { ffi::sqlite3_step(stmt) };
        // SAFETY: as above; a reset makes the statement ready for the next row (its error,
        // if any, repeats the step's).
        unsafe { ffi::sqlite3_reset(stmt) };
        match rc {
            ffi::SQLITE_DONE | ffi::SQLITE_ROW => Ok(()),
            rc => Err(error(self.db, rc)),
        }
    }
}

/// Binds `text` with SQLITE_STATIC.
///
/// # Safety
/// `stmt` is live, `index` within its parameters, and `text` outlives the next step.
unsafe fn bind_text(stmt: *mut ffi::sqlite3_stmt, index: c_int, text: &[u8]) -> c_int {
    match c_int::try_from(text.len()) {
        // SAFETY: (caller) as above; SQLite reads `len` bytes at the pointer.
        Ok(len) => unsafe {
            ffi::sqlite3_bind_text(stmt, index, text.as_ptr().cast(), len, ffi::SQLITE_STATIC())
        },
        Err(_) => ffi::SQLITE_TOOBIG,
    }
}

impl Drop for Insert<'_> {
    fn drop(&mut self) {
        // SAFETY: the statement is live and finalized once, here.
        unsafe { ffi::sqlite3_finalize(self.stmt.as_ptr()) };
    }
}

fn error(db: *mut ffi::sqlite3, rc: c_int) -> rusqlite::Error {
    // SAFETY: `db` is a live connection; its message is a NUL-terminated string that stays
    // valid until the next call on it, and is copied at once.
    let message = unsafe {
        let text = ffi::sqlite3_errmsg(db);
        (!text.is_null()).then(|| CStr::from_ptr(text).to_string_lossy().into_owned())
    };
    rusqlite::Error::SqliteFailure(ffi::Error::new(rc), message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrowed_values_are_stored_and_outlive_their_buffers() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (a, b, c, d)").unwrap();
        let mut insert = Insert::prepare(&conn, "INSERT INTO t VALUES (?1, ?2, ?3, ?4)").unwrap();
        let mut text = String::new();
        for i in 0..100i64 {
            // The same buffer, rewritten for every row: each row keeps its own text.
            text.clear();
            text.push_str(&format!("row {i} é"));
            insert
                .execute(&[
                    Value::Text(&text),
                    Value::Int(i),
                    Value::Real(i as f64 / 4.0),
                    Value::from(None::<&str>),
                ])
                .unwrap();
        }
        drop(text);
        // Too few values: refused before anything is bound.
        assert!(matches!(
            insert.execute(&[Value::Int(1)]),
            Err(rusqlite::Error::InvalidParameterCount(1, 4))
        ));
        drop(insert);
        let rows: Vec<(String, i64, f64, Option<String>)> = conn
            .prepare("SELECT a, b, c, d FROM t ORDER BY b")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(rows.len(), 100);
        for (i, row) in rows.iter().enumerate() {
            assert_eq!(row, &(format!("row {i} é"), i as i64, i as f64 / 4.0, None));
        }
    }

    #[test]
    fn a_failed_insert_reports_sqlite_message_and_the_statement_stays_usable() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (a TEXT PRIMARY KEY)")
            .unwrap();
        let mut insert = Insert::prepare(&conn, "INSERT INTO t VALUES (?1)").unwrap();
        insert.execute(&[Value::Text("x")]).unwrap();
        let err = insert.execute(&[Value::Text("x")]).unwrap_err();
        assert!(err.to_string().contains("UNIQUE"), "{err}");
        insert.execute(&[Value::Text("y")]).unwrap();
        assert!(Insert::prepare(&conn, "INSERT INTO nowhere VALUES (1)").is_err());
    }
}
