//! Server-rendered HTML pages (no JavaScript): the leaderboard, a commitment, a dispute, and the
//! error pages. Every value from the chain or a bundle goes through [`esc`].
//!
//! Words mean one thing each (the glossary on every page says so):
//! - **in window**: committed, its challenge window still open; the score is only claimed;
//! - **finalized**: the window passed with no fault shown and the bond was returned;
//! - **verified**: finalized, and challengers this explorer reads recomputed k of n leaves with
//!   the task's model and found every one valid;
//! - **caught**: rejected: a dispute found the provider at fault, or a score proof showed its
//!   scores wrong; its score is void.

use crate::index::{BundleInfo, CheckInfo, SignersInfo, Snapshot};
use crate::model::{dispute_status_name, wad_f64, CommitmentView, Ending};
use crate::plot::{self, Limit, Point};
use alloy::primitives::{utils::format_ether, B256, U256};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use verbench_chain::bindings::IDisputeGame::{CommitmentStatus, DisputeStatus};
use verbench_challenger::check::LeafCheck;

/// HTML-escapes `s`.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn short(h: &impl std::fmt::Display) -> String {
    let s = h.to_string();
    if s.len() > 14 {
        format!("{}…{}", &s[..8], &s[s.len() - 4..])
    } else {
        s
    }
}

fn when(t: Option<u64>) -> String {
    t.map_or_else(|| "time unknown".into(), |t| format!("t={t}"))
}

