//! The regulation's rules (SPEC §4.1–4.7, §4.9) applied to one lead's state.

use super::context::TenantContext;
use super::emit;
use super::ids::{IdPart, finding_id, finding_id_of};
use super::lead::{Episode, LeadState, Secs, SlaState, StageState, TimerKind};
use super::pending::PendingEvent;
use crate::config::StageKind;
use crate::model::{Finding, QcKind, Rule};

/// What the rules need to know of an incoming call (the raw record stays with the caller).
pub struct CallFacts<'a> {
    pub call_id: &'a str,
    pub at: Secs,
    pub attempt: bool,
    pub touch: bool,
    pub manager_id: Option<&'a str>,
    pub recording_url: Option<&'a str>,
    pub talk_seconds: u32,
    /// The call arrived after the watermark passed its time (SPEC §4.9).
    pub late: bool,
}

/// SPEC §4.4 and §4.9: a new (not duplicate) call bound to the lead.
pub fn on_call(
    ctx: &TenantContext,
    lead: &mut LeadState,
    call: &CallFacts<'_>,
    out: &mut Vec<Finding>,
) {
    if call.attempt {
        arm_stale(ctx, lead, call.at);
    }
    if call.touch {
        let id = finding_id(&["listen", &ctx.name, &lead.lead_id, call.call_id]);
        let mut review = emit::qc_review(ctx, lead, id, QcKind::CallListen, call.at);
        // Reported on arrival, so only the call's own data: the lead's stage and manager
        // depend on which lead events the watermark has released so far.
        review.manager_id = call.manager_id.map(str::to_owned);
        review.stage = None;
        review.call_id = Some(call.call_id.to_owned());
        review.recording_url = call.recording_url.map(str::to_owned);
        review.talk_seconds = Some(call.talk_seconds);
        out.push(Finding::Qc(review));
    }
    if call.late && (call.attempt || call.touch) {
        retract_daily_if_now_compliant(ctx, lead, call.at, out);
        if call.attempt {
            retract_sla_if_now_met(ctx, lead, call.at, out);
        }
    }
}

fn retract_daily_if_now_compliant(
    ctx: &TenantContext,
    lead: &mut LeadState,
    at: Secs,
    out: &mut Vec<Finding>,
) {
    let Some(mut episode) = lead.episode else {
        return;
    };
    if at < episode.start || episode.flagged_days == 0 {
        return;
    }
    let date = ctx.local_date(at);
    let mut day = episode.day1;
    for k in 1..=ctx.rules.period_days.min(32) {
        if day > date {
            return;
        }
        if day == date {
            let bit = 1u32 << (k - 1);
            if episode.flagged_days & bit != 0 && day_is_compliant(ctx, lead, &episode, date) {
                episode.flagged_days &= !bit;
                lead.episode = Some(episode);
                let mut score = ctx.score(lead.judged_by.or(lead.manager));
                score.days_compliant += 1;
                score.violation(Rule::Retraction);
                let retracted = emit::daily_id(ctx, lead, episode.start, date);
                out.push(emit::retraction(ctx, lead, retracted, at));
            }
            return;
        }
        day = ctx.calendar.next_business_day(day);
    }
}

fn retract_sla_if_now_met(
    ctx: &TenantContext,
    lead: &mut LeadState,
    at: Secs,
    out: &mut Vec<Finding>,
) {
    if let SlaState::Breached { created, deadline } = lead.sla
        && at >= created
        && at <= deadline
    {
        lead.sla = SlaState::Done;
        ctx.score(lead.judged_by.or(lead.manager))
            .violation(Rule::Retraction);
        let retracted = emit::sla_id(ctx, lead, created);
        out.push(emit::retraction(ctx, lead, retracted, at));
    }
}

fn counts_on_day(
    ctx: &TenantContext,
    lead: &LeadState,
    episode: &Episode,
    day: chrono::NaiveDate,
) -> (u32, u32, u32) {
    let from = ctx.start_of_day(day).max(episode.start);
    let to = ctx.end_of_day(day);
    (
        lead.attempts_between(from, to),
        lead.touches_between(from, to),
        lead.attempts_between(episode.start, to),
    )
}

fn day_is_compliant(
    ctx: &TenantContext,
    lead: &LeadState,
    episode: &Episode,
    day: chrono::NaiveDate,
) -> bool {
    let (attempts, touches, _) = counts_on_day(ctx, lead, episode, day);
    attempts >= ctx.rules.daily_attempts || (ctx.rules.touch_satisfies_day && touches > 0)
}

