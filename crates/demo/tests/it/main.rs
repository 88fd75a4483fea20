//! End-to-end dispute scenarios on anvil with the real SmolLM2-135M model: providers generate and
//! commit, the challenger bot recomputes and disputes, operator bots sign and resolve, bonds move.
//! Needs `out/` (forge build) and the model (tools/fetch-models.sh); tools/test.sh provides both.
#![allow(clippy::unwrap_used, clippy::print_stdout)] // tests: a failed unwrap is a failed test

use alloy::primitives::{B256, U256};
use std::path::Path;
use verbench_chain::bindings::IDisputeGame::CommitmentStatus;
use verbench_challenger::Bot;
use verbench_demo::{ether, role, small_dataset, Devnet, OperatorSet};
use verbench_inference::{gemma3_path, smollm2_path, LoadedModel};
use verbench_provider::{cheat::Cheat, watch::Watcher};

mod explorer;

const WINDOW: u32 = 3600;

struct Scenario {
    net: Devnet,
    dir: tempfile::TempDir,
    model: LoadedModel,
    /// The model file the challenger and the operators validate with.
    model_path: std::path::PathBuf,
    dataset_path: std::path::PathBuf,
    bench: verbench_bundle::benchmark::Benchmark,
    task: verbench_provider::task::TaskInfo,
}

async fn scenario(items: usize) -> Scenario {
    let dir = tempfile::tempdir().unwrap();
    let (dataset, dataset_path) = small_dataset(dir.path(), items).unwrap();
    scenario_over(dir, dataset, dataset_path).await
}

/// Four multiplications of four-digit numbers: SmolLM2-135M answers none of them right, so every
/// leaf honestly scores 0.
fn hard_dataset(dir: &Path) -> (verbench_bundle::dataset::Dataset, std::path::PathBuf) {
    let items = [(1234u64, 5678u64), (4321, 8765), (2468, 1357), (9876, 5432)]
        .iter()
        .map(|&(a, b)| verbench_bundle::dataset::DatasetItem {
            id: format!("mul-{a}-{b}"),
            input: format!("What is {a} times {b}? Answer with a number."),
            answer: Some((a * b).to_string()),
        })
        .collect();
    let d = verbench_bundle::dataset::Dataset { items };
    let path = dir.join("hard.jsonl");
    std::fs::write(&path, d.to_jsonl()).unwrap();
    (d, path)
}

async fn scenario_over(
    dir: tempfile::TempDir,
    dataset: verbench_bundle::dataset::Dataset,
    dataset_path: std::path::PathBuf,
) -> Scenario {
    scenario_with(
        dir,
        verbench_bundle::benchmark::Benchmark::legacy(dataset),
        dataset_path,
    )
    .await
}

/// A scenario over the first `n` items of MMLU or GSM8K (32 new tokens), with their manifest.
async fn registry_scenario(mmlu: bool, n: u32) -> Scenario {
    let dir = tempfile::tempdir().unwrap();
    let (bench, data, _) = verbench_demo::prepared(dir.path(), mmlu, n, 32).unwrap();
    scenario_with(dir, bench, data).await
}

/// A SmolLM2-135M scenario over `bench`, judged by the committed SmolLM2 calibration.
async fn scenario_with(
    dir: tempfile::TempDir,
    bench: verbench_bundle::benchmark::Benchmark,
    dataset_path: std::path::PathBuf,
) -> Scenario {
    let calibration = verbench_inference::calibration::smollm2_greedy().unwrap();
    let model = verbench_demo::smollm2().unwrap();
    scenario_of(dir, bench, dataset_path, model, smollm2_path(), calibration).await
}

/// Gemma 3 270M (the second family, a base model: plain prompts) over the first `items` items of
/// the mini benchmark, 32 new tokens, judged by Gemma's committed greedy calibration.
async fn gemma3_scenario(items: usize) -> Scenario {
    let dir = tempfile::tempdir().unwrap();
    let (dataset, dataset_path) = small_dataset(dir.path(), items).unwrap();
    let bench = verbench_bundle::benchmark::Benchmark::legacy(dataset);
    let calibration = verbench_inference::calibration::gemma3_greedy().unwrap();
    let model = verbench_demo::gemma3().unwrap();
    scenario_of(dir, bench, dataset_path, model, gemma3_path(), calibration).await
}

