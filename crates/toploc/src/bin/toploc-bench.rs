//! Timing of proof generation, validation and top-k selection at the paper's settings.
//!
//! Run with `cargo run --release -p verbench-toploc --bin toploc-bench`. Prints medians over many
//! iterations on random activations; a benchmark, never a test.
#![allow(clippy::print_stdout)] // a report: its output is the point

use std::hint::black_box;
use std::time::{Duration, Instant};

use verbench_toploc::{
    build_proofs, topk_indices, validate, Activations, ProofBuilder, ProofParams, Thresholds,
};

/// xorshift64* noise shaped roughly like hidden states: centred, a few large outliers.
fn random_f32(seed: u64, n: usize) -> Vec<f32> {
    let mut s = seed.max(1);
    let mut next = move || {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        (s.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40) as f32 / (1u64 << 24) as f32
    };
    (0..n)
        .map(|_| {
            let g: f32 = (0..4).map(|_| next()).sum::<f32>() - 2.0;
            if next() < 0.001 {
                g * 50.0
            } else {
                g
            }
        })
        .collect()
}

fn median_of(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

/// Median wall time of `f` over `iters` runs after a short warm-up.
fn time(iters: usize, mut f: impl FnMut()) -> Duration {
    for _ in 0..iters.min(10) {
        f();
    }
    median_of(
        (0..iters)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .collect(),
    )
}

fn main() -> Result<(), verbench_toploc::Error> {
    let params = ProofParams::paper_defaults();
    let thresholds = Thresholds::paper_defaults(params.topk());
    println!(
        "toploc-bench: topk {} per proof, {} decode rows per chunk, medians",
        params.topk(),
        params.decode_batching_size()
    );
    for hidden in [576usize, 4096] {
        let rows = params.decode_batching_size();
        let f32_values = random_f32(hidden as u64, rows * hidden);
        let acts = Activations::f32(&f32_values, rows, hidden)?;
        let bits: Vec<u16> = f32_values
            .iter()
            .map(|&x| verbench_toploc::bf16::f32_to_bf16_bits(x))
            .collect();
        let bf16 = Activations::bf16_bits(&bits, rows, hidden)?;
        let iters = if hidden > 1000 { 300 } else { 1000 };

        let build_bf16 = time(iters, || {
            black_box(build_proofs(&params, None, black_box(&bf16)).ok());
        });
        let build_f32 = time(iters, || {
            black_box(build_proofs(&params, None, black_box(&acts)).ok());
        });
        // The streaming path a model integration uses: f32 rows pushed one at a time into a
        // builder whose chunk buffer is reused, so no per-chunk allocation.
        let mut builder = ProofBuilder::new(params);
        let streamed = time(iters, || {
            for row in black_box(&f32_values).chunks(hidden) {
                if let Ok(Some(p)) = builder.push_row_f32(row) {
                    black_box(p);
                }
            }
        });
        let proofs = build_proofs(&params, None, &bf16)?;
        let check = time(iters, || {
            black_box(validate(&params, None, black_box(&bf16), &proofs).ok());
        });
        let verdict = verbench_toploc::verify_bytes(
            &params,
            &thresholds,
            None,
            &bf16,
            &[proofs[0].to_bytes()],
        )?;
        println!(
            "{rows}x{hidden}: proof per chunk {:>6.1} us (bf16 input), {:>6.1} us (f32 input, \
             one-shot), {:>6.1} us (f32 rows streamed into ProofBuilder); validation per chunk \
             {:>6.1} us (bf16); modulus {}; self-check {}",
            build_bf16.as_secs_f64() * 1e6,
            build_f32.as_secs_f64() * 1e6,
            streamed.as_secs_f64() * 1e6,
            check.as_secs_f64() * 1e6,
            proofs[0].modulus(),
            if verdict.passed() { "pass" } else { "FAIL" }
        );
    }

    let points: Vec<(u16, u16)> = (0..params.topk() as u16)
        .map(|i| (i.wrapping_mul(509) % 65497, 0x3F80 ^ i.wrapping_mul(77)))
        .collect();
    let interp = time(1000, || {
        black_box(verbench_toploc::field::interpolate(black_box(&points)).ok());
    });
    let coeffs = verbench_toploc::field::interpolate(&points)?;
    let xs: Vec<u32> = points.iter().map(|&(x, _)| u32::from(x)).collect();
    let eval = time(1000, || {
        black_box(verbench_toploc::field::evaluate_many(
            black_box(&coeffs),
            black_box(&xs),
        ));
    });
    println!(
        "interpolation through {k} points: {:.1} us; {k} evaluations: {:.1} us",
        interp.as_secs_f64() * 1e6,
        eval.as_secs_f64() * 1e6,
        k = params.topk()
    );
    {
        let vals = random_f32(3, 131_072);
        let mut out = vec![0u16; vals.len()];
        let conv = time(500, || {
            for (o, &v) in out.iter_mut().zip(black_box(&vals)) {
                *o = verbench_toploc::bf16::f32_to_bf16_bits(v);
            }
            black_box(&out);
        });
        println!(
            "f32 -> bf16 of 131072 values: {:.1} us",
            conv.as_secs_f64() * 1e6
        );
    }
    for n in [18_432usize, 131_072] {
        let bits: Vec<u16> = random_f32(7, n)
            .iter()
            .map(|&x| verbench_toploc::bf16::f32_to_bf16_bits(x))
            .collect();
        let sel = time(500, || {
            black_box(topk_indices(black_box(&bits), params.topk()));
        });
        println!(
            "top-{} selection over {n} bf16 values: {:.1} us",
            params.topk(),
            sel.as_secs_f64() * 1e6
        );
    }
    let bits: Vec<u16> = random_f32(7, 32 * 576)
        .iter()
        .map(|&x| verbench_toploc::bf16::f32_to_bf16_bits(x))
        .collect();
    let proof = build_proofs(
        &params,
        None,
        &Activations::bf16_bits(&bits[..32 * 576], 32, 576)?,
    )?;
    println!(
        "proof size: {} bytes ({} base64 chars) per {} tokens at k = {}",
        proof[0].to_bytes().len(),
        proof[0].to_base64().len(),
        params.decode_batching_size(),
        params.topk()
    );
    Ok(())
}
