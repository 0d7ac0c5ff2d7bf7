//! The contact directory: per tenant, every known lead's phones and e-mails with the history
//! needed to resolve a call's phone (SPEC §4.8) and to find the lead a new one duplicates.

use std::cmp::Reverse;
use std::sync::Arc;

use crate::keyhash::Set as HashSet;

use super::entry::{ContactEntry, Mark, ValueChange, add_value};
use super::normalize::{emails_in, parse_phone, phones_in};
use super::table::{Slots, ValueIndex};
use crate::engine::{ContactUpdate, LeadContact, Secs};
use crate::model::{MatchedOn, Timestamp};

/// What an update did to the directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Nothing a caller must act on.
    None,
    /// The lead's earliest known event is now at this time (a new lead, or an earlier event
    /// arrived): its duplicate check is due once the watermark passes it.
    FirstEvent(Secs),
    /// The lead was forgotten.
    Forgotten,
}

/// The earlier open lead a new lead duplicates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Duplicate {
    pub earlier_lead_id: Arc<str>,
    pub earlier_manager_id: Option<Arc<str>>,
    pub matched_on: MatchedOn,
    /// The new lead's manager, and the time the check is made as of (its first event).
    pub manager_id: Option<Arc<str>>,
    pub at: Timestamp,
}

/// One tenant's leads, indexed by normalised phone and e-mail.
#[derive(Debug, Default)]
struct TenantContacts {
    leads: Slots,
    by_phone: ValueIndex,
    by_email: ValueIndex,
    /// Manager ids, shared by the entries.
    managers: HashSet<Arc<str>>,
    /// History before this time is folded (see `entry`) when its lead is next updated.
    watermark: Secs,
}

/// Contact entries of every lead of every tenant; tenants never see each other's leads.
#[derive(Debug, Default)]
pub struct ContactDirectory {
    /// By tenant name: a handful, so a list beats hashing the name for every update.
    tenants: Vec<(Box<str>, TenantContacts)>,
}

impl ContactDirectory {
    pub fn new() -> Self {
        Self::default()
    }

    fn tenant(&self, tenant: &str) -> Option<&TenantContacts> {
        self.tenants
            .iter()
            .find(|(name, _)| **name == *tenant)
            .map(|(_, contacts)| contacts)
    }

    fn tenant_mut_if_known(&mut self, tenant: &str) -> Option<&mut TenantContacts> {
        self.tenants
            .iter_mut()
            .find(|(name, _)| **name == *tenant)
            .map(|(_, contacts)| contacts)
    }

    fn tenant_mut(&mut self, tenant: &str) -> &mut TenantContacts {
        let slot = match self.tenants.iter().position(|(name, _)| **name == *tenant) {
            Some(slot) => slot,
            None => {
                self.tenants
                    .push((tenant.into(), TenantContacts::default()));
                self.tenants.len() - 1
            }
        };
        &mut self.tenants[slot].1
    }

    /// Merges one engine update (the order of updates does not matter beyond the watermark
    /// rule: history before the watermark is folded).
    pub fn apply(&mut self, update: &ContactUpdate) -> Effect {
        self.apply_owned(update, 0)
    }

    /// [`Self::apply`] by the input partition `owner` (a lead or attempt update makes it the
    /// lead's owner, see [`Self::owner`]).
    pub fn apply_owned(&mut self, update: &ContactUpdate, owner: i32) -> Effect {
        let contacts = self.tenant_mut(update.tenant());
        match update {
            ContactUpdate::Lead(lead) => contacts.add_event(lead, owner),
            ContactUpdate::Attempt { lead_id, at, .. } => {
                let watermark = contacts.watermark;
                contacts
                    .entry_mut(lead_id, owner)
                    .add_attempt(*at, watermark);
                Effect::None
            }
            ContactUpdate::Forget { lead_id, .. } => {
                if contacts.remove(lead_id) {
                    Effect::Forgotten
                } else {
                    Effect::None
                }
            }
        }
    }

    /// Moves the watermark of `tenant` (call as the tenant's watermark advances): a lead's
    /// history before it is folded when the lead is next updated, and questions about times
    /// before it are answered as of (about) it.
    pub fn prune(&mut self, tenant: &str, watermark: Timestamp) {
        if let Some(contacts) = self.tenant_mut_if_known(tenant) {
            contacts.watermark = contacts.watermark.max(watermark.as_compact_seconds());
        }
    }