/// A devnet with three 10-ETH operators and a 32-token task over `bench` for `model` (whose file
/// the challenger and operators validate with is `model_path`), judged by `calibration`.
async fn scenario_of(
    dir: tempfile::TempDir,
    bench: verbench_bundle::benchmark::Benchmark,
    dataset_path: std::path::PathBuf,
    model: LoadedModel,
    model_path: std::path::PathBuf,
    calibration: (
        verbench_inference::calibration::Calibration,
        verbench_inference::ModelHash,
    ),
) -> Scenario {
    let net = Devnet::start().await.unwrap();
    net.register_operators(&role::OPERATORS, ether(10))
        .await
        .unwrap();
    let task = net
        .register_task_judged_by(
            &bench,
            B256::from(model.model.hash().0),
            32,
            WINDOW,
            &calibration,
        )
        .await
        .unwrap();
    assert_eq!(task.spec.calibrationHash, B256::from(calibration.1 .0));
    Scenario {
        net,
        dir,
        model,
        model_path,
        dataset_path,
        bench,
        task,
    }
}

impl Scenario {
    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Account `account` runs the task's benchmark (dishonestly with `cheat`), publishes its
    /// bundle and commits.
    async fn provide(
        &self,
        account: usize,
        cheat: Option<Cheat>,
    ) -> verbench_provider::commit::Committed {
        self.net
            .provide(
                account,
                &self.task,
                &self.bench,
                &self.model,
                cheat,
                self.path(),
                true,
            )
            .await
            .unwrap()
    }

    /// The challenger disputes leaf `leaf` of commitment `commitment_id` without supplying it
    /// (`openDispute`, the task's 0.1-ether bond): what a griefer or a mistaken challenger does.
    async fn open_dispute(&self, commitment_id: &str, leaf: u32) {
        let game = self.net.game(role::CHALLENGER);
        let (event, _) = game
            .RootCommitted_filter()
            .topic1(commitment_id.parse::<B256>().unwrap())
            .from_block(0)
            .query()
            .await
            .unwrap()
            .pop()
            .unwrap();
        game.openDispute(event.commitment, leaf)
            .value(ether(1) / U256::from(10))
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
    }

    /// Operator bots that do not read each other's attestations: each judges, seals and serves,
    /// but none alone holds a quorum to resolve.
    async fn isolated_operators(&self) -> OperatorSet {
        OperatorSet::start_with(
            &self.net,
            &role::OPERATORS,
            self.path(),
            &self.model_path,
            &self.dataset_path,
            |_, cfg| cfg.peers.clear(),
        )
        .await
        .unwrap()
    }

    /// The verdict pay claims logged so far, after checking that nothing is left unpaid on
    /// commitment `commitment_id` (`why`: who should have claimed it).
    async fn verdict_pay_claimed(
        &self,
        commitment_id: &str,
        why: &str,
    ) -> Vec<verbench_chain::bindings::IDisputeGame::VerdictPayClaimed> {
        let game = self.net.game(role::ADMIN);
        let cid: B256 = commitment_id.parse().unwrap();
        assert_eq!(
            game.unpaidVerdicts(cid).call().await.unwrap(),
            B256::ZERO,
            "{why}"
        );
        game.VerdictPayClaimed_filter()
            .from_block(0)
            .query()
            .await
            .unwrap()
            .into_iter()
            .map(|(e, _)| e)
            .collect()
    }

    async fn status(&self, commitment_id: &str) -> CommitmentStatus {
        let game = self.net.game(role::ADMIN);
        game.commitmentState(commitment_id.parse().unwrap())
            .call()
            .await
            .unwrap()
            .status
    }

    async fn challenger(&self, sample_rate: f64, seed: u64) -> Bot {
        let mut cfg = self.net.bot_config(
            role::CHALLENGER,
            &self.path().join("challenger"),
            &self.model_path,
            &self.dataset_path,
        );
        cfg.sample_rate = sample_rate;
        cfg.seed = seed;
        Bot::new(cfg).await.unwrap()
    }

    async fn operators(&self) -> OperatorSet {
        OperatorSet::start(
            &self.net,
            &role::OPERATORS,
            self.path(),
            &self.model_path,
            &self.dataset_path,
        )
        .await
        .unwrap()
    }

    fn watcher(&self, account: usize) -> Watcher<alloy::providers::DynProvider> {
        Watcher {
            provider: self.net.provider(account),
            game: self.net.deployment.dispute_game,
            me: self.net.address(account),
            from_block: self.net.deployment.block_number,
            bundle_dir: self.path().join(format!("published-{account}")),
            peers: Vec::new(),
        }
    }

