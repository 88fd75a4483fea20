//! What the explorer learned, in one SQLite file that survives restarts: the game's logs as the
//! chain gave them (re-decoded on read), block times, the follow cursor, fetched bundles (their
//! items as JSON, or why they could not be used), challengers' published checks, and the signers
//! of verdicts. Every write of one chain range happens in one transaction with the cursor, so a
//! crash never leaves logs without their cursor or the reverse.

use alloy::primitives::{Address, Bytes, LogData, B256};
use anyhow::Context as _;
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;
use verbench_chain::follow::{Cursor, GameLog};

/// Schema version stored in `meta`; a file of another version is refused, never reinterpreted.
const SCHEMA_VERSION: &str = "1";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS logs (
    block INTEGER NOT NULL,
    log_index INTEGER NOT NULL,
    tx BLOB,
    topics BLOB NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (block, log_index)
);
CREATE TABLE IF NOT EXISTS blocks (number INTEGER PRIMARY KEY, timestamp INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS bundles (
    commitment_id BLOB PRIMARY KEY,
    fetched_at INTEGER NOT NULL,
    ok INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS checks (
    commitment_id BLOB NOT NULL,
    source TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (commitment_id, source)
);
CREATE TABLE IF NOT EXISTS signers (
    dispute_id BLOB NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (dispute_id)
);
";

/// One stored log, in chain order.
#[derive(Debug, Clone)]
pub struct StoredLog {
    /// Its block.
    pub block: u64,
    /// Its transaction.
    pub tx: Option<B256>,
    /// Its index in the block.
    pub log_index: u64,
    /// Topics and data.
    pub data: LogData,
}

/// The explorer's database.
#[derive(Debug)]
pub struct Store {
    // A mutex makes the store `Sync` (the indexer's futures hold `&Store` across awaits); one
    // task uses it, so it is never contended.
    conn: std::sync::Mutex<Connection>,
}

fn i64_of(v: u64) -> anyhow::Result<i64> {
    i64::try_from(v).context("value beyond SQLite's integer range")
}

impl Store {
    /// Opens (or creates) the database at `path`. `game` and `chain_id` are recorded on creation;
    /// a file made for another deployment is refused.
    pub fn open(path: &Path, chain_id: u64, game: Address) -> anyhow::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("{}", dir.display()))?;
        }
        let conn = Connection::open(path).with_context(|| format!("{}", path.display()))?;
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")?;
        conn.execute_batch(SCHEMA)?;
        let store = Self {
            conn: std::sync::Mutex::new(conn),
        };
        let deployment = format!("{chain_id}:{game}");
        match store.meta("schema")? {
            None => {
                store.set_meta("schema", SCHEMA_VERSION)?;
                store.set_meta("deployment", &deployment)?;
            }
            Some(v) if v != SCHEMA_VERSION => anyhow::bail!(
                "{}: schema version {v}, this explorer reads version {SCHEMA_VERSION}; \
                 use a new --data-dir (the explorer rebuilds it from the chain)",
                path.display()
            ),
            Some(_) => {}
        }
        match store.meta("deployment")? {
            Some(d) if d != deployment => anyhow::bail!(
                "{}: made for deployment {d}, not {deployment}; use another --data-dir",
                path.display()
            ),
            _ => {}
        }
        Ok(store)
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (transactions roll back).
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A `meta` value.
    pub fn meta(&self, key: &str) -> anyhow::Result<Option<String>> {
        Ok(self
            .conn()
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    /// Sets a `meta` value.
    pub fn set_meta(&self, key: &str, value: &str) -> anyhow::Result<()> {
        self.conn().execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [key, value],
        )?;
        Ok(())
    }

    /// The follow cursor, or one at `start` when none is stored.
    pub fn cursor(&self, start: u64) -> anyhow::Result<Cursor> {
        match self.meta("cursor")? {
            Some(text) => Ok(serde_json::from_str(&text).context("stored cursor")?),
            None => Ok(Cursor::at(start)),
        }
    }

    /// Drops every log and block time from `block` on (a reorg rewound there) and stores the
    /// rewound cursor, in one transaction.
    pub fn rewind(&self, block: u64, cursor: &Cursor, note: &str) -> anyhow::Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let b = i64_of(block)?;
        tx.execute("DELETE FROM logs WHERE block >= ?1", [b])?;
        tx.execute("DELETE FROM blocks WHERE number >= ?1", [b])?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('cursor', ?1)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [serde_json::to_string(cursor)?],
        )?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('last_reorg', ?1)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [note],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Stores one range's logs, the times of their blocks and the advanced cursor, atomically.
    pub fn append(
        &self,
        logs: &[GameLog],
        times: &[(u64, u64)],
        cursor: &Cursor,
    ) -> anyhow::Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        for log in logs {
            let data = &log.raw;
            let mut topics = Vec::with_capacity(32 * data.topics().len());
            for t in data.topics() {
                topics.extend_from_slice(t.as_slice());
            }
            tx.execute(
                "INSERT OR REPLACE INTO logs (block, log_index, tx, topics, data)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    i64_of(log.block)?,
                    i64_of(log.log_index.unwrap_or(0))?,
                    log.tx.map(|t| t.to_vec()),
                    topics,
                    data.data.to_vec(),
                ],
            )?;
        }
        for (n, t) in times {
            tx.execute(
                "INSERT OR REPLACE INTO blocks (number, timestamp) VALUES (?1, ?2)",
                params![i64_of(*n)?, i64_of(*t)?],
            )?;
        }
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('cursor', ?1)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [serde_json::to_string(cursor)?],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Every stored log, in chain order.
    pub fn logs(&self) -> anyhow::Result<Vec<StoredLog>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT block, log_index, tx, topics, data FROM logs ORDER BY block, log_index",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Option<Vec<u8>>>(2)?,
                r.get::<_, Vec<u8>>(3)?,
                r.get::<_, Vec<u8>>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (block, log_index, tx, topics, data) = row?;
            anyhow::ensure!(
                topics.len() % 32 == 0,
                "stored log topics are not 32-byte words"
            );
            let topics: Vec<B256> = topics.chunks(32).map(B256::from_slice).collect();
            out.push(StoredLog {
                block: u64::try_from(block)?,
                log_index: u64::try_from(log_index)?,
                tx: tx.filter(|t| t.len() == 32).map(|t| B256::from_slice(&t)),
                data: LogData::new_unchecked(topics, Bytes::from(data)),
            });
        }
        Ok(out)
    }

    /// Block timestamps known (blocks that hold game logs).
    pub fn block_times(&self) -> anyhow::Result<std::collections::HashMap<u64, u64>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT number, timestamp FROM blocks")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))?;
        let mut out = std::collections::HashMap::new();
        for row in rows {
            let (n, t) = row?;
            out.insert(u64::try_from(n)?, u64::try_from(t)?);
        }
        Ok(out)
    }

    /// Stores what fetching commitment `id`'s bundle gave: `ok` with the JSON of what was read,
    /// or not with the JSON of why not.
    pub fn put_bundle(&self, id: B256, now: u64, ok: bool, body: &str) -> anyhow::Result<()> {
        self.conn().execute(
            "INSERT OR REPLACE INTO bundles (commitment_id, fetched_at, ok, body) VALUES (?1, ?2, ?3, ?4)",
            params![id.to_vec(), i64_of(now)?, ok, body],
        )?;
        Ok(())
    }

    /// The stored bundle outcome of commitment `id`: (fetched at, ok, body).
    pub fn bundle(&self, id: B256) -> anyhow::Result<Option<(u64, bool, String)>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT fetched_at, ok, body FROM bundles WHERE commitment_id = ?1",
                [id.to_vec()],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, bool>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                },
            )
            .optional()?
            .map(|(t, ok, b)| (u64::try_from(t).unwrap_or(0), ok, b)))
    }

    /// Stores a challenger's published check of commitment `id` (JSON), by its source URL.
    pub fn put_check(&self, id: B256, source: &str, body: &str) -> anyhow::Result<()> {
        self.conn().execute(
            "INSERT OR REPLACE INTO checks (commitment_id, source, body) VALUES (?1, ?2, ?3)",
            params![id.to_vec(), source, body],
        )?;
        Ok(())
    }

    /// The stored checks of commitment `id`: (source, JSON).
    pub fn checks(&self, id: B256) -> anyhow::Result<Vec<(String, String)>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT source, body FROM checks WHERE commitment_id = ?1 ORDER BY source")?;
        let rows = stmt.query_map([id.to_vec()], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Stores the decoded signers of dispute `id`'s verdict (JSON).
    pub fn put_signers(&self, id: B256, body: &str) -> anyhow::Result<()> {
        self.conn().execute(
            "INSERT OR REPLACE INTO signers (dispute_id, body) VALUES (?1, ?2)",
            params![id.to_vec(), body],
        )?;
        Ok(())
    }

    /// The stored signers of dispute `id` (JSON).
    pub fn signers(&self, id: B256) -> anyhow::Result<Option<String>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT body FROM signers WHERE dispute_id = ?1",
                [id.to_vec()],
                |r| r.get(0),
            )
            .optional()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_refuses_another_deployment_and_keeps_its_cursor() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("explorer.sqlite");
        let game = Address::repeat_byte(7);
        {
            let s = Store::open(&path, 31337, game).unwrap();
            assert_eq!(s.cursor(5).unwrap(), Cursor::at(5));
            let at = Cursor {
                cursor: 12,
                recent: vec![(11, B256::repeat_byte(1))],
            };
            s.append(&[], &[(11, 1000)], &at).unwrap();
        }
        let s = Store::open(&path, 31337, game).unwrap();
        assert_eq!(s.cursor(5).unwrap().cursor, 12);
        assert_eq!(s.block_times().unwrap()[&11], 1000);
        let e = Store::open(&path, 1, game).unwrap_err().to_string();
        assert!(e.contains("made for deployment"), "{e}");
    }
}
