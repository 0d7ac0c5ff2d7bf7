//! The contact directory: per tenant, every known lead's phones and e-mails with the history
//! needed to resolve a call's phone (SPEC §4.8) and to find the lead a new one duplicates.

use std::cmp::Reverse;
use std::sync::Arc;

use hashbrown::hash_map::EntryRef;

use crate::keyhash::{Map as HashMap, Set as HashSet};

use super::entry::{ContactEntry, Mark, ValueChange, add_value};
use super::normalize::{emails_in, parse_phone, phones_in};
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
    leads: HashMap<Arc<str>, ContactEntry>,
    by_phone: HashMap<Box<str>, Vec<Arc<str>>>,
    by_email: HashMap<Box<str>, Vec<Arc<str>>>,
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
        let contacts = self.tenant_mut(update.tenant());
        match update {
            ContactUpdate::Lead(lead) => contacts.add_event(lead),
            ContactUpdate::Attempt { lead_id, at, .. } => {
                let watermark = contacts.watermark;
                contacts.entry_mut(lead_id).add_attempt(*at, watermark);
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
            .get(phone)?
            .iter()
            .filter_map(|id| contacts.leads.get(id))
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
        let new = contacts.leads.get(lead_id)?;
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
        let contacts = self.tenant_mut(tenant);
        let old_first = contacts.leads.get(&entry.lead_id).and_then(|e| e.first);
        contacts.remove(&entry.lead_id);
        let id = Arc::clone(&entry.lead_id);
        for value in &entry.phones {
            contacts
                .by_phone
                .entry(value.value.clone())
                .or_default()
                .push(Arc::clone(&id));
        }
        for value in &entry.emails {
            contacts
                .by_email
                .entry(value.value.clone())
                .or_default()
                .push(Arc::clone(&id));
        }
        let first = entry.first;
        contacts.leads.insert(id, entry);
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
        let Some(entry) = self
            .tenant_mut_if_known(tenant)
            .and_then(|c| c.leads.get_mut(lead_id))
        else {
            return false;
        };
        !std::mem::replace(&mut entry.duplicate_checked, true)
    }

    pub fn entry(&self, tenant: &str, lead_id: &str) -> Option<&ContactEntry> {
        self.tenant(tenant)?.leads.get(lead_id)
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

    fn entry_mut(&mut self, lead_id: &str) -> &mut ContactEntry {
        lead_entry(&mut self.leads, lead_id)
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

    fn add_event(&mut self, lead: &LeadContact) -> Effect {
        let manager = self.manager(lead.manager_id.as_deref());
        let watermark = self.watermark;
        let mark = Mark {
            at: lead.at,
            key: lead.event_key,
            terminal: lead.terminal,
            manager,
        };
        let entry = lead_entry(&mut self.leads, &lead.lead_id);
        let first = entry.add_event(mark, lead.created, watermark);
        for phone in lead.phone.as_deref().into_iter().flat_map(phones_in) {
            let phone = phone.as_str();
            let change = add_value(&mut entry.phones, phone, lead.at, watermark);
            reindex(&mut self.by_phone, &entry.lead_id, phone, change);
        }
        for email in lead.email.as_deref().into_iter().flat_map(emails_in) {
            let change = add_value(&mut entry.emails, &email, lead.at, watermark);
            reindex(&mut self.by_email, &entry.lead_id, &email, change);
        }
        if first {
            Effect::FirstEvent(lead.at)
        } else {
            Effect::None
        }
    }

    fn remove(&mut self, lead_id: &str) -> bool {
        let Some(entry) = self.leads.remove(lead_id) else {
            return false;
        };
        for value in &entry.phones {
            unindex(&mut self.by_phone, &value.value, &entry.lead_id);
        }
        for value in &entry.emails {
            unindex(&mut self.by_email, &value.value, &entry.lead_id);
        }
        true
    }
}

/// The lead's entry, created when new (the key and the entry share the id).
fn lead_entry<'m>(
    leads: &'m mut HashMap<Arc<str>, ContactEntry>,
    lead_id: &str,
) -> &'m mut ContactEntry {
    match leads.entry_ref(lead_id) {
        EntryRef::Occupied(entry) => entry.into_mut(),
        EntryRef::Vacant(entry) => {
            let id: Arc<str> = lead_id.into();
            entry.insert_with_key(Arc::clone(&id), ContactEntry::new(id))
        }
    }
}

/// Lists `value` in `index` when it is newly on the lead, and unlists the one it displaced.
fn reindex(
    index: &mut HashMap<Box<str>, Vec<Arc<str>>>,
    lead_id: &Arc<str>,
    value: &str,
    change: ValueChange,
) {
    if change.added {
        index
            .entry_ref(value)
            .or_default()
            .push(Arc::clone(lead_id));
    }
    if let Some(dropped) = change.dropped {
        unindex(index, &dropped, lead_id);
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
    index: &'c HashMap<Box<str>, Vec<Arc<str>>>,
    values: &[&str],
    kind: Value,
    t: Secs,
    rank: (Secs, &Arc<str>),
) -> Option<&'c ContactEntry> {
    let mut best: Option<&ContactEntry> = None;
    for &value in values {
        for id in index.get(value).into_iter().flatten() {
            let Some(earlier) = contacts.leads.get(id) else {
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

fn unindex(index: &mut HashMap<Box<str>, Vec<Arc<str>>>, value: &str, lead_id: &Arc<str>) {
    if let Some(ids) = index.get_mut(value) {
        ids.retain(|id| !Arc::ptr_eq(id, lead_id) && id != lead_id);
        if ids.is_empty() {
            index.remove(value);
        }
    }
}