    /// The cheat's commitment was rejected: the challenger (balance `before` its last step, which
    /// withdrew) gained half the provider bond plus `own_bond` back, less gas; the treasury holds
    /// the other half, less the operators' pay when a verdict (not a score proof) decided
    /// (`own_bond` > 0: 20% of the challenger bond, docs/protocol.md "Operator pay"); after the
    /// window the cheat finalizes nothing and is owed nothing.
    async fn assert_cheat_slashed(&self, before: U256, own_bond: U256) {
        let gained = self.net.balance(role::CHALLENGER).await.unwrap() - before;
        assert!(
            gained > ether(1) / U256::from(2) + own_bond - U256::from(10u64.pow(15)),
            "gained {gained}"
        );
        let treasury = self.net.deployment.treasury;
        let game = self.net.game(role::ADMIN);
        let operator_pay =
            own_bond * U256::from(game.operatorPayBps().call().await.unwrap()) / U256::from(10_000);
        // What claims of that pay returned to the treasury (stake that did not sign, rounding).
        let returned = game
            .VerdictPayClaimed_filter()
            .from_block(0)
            .query()
            .await
            .unwrap()
            .iter()
            .fold(U256::ZERO, |a, (e, _)| a + e.toTreasury);
        assert_eq!(
            game.credit(treasury).call().await.unwrap(),
            ether(1) / U256::from(2) - operator_pay + returned
        );
        self.net.advance(u64::from(WINDOW) + 1).await.unwrap();
        assert_eq!(self.watcher(role::CHEAT).pass().await.unwrap().finalized, 0);
        assert_eq!(self.credit(role::CHEAT).await, U256::ZERO);
    }

    async fn credit(&self, account: usize) -> U256 {
        self.net
            .game(role::ADMIN)
            .credit(self.net.address(account))
            .call()
            .await
            .unwrap()
    }
}

/// Scenario 1: an honest provider's commitment finalizes with no dispute and its bond returns.
#[tokio::test(flavor = "multi_thread")]
async fn honest_provider_finalizes_and_gets_its_bond_back() {
    let s = scenario(4).await;
    let c = s.provide(role::HONEST, None).await;
    let report = s.challenger(1.0, 1).await.run_once().await.unwrap();
    assert_eq!(report.leaves_checked, 4, "{report:?}");
    assert_eq!(report.disputes_opened, 0, "honest leaves pass: {report:?}");
    // Before the window closes nothing can finalize; after it, the watcher finalizes and withdraws.
    assert_eq!(s.watcher(role::HONEST).pass().await.unwrap().finalized, 0);
    s.net.advance(u64::from(WINDOW) + 1).await.unwrap();
    let balance = s.net.balance(role::HONEST).await.unwrap();
    let pass = s.watcher(role::HONEST).pass().await.unwrap();
    assert_eq!(
        (pass.finalized, pass.withdrawn_wei.as_str()),
        (1, "1000000000000000000")
    );
    assert_eq!(
        s.status(&c.commitment_id).await,
        CommitmentStatus::Finalized
    );
    assert!(
        s.net.balance(role::HONEST).await.unwrap() > balance + ether(1) - U256::from(10u64.pow(15))
    );
}

/// Scenario 2: model swap (Q4_0 weights claimed as the committed Q4_1): disputed, resolved by the
/// operators' signatures, the provider slashed, the challenger paid.
#[tokio::test(flavor = "multi_thread")]
async fn model_swap_is_disputed_resolved_and_slashed() {
    let s = scenario(4).await;
    let c = s.provide(role::CHEAT, Some(Cheat::ModelSwapQ4_0)).await;
    let mut challenger = s.challenger(0.5, 3).await;
    let report = challenger.run_once().await.unwrap();
    assert_eq!(report.disputes_opened, 1, "{report:?}");
    assert!(
        report.faults[0].1.contains("TOPLOC") || report.faults[0].1.contains("token"),
        "{:?}",
        report.faults
    );
    let mut ops = s.operators().await;
    assert_eq!(
        ops.round().await.unwrap(),
        1,
        "operators resolve the dispute"
    );
    assert_eq!(s.status(&c.commitment_id).await, CommitmentStatus::Rejected);
    // The bot that resolved claimed the signers' pay (20% of the challenger bond, pro rata to
    // stake over the eligible stake): nothing is left unpaid on the commitment.
    let claims = s
        .verdict_pay_claimed(
            &c.commitment_id,
            "the resolving bot claimed the signers' pay",
        )
        .await;
    assert_eq!(claims.len(), 1, "one claim for the one verdict");
    let claim = &claims[0];
    assert_eq!(
        claim.toSigners + claim.toTreasury,
        ether(1) / U256::from(10) * U256::from(2) / U256::from(10),
        "P = 20% of the challenger bond, split between signers and treasury"
    );
    assert!(claim.toSigners > U256::ZERO);
    // Challenger: its bond back plus half the provider's bond; the rest to the treasury.
    let before = s.net.balance(role::CHALLENGER).await.unwrap();
    challenger.run_once().await.unwrap(); // withdraws
    s.assert_cheat_slashed(before, ether(1) / U256::from(10))
        .await;
}

