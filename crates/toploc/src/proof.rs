//! The proof value: a modulus and the coefficients of the interpolating polynomial, with its byte
//! and base64 encodings.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use crate::error::{Error, Result};
use crate::field::{self, P};

/// Proof bytes per coefficient.
const COEFF_BYTES: usize = 2;
/// Proof bytes taken by the modulus header.
const HEADER_BYTES: usize = 2;

/// Encoded size in bytes of a proof with `topk` coefficients: `2 + 2 * topk`.
pub const fn proof_len(topk: usize) -> usize {
    HEADER_BYTES + COEFF_BYTES * topk
}

/// A TOPLOC proof for one chunk: the polynomial of degree `< k` over GF(65497) through the points
/// `(flat_index mod modulus, bf16_bits mod 65497)` of the chunk's top-k values.
///
/// A `Proof` is always well formed: its modulus lies in `k..=65497` and every coefficient is below
/// 65497. The reference's "null" proof (modulus 0) is not a `Proof`; parsing one gives
/// [`Error::NullProof`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Proof {
    modulus: u16,
    coeffs: Vec<u16>,
}

impl Proof {
    /// Builds a proof from a modulus and ascending coefficients, checking the invariants.
    pub fn new(modulus: u16, coeffs: Vec<u16>) -> Result<Self> {
        if coeffs.is_empty() {
            return Err(Error::TooShort(HEADER_BYTES));
        }
        if modulus == 0 {
            return Err(Error::NullProof);
        }
        if u32::from(modulus) > P || usize::from(modulus) < coeffs.len() {
            return Err(Error::ModulusOutOfRange {
                modulus,
                min: coeffs.len(),
            });
        }
        if let Some((index, &value)) = coeffs.iter().enumerate().find(|(_, &c)| u32::from(c) >= P) {
            return Err(Error::CoefficientOutOfField { index, value });
        }
        Ok(Self { modulus, coeffs })
    }

