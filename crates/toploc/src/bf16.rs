//! bf16 bit-pattern helpers: rounding from f32 and f16, and the exponent/mantissa split the
//! validation rule uses.

/// The bf16 bit pattern torch writes for any NaN when it rounds an f32 (`c10::BFloat16`'s scalar
/// rounding): a positive quiet NaN.
pub const CANONICAL_NAN: u16 = 0x7FC0;

/// Rounds an f32 to bf16 bits the way torch's `c10::BFloat16` does: round to nearest, ties to
/// even, every NaN (whatever its sign and payload) becomes [`CANONICAL_NAN`]. Infinities stay
/// infinite; finite values too large for bf16 round to infinity; subnormals are kept.
#[inline]
pub fn f32_to_bf16_bits(value: f32) -> u16 {
    let bits = value.to_bits();
    let lsb = (bits >> 16) & 1;
    // Cannot overflow for non-NaN input: the largest such pattern is 0xFF80_0000 (-inf), plus
    // 0x8000. NaN patterns may wrap, but their result is replaced below.
    let rounded = (bits.wrapping_add(0x7FFF + lsb) >> 16) as u16;
    // A select rather than an early return keeps slice conversions vectorisable.
    if value.is_nan() {
        CANONICAL_NAN
    } else {
        rounded
    }
}

/// Widens f16 bits exactly to f32, then rounds to bf16 with [`f32_to_bf16_bits`].
///
/// This is a deliberate choice: the reference commits to raw f16 bit patterns when handed an f16
/// tensor but cannot validate f16 at all, so it has no consistent f16 path to follow. Converting
/// to bf16 first keeps the proof format and the validation rule (which reads bf16 exponent and
/// mantissa fields) meaningful, and matches torch's `tensor.to(torch.bfloat16)` on an f16 tensor.
#[inline]
pub fn f16_to_bf16_bits(value: half::f16) -> u16 {
    f32_to_bf16_bits(value.to_f32())
}

/// The magnitude key used for top-k selection: the bits with the sign cleared.
///
/// For bf16 this orders exactly like `|value|` (zeros < subnormals < normals < infinity), with
/// every NaN above infinity, as torch's `topk` places NaN above all numbers.
#[inline]
pub fn magnitude(bits: u16) -> u16 {
    bits & 0x7FFF
}

/// The exponent field of a bf16 bit pattern, `(b >> 7) & 0xFF`.
#[inline]
pub fn exponent(bits: u16) -> u16 {
    (bits >> 7) & 0xFF
}

/// The mantissa field of a bf16 bit pattern, `b & 0x7F`.
#[inline]
pub fn mantissa(bits: u16) -> u16 {
    bits & 0x7F
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_to_nearest_even() {
        // Exactly representable values pass through.
        assert_eq!(f32_to_bf16_bits(1.0), 0x3F80);
        assert_eq!(f32_to_bf16_bits(-2.0), 0xC000);
        // Halfway between 0x3F80 and 0x3F81: ties to even (down).
        assert_eq!(f32_to_bf16_bits(f32::from_bits(0x3F80_8000)), 0x3F80);
        // Halfway between 0x3F81 and 0x3F82: ties to even (up).
        assert_eq!(f32_to_bf16_bits(f32::from_bits(0x3F81_8000)), 0x3F82);
        // Just above half rounds up, just below rounds down.
        assert_eq!(f32_to_bf16_bits(f32::from_bits(0x3F80_8001)), 0x3F81);
        assert_eq!(f32_to_bf16_bits(f32::from_bits(0x3F80_7FFF)), 0x3F80);
        // Mantissa carry into the exponent.
        assert_eq!(f32_to_bf16_bits(f32::from_bits(0x3FFF_FFFF)), 0x4000);
    }

    #[test]
    fn specials_follow_torch() {
        assert_eq!(f32_to_bf16_bits(f32::INFINITY), 0x7F80);
        assert_eq!(f32_to_bf16_bits(f32::NEG_INFINITY), 0xFF80);
        assert_eq!(f32_to_bf16_bits(f32::MAX), 0x7F80);
        assert_eq!(f32_to_bf16_bits(f32::NAN), CANONICAL_NAN);
        assert_eq!(f32_to_bf16_bits(-f32::NAN), CANONICAL_NAN);
        assert_eq!(f32_to_bf16_bits(f32::from_bits(0xFFFF_FFFF)), CANONICAL_NAN);
        assert_eq!(f32_to_bf16_bits(-0.0), 0x8000);
        // Smallest f32 subnormal rounds to zero; a bf16-sized subnormal survives.
        assert_eq!(f32_to_bf16_bits(f32::from_bits(1)), 0);
        assert_eq!(f32_to_bf16_bits(f32::from_bits(0x0001_0000)), 1);
    }

    #[test]
    fn agrees_with_half_on_all_non_nan_f16() {
        for raw in 0..=u16::MAX {
            let h = half::f16::from_bits(raw);
            if h.is_nan() {
                assert_eq!(f16_to_bf16_bits(h), CANONICAL_NAN);
            } else {
                assert_eq!(
                    f16_to_bf16_bits(h),
                    half::bf16::from_f32(h.to_f32()).to_bits(),
                    "f16 bits {raw:#06x}"
                );
            }
        }
    }

    #[test]
    fn magnitude_orders_like_abs() {
        let vals = [0.0f32, 1e-40, 1e-3, 0.5, 1.0, 3.0, 1e30, f32::INFINITY];
        for w in vals.windows(2) {
            let (a, b) = (f32_to_bf16_bits(w[0]), f32_to_bf16_bits(-w[1]));
            assert!(magnitude(a) < magnitude(b));
        }
        assert!(magnitude(CANONICAL_NAN) > magnitude(0xFF80));
    }

    #[test]
    fn fields() {
        assert_eq!(exponent(0xBF80), 0x7F);
        assert_eq!(mantissa(0xBFC5), 0x45);
        assert_eq!(exponent(0xFFFF), 0xFF);
    }
}