/// Scenario 2b (issue 12's exploit): every leaf honestly scored, the claimed aggregate inflated to
/// 100%. The challenger bot needs no model and no vote: it proves the fault with the last leaf's
/// running sum (`proveScoreFault`), the commitment is rejected, the provider loses its bond and the
/// challenger is paid. No operator is involved.
#[tokio::test(flavor = "multi_thread")]
async fn inflated_score_claim_is_proven_without_a_vote_and_slashed() {
    let dir = tempfile::tempdir().unwrap();
    let (dataset, path) = hard_dataset(dir.path());
    let s = scenario_over(dir, dataset, path).await;
    let c = s.provide(role::CHEAT, Some(Cheat::InflateScore)).await;
    assert_eq!(c.claimed_score_wad, "1000000000000000000");
    assert_eq!(c.score, "0.0000 ± 0.0000", "every item honestly scores 0");
    // Sample nothing: the score check covers every leaf without the model.
    let mut challenger = s.challenger(0.0, 1).await;
    let before = s.net.balance(role::CHALLENGER).await.unwrap();
    // One step: finds the fault, proves it, and withdraws its credit.
    let report = challenger.run_once().await.unwrap();
    assert_eq!(report.disputes_opened, 0, "{report:?}");
    assert_eq!(report.score_proofs, 1, "{report:?}");
    assert!(
        report.faults[0].1.contains("claimed score"),
        "{:?}",
        report.faults
    );
    assert_eq!(s.status(&c.commitment_id).await, CommitmentStatus::Rejected);
    // No challenger bond was posted: the gain is the share of the provider bond alone.
    s.assert_cheat_slashed(before, U256::ZERO).await;
}

/// Scenario 2c: MMLU by restricted log-likelihood. An honest provider's letters are the model's
/// choices among A-D: its commitment is checked (every score, and each leaf recomputed by one
/// prefill) and finalizes. A provider that claims the answer key's letter, proven by one honest
/// prefill, is caught by the restricted token check and slashed (the task's margin is the committed
/// calibration's for one-token items, 0.909 logits: the per-item target over one token); one that
/// scores the model's own letters against another answer key is caught by rescoring and slashed.
#[tokio::test(flavor = "multi_thread")]
async fn mmlu_answer_key_letters_and_another_key_are_disputed_honest_letters_finalize() {
    let s = registry_scenario(true, 4).await;
    let honest = s.provide(role::HONEST, None).await;
    let cheat = s.provide(role::CHEAT, Some(Cheat::AnswerKey)).await;
    let mut challenger = s.challenger(1.0, 1).await;
    let report = challenger.run_once().await.unwrap();
    // The cheat claims 100% (every letter right); the model does not get all four.
    assert_eq!(cheat.claimed_score_wad, "1000000000000000000");
    assert_ne!(honest.claimed_score_wad, cheat.claimed_score_wad);
    assert_eq!(report.disputes_opened, 1, "{report:?}");
    assert!(report.faults[0].1.contains("token"), "{:?}", report.faults);
    let mut ops = s.operators().await;
    assert_eq!(ops.round().await.unwrap(), 1);
    assert_eq!(
        s.status(&cheat.commitment_id).await,
        CommitmentStatus::Rejected
    );

    // A third provider runs honestly but scores against another answer key: the model's own
    // letters (read back from the honest bundle), so it claims 100%. Rescoring every leaf against
    // the manifest's key finds the first leaf whose committed score is not what its letter earns.
    let honest_bundle = s.path().join(format!("work-{}.jsonl", role::HONEST));
    let mut reader = verbench_bundle::BundleReader::open(&honest_bundle).unwrap();
    let mut other_key = s.bench.clone();
    let mut wrong = 0;
    while let Some((item, _)) = reader.next_item().unwrap() {
        let d = &mut other_key.dataset.items[item.index as usize];
        if d.answer.as_deref() != Some(item.output_text.as_str()) {
            wrong += 1;
        }
        d.answer = Some(item.output_text.clone());
    }
    assert!(
        wrong > 0,
        "the model chose every reference letter: no other key to test"
    );
    let keyed = s
        .net
        .provide(
            role::SECOND_CHEAT,
            &s.task,
            &other_key,
            &s.model,
            None,
            s.path(),
            true,
        )
        .await
        .unwrap();
    assert_eq!(keyed.claimed_score_wad, "1000000000000000000");
    let report = challenger.run_once().await.unwrap();
    assert_eq!(report.disputes_opened, 1, "{report:?}");
    assert!(report.faults[0].1.contains("score"), "{:?}", report.faults);
    assert_eq!(ops.round().await.unwrap(), 1);
    assert_eq!(
        s.status(&keyed.commitment_id).await,
        CommitmentStatus::Rejected
    );

    s.net.advance(u64::from(WINDOW) + 1).await.unwrap();
    assert_eq!(s.watcher(role::HONEST).pass().await.unwrap().finalized, 1);
    assert_eq!(
        s.status(&honest.commitment_id).await,
        CommitmentStatus::Finalized
    );
}

