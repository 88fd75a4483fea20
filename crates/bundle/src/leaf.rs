//! Leaves, as `IDisputeGame.LeafV2` defines them: `leaf data = abi.encode(LeafV2)` (ten 32-byte
//! words), `leaf hash = keccak256(0x00 || leaf data)`.

#[cfg(test)]
use crate::WAD;
use crate::{keccak256, Hash, Header, Item};
use base64::Engine as _;

/// Version word of [`LeafV2`].
pub const LEAF_VERSION: u64 = 2;
/// Size of the ABI-encoded leaf data.
pub const LEAF_DATA_LEN: usize = 10 * 32;

/// The fields one leaf commits to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeafV2 {
    /// The task.
    pub task_id: Hash,
    /// The provider's address.
    pub provider: [u8; 20],
    /// Dataset index.
    pub index: u64,
    /// Leaf count (= dataset size).
    pub leaf_count: u64,
    /// `hashLeaf(input)`.
    pub input_hash: Hash,
    /// [`output_hash`] of the generated tokens.
    pub output_hash: Hash,
    /// [`toploc_hash`] of the proofs.
    pub toploc_hash: Hash,
    /// Score in WAD.
    pub score: u128,
    /// Sum of the scores of leaves `0..=index`, in WAD.
    pub score_sum: u128,
}

fn word_u128(v: u128) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[16..].copy_from_slice(&v.to_be_bytes());
    w
}

impl LeafV2 {
    /// `abi.encode(LeafV2)`: 320 bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut provider = [0u8; 32];
        provider[12..].copy_from_slice(&self.provider);
        let words: [[u8; 32]; 10] = [
            word_u128(u128::from(LEAF_VERSION)),
            self.task_id,
            provider,
            word_u128(u128::from(self.index)),
            word_u128(u128::from(self.leaf_count)),
            self.input_hash,
            self.output_hash,
            self.toploc_hash,
            word_u128(self.score),
            word_u128(self.score_sum),
        ];
        words.concat()
    }

    /// Decodes leaf data; `None` unless it is exactly ten words with the version, address and
    /// integer ranges this type can hold.
    pub fn decode(data: &[u8]) -> Option<Self> {
        if data.len() != LEAF_DATA_LEN {
            return None;
        }
        let word =
            |i: usize| -> [u8; 32] { data[i * 32..(i + 1) * 32].try_into().unwrap_or([0xff; 32]) };
        let small = |w: [u8; 32], bytes: usize| -> Option<u128> {
            if w[..32 - bytes].iter().any(|&b| b != 0) {
                return None;
            }
            Some(u128::from_be_bytes(w[16..].try_into().ok()?))
        };
        if small(word(0), 8)? != u128::from(LEAF_VERSION) {
            return None;
        }
        let p = word(2);
        if p[..12].iter().any(|&b| b != 0) {
            return None;
        }
        Some(Self {
            task_id: word(1),
            provider: p[12..].try_into().ok()?,
            index: u64::try_from(small(word(3), 8)?).ok()?,
            leaf_count: u64::try_from(small(word(4), 8)?).ok()?,
            input_hash: word(5),
            output_hash: word(6),
            toploc_hash: word(7),
            score: small(word(8), 16)?,
            score_sum: small(word(9), 16)?,
        })
    }

    /// The Merkle leaf hash: `keccak256(0x00 || abi.encode(self))`.
    pub fn hash(&self) -> Hash {
        verbench_merkle::hash_leaf(&self.encode())
    }
}

/// `keccak256` of the output token ids, each as a 4-byte big-endian integer, concatenated, then
/// the multiple-choice logits (none outside multiple choice), each as the 4-byte big-endian bit
/// pattern of its IEEE-754 f32.
pub fn output_hash(tokens: &[u32], choice_logits: &[f32]) -> Hash {
    keccak256(&output_bytes(tokens, choice_logits))
}

/// The bytes [`output_hash`] hashes (what `publishItem` puts on chain as `output`).
pub fn output_bytes(tokens: &[u32], choice_logits: &[f32]) -> Vec<u8> {
    tokens
        .iter()
        .flat_map(|t| t.to_be_bytes())
        .chain(choice_logits.iter().flat_map(|l| l.to_bits().to_be_bytes()))
        .collect()
}

/// The inverse of [`output_bytes`] for an item with `choices` multiple-choice logits (4 for a
/// multiple-choice scorer, 0 otherwise): `None` when the length does not fit.
pub fn parse_output(bytes: &[u8], choices: usize) -> Option<(Vec<u32>, Vec<f32>)> {
    if bytes.len() % 4 != 0 || bytes.len() / 4 < choices {
        return None;
    }
    let words: Vec<u32> = bytes
        .chunks_exact(4)
        .map(|w| u32::from_be_bytes([w[0], w[1], w[2], w[3]]))
        .collect();
    let (tokens, logits) = words.split_at(words.len() - choices);
    Some((
        tokens.to_vec(),
        logits.iter().map(|&b| f32::from_bits(b)).collect(),
    ))
}

/// `keccak256` of the proofs' raw bytes (each `2 + 2k` bytes, decoded from base64), concatenated
/// in order. `None` when a proof is not valid base64.
pub fn toploc_hash(proofs_base64: &[String]) -> Option<Hash> {
    Some(keccak256(&toploc_bytes(proofs_base64)?))
}

/// The bytes [`toploc_hash`] hashes (what `publishItem` puts on chain as `toploc`).
pub fn toploc_bytes(proofs_base64: &[String]) -> Option<Vec<u8>> {
    let mut bytes = Vec::new();
    for p in proofs_base64 {
        bytes.extend(base64::engine::general_purpose::STANDARD.decode(p).ok()?);
    }
    Some(bytes)
}

