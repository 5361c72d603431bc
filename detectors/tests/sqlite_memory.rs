//! SQLite on the global allocator: installed first thing in a process of its own (SQLite's
//! configuration is global), then a database that allocates, grows and frees a lot.

use rusqlite::Connection;

#[test]
fn sqlite_runs_on_the_global_allocator() {
    assert!(detectors::storage::sqlite_memory::use_global_allocator());
    let db = Connection::open_in_memory().unwrap();
    db.execute_batch("CREATE TABLE t (k INTEGER, v TEXT)")
        .unwrap();
    {
        let mut insert = db.prepare("INSERT INTO t VALUES (?1, ?2)").unwrap();
        for k in 0..5000i64 {
            let text = "x".repeat((k % 700) as usize);
            insert.execute(rusqlite::params![k, text]).unwrap();
        }
    }
    // An index (the sorter) and a string grown far past its first allocation.
    db.execute_batch("CREATE INDEX t_v ON t (v, k)").unwrap();
    let (rows, total): (i64, i64) = db
        .query_row(
            "SELECT COUNT(*), LENGTH(GROUP_CONCAT(v, '')) FROM t",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(rows, 5000);
    assert_eq!(total, (0..5000i64).map(|k| k % 700).sum::<i64>());
    // Once SQLite runs, it keeps what it has and refuses changes.
    assert!(!detectors::storage::sqlite_memory::use_global_allocator());
}