/// Scenario 2d: GSM8K (first 4 test items, 0-shot, 32 new tokens) through its manifest: the
/// challenger rescores and recomputes every honest leaf and finds nothing; the commitment
/// finalizes. A bundle generated with a few-shot prompt the manifest does not have is disputed
/// (its prefill proof covers another prompt) and slashed.
#[tokio::test(flavor = "multi_thread")]
async fn gsm8k_honest_finalizes_and_another_few_shot_prompt_is_slashed() {
    let s = registry_scenario(false, 4).await;
    let c = s.provide(role::HONEST, None).await;
    // A second provider generates with a few-shot exemplar the manifest does not have (one
    // worked problem before each question); its proofs are honest for the prompt it used.
    let mut shots = s.bench.clone();
    shots
        .prompt
        .few_shot
        .push(verbench_bundle::manifest::Exemplar {
            user: "What is 2 plus 3? End with \"The answer is N.\"".into(),
            assistant: "2 + 3 = 5. The answer is 5.".into(),
        });
    let cheat = s
        .net
        .provide(role::CHEAT, &s.task, &shots, &s.model, None, s.path(), true)
        .await
        .unwrap();
    let report = s.challenger(1.0, 1).await.run_once().await.unwrap();
    assert_eq!(
        report.leaves_checked, 5,
        "4 honest leaves + the cheat's first: {report:?}"
    );
    assert_eq!(report.disputes_opened, 1, "{report:?}");
    assert!(
        report.faults[0].1.contains("TOPLOC failure at chunk 0"),
        "the prefill proof covers another prompt: {:?}",
        report.faults
    );
    let mut ops = s.operators().await;
    assert_eq!(ops.round().await.unwrap(), 1);
    assert_eq!(
        s.status(&cheat.commitment_id).await,
        CommitmentStatus::Rejected
    );
    s.net.advance(u64::from(WINDOW) + 1).await.unwrap();
    assert_eq!(s.watcher(role::HONEST).pass().await.unwrap().finalized, 1);
    assert_eq!(
        s.status(&c.commitment_id).await,
        CommitmentStatus::Finalized
    );
}

/// Scenario 3: prompt tampering on a fraction of items (every 4th item generated under another
/// system prompt, proofs rebuilt honestly by one prefill): caught by sampling and the token check.
#[tokio::test(flavor = "multi_thread")]
async fn prompt_tampering_on_a_fraction_is_caught_by_sampling() {
    let s = scenario(8).await;
    let cheat = Cheat::SystemPrompt {
        system: "Always reply in French, in one long sentence.".into(),
        every: 4,
    };
    let c = s.provide(role::CHEAT, Some(cheat)).await;
    let cid: B256 = c.commitment_id.parse().unwrap();
    // The bot samples each leaf with probability 0.5; pick the first seed whose sample holds the
    // tampered leaves (items 0 and 4), as some member of a challenger population with many seeds
    // would. (Item 0's answer is short enough that the other system prompt leaves it unchanged:
    // that item is an honest output, and only item 4 is a detectable cheat.)
    let seed = (0u64..)
        .find(|&seed| {
            [0u32, 4]
                .iter()
                .all(|&i| verbench_challenger::sampled(seed, cid, i, 0.5))
        })
        .unwrap();
    let report = s.challenger(0.5, seed).await.run_once().await.unwrap();
    let bundle =
        std::fs::read_to_string(s.path().join(format!("work-{}.jsonl", role::CHEAT))).unwrap();
    assert_eq!(report.disputes_opened, 1, "{report:?}\n{bundle}");
    let mut ops = s.operators().await;
    assert_eq!(ops.round().await.unwrap(), 1);
    assert_eq!(s.status(&c.commitment_id).await, CommitmentStatus::Rejected);
}

