//! Building proofs: one-shot over whole buffers, or row by row as a model decodes.

use crate::activations::{for_each_chunk, Activations, ProofParams};
use crate::error::{Error, Result};
use crate::proof::Proof;
use crate::topk::topk_indices;

/// The proof of one chunk given as flattened bf16 bits: the top-`topk` values by magnitude,
/// interpolated at their flat indices. `chunk` only labels a [`Error::ChunkTooSmall`].
pub(crate) fn prove_bits(bits: &[u16], topk: usize, chunk: usize) -> Result<Proof> {
    if bits.len() < topk {
        return Err(Error::ChunkTooSmall {
            chunk,
            values: bits.len(),
            topk,
        });
    }
    let points: Vec<(usize, u16)> = topk_indices(bits, topk)
        .into_iter()
        .map(|i| (i, bits[i]))
        .collect();
    Proof::from_points(&points)
}

/// The proof of a single chunk (all of `chunk`'s rows, flattened row-major).
pub fn prove_chunk(chunk: &Activations<'_>, topk: usize) -> Result<Proof> {
    prove_bits(&chunk.bf16_rows(0, chunk.rows()), topk, 0)
}

/// All proofs for a generation: first one over the whole `prefill` block when given, then one per
/// `decode_batching_size` rows of `decode` (the last may be shorter).
pub fn build_proofs(
    params: &ProofParams,
    prefill: Option<&Activations<'_>>,
    decode: &Activations<'_>,
) -> Result<Vec<Proof>> {
    for_each_chunk(params, prefill, decode, |chunk, _, bits| {
        prove_bits(&bits, params.topk(), chunk)
    })
}

/// Builds proofs while activations arrive: an optional prefill block first, then decode rows one
/// at a time; a proof comes out each time `decode_batching_size` rows have been pushed, and
/// [`ProofBuilder::finish`] proves the last partial chunk.
///
/// The proofs are identical to [`build_proofs`] on the same data. After an error the builder is in
/// an unspecified state and should be dropped.
#[derive(Debug, Clone)]
pub struct ProofBuilder {
    params: ProofParams,
    /// Width of the decode rows, fixed by the first one.
    hidden: Option<usize>,
    /// bf16 bits of the decode rows not yet proven.
    pending: Vec<u16>,
    pending_rows: usize,
    /// Proofs emitted so far (including the prefill proof).
    emitted: usize,
}

impl ProofBuilder {
    /// An empty builder.
    pub fn new(params: ProofParams) -> Self {
        Self {
            params,
            hidden: None,
            pending: Vec::new(),
            pending_rows: 0,
            emitted: 0,
        }
    }

    /// Proves the prefill block. Only allowed before anything else has been pushed.
    pub fn prefill(&mut self, prefill: &Activations<'_>) -> Result<Proof> {
        if self.emitted > 0 || self.pending_rows > 0 {
            return Err(Error::PrefillAfterDecode);
        }
        let proof = prove_bits(&prefill.bf16_rows(0, prefill.rows()), self.params.topk(), 0)?;
        self.emitted += 1;
        Ok(proof)
    }

    /// Pushes any number of decode rows and returns the proofs of the chunks they complete.
    pub fn push_rows(&mut self, rows: &Activations<'_>) -> Result<Vec<Proof>> {
        let mut out = Vec::new();
        for r in 0..rows.rows() {
            self.accept_width(rows.hidden())?;
            rows.extend_bf16(r, r + 1, &mut self.pending);
            if let Some(p) = self.row_added()? {
                out.push(p);
            }
        }
        Ok(out)
    }

    /// Pushes one decode row of f32 values (rounded to bf16 as torch rounds).
    pub fn push_row_f32(&mut self, row: &[f32]) -> Result<Option<Proof>> {
        self.accept_width(row.len())?;
        self.pending
            .extend(row.iter().map(|&x| crate::bf16::f32_to_bf16_bits(x)));
        self.row_added()
    }

    /// Pushes one decode row of bf16 bit patterns.
    pub fn push_row_bf16_bits(&mut self, row: &[u16]) -> Result<Option<Proof>> {
        self.accept_width(row.len())?;
        self.pending.extend_from_slice(row);
        self.row_added()
    }

