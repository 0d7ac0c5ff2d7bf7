//! The changelog's records in Avro binary per `schemas/lead_state.avsc` and
//! `schemas/tenant_state.avsc` (field order and types exactly as written there).

use std::borrow::Cow;

use chrono::NaiveDate;

use super::ChangelogError;
use super::binary::{Reader, Writer};
use crate::engine::{
    Episode, LeadRecord, ManagerScore, PendingRecord, Secs, Seen, SlaState, TenantRecord,
};
use crate::model::Rule;

/// Days from 1970-01-01 (Avro's `date`).
fn days(date: NaiveDate) -> i64 {
    i64::from(date.to_epoch_days())
}

fn date(reader: &mut Reader<'_>, field: &'static str) -> Result<NaiveDate, ChangelogError> {
    let n: i32 = reader.int(field)?;
    NaiveDate::from_epoch_days(n).ok_or_else(|| ChangelogError::Field {
        field,
        offset: reader.at,
        reason: format!("day {n} is out of range"),
    })
}

fn secs(reader: &mut Reader<'_>, field: &'static str) -> Result<Secs, ChangelogError> {
    reader.int(field)
}

pub fn write_lead(w: &mut Writer, lead: &LeadRecord<'_>) {
    w.string(&lead.tenant);
    w.string(&lead.lead_id);
    w.optional_string(lead.stage.as_deref());
    w.optional_string(lead.manager.as_deref());
    w.optional_string(lead.channel.as_deref());
    w.optional_string(lead.rejected_by.as_deref());
    w.optional_string(lead.judged_by.as_deref());
    match &lead.episode {
        None => w.long(0),
        Some(e) => {
            w.long(1);
            w.long(i64::from(e.start));
            w.long(days(e.day1));
            w.long(i64::from(e.next_day));
            w.long(days(e.next_day_date));
            w.long(i64::from(e.flagged_days));
            w.boolean(e.is_creation);
        }
    }
    let (state, created, deadline) = match lead.sla {
        SlaState::NotApplicable => (0, 0, 0),
        SlaState::Pending { created, deadline } => (1, created, deadline),
        SlaState::Breached { created, deadline } => (2, created, deadline),
        SlaState::Done => (3, 0, 0),
    };
    w.long(state);
    w.long(i64::from(created));
    w.long(i64::from(deadline));
    for t in [
        lead.stage_activity,
        lead.stale_basis,
        lead.stale_reported_for,
        lead.last_seen,
    ] {
        w.long(i64::from(t));
    }
    w.block(&lead.deadlines, |w, &d| w.long(i64::from(d)));
    w.block(&lead.seen, |w, seen| {
        w.long(seen.tagged() as i64);
        w.long(i64::from(seen.at));
    });
    w.block(&lead.pending, |w, p| {
        w.long(i64::from(p.at));
        w.string(&p.event_id);
        w.string(&p.stage);
        w.optional_string(p.manager.as_deref());
        w.optional_string(p.channel.as_deref());
        w.long(i64::from(p.created_at));
        w.optional_string(p.rejection_reason.as_deref());
    });
}

fn text<'a>(r: &mut Reader<'a>, field: &'static str) -> Result<Cow<'a, str>, ChangelogError> {
    r.str(field).map(Cow::Borrowed)
}

fn optional_text<'a>(
    r: &mut Reader<'a>,
    field: &'static str,
) -> Result<Option<Cow<'a, str>>, ChangelogError> {
    Ok(r.optional_str(field)?.map(Cow::Borrowed))
}

