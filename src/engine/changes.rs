//! The changes of a commit taken from the engine, then built in parts — from several threads at once when there are many.
//
// Taking the changes needs the engine mutably (it resets the change sets); building each
// changed lead's record only reads it. So the service takes them ([`Engine::take_changed`]),
// then builds disjoint index ranges of them on as many threads as it likes through a shared
// [`ChangeView`], and concatenates the parts: the same records in the same order as one
// sequential pass ([`Engine::take_changes_with`]).

use std::ops::Range;

use super::Engine;
use super::snapshot::{Pending, RecordSource, StateChange, Taken, TenantRecord};

/// The changes of every tenant, taken from the engine.
#[derive(Debug, Default)]
pub struct Changed {
    /// (tenant index, its changes), tenants in engine order.
    tenants: Vec<(usize, Taken)>,
}

impl Changed {
    /// How many changes: per changed tenant, its forgotten leads, changed leads and record.
    pub fn len(&self) -> usize {
        self.tenants.iter().map(|(_, taken)| taken.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.tenants.is_empty()
    }
}

/// The engine and its taken changes, read-only: built in index ranges, from any thread.
pub struct ChangeView<'a> {
    /// Per changed tenant: what its records are built from, its changes, their pending events
    /// and its tenant record (built here: it reads the tenant's scorecards, which threads may
    /// not share).
    tenants: Vec<TenantView<'a>>,
}

struct TenantView<'a> {
    source: RecordSource<'a>,
    taken: &'a Taken,
    pending: Pending<'a>,
    record: TenantRecord<'a>,
}

impl Engine {
    /// Takes what changed since the last call (with [`Engine::track_changes`]), to be built
    /// through [`Engine::change_view`].
    pub fn take_changed(&mut self) -> Changed {
        let tenants = self
            .tenants
            .iter_mut()
            .enumerate()
            .filter_map(|(index, tenant)| tenant.take_changed().map(|taken| (index, taken)))
            .collect();
        Changed { tenants }
    }

    /// A view building `changed` against the engine's current state.
    pub fn change_view<'a>(&'a self, changed: &'a Changed) -> ChangeView<'a> {
        let tenants = changed
            .tenants
            .iter()
            .filter_map(|(index, taken)| {
                let tenant = self.tenants.get(*index)?;
                Some(TenantView {
                    source: tenant.record_source(),
                    taken,
                    pending: tenant.pending_of(taken),
                    record: tenant.tenant_record(),
                })
            })
            .collect();
        ChangeView { tenants }
    }
}

impl ChangeView<'_> {
    /// How many changes the view builds.
    pub fn len(&self) -> usize {
        self.tenants.iter().map(|tenant| tenant.taken.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.tenants.is_empty()
    }

    /// Builds the changes in `range` (indexes over every tenant's, in order: per tenant its
    /// forgotten leads, changed leads, record), each handed to `each` as it is built.
    pub fn build(&self, range: Range<usize>, mut each: impl FnMut(&StateChange<'_>)) {
        let mut start = 0;
        for tenant in &self.tenants {
            let end = start + tenant.taken.len();
            for i in range.start.max(start)..range.end.min(end) {
                tenant.source.change_at(
                    tenant.taken,
                    &tenant.pending,
                    &tenant.record,
                    i - start,
                    &mut each,
                );
            }
            start = end;
            if start >= range.end {
                break;
            }
        }
    }
}