    /// Proves the remaining rows, if any (the last, shorter chunk).
    pub fn finish(mut self) -> Result<Option<Proof>> {
        if self.pending_rows == 0 {
            return Ok(None);
        }
        self.flush().map(Some)
    }

    /// Proofs emitted so far, the prefill proof included.
    pub fn proofs_emitted(&self) -> usize {
        self.emitted
    }

    /// Decode rows pushed but not yet covered by an emitted proof.
    pub fn pending_rows(&self) -> usize {
        self.pending_rows
    }

    fn accept_width(&mut self, width: usize) -> Result<()> {
        match self.hidden {
            Some(expected) if expected != width => Err(Error::RowWidthMismatch {
                expected,
                got: width,
            }),
            Some(_) => Ok(()),
            None if width == 0 => Err(Error::ShapeMismatch {
                len: 0,
                rows: 1,
                hidden: 0,
            }),
            None => {
                self.hidden = Some(width);
                Ok(())
            }
        }
    }

    fn row_added(&mut self) -> Result<Option<Proof>> {
        self.pending_rows += 1;
        if self.pending_rows == self.params.decode_batching_size() {
            self.flush().map(Some)
        } else {
            Ok(None)
        }
    }

    fn flush(&mut self) -> Result<Proof> {
        let proof = prove_bits(&self.pending, self.params.topk(), self.emitted)?;
        self.pending.clear();
        self.pending_rows = 0;
        self.emitted += 1;
        Ok(proof)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(n: usize, seed: u32) -> Vec<f32> {
        // Distinct magnitudes, no ties: a scrambled ramp.
        (0..n)
            .map(|i| {
                let j = (i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) % 1_000_003;
                let v = (j as f32) * 1e-3 + 0.5;
                if i % 3 == 0 {
                    -v
                } else {
                    v
                }
            })
            .collect()
    }

    #[test]
    fn builder_matches_one_shot() {
        let params = ProofParams::new(8, 3).unwrap();
        let pre = sample(5 * 16, 1);
        let dec = sample(10 * 16, 2);
        let pre_a = Activations::f32(&pre, 5, 16).unwrap();
        let dec_a = Activations::f32(&dec, 10, 16).unwrap();
        let want = build_proofs(&params, Some(&pre_a), &dec_a).unwrap();
        assert_eq!(want.len(), 5);

        let mut b = ProofBuilder::new(params);
        let mut got = vec![b.prefill(&pre_a).unwrap()];
        for row in dec.chunks(16) {
            got.extend(b.push_row_f32(row).unwrap());
        }
        assert_eq!(b.pending_rows(), 1);
        got.extend(b.finish().unwrap());
        assert_eq!(got, want);

        let mut b = ProofBuilder::new(params);
        let mut got = vec![b.prefill(&pre_a).unwrap()];
        got.extend(b.push_rows(&dec_a).unwrap());
        got.extend(b.finish().unwrap());
        assert_eq!(got, want);
    }

    #[test]
    fn builder_rejects_misuse() {
        let params = ProofParams::new(4, 2).unwrap();
        let mut b = ProofBuilder::new(params);
        assert!(b.push_row_bf16_bits(&[1, 2, 3, 4]).unwrap().is_none());
        assert_eq!(
            b.push_row_bf16_bits(&[1, 2, 3]),
            Err(Error::RowWidthMismatch {
                expected: 4,
                got: 3
            })
        );
        let pre = [0u16; 8];
        assert_eq!(
            b.prefill(&Activations::bf16_bits(&pre, 2, 4).unwrap()),
            Err(Error::PrefillAfterDecode)
        );
        let mut b = ProofBuilder::new(ProofParams::new(10, 2).unwrap());
        assert_eq!(
            b.push_row_bf16_bits(&[1, 2, 3]).unwrap(),
            None,
            "half a chunk"
        );
        assert_eq!(
            b.finish(),
            Err(Error::ChunkTooSmall {
                chunk: 0,
                values: 3,
                topk: 10
            })
        );
    }
}