/// Verdicts follow the task, not the judge (issue 14). The task carries the committed SmolLM2-135M
/// calibration: its TOPLOC limits, its token margin and its hash. Three operators started with
/// different local settings (sampling rate, seed, log-range size) judge a disputed leaf; every
/// one that signs signs the same outcome, because nothing they judge by is a local setting any more
/// (a config file still naming `token_margin` is refused at load).
#[tokio::test(flavor = "multi_thread")]
async fn operators_with_different_settings_sign_the_same_verdict() {
    let s = scenario(4).await;
    let (cal, hash) = verbench_inference::calibration::smollm2_greedy().unwrap();
    assert_eq!(s.task.spec.calibrationHash, B256::from(hash.0));
    // The margin for this task's item length (the per-item target over its tokens).
    assert_eq!(
        s.task.spec.toploc.tokenMarginMilli,
        cal.token_margin_milli_for(s.task.spec.generation.maxNewTokens)
    );
    assert_eq!(s.task.spec.toploc.minExpMatches, cal.limits.min_exp_matches);
    let c = s.provide(role::CHEAT, Some(Cheat::ModelSwapQ4_0)).await;
    let report = s.challenger(1.0, 1).await.run_once().await.unwrap();
    assert_eq!(report.disputes_opened, 1, "{report:?}");
    let mut ops = OperatorSet::start_with(
        &s.net,
        &role::OPERATORS,
        s.path(),
        &smollm2_path(),
        &s.dataset_path,
        |k, cfg| match k {
            0 => {}
            1 => {
                cfg.sample_rate = 1.0;
                cfg.seed = 99;
                cfg.max_block_range = 3;
            }
            _ => {
                cfg.seed = 7;
                cfg.max_block_range = 1;
                cfg.reorg_depth = 2;
            }
        },
    )
    .await
    .unwrap();
    assert_eq!(ops.round().await.unwrap(), 1);
    assert_eq!(s.status(&c.commitment_id).await, CommitmentStatus::Rejected);
    let outcomes: Vec<_> = ops
        .bots
        .iter()
        .flat_map(|b| {
            let shared = b.shared();
            let a = shared.attestations.read().unwrap();
            a.values().map(|a| a.outcome).collect::<Vec<_>>()
        })
        .collect();
    assert!(outcomes.len() >= 2, "a quorum signed: {outcomes:?}");
    assert!(
        outcomes
            .iter()
            .all(|o| *o == verbench_challenger::VerdictOutcome::ProviderAtFault),
        "{outcomes:?}"
    );
    // A config still naming the removed per-judge margin is refused, not silently ignored.
    let old = s.path().join("old.toml");
    std::fs::write(&old, "token_margin = 1.0\n").unwrap();
    let err = verbench_challenger::Config::load(&old).unwrap_err();
    assert!(format!("{err:#}").contains("token_margin"), "{err:#}");
}

/// The second family end to end (issue 14): a Gemma 3 270M task carrying Gemma's committed
/// calibration. An honest provider's leaves all pass the challenger's recomputation (one dense
/// prefill per item) and its commitment finalizes; a provider generating with the weights
/// re-quantized to Q4_0 while claiming the Q4_K_M file is disputed, judged at fault by the
/// operators and slashed.
#[tokio::test(flavor = "multi_thread")]
async fn gemma3_task_honest_finalizes_and_model_swap_is_slashed() {
    let s = gemma3_scenario(3).await;
    let honest = s.provide(role::HONEST, None).await;
    let cheat = s.provide(role::CHEAT, Some(Cheat::ModelSwapQ4_0)).await;
    let mut challenger = s.challenger(1.0, 1).await;
    let report = challenger.run_once().await.unwrap();
    // Every honest leaf is recomputed (3) and passes; the cheat is disputed at its first failing
    // leaf.
    assert!(report.leaves_checked >= 4, "{report:?}");
    assert_eq!(
        report.disputes_opened, 1,
        "only the swapped model's commitment is disputed: {report:?}"
    );
    let cheat_id: B256 = cheat.commitment_id.parse().unwrap();
    assert!(
        report.faults.iter().all(|(id, _)| *id == cheat_id),
        "{:?}",
        report.faults
    );
    let mut ops = s.operators().await;
    assert_eq!(
        ops.round().await.unwrap(),
        1,
        "operators resolve the dispute"
    );
    assert_eq!(
        s.status(&cheat.commitment_id).await,
        CommitmentStatus::Rejected
    );
    s.net.advance(u64::from(WINDOW) + 1).await.unwrap();
    let pass = s.watcher(role::HONEST).pass().await.unwrap();
    assert_eq!(pass.finalized, 1);
    assert_eq!(
        s.status(&honest.commitment_id).await,
        CommitmentStatus::Finalized
    );
}

