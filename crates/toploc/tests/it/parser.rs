//! The proof parser under hostile input, and the typed errors of the verifier.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use proptest::prelude::*;
use verbench_toploc::{
    build_proofs, proof_len, validate, verify_base64, verify_bytes, Activations, ChunkSpan, Error,
    Failure, Proof, ProofParams, Thresholds,
};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Arbitrary bytes never panic; whatever parses re-encodes to the same bytes (the encoding is
    /// canonical), and the k-aware parser agrees with the plain one.
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600), k in 1usize..300) {
        match Proof::from_bytes(&bytes) {
            Ok(p) => {
                prop_assert_eq!(p.to_bytes(), bytes.clone());
                prop_assert!(u32::from(p.modulus()) <= 65497);
                prop_assert!(usize::from(p.modulus()) >= p.topk());
            }
            Err(e) => prop_assert!(!matches!(e, Error::Base64(_))),
        }
        let strict = Proof::from_bytes_for_topk(&bytes, k);
        if bytes.len() == proof_len(k) {
            prop_assert_eq!(strict, Proof::from_bytes(&bytes));
        } else {
            let is_wrong_length = matches!(strict, Err(Error::WrongLength { .. }));
            prop_assert!(is_wrong_length);
        }
        // Through base64 the answer is the same.
        prop_assert_eq!(Proof::from_base64(&STANDARD.encode(&bytes)), Proof::from_bytes(&bytes));
    }

    /// Arbitrary text never panics the base64 parser or the verifier.
    #[test]
    fn random_text_never_panics(text in "\\PC{0,400}", b64ish in "[A-Za-z0-9+/=]{0,360}") {
        let _ = Proof::from_base64(&text);
        let _ = Proof::from_base64_for_topk(&b64ish, 128);
        let bits: Vec<u16> = (0..256u16).map(|i| 0x3C00 + i).collect();
        let params = ProofParams::new(8, 1).unwrap();
        let acts = Activations::bf16_bits(&bits, 2, 128).unwrap();
        let t = Thresholds::paper_defaults(8);
        let v = verify_base64(&params, &t, None, &acts, &[text.as_str(), b64ish.as_str()]).unwrap();
        prop_assert_eq!(v.chunks.len(), 2);
    }

    /// Well-formed proofs round-trip through bytes and base64.
    #[test]
    fn well_formed_proofs_round_trip(
        coeffs in proptest::collection::vec(0u16..65497, 1..300),
        modulus_pick in any::<u16>(),
    ) {
        let k = coeffs.len();
        let modulus = (k + usize::from(modulus_pick) % (65497 - k + 1)) as u16;
        let p = Proof::new(modulus, coeffs).unwrap();
        let bytes = p.to_bytes();
        prop_assert_eq!(bytes.len(), proof_len(k));
        prop_assert_eq!(&Proof::from_bytes_for_topk(&bytes, k).unwrap(), &p);
        let text = p.to_base64();
        prop_assert_eq!(text.len(), proof_len(k).div_ceil(3) * 4);
        prop_assert_eq!(&Proof::from_base64_for_topk(&text, k).unwrap(), &p);
    }
}

fn sample_decode() -> (Vec<u16>, ProofParams) {
    let bits: Vec<u16> = (0..70 * 64u32)
        .map(|i| {
            let v = 0x3C00 + (i.wrapping_mul(7919) % 0x0F00) as u16;
            if i % 5 == 0 {
                v | 0x8000
            } else {
                v
            }
        })
        .collect();
    (bits, ProofParams::new(128, 32).unwrap())
}

#[test]
fn proof_count_must_match_chunk_count() {
    let (bits, params) = sample_decode();
    let acts = Activations::bf16_bits(&bits, 70, 64).unwrap();
    let proofs = build_proofs(&params, None, &acts).unwrap();
    assert_eq!(proofs.len(), 3);
    let t = Thresholds::paper_defaults(128);
    let text: Vec<String> = proofs.iter().map(Proof::to_base64).collect();
    assert!(verify_base64(&params, &t, None, &acts, &text)
        .unwrap()
        .passed());
    assert_eq!(
        verify_base64(&params, &t, None, &acts, &text[..2]),
        Err(Error::TooFewProofs {
            proofs: 2,
            chunks: 3
        })
    );
    let mut four = text.clone();
    four.push(text[0].clone());
    assert_eq!(
        verify_base64(&params, &t, None, &acts, &four),
        Err(Error::TooManyProofs {
            proofs: 4,
            chunks: 3
        })
    );
    assert_eq!(
        validate(&params, None, &acts, &proofs[..1]),
        Err(Error::TooFewProofs {
            proofs: 1,
            chunks: 3
        })
    );
    // With a prefill the first proof is the prefill's: one more chunk.
    let pre = Activations::bf16_bits(&bits[..128], 2, 64).unwrap();
    assert_eq!(
        validate(&params, Some(&pre), &acts, &proofs),
        Err(Error::TooFewProofs {
            proofs: 3,
            chunks: 4
        })
    );
}