    /// Interpolates a proof through `(flat_index, bf16_bits)` points: finds the largest modulus
    /// `m <= 65497` that keeps the flat indices pairwise distinct mod `m`, then interpolates
    /// through `(index mod m, bits mod 65497)`. The order of the points does not matter.
    pub fn from_points(points: &[(usize, u16)]) -> Result<Self> {
        if points.is_empty() {
            return Err(Error::NoPoints);
        }
        if points.len() > P as usize {
            return Err(Error::InvalidTopk(points.len()));
        }
        let indices: Vec<usize> = points.iter().map(|&(i, _)| i).collect();
        let mut sorted = indices.clone();
        sorted.sort_unstable();
        if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
            return Err(Error::DuplicateIndex(w[0]));
        }
        let modulus = field::injective_modulus(&indices)?;
        let m = usize::from(modulus);
        let reduced: Vec<(u16, u16)> = points
            .iter()
            // i % m < m <= 65497.
            .map(|&(i, y)| ((i % m) as u16, y))
            .collect();
        let coeffs = field::interpolate(&reduced)?;
        Ok(Self { modulus, coeffs })
    }

    /// The modulus applied to flat indices before evaluation.
    pub fn modulus(&self) -> u16 {
        self.modulus
    }

    /// The coefficients in ascending powers, each below 65497.
    pub fn coeffs(&self) -> &[u16] {
        &self.coeffs
    }

    /// The number of committed points (the top-k size).
    pub fn topk(&self) -> usize {
        self.coeffs.len()
    }

    /// The bf16 bit pattern (reduced mod 65497) that the proof predicts at a flat index of its
    /// chunk: the polynomial evaluated at `flat_index mod modulus`.
    pub fn predict(&self, flat_index: usize) -> u16 {
        // The remainder is below the modulus, at most 65497.
        let x = (flat_index % usize::from(self.modulus)) as u32;
        field::evaluate(&self.coeffs, x)
    }

    /// [`Proof::predict`] at many flat indices at once (faster than one by one).
    pub fn predict_many(&self, flat_indices: &[usize]) -> Vec<u16> {
        let m = usize::from(self.modulus);
        // Each remainder is below the modulus, at most 65497.
        let xs: Vec<u32> = flat_indices.iter().map(|&i| (i % m) as u32).collect();
        field::evaluate_many(&self.coeffs, &xs)
    }

    /// The polynomial evaluated at a field point, without any reduction by the proof's modulus.
    pub fn evaluate(&self, x: u32) -> u16 {
        field::evaluate(&self.coeffs, x)
    }

    /// The byte encoding: modulus as u16 big-endian, then each coefficient as u16 big-endian.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(proof_len(self.coeffs.len()));
        out.extend_from_slice(&self.modulus.to_be_bytes());
        for c in &self.coeffs {
            out.extend_from_slice(&c.to_be_bytes());
        }
        out
    }

    /// Standard padded base64 of [`Proof::to_bytes`].
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.to_bytes())
    }

    /// Parses the byte encoding, taking `k` from the length. Prefer
    /// [`Proof::from_bytes_for_topk`] when the expected `k` is known.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() % COEFF_BYTES != 0 {
            return Err(Error::OddLength(bytes.len()));
        }
        if bytes.len() < proof_len(1) {
            return Err(Error::TooShort(bytes.len()));
        }
        let mut words = bytes
            .chunks_exact(COEFF_BYTES)
            .map(|w| u16::from_be_bytes([w[0], w[1]]));
        let modulus = words.next().unwrap_or(0);
        Self::new(modulus, words.collect())
    }

    /// Parses the byte encoding and requires exactly `topk` coefficients.
    pub fn from_bytes_for_topk(bytes: &[u8], topk: usize) -> Result<Self> {
        let expected = proof_len(topk);
        if bytes.len() != expected {
            return Err(Error::WrongLength {
                expected,
                actual: bytes.len(),
            });
        }
        Self::from_bytes(bytes)
    }

    /// Parses standard padded base64, taking `k` from the length.
    pub fn from_base64(text: &str) -> Result<Self> {
        Self::from_bytes(&STANDARD.decode(text)?)
    }

    /// Parses standard padded base64 and requires exactly `topk` coefficients.
    pub fn from_base64_for_topk(text: &str, topk: usize) -> Result<Self> {
        Self::from_bytes_for_topk(&STANDARD.decode(text)?, topk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_is_two_plus_two_k() {
        let points: Vec<(usize, u16)> = (0..128).map(|i| (i * 1000 + 7, i as u16)).collect();
        let p = Proof::from_points(&points).unwrap();
        assert_eq!(p.to_bytes().len(), 258);
        assert_eq!(p.to_base64().len(), 344);
        assert_eq!(proof_len(128), 258);
    }

    #[test]
    fn round_trips_and_predicts() {
        let points = [(3usize, 0x3F80u16), (70_000, 0xBF00), (5, 0x0001)];
        let p = Proof::from_points(&points).unwrap();
        assert_eq!(Proof::from_bytes(&p.to_bytes()).unwrap(), p);
        assert_eq!(Proof::from_base64_for_topk(&p.to_base64(), 3).unwrap(), p);
        for (i, y) in points {
            assert_eq!(p.predict(i), y);
        }
    }

    #[test]
    fn parse_errors_are_typed() {
        assert_eq!(Proof::from_bytes(&[]), Err(Error::TooShort(0)));
        assert_eq!(Proof::from_bytes(&[0xFF, 0xD9]), Err(Error::TooShort(2)));
        assert_eq!(
            Proof::from_bytes(&[0xFF, 0xD9, 0]),
            Err(Error::OddLength(3))
        );
        assert_eq!(Proof::from_bytes(&[0; 258]), Err(Error::NullProof));
        assert_eq!(
            Proof::from_bytes(&[0xFF, 0xDA, 0, 1]),
            Err(Error::ModulusOutOfRange {
                modulus: 65498,
                min: 1
            })
        );
        assert_eq!(
            Proof::from_bytes(&[0, 1, 0, 1, 0, 2]),
            Err(Error::ModulusOutOfRange { modulus: 1, min: 2 })
        );
        assert_eq!(
            Proof::from_bytes(&[0xFF, 0xD9, 0, 1, 0xFF, 0xD9]),
            Err(Error::CoefficientOutOfField {
                index: 1,
                value: 65497
            })
        );
        assert_eq!(
            Proof::from_bytes_for_topk(&[0xFF, 0xD9, 0, 1], 2),
            Err(Error::WrongLength {
                expected: 6,
                actual: 4
            })
        );
        assert!(matches!(Proof::from_base64("!!!"), Err(Error::Base64(_))));
        // Missing padding is rejected: the reference always pads.
        assert!(matches!(
            Proof::from_base64("/9kAAQ"),
            Err(Error::Base64(_))
        ));
        assert!(Proof::from_base64("/9kAAQ==").is_ok());
    }

    #[test]
    fn duplicate_indices_are_rejected() {
        assert_eq!(
            Proof::from_points(&[(4, 1), (9, 2), (4, 3)]),
            Err(Error::DuplicateIndex(4))
        );
    }
}