/// SPEC §4.1: business day `next_day` of the period closed at `at`.
pub fn on_day_close(ctx: &TenantContext, lead: &mut LeadState, at: Secs, out: &mut Vec<Finding>) {
    let Some(mut episode) = lead.episode else {
        return;
    };
    if !lead.in_cadence() {
        return;
    }
    let day = episode.next_day_date;
    let (attempts, touches, total) = counts_on_day(ctx, lead, &episode, day);
    let compliant =
        attempts >= ctx.rules.daily_attempts || (ctx.rules.touch_satisfies_day && touches > 0);
    lead.judged_by = lead.manager;
    let violated = (!compliant).then_some(if attempts == 0 {
        Rule::NoAttemptsToday
    } else {
        Rule::DailyAttemptsShortfall
    });
    {
        // The scorecard borrow ends here: nothing below may touch the scorecards.
        let mut score = ctx.score(lead.manager);
        score.days_judged += 1;
        match violated {
            None => score.days_compliant += 1,
            Some(rule) => score.violation(rule),
        }
    }
    if let Some(rule) = violated {
        let id = emit::daily_id(ctx, lead, episode.start, day);
        let mut v = emit::violation(ctx, lead, id, rule, at);
        v.business_day = Some(day);
        v.attempts_on_day = Some(attempts);
        v.attempts_total = Some(total);
        v.required = Some(ctx.rules.daily_attempts);
        v.day_of_period = Some(u32::from(episode.next_day));
        v.episode_start = Some(TenantContext::ts(episode.start));
        out.push(Finding::Violation(v));
        if episode.next_day <= 32 {
            episode.flagged_days |= 1u32 << (episode.next_day - 1);
        }
    }
    if u32::from(episode.next_day) < ctx.rules.period_days {
        episode.next_day += 1;
        episode.next_day_date = ctx.calendar.next_business_day(day);
        lead.deadlines[TimerKind::DayClose as usize] = ctx.end_of_day(episode.next_day_date);
    }
    lead.episode = Some(episode);
}

/// SPEC §4.5: the first-call deadline passed at `at`.
pub fn on_sla_deadline(ctx: &TenantContext, lead: &mut LeadState, out: &mut Vec<Finding>) {
    let SlaState::Pending { created, deadline } = lead.sla else {
        return;
    };
    let in_creation_episode = lead.in_cadence() && lead.episode.is_some_and(|e| e.is_creation);
    let attempted = lead.attempts_between(created, deadline.saturating_add(1)) > 0;
    if !in_creation_episode || attempted {
        lead.sla = SlaState::Done;
        return;
    }
    lead.sla = SlaState::Breached { created, deadline };
    lead.judged_by = lead.manager;
    ctx.score(lead.manager).violation(Rule::FirstCallSlaBreach);
    let id = emit::sla_id(ctx, lead, created);
    let mut v = emit::violation(ctx, lead, id, Rule::FirstCallSlaBreach, deadline);
    v.deadline = Some(TenantContext::ts(deadline));
    v.channel = ctx.name_of(lead.channel);
    v.attempts_total = Some(0);
    v.required = Some(1);
    v.episode_start = lead.episode.map(|e| TenantContext::ts(e.start));
    out.push(Finding::Violation(v));
}

/// SPEC §4.6: the armed stale deadline came due at `at`. The deadline is a lower bound: it is
/// re-armed when the last activity before it turns out to be later than its basis.
pub fn on_stale_check(ctx: &TenantContext, lead: &mut LeadState, at: Secs, out: &mut Vec<Finding>) {
    let k = TimerKind::Stale as usize;
    let activity = lead.last_activity_before(at);
    if activity > lead.stale_reported_for {
        let due = ctx.stale_due(activity);
        if due > at {
            lead.deadlines[k] = due;
            lead.stale_basis = activity;
            return;
        }
        if lead.stage.is_some() && !lead.is_terminal() {
            lead.stale_reported_for = activity;
            ctx.score(lead.manager).violation(Rule::StaleLead);
            let id = finding_id_of(&[
                IdPart::Text("stale"),
                IdPart::Text(&ctx.name),
                IdPart::Text(&lead.lead_id),
                IdPart::Secs(activity),
            ]);
            let mut v = emit::violation(ctx, lead, id, Rule::StaleLead, due);
            v.last_activity_at = Some(TenantContext::ts(activity));
            v.attempts_total = lead.episode.map(|e| lead.attempts_between(e.start, due));
            out.push(Finding::Violation(v));
        }
    }
    // The next spell can only start with an activity at or after `at`; one may be known already.
    lead.stale_basis = 0;
    if let Some(next) = lead.first_attempt_from(at) {
        arm_stale(ctx, lead, next);
    }
}

/// Arms (or moves earlier) the stale deadline for an activity at `activity`. Cheap when the
/// activity is not earlier than the armed basis, which is the common, in-order case.
pub fn arm_stale(ctx: &TenantContext, lead: &mut LeadState, activity: Secs) {
    let k = TimerKind::Stale as usize;
    if activity <= lead.stale_reported_for || lead.stage.is_none() {
        return;
    }
    if lead.deadlines[k] != 0 && activity >= lead.stale_basis {
        return;
    }
    let due = ctx.stale_due(activity);
    if lead.deadlines[k] == 0 || due < lead.deadlines[k] {
        lead.deadlines[k] = due;
        lead.stale_basis = activity;
    }
}

