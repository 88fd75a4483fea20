//! Borrowed views of activation buffers and the parameters that cut them into chunks.

use std::borrow::Cow;

use half::slice::HalfFloatSliceExt as _;

use crate::bf16::{f16_to_bf16_bits, f32_to_bf16_bits};
use crate::error::{Error, Result};
use crate::field::P;
use crate::proof::proof_len;

/// How proofs are cut: `topk` values per proof, one proof per `decode_batching_size` decode rows.
///
/// Whether a prefill proof comes first is not a parameter: it follows from whether a prefill
/// block is passed (`Some`) to the builder or verifier, so the two sides cannot disagree on it
/// through a flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProofParams {
    topk: usize,
    decode_batching_size: usize,
}

impl ProofParams {
    /// Checks and stores the parameters: `topk` in `1..=65497`, `decode_batching_size >= 1`.
    pub fn new(topk: usize, decode_batching_size: usize) -> Result<Self> {
        if topk == 0 || topk > P as usize {
            return Err(Error::InvalidTopk(topk));
        }
        if decode_batching_size == 0 {
            return Err(Error::InvalidBatchSize);
        }
        Ok(Self {
            topk,
            decode_batching_size,
        })
    }

    /// The TOPLOC paper's setting: top-128 per proof, one proof per 32 decode rows.
    pub fn paper_defaults() -> Self {
        Self {
            topk: 128,
            decode_batching_size: 32,
        }
    }

    /// Values committed per proof.
    pub fn topk(&self) -> usize {
        self.topk
    }

    /// Decode rows per proof (the last proof may cover fewer).
    pub fn decode_batching_size(&self) -> usize {
        self.decode_batching_size
    }

    /// Encoded size of one proof in bytes, `2 + 2 * topk`.
    pub fn proof_len(&self) -> usize {
        proof_len(self.topk)
    }

    /// Number of proofs for an optional prefill block plus `decode_rows` decode rows.
    pub fn chunk_count(&self, has_prefill: bool, decode_rows: usize) -> usize {
        usize::from(has_prefill) + decode_rows.div_ceil(self.decode_batching_size)
    }
}

/// The element type of a borrowed activation buffer.
#[derive(Debug, Clone, Copy)]
enum Data<'a> {
    Bf16(&'a [u16]),
    F32(&'a [f32]),
    F16(&'a [half::f16]),
}

/// A borrowed, row-major `[rows, hidden]` activation buffer in bf16, f32 or f16.
///
/// Everything is committed as bf16: f32 is rounded as torch's `.to(torch.bfloat16)` rounds
/// (nearest-even, NaN to `0x7FC0`), f16 is widened to f32 exactly and then rounded the same way.
#[derive(Debug, Clone, Copy)]
pub struct Activations<'a> {
    data: Data<'a>,
    rows: usize,
    hidden: usize,
}

fn check_shape(len: usize, rows: usize, hidden: usize) -> Result<()> {
    if hidden == 0 || rows.checked_mul(hidden) != Some(len) {
        return Err(Error::ShapeMismatch { len, rows, hidden });
    }
    Ok(())
}

impl<'a> Activations<'a> {
    /// bf16 values given as their raw bit patterns.
    pub fn bf16_bits(bits: &'a [u16], rows: usize, hidden: usize) -> Result<Self> {
        check_shape(bits.len(), rows, hidden)?;
        Ok(Self {
            data: Data::Bf16(bits),
            rows,
            hidden,
        })
    }

    /// bf16 values as `half::bf16` (what candle hands out).
    pub fn bf16(values: &'a [half::bf16], rows: usize, hidden: usize) -> Result<Self> {
        Self::bf16_bits(values.reinterpret_cast(), rows, hidden)
    }

    /// f32 values, rounded to bf16 on use.
    pub fn f32(values: &'a [f32], rows: usize, hidden: usize) -> Result<Self> {
        check_shape(values.len(), rows, hidden)?;
        Ok(Self {
            data: Data::F32(values),
            rows,
            hidden,
        })
    }

    /// f16 values, converted to bf16 on use (exactly widened to f32, then rounded).
    pub fn f16(values: &'a [half::f16], rows: usize, hidden: usize) -> Result<Self> {
        check_shape(values.len(), rows, hidden)?;
        Ok(Self {
            data: Data::F16(values),
            rows,
            hidden,
        })
    }

    /// Number of rows (positions).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Values per row.
    pub fn hidden(&self) -> usize {
        self.hidden
    }

    /// Splits into rows `..mid` and `mid..`, e.g. a verifier's single forward pass over prompt and
    /// generated tokens into the prefill block and the decode rows.
    pub fn split_at_row(&self, mid: usize) -> Result<(Self, Self)> {
        if mid > self.rows {
            return Err(Error::RowOutOfRange {
                row: mid,
                rows: self.rows,
            });
        }
        let at = mid * self.hidden;
        let (a, b) = match self.data {
            Data::Bf16(v) => (Data::Bf16(&v[..at]), Data::Bf16(&v[at..])),
            Data::F32(v) => (Data::F32(&v[..at]), Data::F32(&v[at..])),
            Data::F16(v) => (Data::F16(&v[..at]), Data::F16(&v[at..])),
        };
        let head = Self {
            data: a,
            rows: mid,
            hidden: self.hidden,
        };
        let tail = Self {
            data: b,
            rows: self.rows - mid,
            hidden: self.hidden,
        };
        Ok((head, tail))
    }

    /// The bf16 bits of rows `start..end`, flattened; borrowed when the buffer is already bf16.
    pub(crate) fn bf16_rows(&self, start: usize, end: usize) -> Cow<'a, [u16]> {
        let (a, b) = (start * self.hidden, end * self.hidden);
        match self.data {
            Data::Bf16(bits) => Cow::Borrowed(&bits[a..b]),
            Data::F32(v) => Cow::Owned(v[a..b].iter().map(|&x| f32_to_bf16_bits(x)).collect()),
            Data::F16(v) => Cow::Owned(v[a..b].iter().map(|&x| f16_to_bf16_bits(x)).collect()),
        }
    }

    /// Appends the bf16 bits of rows `start..end` to `out`.
    pub(crate) fn extend_bf16(&self, start: usize, end: usize, out: &mut Vec<u16>) {
        let (a, b) = (start * self.hidden, end * self.hidden);
        match self.data {
            Data::Bf16(bits) => out.extend_from_slice(&bits[a..b]),
            Data::F32(v) => out.extend(v[a..b].iter().map(|&x| f32_to_bf16_bits(x))),
            Data::F16(v) => out.extend(v[a..b].iter().map(|&x| f16_to_bf16_bits(x))),
        }
    }
}