/// Scenario 4: withheld data: the bundle is unreachable, the challenger forces a reveal, the
/// provider does not reveal in time and is slashed.
#[tokio::test(flavor = "multi_thread")]
async fn withheld_bundle_forces_a_reveal_and_slashes_the_silent_provider() {
    let s = scenario(4).await;
    let c = s
        .net
        .provide(
            role::CHEAT,
            &s.task,
            &s.bench,
            &s.model,
            None,
            s.path(),
            false,
        )
        .await
        .unwrap();
    let mut challenger = s.challenger(0.5, 1).await;
    let report = challenger.run_once().await.unwrap();
    assert_eq!(report.disputes_opened, 1, "{report:?}");
    assert_eq!(
        challenger.run_once().await.unwrap().withheld_claimed,
        0,
        "reveal window still open"
    );
    s.net.advance(601).await.unwrap();
    assert_eq!(challenger.run_once().await.unwrap().withheld_claimed, 1);
    assert_eq!(s.status(&c.commitment_id).await, CommitmentStatus::Rejected);
}

/// Scenario 5: a false challenge. A challenger disputes an honest leaf without supplying it; the
/// provider's watcher reveals it before the deadline; the operators recompute it and judge it
/// valid; the challenger's bond goes to the provider, whose commitment still finalizes.
#[tokio::test(flavor = "multi_thread")]
async fn false_challenge_is_answered_by_a_reveal_and_loses_its_bond() {
    let s = scenario(4).await;
    let c = s.provide(role::HONEST, None).await;
    s.open_dispute(&c.commitment_id, 2).await;
    assert_eq!(
        s.watcher(role::HONEST).pass().await.unwrap().revealed,
        1,
        "the watcher reveals leaf 2"
    );
    let mut ops = s.operators().await;
    assert_eq!(ops.round().await.unwrap(), 1);
    assert_eq!(
        s.status(&c.commitment_id).await,
        CommitmentStatus::Active,
        "the leaf was valid"
    );
    assert_eq!(
        s.credit(role::HONEST).await,
        ether(1) / U256::from(10) * U256::from(8) / U256::from(10),
        "the challenger bond goes to the provider, less the operators' 20%"
    );
    s.net.advance(u64::from(WINDOW) + 1).await.unwrap();
    let pass = s.watcher(role::HONEST).pass().await.unwrap();
    assert_eq!(pass.finalized, 1);
    assert_eq!(
        s.status(&c.commitment_id).await,
        CommitmentStatus::Finalized
    );
}

/// The data-availability attack (issue 16): a challenger disputes an honest leaf and the bundle
/// host goes down right after. Operators judge from chain data alone (the leaf the provider
/// reveals and the item it publishes with `publishItem`), never from the bundle, so the honest
/// provider still wins and the challenger loses its bond.
#[tokio::test(flavor = "multi_thread")]
async fn bundle_host_down_during_the_dispute_does_not_convict_an_honest_provider() {
    let s = scenario(3).await;
    let c = s.provide(role::HONEST, None).await;
    // The provider keeps its own copy of what it published; the host is `published-<account>`.
    let host = s.path().join(format!("published-{}", role::HONEST));
    let own = s.path().join("provider-own-copy");
    std::fs::create_dir_all(&own).unwrap();
    for f in std::fs::read_dir(&host).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, own.join(f.file_name().unwrap())).unwrap();
    }
    s.open_dispute(&c.commitment_id, 1).await;
    // The host goes down as soon as the dispute is open.
    std::fs::remove_dir_all(&host).unwrap();
    let mut watcher = s.watcher(role::HONEST);
    watcher.bundle_dir = own;
    let pass = watcher.pass().await.unwrap();
    assert_eq!(
        (pass.revealed, pass.published),
        (1, 1),
        "the provider reveals leaf 1 and publishes its item: {pass:?}"
    );
    let mut ops = s.operators().await;
    assert_eq!(ops.round().await.unwrap(), 1, "resolved from chain data");
    assert_eq!(
        s.status(&c.commitment_id).await,
        CommitmentStatus::Active,
        "the leaf was judged valid"
    );
    assert_eq!(
        s.credit(role::HONEST).await,
        ether(1) / U256::from(10) * U256::from(8) / U256::from(10),
        "the challenger's bond goes to the provider, less the operators' 20%"
    );
}

