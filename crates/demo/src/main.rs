//! The README's demo (placeholder until the end-to-end flow lands): builds a Merkle tree over
//! sample records, prints the root and one proof, then verifies that proof through the
//! `MerkleVerifier` contract on a local anvil that it starts and stops itself.
#![allow(clippy::print_stdout)]

use alloy::{
    network::TransactionBuilder,
    primitives::{FixedBytes, U256},
    providers::{Provider, ProviderBuilder},
    rpc::types::TransactionRequest,
};
use anyhow::Context;
use verbench_chain::{artifacts, bindings::IMerkleVerifier, local};
use verbench_merkle::{to_hex, MerkleTree};

const RECORDS: [&str; 7] = [
    r#"{"item":0,"prompt":"2+2?","output":"4"}"#,
    r#"{"item":1,"prompt":"Capital of France?","output":"Paris"}"#,
    r#"{"item":2,"prompt":"Largest planet?","output":"Jupiter"}"#,
    r#"{"item":3,"prompt":"H2O is?","output":"water"}"#,
    r#"{"item":4,"prompt":"3*7?","output":"21"}"#,
    r#"{"item":5,"prompt":"Opposite of hot?","output":"cold"}"#,
    r#"{"item":6,"prompt":"Color of the sky?","output":"blue"}"#,
];
const PROVED: u64 = 5;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let tree = MerkleTree::from_records(RECORDS)?;
    let proof = tree.prove(PROVED)?;
    let leaf = verbench_merkle::hash_leaf(RECORDS[PROVED as usize].as_bytes());
    println!("tree of {} records", tree.leaf_count());
    println!("  root    {}", to_hex(&tree.root()));
    println!("  tree id {}  (keccak256(root || n))", to_hex(&tree.id()));
    println!("proof of record {PROVED}: {}", RECORDS[PROVED as usize]);
    println!("  leaf    {}", to_hex(&leaf));
    for (level, sibling) in proof.siblings.iter().enumerate() {
        println!("  sibling[{level}] {}", to_hex(sibling));
    }
    proof
        .verify(&tree.root(), &leaf)
        .context("the Rust verifier rejected its own proof")?;
    println!("Rust verifier: valid");

    let anvil = local::spawn_anvil()?;
    println!("started anvil at {}", anvil.endpoint());
    let provider = ProviderBuilder::new()
        .wallet(anvil.wallet().context("anvil has no dev keys")?)
        .connect_http(anvil.endpoint_url());
    let bytecode = artifacts::creation_bytecode(
        &artifacts::project_root().join("out"),
        "MerkleVerifier",
        "MerkleVerifier",
    )?;
    let receipt = provider
        .send_transaction(TransactionRequest::default().with_deploy_code(bytecode))
        .await?
        .get_receipt()
        .await?;
    let address = receipt
        .contract_address
        .context("deployment receipt has no contract address")?;
    println!(
        "deployed MerkleVerifier at {address} (gas {})",
        receipt.gas_used
    );

    let verifier = IMerkleVerifier::new(address, &provider);
    let siblings: Vec<FixedBytes<32>> = proof.siblings.iter().map(|s| FixedBytes(*s)).collect();
    let (root, n, index) = (
        FixedBytes(tree.root()),
        U256::from(tree.leaf_count()),
        U256::from(PROVED),
    );
    let valid = verifier
        .verify(siblings.clone(), root, n, index, FixedBytes(leaf))
        .call()
        .await?;
    println!("on-chain verify(record {PROVED}, index {PROVED}):  {valid}");
    let wrong_index = verifier
        .verify(
            siblings.clone(),
            root,
            n,
            U256::from(PROVED - 1),
            FixedBytes(leaf),
        )
        .call()
        .await?;
    println!(
        "on-chain verify(same proof, index {}):  {wrong_index}",
        PROVED - 1
    );
    let tampered_record = br#"{"item":5,"prompt":"Opposite of hot?","output":"warm"}"#;
    let tampered = verifier
        .verifyLeafData(siblings, root, n, index, tampered_record.to_vec().into())
        .call()
        .await?;
    println!("on-chain verify(tampered record):     {tampered}");
    drop(anvil);
    println!("stopped anvil");
    anyhow::ensure!(
        valid && !wrong_index && !tampered,
        "on-chain verification disagrees with the Rust verifier"
    );
    println!("OK: Rust and Solidity agree");
    Ok(())
}