/// A lead record borrowing its strings from the bytes read.
pub fn read_lead<'a>(r: &mut Reader<'a>) -> Result<LeadRecord<'a>, ChangelogError> {
    let tenant = text(r, "tenant")?;
    let lead_id = text(r, "lead_id")?;
    let stage = optional_text(r, "stage")?;
    let manager = optional_text(r, "manager")?;
    let channel = optional_text(r, "channel")?;
    let rejected_by = optional_text(r, "rejected_by")?;
    let judged_by = optional_text(r, "judged_by")?;
    let episode = match r.branch("episode", 2)? {
        0 => None,
        _ => Some(Episode {
            start: secs(r, "episode.start")?,
            day1: date(r, "episode.day1")?,
            next_day: r.int("episode.next_day")?,
            next_day_date: date(r, "episode.next_day_date")?,
            flagged_days: r.int("episode.flagged_days")?,
            is_creation: r.boolean("episode.is_creation")?,
        }),
    };
    let state = r.long("sla.state")?;
    let created = secs(r, "sla.created")?;
    let deadline = secs(r, "sla.deadline")?;
    let sla = match state {
        0 => SlaState::NotApplicable,
        1 => SlaState::Pending { created, deadline },
        2 => SlaState::Breached { created, deadline },
        3 => SlaState::Done,
        other => {
            return Err(ChangelogError::Field {
                field: "sla.state",
                offset: r.at,
                reason: format!("enum symbol {other} of 4"),
            });
        }
    };
    let stage_activity = secs(r, "stage_activity")?;
    let stale_basis = secs(r, "stale_basis")?;
    let stale_reported_for = secs(r, "stale_reported_for")?;
    let last_seen = secs(r, "last_seen")?;
    let listed = r.block("deadlines", |r| secs(r, "deadlines"))?;
    let deadlines = listed
        .try_into()
        .map_err(|listed: Vec<Secs>| ChangelogError::Field {
            field: "deadlines",
            offset: r.at,
            reason: format!("{} deadlines, expected 4", listed.len()),
        })?;
    let seen = r.block("seen", |r| {
        let tagged = r.long("seen.tagged_hash")? as u64;
        Ok(Seen::from_tagged(tagged, secs(r, "seen.at")?))
    })?;
    let pending = r.block("pending", |r| {
        Ok(PendingRecord {
            at: secs(r, "pending.at")?,
            event_id: text(r, "pending.event_id")?,
            stage: text(r, "pending.stage")?,
            manager: optional_text(r, "pending.manager")?,
            channel: optional_text(r, "pending.channel")?,
            created_at: secs(r, "pending.created_at")?,
            rejection_reason: optional_text(r, "pending.rejection_reason")?,
        })
    })?;
    Ok(LeadRecord {
        tenant,
        lead_id,
        stage,
        manager,
        channel,
        rejected_by,
        judged_by,
        episode,
        sla,
        stage_activity,
        stale_basis,
        stale_reported_for,
        last_seen,
        deadlines,
        seen: Cow::Owned(seen),
        pending,
    })
}

pub fn write_tenant(w: &mut Writer, tenant: &TenantRecord<'_>) {
    w.string(&tenant.tenant);
    w.long(tenant.overturned as i64);
    w.long(tenant.confirmations as i64);
    w.long(tenant.cold_base_transfers as i64);
    w.block(&tenant.overturned_by_manager, |w, (manager, n)| {
        w.optional_string(manager.as_deref());
        w.long(i64::from(*n));
    });
    w.block(&tenant.scores, |w, (manager, score)| {
        w.optional_string(manager.as_deref());
        w.long(i64::from(score.days_judged));
        w.long(i64::from(score.days_compliant));
        let mut hit = [(Rule::ALL[0], 0u32); Rule::ALL.len()];
        let mut hits = 0;
        for (rule, n) in Rule::ALL.iter().zip(score.violations) {
            if n > 0 {
                hit[hits] = (*rule, n);
                hits += 1;
            }
        }
        w.block(&hit[..hits], |w, (rule, n)| {
            w.string(rule.as_str());
            w.long(i64::from(*n));
        });
        w.long(i64::from(score.touches));
    });
}

/// A tenant record borrowing its strings from the bytes read.
pub fn read_tenant<'a>(r: &mut Reader<'a>) -> Result<TenantRecord<'a>, ChangelogError> {
    let tenant = text(r, "tenant")?;
    let overturned = r.int("overturned")?;
    let confirmations = r.int("confirmations")?;
    let cold_base_transfers = r.int("cold_base_transfers")?;
    let overturned_by_manager = r.block("overturned_by_manager", |r| {
        Ok((
            optional_text(r, "overturned_by_manager.manager")?,
            r.int("overturned_by_manager.count")?,
        ))
    })?;
    let scores = r.block("scores", |r| {
        let manager = optional_text(r, "scores.manager")?;
        let mut score = ManagerScore {
            days_judged: r.int("scores.days_judged")?,
            days_compliant: r.int("scores.days_compliant")?,
            ..ManagerScore::default()
        };
        for (name, n) in r.block("scores.violations", |r| {
            Ok((
                r.str("scores.violations")?,
                r.int::<u32>("scores.violations")?,
            ))
        })? {
            let Some(slot) = Rule::parse(name).map(Rule::index) else {
                return Err(ChangelogError::Field {
                    field: "scores.violations",
                    offset: r.at,
                    reason: format!("unknown rule {name:?}"),
                });
            };
            score.violations[slot] = n;
        }
        score.touches = r.int("scores.touches")?;
        Ok((manager, score))
    })?;
    Ok(TenantRecord {
        tenant,
        overturned,
        confirmations,
        cold_base_transfers,
        overturned_by_manager,
        scores,
    })
}