#[test]
fn unusable_proofs_fail_their_own_chunk() {
    let (bits, params) = sample_decode();
    let acts = Activations::bf16_bits(&bits, 70, 64).unwrap();
    let proofs = build_proofs(&params, None, &acts).unwrap();
    let t = Thresholds::paper_defaults(128);
    let mut bytes: Vec<Vec<u8>> = proofs.iter().map(Proof::to_bytes).collect();

    // The null proof, an odd length, a modulus above the prime.
    bytes[0] = vec![0; 258];
    bytes[1].pop();
    bytes[2][0] = 0xFF;
    bytes[2][1] = 0xFF;
    let v = verify_bytes(&params, &t, None, &acts, &bytes).unwrap();
    assert!(!v.passed());
    let reasons: Vec<&Failure> = v.chunks.iter().flat_map(|c| &c.failures).collect();
    assert_eq!(
        reasons,
        vec![
            &Failure::Proof(Error::NullProof),
            &Failure::Proof(Error::WrongLength {
                expected: 258,
                actual: 257
            }),
            &Failure::Proof(Error::ModulusOutOfRange {
                modulus: 65535,
                min: 128
            }),
        ]
    );
    assert!(v.chunks.iter().all(|c| c.result.is_none()));
    assert_eq!(v.first_failure().map(|c| c.index), Some(0));

    // Bad base64 and a coefficient outside the field, in text form.
    let mut text: Vec<String> = proofs.iter().map(Proof::to_base64).collect();
    text[1] = "not base64!".into();
    let mut raw = proofs[2].to_bytes();
    raw[2] = 0xFF;
    raw[3] = 0xFF;
    text[2] = STANDARD.encode(&raw);
    let v = verify_base64(&params, &t, None, &acts, &text).unwrap();
    assert!(v.chunks[0].passed());
    assert!(matches!(
        v.chunks[1].failures[..],
        [Failure::Proof(Error::Base64(_))]
    ));
    assert_eq!(
        v.chunks[2].failures,
        vec![Failure::Proof(Error::CoefficientOutOfField {
            index: 0,
            value: 65535
        })]
    );
    assert_eq!(
        v.chunks[2].span,
        ChunkSpan::Decode {
            first_row: 64,
            rows: 6
        }
    );
    assert_eq!(v.first_failure().map(|c| c.index), Some(1));
}

#[test]
fn tampered_values_are_reported_with_the_rule_broken() {
    let (bits, params) = sample_decode();
    let acts = Activations::bf16_bits(&bits, 70, 64).unwrap();
    let text: Vec<String> = build_proofs(&params, None, &acts)
        .unwrap()
        .iter()
        .map(Proof::to_base64)
        .collect();
    // The verifier's second chunk is 5% larger: mantissas shift, most exponents hold.
    let scaled: Vec<f32> = bits
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            let x = f32::from_bits(u32::from(b) << 16);
            if (32 * 64..64 * 64).contains(&i) {
                x * 1.05
            } else {
                x
            }
        })
        .collect();
    let vacts = Activations::f32(&scaled, 70, 64).unwrap();
    let v = verify_base64(
        &params,
        &Thresholds::paper_defaults(128),
        None,
        &vacts,
        &text,
    )
    .unwrap();
    assert!(!v.passed(), "{v}");
    let failed = v.first_failure().unwrap();
    assert_eq!(failed.index, 1);
    assert!(failed.result.is_some());
    assert!(failed.failures.iter().any(|f| matches!(
        f,
        Failure::MantErrMean { .. } | Failure::MantErrMedian { .. }
    )));
    assert!(v.chunks[0].passed() && v.chunks[2].passed());
    let msg = v.to_string();
    assert!(msg.starts_with("fail at chunk 1"), "{msg}");
}

#[test]
fn chunks_smaller_than_topk_are_errors() {
    let params = ProofParams::new(128, 32).unwrap();
    let bits = vec![0x3F80u16; 33 * 64];
    let acts = Activations::bf16_bits(&bits, 33, 64).unwrap();
    // The last chunk has one row of 64 values.
    assert_eq!(
        build_proofs(&params, None, &acts),
        Err(Error::ChunkTooSmall {
            chunk: 1,
            values: 64,
            topk: 128
        })
    );
}