fn start_episode(ctx: &TenantContext, lead: &mut LeadState, start: Secs, is_creation: bool) {
    let day1 = ctx.day_one(start);
    lead.episode = Some(Episode {
        start,
        day1,
        next_day: 1,
        next_day_date: day1,
        flagged_days: 0,
        is_creation,
    });
    lead.deadlines[TimerKind::DayClose as usize] = ctx.end_of_day(day1);
}

fn end_episode(lead: &mut LeadState) {
    lead.episode = None;
    lead.deadlines[TimerKind::DayClose as usize] = 0;
}

/// SPEC §4.2–4.3: the lead moved into a rejected stage at `at`.
fn on_rejection(
    ctx: &TenantContext,
    lead: &mut LeadState,
    event: &PendingEvent,
    from_cadence: bool,
    out: &mut Vec<Finding>,
) {
    let reason = event.rejection_reason.as_deref();
    let attempts_total = lead
        .episode
        .filter(|_| from_cadence)
        .map(|e| lead.attempts_between(e.start, event.at.saturating_add(1)));
    let premature = from_cadence
        && attempts_total.unwrap_or(0) < ctx.rules.min_total_attempts
        && !ctx.is_exempt(reason);
    if premature {
        ctx.score(lead.manager).violation(Rule::PrematureRejection);
        let id = finding_id(&["premature", &ctx.name, &lead.lead_id, &event.event_id]);
        let mut v = emit::violation(ctx, lead, id, Rule::PrematureRejection, event.at);
        v.attempts_total = attempts_total;
        v.required = Some(ctx.rules.min_total_attempts);
        v.rejection_reason = reason.map(str::to_owned);
        v.episode_start = lead.episode.map(|e| TenantContext::ts(e.start));
        out.push(Finding::Violation(v));
    }
    let id = finding_id(&["recheck", &ctx.name, &lead.lead_id, &event.event_id]);
    let mut review = emit::qc_review(ctx, lead, id, QcKind::RejectionRecheck, event.at);
    review.premature = premature;
    review.rejection_reason = reason.map(str::to_owned);
    review.attempts_total = attempts_total;
    out.push(Finding::Qc(review));
}

/// Applies a lead event in event-time order (SPEC §3 episodes, §4.2, §4.3, §4.7).
pub fn on_lead_event(
    ctx: &mut TenantContext,
    lead: &mut LeadState,
    event: &PendingEvent,
    out: &mut Vec<Finding>,
) {
    lead.manager = event.manager.or(lead.manager);
    lead.channel = event.channel.or(lead.channel);
    let new_stage = StageState {
        kind: event.kind,
        stage: event.stage,
    };
    let Some(previous) = lead.stage else {
        // Creation: the first lead event seen for this lead.
        let created = if event.created_at != 0 {
            event.created_at
        } else {
            event.at
        };
        lead.stage = Some(new_stage);
        lead.stage_activity = lead.stage_activity.max(created);
        if event.kind == StageKind::Cadence {
            start_episode(ctx, lead, created, true);
            let channel = ctx.interner.resolve(lead.channel);
            let deadline = ctx.first_call_deadline(created, channel);
            lead.sla = SlaState::Pending { created, deadline };
            lead.deadlines[TimerKind::FirstCallSla as usize] = deadline;
        }
        arm_stale(ctx, lead, created);
        if let Some(first) = lead.first_attempt_from(0) {
            arm_stale(ctx, lead, first); // calls that arrived before the creation event
        }
        return;
    };
    if previous.stage == event.stage {
        return; // no move: a reassignment or a repeated update
    }
    lead.stage_activity = lead.stage_activity.max(event.at);
    lead.stage = Some(new_stage);
    match (previous.kind, event.kind) {
        (StageKind::Cadence, StageKind::Cadence) => {}
        (StageKind::Cadence, StageKind::Rejected) => {
            lead.rejected_by = lead.manager;
            on_rejection(ctx, lead, event, true, out);
            end_episode(lead);
        }
        (StageKind::Other | StageKind::Converted, StageKind::Rejected) => {
            lead.rejected_by = lead.manager;
            on_rejection(ctx, lead, event, false, out);
        }
        (StageKind::Rejected, StageKind::Rejected) => ctx.outcomes.confirmations += 1,
        (StageKind::Rejected, StageKind::Other) => ctx.outcomes.cold_base_transfers += 1,
        (StageKind::Rejected, StageKind::Cadence | StageKind::Converted) => {
            ctx.outcomes.overturned += 1;
            *ctx.outcomes
                .overturned_by_manager
                .entry(lead.rejected_by)
                .or_default() += 1;
            if event.kind == StageKind::Cadence {
                start_episode(ctx, lead, event.at, false);
            }
        }
        (StageKind::Other | StageKind::Converted, StageKind::Cadence) => {
            start_episode(ctx, lead, event.at, false);
        }
        (StageKind::Cadence, StageKind::Other | StageKind::Converted) => end_episode(lead),
        (StageKind::Other | StageKind::Converted, StageKind::Other | StageKind::Converted) => {}
    }
    arm_stale(ctx, lead, event.at);
}
