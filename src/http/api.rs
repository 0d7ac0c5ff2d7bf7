//! The JSON query API (`/api/v1/…`): one lead's state, today's due list, manager scorecards.
//
// Each instance answers from the input partitions it holds and says which (`instance`); with
// several instances a client asks each and merges (docs/service.md, "Query API").

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{ANSWER_TIMEOUT, AppState};
use crate::engine::{DueLead, Scorecard};
use crate::service::queries::{Answer, Body, QueryError, Question};

/// Rows of the due list returned by default, and at most.
const DEFAULT_LIMIT: usize = 1000;
const MAX_LIMIT: usize = 10_000;

/// An error response: `{"error": "..."}` with its status.
pub struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, message.into())
}

impl From<QueryError> for ApiError {
    fn from(error: QueryError) -> Self {
        ApiError(StatusCode::SERVICE_UNAVAILABLE, error.to_string())
    }
}

/// Query parameters, checked against the names an endpoint accepts.
struct Params(Vec<(String, String)>);

impl Params {
    fn parse(
        query: Result<Query<Vec<(String, String)>>, QueryRejection>,
        allowed: &[&str],
    ) -> Result<Params, ApiError> {
        let Query(pairs) = query.map_err(|e| bad_request(format!("query string: {e}")))?;
        for (name, _) in &pairs {
            if !allowed.contains(&name.as_str()) {
                return Err(bad_request(format!(
                    "unknown parameter {name:?}; accepted: {}",
                    allowed.join(", ")
                )));
            }
        }
        for name in allowed {
            if pairs.iter().filter(|(n, _)| n == name).count() > 1 {
                return Err(bad_request(format!("parameter {name:?} given twice")));
            }
        }
        Ok(Params(pairs))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn non_empty(&self, name: &str) -> Result<Option<&str>, ApiError> {
        match self.get(name) {
            Some("") => Err(bad_request(format!("parameter {name:?} is empty"))),
            other => Ok(other),
        }
    }

    fn tenant(&self) -> Result<String, ApiError> {
        Ok(self
            .non_empty("tenant")?
            .unwrap_or(crate::model::DEFAULT_TENANT)
            .to_owned())
    }

    fn flag(&self, name: &str) -> Result<bool, ApiError> {
        match self.get(name) {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(other) => Err(bad_request(format!(
                "parameter {name:?} must be true or false, not {other:?}"
            ))),
        }
    }

    fn limit(&self) -> Result<usize, ApiError> {
        let Some(text) = self.get("limit") else {
            return Ok(DEFAULT_LIMIT);
        };
        match text.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            _ => Err(bad_request(format!(
                "parameter \"limit\" must be a whole number from 1 to {MAX_LIMIT}, not {text:?}"
            ))),
        }
    }
}

/// Which part of the data this instance holds.
fn instance(answer: &Answer) -> Value {
    json!({
        "partitions": answer.partitions,
        "ready": answer.ready,
        "as_of": answer.as_of,
    })
}

async fn ask(state: &AppState, question: Question) -> Result<Answer, ApiError> {
    let tenant = question.tenant().to_owned();
    let answer = state.queries.ask(question, ANSWER_TIMEOUT).await?;
    if !answer.known_tenant {
        return Err(ApiError(
            StatusCode::NOT_FOUND,
            format!("unknown tenant {tenant:?}: not configured and no state for it here"),
        ));
    }
    Ok(answer)
}

/// `GET /api/v1/leads/{tenant}/{lead_id}`
pub async fn lead(
    State(state): State<AppState>,
    Path((tenant, lead_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let answer = ask(
        &state,
        Question::Lead {
            tenant,
            lead_id: lead_id.clone(),
        },
    )
    .await?;
    match &answer.body {
        Body::Lead(Some(view)) => Ok(Json(json!({
            "instance": instance(&answer),
            "lead": view,
        }))),
        _ => Err(ApiError(
            StatusCode::NOT_FOUND,
            format!(
                "lead {lead_id:?} is not tracked in partitions {:?} of this instance",
                answer.partitions
            ),
        )),
    }
}

/// `GET /api/v1/leads?tenant=…&no_attempt_today=true&manager=…&limit=…`
pub async fn leads(
    State(state): State<AppState>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let params = Params::parse(query, &["tenant", "no_attempt_today", "manager", "limit"])?;
    let tenant = params.tenant()?;
    let no_attempt_only = params.flag("no_attempt_today")?;
    let manager = params.non_empty("manager")?.map(str::to_owned);
    let limit = params.limit()?;
    let answer = ask(
        &state,
        Question::Due {
            tenant: tenant.clone(),
            manager: manager.clone(),
        },
    )
    .await?;
    let list = match &answer.body {
        Body::Due(list) => list.as_ref(),
        _ => None,
    };
    let touch_satisfies_day = list.is_some_and(|l| l.touch_satisfies_day);
    let selected: Vec<&DueLead> = list
        .map(|l| l.leads.iter())
        .into_iter()
        .flatten()
        .filter(|lead| !no_attempt_only || lead.no_attempt(touch_satisfies_day))
        .collect();
    Ok(Json(json!({
        "tenant": tenant,
        "manager": manager,
        "no_attempt_today": no_attempt_only,
        "date": list.map(|l| l.date),
        "business_day": list.map(|l| l.business_day),
        "instance": instance(&answer),
        "total": selected.len(),
        "truncated": selected.len() > limit,
        "leads": &selected[..selected.len().min(limit)],
    })))
}

/// A scorecard as the API shows it (with the compliance share).
pub fn scorecard_json(manager: Option<&str>, card: &Scorecard) -> Value {
    json!({
        "manager_id": manager,
        "attempts_today": card.attempts_today,
        "leads_due_today": card.leads_due_today,
        "leads_no_attempt_today": card.leads_no_attempt_today,
        "days_judged": card.days_judged,
        "days_compliant": card.days_compliant,
        "compliant_days_percent": card.compliant_days_percent(),
        "violations": card.violations,
        "touches": card.touches,
        "overturned_rejections": card.overturned_rejections,
    })
}

/// `GET /api/v1/managers?tenant=…`
pub async fn managers(
    State(state): State<AppState>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let params = Params::parse(query, &["tenant"])?;
    let tenant = params.tenant()?;
    let answer = ask(
        &state,
        Question::Managers {
            tenant: tenant.clone(),
        },
    )
    .await?;
    let cards: Vec<Value> = match &answer.body {
        Body::Managers(cards) => cards
            .iter()
            .map(|(manager, card)| scorecard_json(manager.as_deref(), card))
            .collect(),
        _ => Vec::new(),
    };
    Ok(Json(json!({
        "tenant": tenant,
        "instance": instance(&answer),
        "managers": cards,
    })))
}
