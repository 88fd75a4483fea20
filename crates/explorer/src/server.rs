//! The HTTP routes: HTML pages and their JSON twins, read from the latest [`Snapshot`].

use crate::index::Snapshot;
use crate::pages;
use crate::Shared;
use alloy::primitives::B256;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use std::sync::Arc;

/// The explorer's routes over `shared`.
pub fn router(shared: Shared) -> Router {
    Router::new()
        .route("/", get(leaderboard))
        .route("/commitment/{id}", get(commitment))
        .route("/dispute/{id}", get(dispute))
        .route("/api/status", get(api_status))
        .route("/api/leaderboard", get(api_leaderboard))
        .route("/api/commitments/{id}", get(api_commitment))
        .route("/api/disputes/{id}", get(api_dispute))
        .route("/health", get(|| async { "ok" }))
        .fallback(fallback)
        .with_state(shared)
}

fn snapshot(s: &Shared) -> Arc<Snapshot> {
    // A poisoned lock still holds the last complete snapshot (they are swapped whole).
    match s.read() {
        Ok(g) => g.clone(),
        Err(p) => p.into_inner().clone(),
    }
}

fn parse_id(text: &str) -> Option<B256> {
    (text.len() == 66 && text.starts_with("0x"))
        .then(|| text.parse().ok())
        .flatten()
}

fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        Html(body),
    )
        .into_response()
}

fn bad_id(snap: &Snapshot, what: &str, text: &str) -> Response {
    html(
        StatusCode::BAD_REQUEST,
        pages::not_found(
            snap,
            &format!("“{text}” is not a {what} id (0x followed by 64 hex digits)."),
        ),
    )
}

async fn leaderboard(State(s): State<Shared>) -> Response {
    let snap = snapshot(&s);
    html(StatusCode::OK, pages::leaderboard(&snap))
}

async fn commitment(State(s): State<Shared>, Path(id): Path<String>) -> Response {
    let snap = snapshot(&s);
    let Some(cid) = parse_id(&id) else {
        return bad_id(&snap, "commitment", &id);
    };
    match snap.view.commitment(cid) {
        Some(c) => html(StatusCode::OK, pages::commitment(&snap, c)),
        None => html(
            StatusCode::NOT_FOUND,
            pages::not_found(&snap, &format!("No commitment {cid} on this deployment.")),
        ),
    }
}

async fn dispute(State(s): State<Shared>, Path(id): Path<String>) -> Response {
    let snap = snapshot(&s);
    let Some(did) = parse_id(&id) else {
        return bad_id(&snap, "dispute", &id);
    };
    match pages::dispute(&snap, did) {
        Some(page) => html(StatusCode::OK, page),
        None => html(
            StatusCode::NOT_FOUND,
            pages::not_found(&snap, &format!("No dispute {did} on this deployment.")),
        ),
    }
}

async fn fallback(State(s): State<Shared>) -> Response {
    let snap = snapshot(&s);
    html(
        StatusCode::NOT_FOUND,
        pages::not_found(&snap, "No such page."),
    )
}

fn json_error(status: StatusCode, msg: String) -> Response {
    (status, Json(json!({ "error": msg }))).into_response()
}

async fn api_status(State(s): State<Shared>) -> Response {
    let snap = snapshot(&s);
    Json(json!({
        "chainId": snap.chain_id,
        "game": snap.game,
        "head": { "block": snap.head.0, "timestamp": snap.head.1 },
        "indexedTo": snap.cursor.saturating_sub(1),
        "lastReorg": snap.last_reorg,
        "lastError": snap.last_error,
        "challengers": snap.challengers,
        "commitments": snap.view.commitments.len(),
        "disputes": snap.view.disputes.len(),
    }))
    .into_response()
}

async fn api_leaderboard(State(s): State<Shared>) -> Response {
    let snap = snapshot(&s);
    let rows: Vec<_> = snap
        .view
        .commitments
        .iter()
        .map(|c| {
            let (_, word, sentence) = pages::status_of(&snap, c);
            let (valid, invalid) = pages::leaf_checks(&snap, c.id);
            json!({
                "taskId": c.commitment.taskId,
                "benchmark": snap.benchmark_names.get(&c.commitment.taskId),
                "commitmentId": c.id,
                "provider": c.commitment.provider,
                "modelHash": snap.view.tasks.get(&c.commitment.taskId).map(|t| t.spec.modelHash),
                "claimedScore": c.claimed_score(),
                "items": c.commitment.leafCount,
                "status": word,
                "statusText": sentence,
                "leavesVerified": valid.len(),
                "leavesReportedInvalid": invalid.len(),
                "disputes": c.disputes.iter().filter_map(|d| snap.view.disputes.get(d)).map(|d| json!({
                    "disputeId": d.id,
                    "leafIndex": d.dispute.leafIndex,
                    "status": crate::model::dispute_status_name(d.dispute.status),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    Json(json!({ "commitments": rows })).into_response()
}

async fn api_commitment(State(s): State<Shared>, Path(id): Path<String>) -> Response {
    let snap = snapshot(&s);
    let Some(cid) = parse_id(&id) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            format!("{id} is not a commitment id"),
        );
    };
    let Some(c) = snap.view.commitment(cid) else {
        return json_error(StatusCode::NOT_FOUND, format!("no commitment {cid}"));
    };
    let (_, word, sentence) = pages::status_of(&snap, c);
    Json(json!({
        "commitment": c,
        "status": word,
        "statusText": sentence,
        "bundle": snap.bundle(cid),
        "checks": snap.checks.get(&cid),
    }))
    .into_response()
}

async fn api_dispute(State(s): State<Shared>, Path(id): Path<String>) -> Response {
    let snap = snapshot(&s);
    let Some(did) = parse_id(&id) else {
        return json_error(StatusCode::BAD_REQUEST, format!("{id} is not a dispute id"));
    };
    let Some(d) = snap.view.disputes.get(&did) else {
        return json_error(StatusCode::NOT_FOUND, format!("no dispute {did}"));
    };
    Json(json!({
        "dispute": d,
        "status": crate::model::dispute_status_name(d.dispute.status),
        "signers": snap.signers.get(&did),
    }))
    .into_response()
}
