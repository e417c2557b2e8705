//! The live database and the replayed store, compared table by table and row by row: what
//! trust decisions and searches read, not only the documents the catalogue serves.

use anyhow::bail;
use serde_json::Value;

use super::catalogue::first_difference;
use crate::store::{TABLES, TableRow, Tables};

/// Compares every table of `live` with the same table of `replayed`, one table at a time (so
/// that only one table of each is held in memory); returns the number of rows compared. The
/// error names the table, the row and the column of the first difference.
pub(super) async fn compare_tables(live: &Tables, replayed: &Tables) -> anyhow::Result<usize> {
    let mut compared = 0;
    for table in TABLES {
        let live_rows = live.rows(table).await?;
        let replayed_rows = replayed.rows(table).await?;
        compare_rows(table, &live_rows, &replayed_rows)?;
        compared += live_rows.len();
    }
    Ok(compared)
}

/// Compares two tables' rows, both in canonical order.
fn compare_rows(table: &str, live: &[TableRow], replayed: &[TableRow]) -> anyhow::Result<()> {
    for i in 0..live.len().max(replayed.len()) {
        match (live.get(i), replayed.get(i)) {
            (Some(a), Some(b)) if a.key == b.key => {
                if let Some(diff) = column_difference(a, b) {
                    bail!("MISMATCH in table {table}, row {}: {diff}", a.key);
                }
            }
            (Some(a), Some(b)) => {
                if !replayed.iter().any(|row| row.key == a.key) {
                    bail!(
                        "MISMATCH in table {table}: live has row {}, which no log entry created",
                        a.key
                    );
                }
                if !live.iter().any(|row| row.key == b.key) {
                    bail!(
                        "MISMATCH in table {table}: the log replay has row {}, which the live database lacks",
                        b.key
                    );
                }
                bail!(
                    "MISMATCH in table {table}: live has row {} where the log replay has row {} (rows in another order)",
                    a.key,
                    b.key
                );
            }
            (Some(a), None) => bail!(
                "MISMATCH in table {table}: live has row {}, which no log entry created",
                a.key
            ),
            (None, Some(b)) => bail!(
                "MISMATCH in table {table}: the log replay has row {}, which the live database lacks",
                b.key
            ),
            (None, None) => {}
        }
    }
    Ok(())
}

/// The first column in which two rows differ, named; inside a JSON document, the path of the
/// first difference within it.
fn column_difference(live: &TableRow, replayed: &TableRow) -> Option<String> {
    let mut names: Vec<&String> = live.columns.keys().chain(replayed.columns.keys()).collect();
    names.sort();
    names.dedup();
    names.into_iter().find_map(|name| {
        let a = live.columns.get(name).unwrap_or(&Value::Null);
        let b = replayed.columns.get(name).unwrap_or(&Value::Null);
        if a == b {
            return None;
        }
        match (document(a), document(b)) {
            (Some(a), Some(b)) => Some(match first_difference(name, &a, &b) {
                Some(diff) => format!("column {diff}"),
                None => format!("column {name}: the same document, written differently"),
            }),
            _ => Some(format!("column {name}: live {a}, log replay {b}")),
        }
    })
}

/// A text column holding a JSON object or array (a stored document), parsed.
fn document(column: &Value) -> Option<Value> {
    let parsed: Value = serde_json::from_str(column.as_str()?).ok()?;
    (parsed.is_object() || parsed.is_array()).then_some(parsed)
}