    /// The lead a call from `phone` at `at` belongs to: among the tenant's leads that had that
    /// phone and were open (existing, not rejected or converted) at `at`, the one with the latest
    /// activity at or before `at`; ties go to the smallest lead id.
    pub fn resolve_phone(&self, tenant: &str, phone: &str, at: Timestamp) -> Option<Arc<str>> {
        let phone = parse_phone(phone)?;
        let phone = phone.as_str();
        let contacts = self.tenant(tenant)?;
        let t = contacts.as_of(at.as_compact_seconds());
        contacts
            .by_phone
            .slots(phone)
            .filter_map(|slot| contacts.leads.get(slot))
            .map(|slot| &slot.entry)
            .filter(|entry| entry.has_phone_at(phone, t) && entry.open_at(t))
            .max_by(|a, b| {
                (a.activity_at(t), Reverse(&a.lead_id))
                    .cmp(&(b.activity_at(t), Reverse(&b.lead_id)))
            })
            .map(|entry| Arc::clone(&entry.lead_id))
    }

    /// The earlier open lead `lead_id` duplicates, as of the lead's first event (when it is open
    /// then): a lead of the same tenant created earlier (ties: smaller lead id), open at that
    /// time, with one of its phones (preferred) or e-mails. Of several, the earliest created.
    pub fn duplicate_of(&self, tenant: &str, lead_id: &str) -> Option<Duplicate> {
        let contacts = self.tenant(tenant)?;
        let new = contacts.leads.entry(lead_id)?;
        let (first, _) = new.first?;
        let t = contacts.as_of(first);
        if !new.open_at(t) {
            return None; // created rejected or converted: nothing to hand over
        }
        let rank = (new.created, &new.lead_id);
        let phones: Vec<&str> = new.phones_at(t).collect();
        let emails: Vec<&str> = new.emails_at(t).collect();
        let by_phone = earliest_open(contacts, &contacts.by_phone, &phones, Value::Phone, t, rank);
        let by_email = earliest_open(contacts, &contacts.by_email, &emails, Value::Email, t, rank);
        let (earlier, matched_on) = match (by_phone, by_email) {
            (Some(p), Some(e)) if (e.created, &e.lead_id) < (p.created, &p.lead_id) => {
                (e, MatchedOn::Email)
            }
            (Some(p), _) => (p, MatchedOn::Phone),
            (None, Some(e)) => (e, MatchedOn::Email),
            (None, None) => return None,
        };
        Some(Duplicate {
            earlier_lead_id: Arc::clone(&earlier.lead_id),
            earlier_manager_id: earlier.manager_at(t).cloned(),
            matched_on,
            manager_id: new.manager_at(t).cloned(),
            at: Timestamp::from_compact_seconds(first),
        })
    }

    /// Installs a whole entry (a replica of the directory reading entries another instance
    /// merged), replacing the lead's; reports a new or earlier first event like [`Self::apply`].
    pub fn replace(&mut self, tenant: &str, entry: ContactEntry) -> Effect {
        self.replace_owned(tenant, entry, 0)
    }

    /// [`Self::replace`], the lead owned by input partition `owner`.
    pub fn replace_owned(&mut self, tenant: &str, entry: ContactEntry, owner: i32) -> Effect {
        let contacts = self.tenant_mut(tenant);
        let old_first = contacts.leads.entry(&entry.lead_id).and_then(|e| e.first);
        contacts.remove(&entry.lead_id);
        let first = entry.first;
        let slot = contacts.leads.insert(entry, owner);
        if let Some(entry) = contacts.leads.get(slot).map(|s| &s.entry) {
            for value in &entry.phones {
                contacts.by_phone.add(&value.value, slot);
            }
            for value in &entry.emails {
                contacts.by_email.add(&value.value, slot);
            }
        }
        match first {
            Some((at, key)) if old_first.is_none_or(|old| (at, key) < old) => {
                Effect::FirstEvent(at)
            }
            _ => Effect::None,
        }
    }

    /// Marks the lead's duplicate check as done; `false` if it was done already (or the lead is
    /// unknown).
    pub fn start_duplicate_check(&mut self, tenant: &str, lead_id: &str) -> bool {
        let Some(slot) = self.tenant_mut_if_known(tenant).and_then(|c| {
            let slot = c.leads.find(lead_id)?;
            c.leads.get_mut(slot)
        }) else {
            return false;
        };
        !std::mem::replace(&mut slot.entry.duplicate_checked, true)
    }

    pub fn entry(&self, tenant: &str, lead_id: &str) -> Option<&ContactEntry> {
        self.tenant(tenant)?.leads.entry(lead_id)
    }

    /// The input partition that last wrote the lead's entry (0 outside the service).
    pub fn owner(&self, tenant: &str, lead_id: &str) -> Option<i32> {
        let leads = &self.tenant(tenant)?.leads;
        leads.get(leads.find(lead_id)?).map(|s| s.owner)
    }

