//! The HTTP endpoint of `dozvon run` (axum): `/metrics`, `/healthz`, `/readyz`, the JSON query
//! API under `/api/v1/`, and the status page at `/`.

mod api;
mod inflow;
mod page;

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::service::{QueryClient, ServiceStats};
use inflow::QcInflow;

/// How long a request waits for the processing thread to answer.
const ANSWER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The media type of the Prometheus text exposition format.
const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    stats: Arc<ServiceStats>,
    queries: QueryClient,
    /// Tenants offered on the status page: "default" and the configured ones.
    tenants: Arc<[String]>,
    inflow: Arc<QcInflow>,
}

/// Serves the endpoints on `listener` until the task is dropped or the listener fails.
pub async fn serve(
    listener: tokio::net::TcpListener,
    stats: Arc<ServiceStats>,
    queries: QueryClient,
    tenants: Vec<String>,
) -> std::io::Result<()> {
    let inflow = Arc::new(QcInflow::default());
    let sampler = inflow::sample_every_minute(Arc::clone(&inflow), Arc::clone(&stats));
    let _sampler = AbortOnDrop(tokio::spawn(sampler));
    let state = AppState {
        stats,
        queries,
        tenants: tenants.into(),
        inflow,
    };
    let app = Router::new()
        .route("/", get(page::status))
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/api/v1/leads", get(api::leads))
        .route("/api/v1/leads/{tenant}/{lead_id}", get(api::lead))
        .route("/api/v1/managers", get(api::managers))
        .with_state(state);
    axum::serve(listener, app).await
}

/// Stops a background task when the server stops.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)],
        state.stats.render(),
    )
}

/// The process is alive and serving.
async fn healthz() -> &'static str {
    "ok\n"
}

/// 200 once every assigned partition is restored and consuming, 503 before (start-up,
/// rebalance, recovery).
async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    if state.stats.is_ready() {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
    }
}