fn duration(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m {s}s")
    } else {
        format!("{s}s")
    }
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:1.5rem auto;max-width:72rem;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1.5rem;width:100%}th,td{border:1px solid #ccc;padding:.3rem .45rem;text-align:left;vertical-align:top;font-size:.9rem}
th{background:#f0f0f0}code,.mono{font-family:ui-monospace,monospace;font-size:.85rem}
.status-verified{color:#1b5e20;font-weight:600}.status-finalized{color:#2e7d32}.status-window{color:#8a6d00}
.status-caught{color:#b71c1c;font-weight:600}.status-frozen{color:#555}.status-disputed{color:#e65100;font-weight:600}
.banner{background:#fff3cd;border:1px solid #e0c36c;padding:.5rem .8rem;margin:.5rem 0}.error{background:#fdecea;border-color:#e57373}
.plots{display:flex;flex-wrap:wrap;gap:1rem}dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}dt{font-weight:600}
details{margin:.2rem 0}s{color:#888}.glossary{font-size:.85rem;background:#f7f7f7;padding:.5rem .8rem;border-left:3px solid #999}";

const GLOSSARY: &str = r#"<div class="glossary" id="glossary"><b>What the words mean.</b>
<b>in window</b>: committed; its challenge window is open and its score is only claimed.
<b>finalized</b>: the window passed with no fault shown; the bond went back to the provider.
<b>verified</b>: finalized, and the challengers this explorer reads recomputed <i>k</i> of <i>n</i> leaves with the task's model and found every one valid (a challenger's check is its own report).
<b>caught</b>: rejected: a dispute found the provider at fault, or a score proof showed its scores wrong; its score is void.
<b>frozen</b>: a dispute reached no quorum; the commitment is neither accepted nor rejected.
Items whose benchmark has no scorer are shown as <i>unscored</i>; a commitment with no claimed score shows none.</div>"#;

/// The page frame: title, banners (reorg, indexing error, indexing height) and `body`.
pub fn layout(snap: &Snapshot, title: &str, body: &str) -> String {
    let mut banners = String::new();
    if let Some(r) = &snap.last_reorg {
        let _ = write!(
            banners,
            r#"<div class="banner" id="reorg">{}</div>"#,
            esc(r)
        );
    }
    if let Some(e) = &snap.last_error {
        let _ = write!(
            banners,
            r#"<div class="banner error" id="index-error">The last indexing pass failed ({}); pages show what was indexed before.</div>"#,
            esc(e)
        );
    }
    if snap.view.undecodable_logs > 0 {
        let _ = write!(
            banners,
            r#"<div class="banner">{} log(s) of the game could not be decoded by this explorer and are not shown.</div>"#,
            snap.view.undecodable_logs
        );
    }
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{t} · verbench explorer</title><style>{STYLE}</style></head>
<body><nav><a href="/">verbench explorer</a> · chain {chain} · DisputeGame <code>{game}</code> · indexed to block {cursor} (head {head}, t={time})</nav>
{banners}<h1>{t}</h1>{body}{GLOSSARY}</body></html>"#,
        t = esc(title),
        chain = snap.chain_id,
        game = snap.game,
        cursor = snap.cursor.saturating_sub(1),
        head = snap.head.0,
        time = snap.head.1,
    )
}

/// A commitment's status as the pages name it: (CSS class, short word, sentence).
pub fn status_of(snap: &Snapshot, c: &CommitmentView) -> (&'static str, String, String) {
    let n = c.commitment.leafCount;
    let (valid, invalid) = leaf_checks(snap, c.id);
    let open = c.disputes.iter().find_map(|d| {
        let d = snap.view.disputes.get(d)?;
        matches!(
            d.dispute.status,
            DisputeStatus::AwaitingReveal | DisputeStatus::Voting
        )
        .then_some(d)
    });
    match c.status() {
        CommitmentStatus::Rejected => {
            let why = match (&c.ending, &c.score_fault) {
                (_, Some(f)) => format!("a score proof showed {} at leaf {}", f.fault, f.leaf_index),
                (Some(Ending::Rejected { dispute: Some(d), .. }), _) => {
                    let leaf = snap
                        .view
                        .disputes
                        .get(d)
                        .map_or_else(String::new, |d| format!(" on leaf {}", d.dispute.leafIndex));
                    format!("a dispute{leaf} found the provider at fault")
                }
                _ => "shown faulty".into(),
            };
            ("status-caught", "caught".into(), format!("caught: rejected, {why}; its score is void"))
        }
        CommitmentStatus::Frozen => (
            "status-frozen",
            "frozen".into(),
            "frozen: a dispute reached no quorum".into(),
        ),
        CommitmentStatus::Finalized if !valid.is_empty() && invalid.is_empty() => (
            "status-verified",
            "verified".into(),
            format!(
                "verified: finalized, {} of {n} leaves recomputed by challengers, all valid",
                valid.len()
            ),
        ),
        CommitmentStatus::Finalized if !invalid.is_empty() => (
            "status-finalized",
            "finalized".into(),
            format!(
                "finalized, but a challenger reports {} invalid leaf(s) that no dispute proved",
                invalid.len()
            ),
        ),
        CommitmentStatus::Finalized => (
            "status-finalized",
            "finalized".into(),
            format!("finalized; no challenger this explorer reads published a recomputation (0 of {n} leaves)"),
        ),
        _ => match open {
            Some(d) => (
                "status-disputed",
                "disputed".into(),
                format!(
                    "disputed: leaf {} is {}",
                    d.dispute.leafIndex,
                    dispute_status_name(d.dispute.status)
                ),
            ),
            None => {
                let deadline: u64 = c.commitment.challengeDeadline.to();
                if snap.head.1 <= deadline {
                    (
                        "status-window",
                        "in window".into(),
                        format!(
                            "in window: {} left; score claimed, not final",
                            duration(deadline - snap.head.1)
                        ),
                    )
                } else {
                    (
                        "status-window",
                        "window closed".into(),
                        "window closed, not finalized yet; score claimed, not final".into(),
                    )
                }
            }
        },
    }
}

/// The distinct leaves the configured challengers published as valid and as invalid.
pub fn leaf_checks(snap: &Snapshot, id: B256) -> (BTreeSet<u32>, BTreeSet<u32>) {
    let mut valid = BTreeSet::new();
    let mut invalid = BTreeSet::new();
    for l in published(snap, id) {
        if l.valid {
            valid.insert(l.index);
        } else {
            invalid.insert(l.index);
        }
    }
    valid.retain(|i| !invalid.contains(i));
    (valid, invalid)
}

fn published(snap: &Snapshot, id: B256) -> impl Iterator<Item = &LeafCheck> {
    snap.checks
        .get(&id)
        .into_iter()
        .flatten()
        .filter_map(|(_, c)| match c {
            CheckInfo::Published { check } => Some(check.leaves.iter()),
            _ => None,
        })
        .flatten()
}

fn model_name(snap: &Snapshot, hash: B256) -> String {
    match snap.model_names.get(&hash) {
        Some(n) => format!("{} <code title=\"{hash}\">{}</code>", esc(n), short(&hash)),
        None => format!("<code title=\"{hash}\">{}</code>", short(&hash)),
    }
}

fn score_cell(snap: &Snapshot, c: &CommitmentView, class: &str) -> String {
    let Some(score) = c.claimed_score() else {
        return "no score claimed".into();
    };
    let se = match snap.bundle(c.id) {
        Some(BundleInfo::Ok { stderr_wad, .. }) => stderr_wad
            .parse::<u128>()
            .map(|v| format!(" ± {:.3}", v as f64 / 1e18))
            .unwrap_or_default(),
        _ => String::new(),
    };
    match class {
        "status-caught" => format!("<s>{score:.3}{se}</s> void"),
        "status-verified" | "status-finalized" => format!("{score:.3}{se}"),
        _ => format!("{score:.3}{se} <small>(claimed, not final)</small>"),
    }
}

/// The leaderboard: one table per task (benchmark), best final scores first.
pub fn leaderboard(snap: &Snapshot) -> String {
    let mut by_task: BTreeMap<B256, Vec<&CommitmentView>> = BTreeMap::new();
    for c in &snap.view.commitments {
        by_task.entry(c.commitment.taskId).or_default().push(c);
    }
    let mut body = String::new();
    if by_task.is_empty() {
        body.push_str("<p id=\"empty\">No commitments on this deployment yet.</p>");
    }
    for (task, mut rows) in by_task {
        let spec = snap.view.tasks.get(&task).map(|t| &t.spec);
        let name = snap
            .benchmark_names
            .get(&task)
            .map_or_else(|| format!("task {}", short(&task)), |n| esc(n));
        let _ = write!(
            body,
            r#"<section class="benchmark"><h2>{name}</h2><p>task <code>{task}</code>{}</p>"#,
            spec.map_or_else(String::new, |s| format!(
                ", {} items, model {}, {} new tokens max",
                s.datasetSize,
                model_name(snap, s.modelHash),
                s.generation.maxNewTokens
            ))
        );
        if let Some(f) = snap.view.tasks.get(&task).and_then(|t| t.fee.as_ref()) {
            let state = match (&f.paid_to, f.refunded, f.cancelled_at) {
                (Some(c), _, _) => format!(r#"paid to <a href="/commitment/{c}">{}</a>"#, short(c)),
                (None, true, _) => "refunded to the requester".into(),
                (None, false, Some(t)) => format!("offer cancelled at t={t}, not yet refunded"),
                (None, false, None) => {
                    "escrowed, earned by the first commitment that finalizes".into()
                }
            };
            let _ = write!(
                body,
                r#"<p class="fee">fee {} ETH from <code>{}</code>: {state}</p>"#,
                format_ether(f.amount),
                f.requester
            );
        }
        let rank = |c: &CommitmentView| match status_of(snap, c).0 {
            "status-verified" => 0,
            "status-finalized" => 1,
            "status-window" | "status-disputed" => 2,
            "status-frozen" => 3,
            _ => 4,
        };
        rows.sort_by(|a, b| {
            rank(a).cmp(&rank(b)).then(
                b.claimed_score()
                    .unwrap_or(-1.0)
                    .total_cmp(&a.claimed_score().unwrap_or(-1.0)),
            )
        });
        body.push_str("<table class=\"leaderboard\"><thead><tr><th>#</th><th>model</th><th>provider</th><th>score ± s.e.</th><th>items</th><th>status</th><th>leaves recomputed by challengers</th><th>disputes</th><th></th></tr></thead><tbody>");
        for (i, c) in rows.iter().enumerate() {
            let (class, word, sentence) = status_of(snap, c);
            let (valid, invalid) = leaf_checks(snap, c.id);
            let model = match snap.bundle(c.id) {
                Some(BundleInfo::Ok { model_hash, .. }) => model_hash
                    .parse::<B256>()
                    .map_or_else(|_| esc(model_hash), |h| model_name(snap, h)),
                Some(BundleInfo::Failed { .. }) => "bundle unavailable".into(),
                None => "—".into(),
            };
            let mut disputes: Vec<String> = c
                .disputes
                .iter()
                .filter_map(|d| snap.view.disputes.get(d))
                .map(|d| {
                    format!(
                        r#"<a href="/dispute/{}">leaf {}: {}</a>"#,
                        d.id,
                        d.dispute.leafIndex,
                        dispute_status_name(d.dispute.status)
                    )
                })
                .collect();
            if let Some(f) = &c.score_fault {
                disputes.push(format!(
                    "score proof (no vote): {} at leaf {}",
                    esc(&f.fault),
                    f.leaf_index
                ));
            }
            let _ = write!(
                body,
                r#"<tr class="row {class}" data-commitment="{id}" data-status="{word}"><td>{rank}</td><td>{model}</td><td><code>{prov}</code></td><td class="score">{score}</td><td>{n}</td><td class="status {class}" title="{sentence}">{word}</td><td>{k} of {n} valid{bad}</td><td>{disp}</td><td><a href="/commitment/{id}">details</a></td></tr>"#,
                id = c.id,
                rank = i + 1,
                prov = c.commitment.provider,
                score = score_cell(snap, c, class),
                n = c.commitment.leafCount,
                sentence = esc(&sentence),
                k = valid.len(),
                bad = if invalid.is_empty() {
                    String::new()
                } else {
                    format!(", {} invalid", invalid.len())
                },
                disp = if disputes.is_empty() {
                    "none".into()
                } else {
                    disputes.join("<br>")
                },
            );
        }
        body.push_str("</tbody></table></section>");
    }
    layout(snap, "Verified benchmark results", &body)
}

/// A commitment's page.
pub fn commitment(snap: &Snapshot, c: &CommitmentView) -> String {
    let (class, word, sentence) = status_of(snap, c);
    let spec = snap.view.tasks.get(&c.commitment.taskId).map(|t| &t.spec);
    let mut body = String::new();
    let _ = write!(
        body,
        r#"<p id="status" class="{class}" data-status="{word}">{s}</p><dl>
<dt>commitment</dt><dd><code>{id}</code></dd><dt>task</dt><dd><code>{task}</code>{bench}</dd>
<dt>provider</dt><dd><code>{prov}</code></dd><dt>root</dt><dd><code>{root}</code> over {n} leaves</dd>
<dt>bundle</dt><dd><code>{bh}</code>, {size} bytes, at <code>{uri}</code></dd>
<dt>score</dt><dd>{score}</dd><dt>bond</dt><dd>{bond} ETH</dd>
<dt>committed</dt><dd>block {block}, {time}, tx <code>{tx}</code></dd><dt>challenge window ends</dt><dd>t={deadline}</dd></dl>"#,
        s = esc(&sentence),
        id = c.id,
        task = c.commitment.taskId,
        bench = snap
            .benchmark_names
            .get(&c.commitment.taskId)
            .map_or_else(String::new, |n| format!(" ({})", esc(n))),
        prov = c.commitment.provider,
        root = c.commitment.root,
        n = c.commitment.leafCount,
        bh = c.commitment.bundleHash,
        size = c.commitment.bundleSize,
        uri = esc(&c.uri),
        score = score_cell(snap, c, class),
        bond = format_ether(U256::from(c.commitment.bond)),
        block = c.at.block,
        time = when(c.at.time),
        tx = c.at.tx.map_or_else(|| "unknown".into(), |t| t.to_string()),
        deadline = c.commitment.challengeDeadline,
    );
    // Challengers' checks.
    body.push_str("<h2>Challengers' recomputations</h2>");
    if snap.challengers.is_empty() {
        body.push_str("<p>This explorer reads no challenger (start it with <code>--challenger URL</code>); no leaf is shown as verified.</p>");
    }
    body.push_str("<ul id=\"checks\">");
    for (src, info) in snap.checks.get(&c.id).into_iter().flatten() {
        let text = match info {
            CheckInfo::Published { check } => format!(
                "challenger <code>{}</code> recomputed {} leaf(s): {}",
                check.checker,
                check.leaves.len(),
                esc(&check.note)
            ),
            CheckInfo::None => "published no check of this commitment".into(),
            CheckInfo::Unreachable { reason } => format!("unreachable: {}", esc(reason)),
        };
        let _ = write!(body, "<li>{}: {text}</li>", esc(src));
    }
    body.push_str("</ul>");
    // Plots.
    let mut seen = BTreeSet::new();
    let figures: Vec<(u32, &verbench_challenger::judge::LeafFigures)> = published(snap, c.id)
        .filter(|l| l.valid && seen.insert(l.index))
        .filter_map(|l| l.figures.as_ref().map(|f| (l.index, f)))
        .collect();
    body.push_str("<h2>Plots</h2><div class=\"plots\">");
    let mean_points: Vec<Point> = figures
        .iter()
        .filter_map(|(i, f)| {
            Some(Point {
                x: f.max_exp_mismatches as f64,
                y: f.max_mant_err_mean?,
                label: format!(
                    "leaf {i}: {} exponent mismatches, mantissa mean {:.2}",
                    f.max_exp_mismatches,
                    f.max_mant_err_mean.unwrap_or(f64::NAN)
                ),
            })
        })
        .collect();
    let median_points: Vec<Point> = figures
        .iter()
        .filter_map(|(i, f)| {
            Some(Point {
                x: f64::from(*i),
                y: f.max_mant_err_median?,
                label: format!(
                    "leaf {i}: mantissa median {:.2}",
                    f.max_mant_err_median.unwrap_or(f64::NAN)
                ),
            })
        })
        .collect();
    let (mut mean_limits, mut median_limits) = (Vec::new(), Vec::new());
    if let Some(s) = spec {
        let max_mismatch = s.toploc.topk.saturating_sub(s.toploc.minExpMatches);
        mean_limits.push(Limit::X(
            f64::from(max_mismatch),
            format!("limit {max_mismatch} mismatches"),
        ));
        let mean = f64::from(s.toploc.maxMantErrMeanMilli) / 1000.0;
        mean_limits.push(Limit::Y(mean, format!("limit mean {mean}")));
        let median = f64::from(s.toploc.maxMantErrMedianMilli) / 1000.0;
        median_limits.push(Limit::Y(median, format!("limit median {median}")));
    }
    body.push_str(&plot::scatter(
        "plot-toploc",
        "TOPLOC, worst chunk of each verified leaf",
        "exponent mismatches",
        "mantissa error, mean",
        &mean_points,
        &mean_limits,
    ));
    body.push_str(&plot::scatter(
        "plot-median",
        "TOPLOC median mantissa error per verified leaf",
        "leaf index",
        "mantissa error, median",
        &median_points,
        &median_limits,
    ));
    let scores: Vec<f64> = match snap.bundle(c.id) {
        Some(BundleInfo::Ok { items, .. }) => items
            .iter()
            .filter_map(|i| i.score_wad.parse::<u128>().ok())
            .map(|v| v as f64 / 1e18)
            .collect(),
        _ => Vec::new(),
    };
    body.push_str(&plot::histogram(
        "plot-scores",
        "Item scores (as committed)",
        "score",
        &scores,
        10,
    ));
    let _ = write!(
        body,
        "</div><p>{} verified leaf(s) plotted against the task's limits (dashed red); {} scored item(s).</p>",
        mean_points.len(),
        scores.len()
    );
    // Items.
    body.push_str("<h2>Items</h2>");
    match snap.bundle(c.id) {
        None => body.push_str("<p id=\"bundle-state\">Bundle not read yet.</p>"),
        Some(BundleInfo::Failed { reason }) => {
            let _ = write!(
                body,
                r#"<p id="bundle-state" class="banner error">The published data cannot be used: {}. No item is shown and no score of this commitment is verified by this explorer.</p>"#,
                esc(reason)
            );
        }
        Some(BundleInfo::Ok {
            items,
            answers_note,
            score_break,
            ..
        }) => {
            body.push_str(r#"<p id="bundle-state">Bundle fetched, its hash and size are the committed ones, its leaves build the committed root and its header matches the task.</p>"#);
            if let Some(b) = score_break {
                let _ = write!(
                    body,
                    r#"<p class="banner error">Scores break the contract's rules: {}</p>"#,
                    esc(b)
                );
            }
            if let Some(n) = answers_note {
                let _ = write!(body, "<p>Reference answers are not shown: {}.</p>", esc(n));
            }
            let (valid, invalid) = leaf_checks(snap, c.id);
            let disputed: BTreeMap<u32, (B256, DisputeStatus)> = c
                .disputes
                .iter()
                .filter_map(|d| snap.view.disputes.get(d))
                .map(|d| (d.dispute.leafIndex, (d.id, d.dispute.status)))
                .collect();
            body.push_str("<table id=\"items\"><thead><tr><th>#</th><th>input</th><th>output</th><th>reference answer</th><th>score</th><th>leaf hash</th><th>verification</th></tr></thead><tbody>");
            for it in items {
                let idx = u32::try_from(it.index).unwrap_or(u32::MAX);
                let v = if let Some((d, st)) = disputed.get(&idx) {
                    match st {
                        DisputeStatus::ProviderAtFault => {
                            format!(r#"<a class="status-caught" href="/dispute/{d}">at fault</a>"#)
                        }
                        _ => format!(
                            r#"<a class="status-disputed" href="/dispute/{d}">disputed: {}</a>"#,
                            dispute_status_name(*st)
                        ),
                    }
                } else if invalid.contains(&idx) {
                    "reported invalid by a challenger".into()
                } else if valid.contains(&idx) {
                    "<span class=\"status-verified\">verified</span>".into()
                } else {
                    "not sampled".into()
                };
                let score = it
                    .score_wad
                    .parse::<u128>()
                    .map_or_else(|_| "unscored".into(), |s| format!("{:.3}", s as f64 / 1e18));
                let _ = write!(
                    body,
                    r#"<tr class="item" data-index="{i}"><td>{i}</td><td>{input}</td><td><details><summary>{tokens} tokens</summary>{out}</details></td><td>{ans}</td><td>{score}</td><td><code title="{lh}">{lhs}</code></td><td class="verification">{v}</td></tr>"#,
                    i = it.index,
                    input = esc(&it.input),
                    tokens = it.output_tokens,
                    out = esc(&it.output_text),
                    ans = it.answer.as_deref().map_or_else(|| "—".into(), esc),
                    lh = esc(&it.leaf_hash),
                    lhs = esc(&short(&it.leaf_hash)),
                );
            }
            body.push_str("</tbody></table>");
        }
    }
    // Disputes and money.
    body.push_str("<h2>Dispute timeline</h2>");
    if c.disputes.is_empty() && c.score_fault.is_none() {
        body.push_str("<p>No dispute.</p>");
    }
    body.push_str("<ol id=\"timeline\">");
    let _ = write!(
        body,
        "<li>block {}: committed (tx <code>{}</code>)</li>",
        c.at.block,
        c.at.tx.map_or_else(|| "unknown".into(), |t| t.to_string())
    );
    for d in c.disputes.iter().filter_map(|d| snap.view.disputes.get(d)) {
        for s in &d.timeline {
            let _ = write!(
                body,
                r#"<li>block {}: <a href="/dispute/{}">dispute on leaf {}</a> {} (tx <code>{}</code>)</li>"#,
                s.at.block,
                d.id,
                d.dispute.leafIndex,
                esc(&s.what),
                s.at.tx.map_or_else(|| "unknown".into(), |t| t.to_string())
            );
        }
    }
    if let Some(f) = &c.score_fault {
        let _ = write!(
            body,
            "<li>block {}: score proof by <code>{}</code>: {} at leaf {} (tx <code>{}</code>)</li>",
            f.at.block,
            f.prover,
            esc(&f.fault),
            f.leaf_index,
            f.at.tx.map_or_else(|| "unknown".into(), |t| t.to_string())
        );
    }
    if let Some(e) = &c.ending {
        let (what, at) = match e {
            Ending::Finalized { at } => ("finalized", at),
            Ending::Rejected { at, .. } => ("rejected", at),
            Ending::Frozen { at, .. } => ("frozen", at),
        };
        let _ = write!(
            body,
            "<li>block {}: {what} (tx <code>{}</code>)</li>",
            at.block,
            at.tx.map_or_else(|| "unknown".into(), |t| t.to_string())
        );
    }
    body.push_str("</ol>");
    if !c.credits.is_empty() {
        body.push_str("<h3>Money credited for this commitment</h3><ul>");
        for cr in &c.credits {
            let _ = write!(
                body,
                "<li><code>{}</code>: {} ETH</li>",
                cr.account,
                format_ether(cr.amount)
            );
        }
        body.push_str("</ul>");
    }
    layout(snap, &format!("Commitment {}", short(&c.id)), &body)
}

/// A dispute's page.
pub fn dispute(snap: &Snapshot, id: B256) -> Option<String> {
    let d = snap.view.disputes.get(&id)?;
    let mut body = String::new();
    let outcome = dispute_status_name(d.dispute.status);
    let _ = write!(
        body,
        r#"<p id="outcome" data-status="{outcome}">Outcome: <b>{outcome}</b></p><dl>
<dt>dispute</dt><dd><code>{id}</code></dd><dt>commitment</dt><dd><a href="/commitment/{cid}"><code>{cid}</code></a></dd>
<dt>leaf</dt><dd>{leaf} of {n}</dd><dt>challenger</dt><dd><code>{ch}</code>, bond {cb} ETH</dd>
<dt>provider</dt><dd><code>{pr}</code>, bond {pb} ETH</dd><dt>stake snapshot</dt><dd>t={snap_t}</dd></dl>"#,
        cid = d.dispute.commitmentId,
        leaf = d.dispute.leafIndex,
        n = d.dispute.leafCount,
        ch = d.dispute.challenger,
        cb = format_ether(U256::from(d.dispute.challengerBond)),
        pr = d.dispute.provider,
        pb = format_ether(U256::from(d.dispute.providerBond)),
        snap_t = d.dispute.snapshot,
    );
    // The leaf.
    body.push_str("<h2>The disputed leaf</h2>");
    match d
        .leaf_data
        .as_ref()
        .map(|b| verbench_bundle::leaf::LeafV2::decode(b))
    {
        None => body.push_str("<p>Not on chain yet (awaiting the provider's reveal).</p>"),
        Some(None) => body.push_str("<p>The leaf data on chain does not decode as a LeafV2.</p>"),
        Some(Some(l)) => {
            let _ = write!(
                body,
                r#"<dl id="leaf"><dt>leaf hash</dt><dd><code>{}</code></dd><dt>index</dt><dd>{}</dd><dt>input hash</dt><dd><code>0x{}</code></dd><dt>output hash</dt><dd><code>0x{}</code></dd><dt>TOPLOC hash</dt><dd><code>0x{}</code></dd><dt>score</dt><dd>{:.3}</dd><dt>running sum</dt><dd>{:.3}</dd></dl>"#,
                d.dispute.leafHash,
                l.index,
                hex::encode(l.input_hash),
                hex::encode(l.output_hash),
                hex::encode(l.toploc_hash),
                l.score as f64 / 1e18,
                l.score_sum as f64 / 1e18,
            );
        }
    }
    body.push_str("<h2>Inclusion proof</h2>");
    match snap.bundle(d.dispute.commitmentId) {
        Some(BundleInfo::Ok { leaves, .. }) => {
            let hashes: Result<Vec<_>, _> = leaves
                .iter()
                .map(|h| verbench_merkle::from_hex(h))
                .collect();
            let proof = hashes.ok().and_then(|h| {
                let tree = verbench_merkle::MerkleTree::from_leaf_hashes(&h).ok()?;
                let p = tree.prove(u64::from(d.dispute.leafIndex)).ok()?;
                let leaf = h.get(d.dispute.leafIndex as usize).copied()?;
                let holds = p.verify(&d.dispute.root.0, &leaf).is_ok();
                Some((p, holds))
            });
            match proof {
                Some((p, holds)) => {
                    let _ = write!(
                        body,
                        r#"<p id="proof-check">Built from the published bundle; {} against the committed root <code>{}</code>.</p><ol id="proof">"#,
                        if holds { "verifies" } else { "does NOT verify" },
                        d.dispute.root
                    );
                    for s in p.siblings_hex() {
                        let _ = write!(body, "<li><code>{s}</code></li>");
                    }
                    body.push_str("</ol>");
                }
                None => body.push_str("<p>The bundle's leaves give no proof for this index.</p>"),
            }
        }
        Some(BundleInfo::Failed { reason }) => {
            let _ = write!(
                body,
                "<p>No proof shown: the published data cannot be used ({}).</p>",
                esc(reason)
            );
        }
        None => body.push_str("<p>Bundle not read yet.</p>"),
    }
    // The verdict.
    body.push_str("<h2>Verdict</h2>");
    match &d.resolution {
        None => body.push_str("<p>Not resolved yet.</p>"),
        Some(r) => {
            let share = if r.stake_eligible.is_zero() {
                String::new()
            } else {
                format!(
                    " ({:.1}% of eligible stake)",
                    wad_f64(
                        r.stake_for * U256::from(100u64) * U256::from(10u64).pow(U256::from(18u64))
                            / r.stake_eligible
                    )
                )
            };
            let _ = write!(
                body,
                r#"<p id="verdict">{outcome} by {cause}; stake for the verdict {for_} of {elig} eligible{share}, block {b} (tx <code>{tx}</code>)</p>"#,
                cause = esc(&r.cause),
                for_ = r.stake_for,
                elig = r.stake_eligible,
                b = r.at.block,
                tx = r.at.tx.map_or_else(|| "unknown".into(), |t| t.to_string()),
            );
            match snap.signers.get(&id) {
                Some(SignersInfo::Known { signers }) => {
                    body.push_str("<table id=\"signers\"><thead><tr><th>operator</th><th>vote weight at the snapshot</th></tr></thead><tbody>");
                    for s in signers {
                        let _ = write!(
                            body,
                            "<tr><td><code>{}</code></td><td>{}</td></tr>",
                            s.operator, s.weight
                        );
                    }
                    body.push_str("</tbody></table>");
                }
                Some(SignersInfo::Unknown { reason }) => {
                    let _ = write!(body, "<p>Signers unknown: {}.</p>", esc(reason));
                }
                None => {}
            }
        }
    }
    body.push_str("<h2>Money moved</h2><ul id=\"money\">");
    if d.credits.is_empty() && d.stake_slashed.is_empty() {
        body.push_str("<li>nothing yet</li>");
    }
    for c in &d.credits {
        let _ = write!(
            body,
            "<li>credited <code>{}</code> {} ETH</li>",
            c.account,
            format_ether(c.amount)
        );
    }
    if let Some((to_signers, to_treasury)) = &d.pay_claimed {
        let _ = write!(
            body,
            "<li>operators' pay claimed: {} ETH to the signers, {} ETH to the treasury</li>",
            format_ether(*to_signers),
            format_ether(*to_treasury)
        );
    }
    for (who, amount, why) in &d.stake_slashed {
        let _ = write!(
            body,
            "<li>slashed <code>{who}</code> {amount} of operator stake ({})</li>",
            esc(why)
        );
    }
    body.push_str("</ul><h2>Timeline</h2><ol>");
    for s in &d.timeline {
        let _ = write!(
            body,
            "<li>block {}, {}: {} (tx <code>{}</code>)</li>",
            s.at.block,
            when(s.at.time),
            esc(&s.what),
            s.at.tx.map_or_else(|| "unknown".into(), |t| t.to_string())
        );
    }
    body.push_str("</ol>");
    Some(layout(snap, &format!("Dispute {}", short(&id)), &body))
}

/// The page for a URL that names nothing (HTTP 404) or something malformed (400).
pub fn not_found(snap: &Snapshot, what: &str) -> String {
    layout(
        snap,
        "Not found",
        &format!(
            r#"<p id="not-found">{}</p><p>Indexed up to block {}; a commitment or dispute committed after that shows up once indexed.</p>"#,
            esc(what),
            snap.cursor.saturating_sub(1)
        ),
    )
}
