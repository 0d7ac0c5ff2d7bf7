//! The status page at `/` for the sales head: today's leads without an attempt, the manager
//! scorecard and the QC queue inflow; server-rendered, phone-sized, refreshing itself.

use std::fmt::Write as _;
use std::time::Instant;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Html;

use super::{ANSWER_TIMEOUT, AppState};
use crate::engine::{DueList, Scorecard};
use crate::model::QcKind;
use crate::service::queries::{Answer, Body, Question};

/// Seconds between automatic reloads.
const REFRESH_SECONDS: u32 = 30;
/// Rows of the no-attempt table shown (the API gives all).
const MAX_ROWS: usize = 500;

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0 auto;max-width:60rem;\
padding:.75rem;color:#222}h1{font-size:1.3rem;margin:.2rem 0}h2{font-size:1.1rem;\
margin:1.2rem 0 .4rem}.meta{color:#666;font-size:.85rem}.scroll{overflow-x:auto}\
table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{text-align:left;\
padding:.3rem .5rem;border-bottom:1px solid #ddd;white-space:nowrap}th{background:#f4f4f4}\
td.n,th.n{text-align:right}.bad{color:#b00020;font-weight:600}.ok{color:#1b5e20}\
nav a{margin-right:.6rem}.big{font-size:1.6rem;font-weight:700}";

/// Escapes text for HTML element content and attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
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

fn url_component(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// `GET /?tenant=…`
pub async fn status(
    State(state): State<AppState>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> (StatusCode, Html<String>) {
    let tenant = query
        .ok()
        .and_then(|Query(pairs)| pairs.into_iter().find(|(name, _)| name == "tenant"))
        .map(|(_, value)| value)
        .filter(|value| !value.is_empty())
        .unwrap_or_else(|| crate::model::DEFAULT_TENANT.to_owned());
    let due = state
        .queries
        .ask(
            Question::Due {
                tenant: tenant.clone(),
                manager: None,
            },
            ANSWER_TIMEOUT,
        )
        .await;
    let managers = state
        .queries
        .ask(
            Question::Managers {
                tenant: tenant.clone(),
            },
            ANSWER_TIMEOUT,
        )
        .await;
    let mut html = String::new();
    let status = match (due, managers) {
        (Ok(due), Ok(managers)) if due.known_tenant => {
            render(&mut html, &state, &tenant, &due, &managers);
            StatusCode::OK
        }
        (Ok(_), Ok(_)) => {
            page_start(&mut html, &state, &tenant);
            let _ = write!(html, "<p class=bad>Unknown tenant {}.</p>", esc(&tenant));
            StatusCode::NOT_FOUND
        }
        (Err(error), _) | (_, Err(error)) => {
            page_start(&mut html, &state, &tenant);
            let _ = write!(
                html,
                "<p class=bad>No answer from the service: {}</p>",
                esc(&error.to_string())
            );
            StatusCode::SERVICE_UNAVAILABLE
        }
    };
    html.push_str("</body></html>\n");
    (status, Html(html))
}

fn page_start(html: &mut String, state: &AppState, tenant: &str) {
    let _ = write!(
        html,
        "<!doctype html><html lang=en><head><meta charset=utf-8>\
<meta name=viewport content=\"width=device-width,initial-scale=1\">\
<meta http-equiv=refresh content={REFRESH_SECONDS}>\
<title>dozvon — {}</title><style>{STYLE}</style></head><body>\
<h1>Calling regulation — {}</h1>",
        esc(tenant),
        esc(tenant)
    );
    if state.tenants.len() > 1 {
        html.push_str("<nav>");
        for name in state.tenants.iter() {
            let _ = write!(
                html,
                "<a href=\"/?tenant={}\">{}</a>",
                url_component(name),
                esc(name)
            );
        }
        html.push_str("</nav>");
    }
}

fn render(html: &mut String, state: &AppState, tenant: &str, due: &Answer, managers: &Answer) {
    page_start(html, state, tenant);
    let list = match &due.body {
        Body::Due(list) => list.as_ref(),
        _ => None,
    };
    let _ = write!(
        html,
        "<p class=meta>Today: {} · event time as of {} · partitions {:?}{} · reloads every {REFRESH_SECONDS} s</p>",
        list.map_or("—".to_owned(), |l| l.date.to_string()),
        due.as_of.map_or("—".to_owned(), |t| t.to_rfc3339()),
        due.partitions,
        if due.ready {
            ""
        } else {
            " · <span class=bad>not ready</span>"
        },
    );
    no_attempt_section(html, list);
    let cards = match &managers.body {
        Body::Managers(cards) => Some(cards),
        _ => None,
    };
    html.push_str("<h2>Managers</h2>");
    match cards.filter(|c| !c.is_empty()) {
        None => html.push_str("<p class=meta>No manager activity yet.</p>"),
        Some(cards) => scorecard_table(html, cards),
    }
    inflow_section(html, state);
}

fn no_attempt_section(html: &mut String, list: Option<&DueList>) {
    let Some(list) = list else {
        html.push_str("<h2>Not called today</h2><p class=meta>No partitions assigned yet.</p>");
        return;
    };
    let missing: Vec<_> = list
        .leads
        .iter()
        .filter(|l| l.no_attempt(list.touch_satisfies_day))
        .collect();
    let _ = write!(
        html,
        "<h2>Not called today</h2><p><span class=\"big{}\" id=no-attempt-count>{}</span> \
of {} leads due today have no attempt yet.</p>",
        if missing.is_empty() { " ok" } else { " bad" },
        missing.len(),
        list.leads.len()
    );
    if !list.business_day {
        html.push_str("<p class=meta>Today is not a business day.</p>");
    }
    if missing.is_empty() {
        return;
    }
    html.push_str(
        "<div class=scroll><table id=no-attempt><thead><tr><th>Lead</th><th>Manager</th>\
<th>Stage</th><th class=n>Day</th></tr></thead><tbody>",
    );
    for lead in missing.iter().take(MAX_ROWS) {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=n>{}</td></tr>",
            esc(&lead.lead_id),
            esc(lead.manager_id.as_deref().unwrap_or("—")),
            esc(lead.stage.as_deref().unwrap_or("—")),
            lead.day_of_period
        );
    }
    html.push_str("</tbody></table></div>");
    if missing.len() > MAX_ROWS {
        let _ = write!(
            html,
            "<p class=meta>First {MAX_ROWS} shown; /api/v1/leads?no_attempt_today=true lists all.</p>"
        );
    }
}

fn scorecard_table(
    html: &mut String,
    cards: &std::collections::BTreeMap<Option<String>, Scorecard>,
) {
    html.push_str(
        "<div class=scroll><table id=managers><thead><tr><th>Manager</th>\
<th class=n>Due today</th><th class=n>Not called</th><th class=n>Attempts today</th>\
<th class=n>Compliant days</th><th class=n>Violations</th><th class=n>Touches</th>\
<th class=n>Overturned</th></tr></thead><tbody>",
    );
    for (manager, card) in cards {
        // Net of retractions: a retracted violation no longer stands.
        let retracted = card.violations.get("retraction").copied().unwrap_or(0);
        let violations: u32 = card
            .violations
            .iter()
            .filter(|(rule, _)| **rule != "retraction")
            .map(|(_, n)| n)
            .sum::<u32>()
            .saturating_sub(retracted);
        let _ = write!(
            html,
            "<tr><td>{}</td><td class=n>{}</td><td class=\"n{}\">{}</td><td class=n>{}</td>\
<td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td></tr>",
            esc(manager.as_deref().unwrap_or("(none)")),
            card.leads_due_today,
            if card.leads_no_attempt_today > 0 {
                " bad"
            } else {
                ""
            },
            card.leads_no_attempt_today,
            card.attempts_today,
            card.compliant_days_percent()
                .map_or("—".to_owned(), |p| format!(
                    "{p:.0}% of {}",
                    card.days_judged
                )),
            violations,
            card.touches,
            card.overturned_rejections
        );
    }
    html.push_str("</tbody></table></div>");
}

fn inflow_section(html: &mut String, state: &AppState) {
    let totals = state.stats.qc_reviews_total();
    let (last_hour, span) = state.inflow.last_hour(Instant::now(), totals);
    let _ = write!(
        html,
        "<h2>QC queue inflow</h2><div class=scroll><table id=qc-inflow><thead><tr><th>Review</th>\
<th class=n>Last {} min</th><th class=n>Since start</th></tr></thead><tbody>",
        span.as_secs().div_ceil(60)
    );
    for ((kind, hour), total) in QcKind::ALL.iter().zip(last_hour).zip(totals) {
        let _ = write!(
            html,
            "<tr><td>{}</td><td class=n>{hour}</td><td class=n>{total}</td></tr>",
            kind.as_str()
        );
    }
    html.push_str("</tbody></table></div>");
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn escapes_markup_from_input() {
        assert_eq!(
            esc("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
    }
}