/// The inverse of [`toploc_bytes`] for proofs at top-`topk` (each `2 + 2 * topk` bytes), as
/// base64: `None` when the length is not a whole number of proofs.
pub fn split_toploc(bytes: &[u8], topk: usize) -> Option<Vec<String>> {
    let size = 2 + 2 * topk;
    if topk == 0 || bytes.len() % size != 0 {
        return None;
    }
    Some(
        bytes
            .chunks_exact(size)
            .map(|p| base64::engine::general_purpose::STANDARD.encode(p))
            .collect(),
    )
}

/// `hashLeaf(input bytes)` of a dataset input.
pub fn input_hash(input: &str) -> Hash {
    verbench_merkle::hash_leaf(input.as_bytes())
}

/// Parses a `0x`-prefixed 32-byte hex string.
pub fn parse_h256(text: &str) -> Option<Hash> {
    verbench_merkle::from_hex(text)
        .ok()
        .filter(|_| text.starts_with("0x"))
}

/// Parses a `0x`-prefixed 20-byte hex address (any case).
pub fn parse_address(text: &str) -> Option<[u8; 20]> {
    let digits = text.strip_prefix("0x")?;
    hex::decode(digits).ok()?.try_into().ok()
}

/// Parses a canonical decimal WAD string: digits only, no sign, no leading zeros ("0" for zero),
/// at most `u128::MAX`.
pub fn parse_wad(text: &str) -> Option<u128> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    canonical.then(|| text.parse().ok()).flatten()
}

/// Builds the leaf of `item` under `header`, checking that every field parses.
pub fn leaf_of(header: &Header, item: &Item) -> Result<LeafV2, String> {
    let task_id =
        parse_h256(&header.task_id).ok_or("header task_id is not 0x + 32 bytes of hex")?;
    let provider = parse_address(&header.provider).ok_or("header provider is not a 0x address")?;
    let input_hash = input_hash(&item.input);
    let claimed_input =
        parse_h256(&item.input_hash).ok_or("input_hash is not 0x + 32 bytes of hex")?;
    if claimed_input != input_hash {
        return Err("input_hash does not match hashLeaf(input)".into());
    }
    let toploc_hash = toploc_hash(&item.proofs).ok_or("a proof is not valid base64")?;
    let score = parse_wad(&item.score_wad).ok_or("score_wad is not a canonical decimal integer")?;
    let score_sum =
        parse_wad(&item.score_sum_wad).ok_or("score_sum_wad is not a canonical decimal integer")?;
    Ok(LeafV2 {
        task_id,
        provider,
        index: item.index,
        leaf_count: header.leaf_count,
        input_hash,
        output_hash: output_hash(&item.output_tokens, &item.choice_logits),
        toploc_hash,
        score,
        score_sum,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of docs/bundle.md, "Leaves".
    #[test]
    fn output_hash_matches_the_documented_example() {
        assert_eq!(
            hex::encode(output_hash(&[1, 258], &[1.5, -2.0])),
            "35edaf8a30d765b1ec40d20e18cdc9026aeec01995cef96df90bc9f1bc4b0626"
        );
    }

    #[test]
    fn published_item_bytes_parse_back_and_refuse_bad_lengths() {
        let bytes = output_bytes(&[1, 258, 7], &[1.5, -2.0, 0.25, 3.0]);
        assert_eq!(
            keccak256(&bytes),
            output_hash(&[1, 258, 7], &[1.5, -2.0, 0.25, 3.0])
        );
        let (tokens, logits) = parse_output(&bytes, 4).unwrap();
        assert_eq!(
            (tokens, logits),
            (vec![1, 258, 7], vec![1.5, -2.0, 0.25, 3.0])
        );
        assert_eq!(parse_output(&bytes, 0).unwrap().0.len(), 7);
        assert!(parse_output(&bytes[1..], 0).is_none(), "not whole words");
        assert!(
            parse_output(&bytes[..12], 4).is_none(),
            "fewer words than choices"
        );
        let proofs = vec![
            base64::engine::general_purpose::STANDARD.encode([1u8; 6]),
            base64::engine::general_purpose::STANDARD.encode([2u8; 6]),
        ];
        let raw = toploc_bytes(&proofs).unwrap();
        assert_eq!(keccak256(&raw), toploc_hash(&proofs).unwrap());
        assert_eq!(split_toploc(&raw, 2).unwrap(), proofs);
        assert!(split_toploc(&raw[1..], 2).is_none());
        assert!(split_toploc(&raw, 0).is_none());
    }

    #[test]
    fn encode_decode_round_trip() {
        let leaf = LeafV2 {
            task_id: [1; 32],
            provider: [2; 20],
            index: 7,
            leaf_count: 9,
            input_hash: [3; 32],
            output_hash: [4; 32],
            toploc_hash: [5; 32],
            score: WAD,
            score_sum: 3 * WAD,
        };
        let data = leaf.encode();
        assert_eq!(data.len(), LEAF_DATA_LEN);
        assert_eq!(LeafV2::decode(&data), Some(leaf));
        assert_eq!(LeafV2::decode(&data[1..]), None);
        let mut bad_version = data.clone();
        bad_version[31] = 1;
        assert_eq!(LeafV2::decode(&bad_version), None);
        let mut dirty_address = data;
        dirty_address[64] = 1;
        assert_eq!(LeafV2::decode(&dirty_address), None);
    }

    #[test]
    fn wad_strings_must_be_canonical() {
        assert_eq!(parse_wad("0"), Some(0));
        assert_eq!(parse_wad("1000000000000000000"), Some(WAD));
        for bad in ["", "+1", "-1", "01", "00", "1.0", " 1", "1e18"] {
            assert_eq!(parse_wad(bad), None, "{bad:?}");
        }
    }
}