/// Where a chunk's rows come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkSpan {
    /// The whole prefill block.
    Prefill {
        /// Prefill rows.
        rows: usize,
    },
    /// A run of decode rows.
    Decode {
        /// Index of the first decode row (0-based, counting decode rows only).
        first_row: usize,
        /// Rows in this chunk (`decode_batching_size`, or fewer for the last chunk).
        rows: usize,
    },
}

/// Calls `f(chunk_index, span, bf16_bits)` for every chunk in proof order.
pub(crate) fn for_each_chunk<'a, T>(
    params: &ProofParams,
    prefill: Option<&Activations<'a>>,
    decode: &Activations<'a>,
    mut f: impl FnMut(usize, ChunkSpan, Cow<'a, [u16]>) -> Result<T>,
) -> Result<Vec<T>> {
    let mut out = Vec::with_capacity(params.chunk_count(prefill.is_some(), decode.rows()));
    if let Some(p) = prefill {
        out.push(f(
            0,
            ChunkSpan::Prefill { rows: p.rows() },
            p.bf16_rows(0, p.rows()),
        )?);
    }
    let dbs = params.decode_batching_size();
    let mut start = 0;
    while start < decode.rows() {
        let end = (start + dbs).min(decode.rows());
        let span = ChunkSpan::Decode {
            first_row: start,
            rows: end - start,
        };
        out.push(f(out.len(), span, decode.bf16_rows(start, end))?);
        start = end;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_are_checked() {
        assert!(Activations::bf16_bits(&[0; 6], 2, 3).is_ok());
        assert!(Activations::bf16_bits(&[], 0, 3).is_ok());
        assert_eq!(
            Activations::f32(&[0.0; 5], 2, 3).err(),
            Some(Error::ShapeMismatch {
                len: 5,
                rows: 2,
                hidden: 3
            })
        );
        assert!(Activations::f32(&[], 0, 0).is_err());
        assert!(Activations::f32(&[0.0], usize::MAX, 2).is_err());
    }

    #[test]
    fn split_keeps_rows_and_width() {
        let v: Vec<f32> = (0..12).map(|i| i as f32).collect();
        let a = Activations::f32(&v, 4, 3).unwrap();
        let (p, d) = a.split_at_row(1).unwrap();
        assert_eq!((p.rows(), d.rows(), d.hidden()), (1, 3, 3));
        assert_eq!(d.bf16_rows(0, 1), a.bf16_rows(1, 2));
        assert!(a.split_at_row(4).is_ok());
        assert_eq!(
            a.split_at_row(5).err(),
            Some(Error::RowOutOfRange { row: 5, rows: 4 })
        );
    }

    #[test]
    fn params_are_checked() {
        assert_eq!(ProofParams::new(0, 1), Err(Error::InvalidTopk(0)));
        assert_eq!(ProofParams::new(65498, 1), Err(Error::InvalidTopk(65498)));
        assert_eq!(ProofParams::new(4, 0), Err(Error::InvalidBatchSize));
        let p = ProofParams::new(4, 3).unwrap();
        assert_eq!(p.chunk_count(true, 10), 5);
        assert_eq!(p.chunk_count(false, 0), 0);
        assert_eq!(ProofParams::paper_defaults().proof_len(), 258);
    }

    #[test]
    fn element_types_agree() {
        let f: Vec<f32> = vec![1.0, -2.5, 0.1, 3.0e-3];
        let h: Vec<half::f16> = f.iter().map(|&x| half::f16::from_f32(x)).collect();
        let b: Vec<half::bf16> = f.iter().map(|&x| half::bf16::from_f32(x)).collect();
        let af = Activations::f32(&f, 2, 2).unwrap();
        let ab = Activations::bf16(&b, 2, 2).unwrap();
        assert_eq!(af.bf16_rows(0, 2), ab.bf16_rows(0, 2));
        // 1.0 and -2.5 are exact in f16 and bf16.
        let ah = Activations::f16(&h, 2, 2).unwrap();
        assert_eq!(ah.bf16_rows(0, 1), ab.bf16_rows(0, 1));
    }
}