    /// Every entry with its tenant and owner, in no particular order.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &ContactEntry, i32)> {
        self.tenants.iter().flat_map(|(tenant, contacts)| {
            contacts
                .leads
                .iter()
                .map(move |s| (&**tenant, &s.entry, s.owner))
        })
    }

    /// Leads known, over all tenants.
    pub fn len(&self) -> usize {
        self.tenants.iter().map(|(_, c)| c.leads.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The tenant's watermark as last pruned.
    pub fn watermark(&self, tenant: &str) -> Timestamp {
        Timestamp::from_compact_seconds(self.tenant(tenant).map_or(0, |c| c.watermark))
    }
}

impl TenantContacts {
    /// The time a question about `t` is answered as of: `t`, or for a time before the watermark
    /// (a late call) the watermark — whatever has been folded yet, so folding changes no answer.
    fn as_of(&self, t: Secs) -> Secs {
        t.max(self.watermark.saturating_sub(1))
    }

    fn entry_mut(&mut self, lead_id: &str, owner: i32) -> &mut ContactEntry {
        &mut self.leads.upsert(lead_id, owner).1.entry
    }

    fn manager(&mut self, manager: Option<&str>) -> Option<Arc<str>> {
        let manager = manager?;
        if let Some(known) = self.managers.get(manager) {
            return Some(Arc::clone(known));
        }
        let shared: Arc<str> = manager.into();
        self.managers.insert(Arc::clone(&shared));
        Some(shared)
    }

    fn add_event(&mut self, lead: &LeadContact, owner: i32) -> Effect {
        let manager = self.manager(lead.manager_id.as_deref());
        let watermark = self.watermark;
        let mark = Mark {
            at: lead.at,
            key: lead.event_key,
            terminal: lead.terminal,
            manager,
        };
        let (slot, found) = self.leads.upsert(&lead.lead_id, owner);
        let entry = &mut found.entry;
        let first = entry.add_event(mark, lead.created, watermark);
        for phone in lead.phone.as_deref().into_iter().flat_map(phones_in) {
            let phone = phone.as_str();
            let change = add_value(&mut entry.phones, phone, lead.at, watermark);
            reindex(&mut self.by_phone, slot, phone, change);
        }
        for email in lead.email.as_deref().into_iter().flat_map(emails_in) {
            let change = add_value(&mut entry.emails, &email, lead.at, watermark);
            reindex(&mut self.by_email, slot, &email, change);
        }
        if first {
            Effect::FirstEvent(lead.at)
        } else {
            Effect::None
        }
    }

    fn remove(&mut self, lead_id: &str) -> bool {
        let Some(slot) = self.leads.find(lead_id) else {
            return false;
        };
        let Some(removed) = self.leads.remove(slot) else {
            return false;
        };
        for value in &removed.entry.phones {
            self.by_phone.remove(&value.value, slot);
        }
        for value in &removed.entry.emails {
            self.by_email.remove(&value.value, slot);
        }
        true
    }
}

/// Lists `value` in `index` when it is newly on the lead, and unlists the one it displaced.
fn reindex(index: &mut ValueIndex, slot: u32, value: &str, change: ValueChange) {
    if change.added {
        index.add(value, slot);
    }
    if let Some(dropped) = change.dropped {
        index.remove(&dropped, slot);
    }
}

/// Which contact list a value belongs to.
#[derive(Clone, Copy)]
enum Value {
    Phone,
    Email,
}

/// Of the leads listed under any of `values`, the earliest created (ties: smallest id) that was
/// created before `rank`, had the value by `t` and was open at `t`.
fn earliest_open<'c>(
    contacts: &'c TenantContacts,
    index: &'c ValueIndex,
    values: &[&str],
    kind: Value,
    t: Secs,
    rank: (Secs, &Arc<str>),
) -> Option<&'c ContactEntry> {
    let mut best: Option<&ContactEntry> = None;
    for &value in values {
        for slot in index.slots(value) {
            let Some(earlier) = contacts.leads.get(slot).map(|s| &s.entry) else {
                continue;
            };
            let has = match kind {
                Value::Phone => earlier.has_phone_at(value, t),
                Value::Email => earlier.has_email_at(value, t),
            };
            let this = (earlier.created, &earlier.lead_id);
            if this < rank
                && has
                && earlier.open_at(t)
                && best.is_none_or(|b| this < (b.created, &b.lead_id))
            {
                best = Some(earlier);
            }
        }
    }
    best
}