/// A challenger is not left depending on the operators' bots to send the verdict it won: with
/// operator bots that sign but cannot see each other (so none of them reaches a quorum alone),
/// the challenger collects their attestations itself and submits `resolve` (issue 16: an
/// unresolved dispute expires and costs the challenger its bond).
#[tokio::test(flavor = "multi_thread")]
async fn challenger_submits_the_verdict_of_its_own_dispute_when_no_operator_does() {
    let s = scenario(2).await;
    let c = s.provide(role::CHEAT, Some(Cheat::ModelSwapQ4_0)).await;
    let mut challenger = s.challenger(1.0, 1).await;
    assert_eq!(challenger.run_once().await.unwrap().disputes_opened, 1);
    let mut ops = s.isolated_operators().await;
    assert_eq!(
        ops.round().await.unwrap(),
        0,
        "alone, no operator has a quorum"
    );
    assert_eq!(s.status(&c.commitment_id).await, CommitmentStatus::Active);
    let mut cfg = s.net.bot_config(
        role::CHALLENGER,
        &s.path().join("challenger"),
        &s.model_path,
        &s.dataset_path,
    );
    cfg.peers = ops.urls.clone();
    let mut challenger = Bot::new(cfg).await.unwrap();
    let report = challenger.run_once().await.unwrap();
    assert_eq!(report.resolved, 1, "{report:?}");
    assert_eq!(s.status(&c.commitment_id).await, CommitmentStatus::Rejected);
    s.verdict_pay_claimed(
        &c.commitment_id,
        "the challenger claimed the operators' pay too",
    )
    .await;
}

/// The provider's watcher settles its own disputes (issue 16): given the operators' attestation
/// endpoints it submits their LeafValid verdict itself (it is paid the challenger bond less the
/// operators' 20%), and a dispute nobody resolved it expires after the vote deadline so that its
/// bond can be released. The operators, who sealed their verdicts before serving them, claim their
/// pay once they see the verdict settled.
#[tokio::test(flavor = "multi_thread")]
async fn provider_watcher_submits_the_leaf_valid_verdict_and_expires_what_nobody_resolved() {
    let s = scenario(3).await;
    let c = s.provide(role::HONEST, None).await;
    let bond = ether(1) / U256::from(10);
    s.open_dispute(&c.commitment_id, 0).await;
    let pass = s.watcher(role::HONEST).pass().await.unwrap();
    assert_eq!((pass.revealed, pass.published), (1, 1), "{pass:?}");
    // Operators that cannot see each other: they judge, seal and serve, but none resolves.
    let mut ops = s.isolated_operators().await;
    assert_eq!(
        ops.round().await.unwrap(),
        0,
        "no operator alone is a quorum"
    );
    s.open_dispute(&c.commitment_id, 1).await;
    let mut watcher = s.watcher(role::HONEST);
    watcher.peers = ops.urls.clone();
    let pass = watcher.pass().await.unwrap();
    assert_eq!(
        pass.resolved, 1,
        "the LeafValid verdict on leaf 0: {pass:?}"
    );
    assert_eq!(
        pass.withdrawn_wei,
        (bond * U256::from(8) / U256::from(10)).to_string(),
        "the challenger bond less the operators' 20%, withdrawn"
    );
    assert_eq!(s.status(&c.commitment_id).await, CommitmentStatus::Active);
    // Operators claim the pay of the verdict they sealed and signed.
    ops.round().await.unwrap();
    let claimed = s
        .verdict_pay_claimed(&c.commitment_id, "the operators claimed their pay")
        .await;
    assert_eq!(claimed.len(), 1);
    assert!(!claimed[0].toSigners.is_zero(), "sealed signers are paid");
    // Leaf 1's dispute: revealed, but the operators are not run again. After its vote deadline
    // the watcher expires it.
    s.net.advance(601).await.unwrap();
    let pass = watcher.pass().await.unwrap();
    assert_eq!(pass.expired, 1, "{pass:?}");
    assert_eq!(s.status(&c.commitment_id).await, CommitmentStatus::Frozen);
}
