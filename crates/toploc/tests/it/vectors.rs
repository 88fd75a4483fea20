//! Replays the reference vectors (`tests/vectors/reference-0.1.6.json`) and every extra
//! vector file in `$TOPLOC_EXTRA_VECTORS`.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use verbench_toploc::{
    build_proofs, validate, Activations, Error, Proof, ProofBuilder, ProofParams,
};

/// Folder of the reference vectors committed with this crate (`tests/vectors/README.md`).
fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn bits_from_hex(hex_text: &str) -> Vec<u16> {
    let bytes = hex::decode(hex_text).expect("activation hex must decode");
    assert!(bytes.len() % 2 == 0, "activation hex has an odd byte count");
    bytes
        .chunks_exact(2)
        .map(|w| u16::from_be_bytes([w[0], w[1]]))
        .collect()
}

#[derive(Debug, Deserialize)]
struct VectorFile {
    #[serde(default)]
    encoding: Vec<EncodingCase>,
    #[serde(default)]
    validation: Vec<ValidationCase>,
    #[serde(default)]
    sparse_modulus_collision: Vec<SparseCase>,
    readme_example: Option<ReadmeExample>,
    random_32x64_seed0: Option<RandomCase>,
    null_proof_topk128_hex: Option<String>,
}

#[derive(Debug, Deserialize)]
struct EncodingCase {
    name: String,
    decode_batching_size: usize,
    topk: usize,
    skip_prefill: bool,
    proofs_base64: Vec<String>,
    hidden: usize,
    // Decode-only form.
    rows: Option<usize>,
    input_bf16_bits_hex: Option<String>,
    moduli: Option<Vec<u16>>,
    // Prefill + decode form.
    prefill_rows: Option<usize>,
    decode_steps: Option<usize>,
    prefill_bf16_bits_hex: Option<String>,
    decode_bf16_bits_hex: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ValidationCase {
    case: String,
    perturbation: String,
    rows: usize,
    hidden: usize,
    decode_batching_size: usize,
    topk: usize,
    proofs_base64: Vec<String>,
    verifier_bf16_bits_hex: String,
    results: Vec<ExpectedResult>,
    // Not in the current vectors; supported so a prefill validation case is not misread.
    skip_prefill: Option<bool>,
    prefill_rows: Option<usize>,
    verifier_prefill_bf16_bits_hex: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ExpectedResult {
    exp_mismatches: usize,
    mant_err_mean: f64,
    mant_err_median: f64,
}

#[derive(Debug, Deserialize)]
struct SparseCase {
    name: String,
    shape: [usize; 2],
    fill_bf16_bits: u16,
    nonfill_index_bits: Vec<(usize, u16)>,
    decode_batching_size: usize,
    topk: usize,
    skip_prefill: bool,
    proofs_base64: Vec<String>,
    expected_modulus: u16,
}

#[derive(Debug, Deserialize)]
struct ReadmeExample {
    prefill_shape: [usize; 2],
    decode_steps: usize,
    hidden: usize,
    decode_batching_size: usize,
    topk: usize,
    skip_prefill: bool,
    inputs_bf16_bits_hex: Vec<String>,
    proofs_base64: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct RandomCase {
    shape: [usize; 2],
    decode_batching_size: usize,
    topk: usize,
    skip_prefill: bool,
    input_bf16_bits_hex: String,
    proofs_base64: Vec<String>,
}

#[derive(Debug, Default)]
struct Counts {
    encoding: usize,
    validation: usize,
    sparse: usize,
    extra_items: usize,
    proofs_checked: usize,
    chunks_validated: usize,
}

fn base64_of(proofs: &[Proof]) -> Vec<String> {
    proofs.iter().map(Proof::to_base64).collect()
}

/// Builds proofs with both the one-shot API and the row-by-row builder, asserts they agree, and
/// returns them.
fn prove_both_ways(
    params: &ProofParams,
    prefill: Option<&Activations<'_>>,
    decode_bits: &[u16],
    decode_rows: usize,
    hidden: usize,
    label: &str,
) -> Vec<Proof> {
    let decode = Activations::bf16_bits(decode_bits, decode_rows, hidden)
        .unwrap_or_else(|e| panic!("{label}: decode shape: {e}"));
    let one_shot = build_proofs(params, prefill, &decode)
        .unwrap_or_else(|e| panic!("{label}: build_proofs failed: {e}"));
    let mut builder = ProofBuilder::new(*params);
    let mut incremental = Vec::new();
    if let Some(p) = prefill {
        incremental.push(builder.prefill(p).expect("prefill proof"));
    }
    for row in decode_bits.chunks(hidden) {
        incremental.extend(builder.push_row_bf16_bits(row).expect("push row"));
    }
    incremental.extend(builder.finish().expect("finish"));
    assert_eq!(
        incremental, one_shot,
        "{label}: builder and build_proofs differ"
    );
    one_shot
}

fn replay_encoding(c: &EncodingCase, counts: &mut Counts) {
    let params = ProofParams::new(c.topk, c.decode_batching_size).expect("params");
    let label = &c.name;
    let proofs = if c.skip_prefill {
        let rows = c
            .rows
            .unwrap_or_else(|| panic!("{label}: decode-only case without `rows`"));
        let hex_text = c
            .input_bf16_bits_hex
            .as_deref()
            .unwrap_or_else(|| panic!("{label}: decode-only case without `input_bf16_bits_hex`"));
        let bits = bits_from_hex(hex_text);
        prove_both_ways(&params, None, &bits, rows, c.hidden, label)
    } else {
        let prefill_rows = c
            .prefill_rows
            .unwrap_or_else(|| panic!("{label}: prefill case without `prefill_rows`"));
        let steps = c
            .decode_steps
            .unwrap_or_else(|| panic!("{label}: prefill case without `decode_steps`"));
        let pre_bits = bits_from_hex(
            c.prefill_bf16_bits_hex
                .as_deref()
                .unwrap_or_else(|| panic!("{label}: no `prefill_bf16_bits_hex`")),
        );
        let dec_bits = bits_from_hex(
            c.decode_bf16_bits_hex
                .as_deref()
                .unwrap_or_else(|| panic!("{label}: no `decode_bf16_bits_hex`")),
        );
        let pre = Activations::bf16_bits(&pre_bits, prefill_rows, c.hidden).expect("prefill shape");
        prove_both_ways(&params, Some(&pre), &dec_bits, steps, c.hidden, label)
    };
    assert_eq!(
        base64_of(&proofs),
        c.proofs_base64,
        "{label}: proofs differ"
    );
    if let Some(moduli) = &c.moduli {
        let got: Vec<u16> = proofs.iter().map(Proof::modulus).collect();
        assert_eq!(&got, moduli, "{label}: moduli differ");
    }
    // The reference's proofs parse back to what we built.
    for (text, proof) in c.proofs_base64.iter().zip(&proofs) {
        assert_eq!(
            &Proof::from_base64_for_topk(text, c.topk).expect("parse"),
            proof
        );
    }
    counts.encoding += 1;
    counts.proofs_checked += proofs.len();
}

fn replay_validation(v: &ValidationCase, counts: &mut Counts) {
    let label = format!("{} / {}", v.case, v.perturbation);
    let params = ProofParams::new(v.topk, v.decode_batching_size).expect("params");
    let proofs: Vec<Proof> = v
        .proofs_base64
        .iter()
        .map(|t| Proof::from_base64_for_topk(t, v.topk))
        .collect::<Result<_, Error>>()
        .unwrap_or_else(|e| panic!("{label}: proof does not parse: {e}"));
    let bits = bits_from_hex(&v.verifier_bf16_bits_hex);
    let decode = Activations::bf16_bits(&bits, v.rows, v.hidden).expect("verifier shape");
    let pre_bits;
    let prefill = if v.skip_prefill == Some(false) {
        pre_bits = bits_from_hex(
            v.verifier_prefill_bf16_bits_hex
                .as_deref()
                .unwrap_or_else(|| panic!("{label}: prefill case without prefill bits")),
        );
        let rows = v
            .prefill_rows
            .unwrap_or_else(|| panic!("{label}: no `prefill_rows`"));
        Some(Activations::bf16_bits(&pre_bits, rows, v.hidden).expect("prefill shape"))
    } else {
        None
    };
    let got = validate(&params, prefill.as_ref(), &decode, &proofs)
        .unwrap_or_else(|e| panic!("{label}: validate failed: {e}"));
    assert_eq!(got.len(), v.results.len(), "{label}: chunk count");
    for (i, (g, want)) in got.iter().zip(&v.results).enumerate() {
        assert_eq!(
            g.exp_mismatches, want.exp_mismatches,
            "{label} chunk {i}: exp_mismatches"
        );
        // Exact f64 equality, bit for bit.
        assert_eq!(
            g.mant_err_mean.to_bits(),
            want.mant_err_mean.to_bits(),
            "{label} chunk {i}: mean {} vs {}",
            g.mant_err_mean,
            want.mant_err_mean
        );
        assert_eq!(
            g.mant_err_median.to_bits(),
            want.mant_err_median.to_bits(),
            "{label} chunk {i}: median {} vs {}",
            g.mant_err_median,
            want.mant_err_median
        );
    }
    counts.validation += 1;
    counts.chunks_validated += got.len();
}

fn replay_sparse(s: &SparseCase, counts: &mut Counts) {
    let label = &s.name;
    assert!(s.skip_prefill, "{label}: sparse cases are decode-only");
    let [rows, hidden] = s.shape;
    let mut bits = vec![s.fill_bf16_bits; rows * hidden];
    for &(i, b) in &s.nonfill_index_bits {
        bits[i] = b;
    }
    let params = ProofParams::new(s.topk, s.decode_batching_size).expect("params");
    let proofs = prove_both_ways(&params, None, &bits, rows, hidden, label);
    assert_eq!(
        base64_of(&proofs),
        s.proofs_base64,
        "{label}: proofs differ"
    );
    assert_eq!(proofs[0].modulus(), s.expected_modulus, "{label}: modulus");
    assert!(
        s.expected_modulus < 65497,
        "{label}: the case should step the modulus down"
    );
    // Honest validation at the reduced indices gives a perfect score.
    let decode = Activations::bf16_bits(&bits, rows, hidden).expect("shape");
    for r in validate(&params, None, &decode, &proofs).expect("validate") {
        assert_eq!(
            (r.exp_mismatches, r.mant_err_mean, r.mant_err_median),
            (0, 0.0, 0.0)
        );
    }
    counts.sparse += 1;
    counts.proofs_checked += proofs.len();
}

fn replay_readme(r: &ReadmeExample, counts: &mut Counts) {
    assert!(!r.skip_prefill);
    assert_eq!(r.inputs_bf16_bits_hex.len(), 1 + r.decode_steps);
    let [pre_rows, pre_hidden] = r.prefill_shape;
    let pre_bits = bits_from_hex(&r.inputs_bf16_bits_hex[0]);
    let pre = Activations::bf16_bits(&pre_bits, pre_rows, pre_hidden).expect("prefill shape");
    let dec_bits: Vec<u16> = r.inputs_bf16_bits_hex[1..]
        .iter()
        .flat_map(|h| bits_from_hex(h))
        .collect();
    let params = ProofParams::new(r.topk, r.decode_batching_size).expect("params");
    let proofs = prove_both_ways(
        &params,
        Some(&pre),
        &dec_bits,
        r.decode_steps,
        r.hidden,
        "readme_example",
    );
    assert_eq!(
        base64_of(&proofs),
        r.proofs_base64,
        "readme_example proofs differ"
    );
    counts.extra_items += 1;
    counts.proofs_checked += proofs.len();
}

fn replay_random(r: &RandomCase, counts: &mut Counts) {
    assert!(r.skip_prefill);
    let [rows, hidden] = r.shape;
    let bits = bits_from_hex(&r.input_bf16_bits_hex);
    let params = ProofParams::new(r.topk, r.decode_batching_size).expect("params");
    let proofs = prove_both_ways(&params, None, &bits, rows, hidden, "random_32x64_seed0");
    assert_eq!(
        base64_of(&proofs),
        r.proofs_base64,
        "random_32x64_seed0 proofs differ"
    );
    counts.extra_items += 1;
    counts.proofs_checked += proofs.len();
}

fn replay_null(hex_text: &str, counts: &mut Counts) {
    let bytes = hex::decode(hex_text).expect("null proof hex");
    assert_eq!(bytes.len(), 258);
    assert!(bytes.iter().all(|&b| b == 0));
    assert_eq!(Proof::from_bytes(&bytes), Err(Error::NullProof));
    assert_eq!(
        Proof::from_bytes_for_topk(&bytes, 128),
        Err(Error::NullProof)
    );
    counts.extra_items += 1;
}

fn load(path: &Path) -> VectorFile {
    let text = fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read vector file {}: {e}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("cannot parse vector file {}: {e}", path.display()))
}

fn replay_file(path: &Path, counts: &mut Counts) {
    let file = load(path);
    for c in &file.encoding {
        replay_encoding(c, counts);
    }
    for v in &file.validation {
        replay_validation(v, counts);
    }
    for s in &file.sparse_modulus_collision {
        replay_sparse(s, counts);
    }
    if let Some(r) = &file.readme_example {
        replay_readme(r, counts);
    }
    if let Some(r) = &file.random_32x64_seed0 {
        replay_random(r, counts);
    }
    if let Some(h) = &file.null_proof_topk128_hex {
        replay_null(h, counts);
    }
}

#[test]
fn reference_vectors_replay_exactly() {
    let dir = vectors_dir();
    let path = dir.join("reference-0.1.6.json");
    assert!(
        path.is_file(),
        "reference vectors missing at {}: they are committed with the crate \
         (this test fails rather than skips without them)",
        path.display()
    );
    let file = load(&path);
    // The main file must carry every kind of item.
    assert!(!file.encoding.is_empty(), "no encoding vectors");
    assert!(!file.validation.is_empty(), "no validation vectors");
    assert!(
        !file.sparse_modulus_collision.is_empty(),
        "no sparse vectors"
    );
    assert!(file.readme_example.is_some(), "no readme_example");
    assert!(file.random_32x64_seed0.is_some(), "no random_32x64_seed0");
    assert!(file.null_proof_topk128_hex.is_some(), "no null proof");
    drop(file);

    let mut counts = Counts::default();
    replay_file(&path, &mut counts);
    println!("reference-0.1.6.json: {counts:?}");
    assert_eq!(counts.extra_items, 3);
}

#[test]
fn extra_vectors_replay_exactly() {
    let Some(dir) = std::env::var_os("TOPLOC_EXTRA_VECTORS") else {
        println!("TOPLOC_EXTRA_VECTORS not set: no extra vectors replayed");
        return;
    };
    let dir = PathBuf::from(dir);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list TOPLOC_EXTRA_VECTORS={}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no *.json files in {}", dir.display());
    let mut total = Counts::default();
    for f in &files {
        let mut counts = Counts::default();
        replay_file(f, &mut counts);
        println!("{}: {counts:?}", f.display());
        total.encoding += counts.encoding;
        total.validation += counts.validation;
        total.sparse += counts.sparse;
        total.extra_items += counts.extra_items;
        total.proofs_checked += counts.proofs_checked;
        total.chunks_validated += counts.chunks_validated;
    }
    println!("extra vectors, {} files: {total:?}", files.len());
}
