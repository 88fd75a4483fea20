//! Following the DisputeGame's events: confirmed block ranges read in order from a persisted
//! cursor, with reorg detection. One implementation for every reader of the chain (the
//! challenger bot, the explorer): each keeps its own [`Cursor`] and decides what to do with the
//! logs and with a rewind.
//!
//! A reader calls [`Follower::rewind_on_reorg`] once per pass, then [`Follower::next_range`]
//! until it returns `None`, persisting its cursor (and what it learned) after each range.

use crate::bindings::IDisputeGame::IDisputeGameEvents;
use alloy::primitives::{Address, LogData, B256};
use alloy::providers::Provider;
use alloy::rpc::types::{BlockNumberOrTag, Filter};
use alloy::sol_types::SolEventInterface;
use serde::{Deserialize, Serialize};

/// Where a reader is: the next block to read and the hashes of recently read range ends.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// Next block to read.
    pub cursor: u64,
    /// `(number, hash)` of the last block of recently read ranges, ascending.
    pub recent: Vec<(u64, B256)>,
}

impl Cursor {
    /// A cursor that starts reading at `block`.
    pub fn at(block: u64) -> Self {
        Self {
            cursor: block,
            recent: Vec::new(),
        }
    }
}

/// How to follow: which contract, how deep a block must be before it is read, how many blocks a
/// `eth_getLogs` call may span, and how many range ends are remembered for reorg detection.
#[derive(Debug, Clone, Copy)]
pub struct Follow {
    /// The DisputeGame.
    pub game: Address,
    /// Blocks behind the head before a block is read (0: read the head).
    pub confirmations: u64,
    /// Most blocks per `eth_getLogs` call (at least 1 is used).
    pub max_block_range: u64,
    /// Range ends remembered (at least 1 is used).
    pub reorg_depth: usize,
    /// The first block ever read: a rewind never goes below it.
    pub start_block: u64,
}

/// One decoded DisputeGame log and where it was.
#[derive(Debug, Clone)]
pub struct GameLog {
    /// Its block.
    pub block: u64,
    /// Its transaction, when the node says.
    pub tx: Option<B256>,
    /// Its index in the block, when the node says.
    pub log_index: Option<u64>,
    /// The event.
    pub event: IDisputeGameEvents,
    /// Its topics and data as the node gave them (for readers that store logs).
    pub raw: LogData,
}

/// A range of confirmed blocks read, `[from, to]`, with the game's logs in it (in chain order).
/// Logs the bindings cannot decode are counted in `undecodable`, not returned.
#[derive(Debug, Clone)]
pub struct Range {
    /// First block.
    pub from: u64,
    /// Last block.
    pub to: u64,
    /// The decoded logs.
    pub logs: Vec<GameLog>,
    /// Logs of the game that did not decode.
    pub undecodable: usize,
}

/// Reads the chain for one reader's [`Cursor`].
#[derive(Debug, Clone, Copy)]
pub struct Follower<'a, P> {
    provider: &'a P,
    how: Follow,
}

impl<'a, P: Provider> Follower<'a, P> {
    /// A follower reading through `provider`.
    pub fn new(provider: &'a P, how: Follow) -> Self {
        Self { provider, how }
    }

    async fn block_hash(&self, n: u64) -> alloy::transports::TransportResult<Option<B256>> {
        Ok(self
            .provider
            .get_block_by_number(BlockNumberOrTag::Number(n))
            .await?
            .map(|b| b.header.hash))
    }

    /// Rewinds `at` past every remembered range end whose hash changed (a reorg). Returns the
    /// block reading restarts from when it rewound (everything from there on is read again:
    /// a reader that stores logs drops its logs from that block on), `None` when nothing changed.
    pub async fn rewind_on_reorg(
        &self,
        at: &mut Cursor,
    ) -> alloy::transports::TransportResult<Option<u64>> {
        let mut rewound_past = None;
        while let Some(&(n, hash)) = at.recent.last() {
            if self.block_hash(n).await? == Some(hash) {
                if rewound_past.is_some() {
                    at.cursor = at.cursor.min(n + 1);
                    return Ok(Some(at.cursor));
                }
                return Ok(None);
            }
            at.recent.pop();
            rewound_past = Some(n);
        }
        let Some(n) = rewound_past else {
            return Ok(None);
        };
        // No remembered block survived: rewind as deep as we remember.
        let depth = self.how.reorg_depth as u64 * self.how.max_block_range.max(1);
        at.cursor = at
            .cursor
            .min(n.saturating_sub(depth).max(self.how.start_block));
        Ok(Some(at.cursor))
    }

    /// The last block deep enough to read, if the chain is that long.
    pub async fn safe_head(&self) -> alloy::transports::TransportResult<Option<u64>> {
        let head = self.provider.get_block_number().await?;
        Ok(head.checked_sub(self.how.confirmations))
    }

    /// Reads the next range of confirmed blocks and advances `at` past it; `None` when `at` is
    /// past the safe head. The caller persists `at` with what it took from the logs.
    pub async fn next_range(
        &self,
        at: &mut Cursor,
    ) -> alloy::transports::TransportResult<Option<Range>> {
        let Some(safe) = self.safe_head().await? else {
            return Ok(None);
        };
        if at.cursor > safe {
            return Ok(None);
        }
        let from = at.cursor;
        let to = safe.min(from + self.how.max_block_range.max(1) - 1);
        let filter = Filter::new()
            .address(self.how.game)
            .from_block(from)
            .to_block(to);
        let mut logs = Vec::new();
        let mut undecodable = 0;
        for log in self.provider.get_logs(&filter).await? {
            match IDisputeGameEvents::decode_log(&log.inner) {
                Ok(ev) => logs.push(GameLog {
                    block: log.block_number.unwrap_or(to),
                    tx: log.transaction_hash,
                    log_index: log.log_index,
                    event: ev.data,
                    raw: log.inner.data.clone(),
                }),
                Err(_) => undecodable += 1,
            }
        }
        if let Some(hash) = self.block_hash(to).await? {
            at.recent.push((to, hash));
            let excess = at.recent.len().saturating_sub(self.how.reorg_depth.max(1));
            at.recent.drain(..excess);
        }
        at.cursor = to + 1;
        Ok(Some(Range {
            from,
            to,
            logs,
            undecodable,
        }))
    }
}
