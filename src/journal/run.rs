//! Runs, as the journal, its drain and its two databases share them: the claim's plan and
//! what it makes, a run's lease and who holds it, and a run's event states as the backends
//! write them. A leaf under the journal's other files, so that each can name these without
//! importing the file that imports it.

use std::{collections::HashSet, time::SystemTime};

use super::{
    error::JournalError,
    event::{self, EventRecord, EventState},
};
use crate::{bulk::MAX_BATCH_SIZE, Error, StoreId};

/// Makes a run's saved document from its events, in the run's order, inside the claim's
/// transaction: a run never exists without it. With it, the state each event takes as it is
/// claimed (one per event, in the run's order), or none to leave them as they are.
pub(crate) type PlanFn = Box<
    dyn FnOnce(&[EventRecord]) -> Result<(serde_json::Value, Vec<EventState>), Error>
        + Send
        + 'static,
>;

/// An event's state encoded for the backends: the state's name and its JSON.
pub(super) type EncodedState = (&'static str, String);

/// A claim's run as its plan made it: the document, the events as claimed, and each event's
/// new state encoded for the backends (`None`: left as it is).
pub(super) type PlannedClaim = (
    serde_json::Value,
    Vec<EventRecord>,
    Vec<Option<EncodedState>>,
);

/// Runs a claim's `plan` on its `events`: the run's document, the events as claimed (in the
/// states the plan gave them, changed `now`), and each event's new state encoded for the
/// backends (`None`: left as it is).
pub(super) fn plan_claim(
    plan: PlanFn,
    mut events: Vec<EventRecord>,
    now: i64,
) -> Result<PlannedClaim, JournalError> {
    let (document, states) = plan(&events).map_err(JournalError::Plan)?;
    if states.is_empty() {
        let unchanged = vec![None; events.len()];
        return Ok((document, events, unchanged));
    }
    if states.len() != events.len() {
        return Err(JournalError::InvalidInput(format!(
            "a claim's plan gave {} states for {} events",
            states.len(),
            events.len()
        )));
    }
    let encoded = states.iter().map(|state| Some(state.encode())).collect();
    for (event, state) in events.iter_mut().zip(states) {
        event.state = state;
        event.state_changed_at = event::from_ms(now);
    }
    Ok((document, events, encoded))
}

/// A run held by this worker: present it to save, finish or release the run. A worker whose
/// lease was taken over gets [`JournalError::LeaseLost`] from each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RunLease {
    pub(crate) run_id: String,
    /// Changes with every holder, so that a former holder's writes are refused.
    pub(super) lease_id: String,
    pub(crate) store: StoreId,
    pub(crate) worker: String,
    /// When the lease ends, unless saved again before.
    pub(crate) until: SystemTime,
}

/// A run just claimed or taken over.
#[derive(Clone, Debug)]
pub(crate) struct ClaimedRun {
    pub(crate) lease: RunLease,
    /// The run's saved document: as made by the claim's plan, or as last saved.
    pub(crate) document: serde_json::Value,
    /// Its events, in the run's order (the order the document's items follow).
    pub(crate) events: Vec<EventRecord>,
}

/// Who takes a run, and until when: the new holder's side of a claim or a take-over.
#[derive(Clone, Debug)]
pub(super) struct Holder {
    pub(super) store_id: i64,
    pub(super) worker: String,
    pub(super) lease_id: String,
    pub(super) lease_until_ms: i64,
    pub(super) now_ms: i64,
}

/// A run's lease as the backends check it.
#[derive(Clone, Copy, Debug)]
pub(super) struct LeaseKey<'a> {
    pub(super) run_id: &'a str,
    pub(super) lease_id: &'a str,
}

/// Checks a worker's name: 1 to 200 bytes without control characters.
pub(super) fn check_worker(worker: &str) -> Result<(), JournalError> {
    if worker.is_empty() || worker.len() > 200 || worker.chars().any(char::is_control) {
        return Err(JournalError::InvalidInput(format!(
            "a worker's name must be 1 to 200 bytes without control characters, not {worker:?}"
        )));
    }
    Ok(())
}

/// Event states keyed by their position in a run, checked and encoded for the backends.
pub(super) type PositionedStates = Vec<(i64, &'static str, String)>;

/// One state for the events at positions `first..=last` of a run.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct StateRange<'a> {
    pub(super) first: i64,
    pub(super) last: i64,
    pub(super) state: &'static str,
    pub(super) detail: &'a str,
}

/// `states` as ranges of consecutive positions that take the same state, so that a run's
/// events, which mostly move together, are written with a statement per range, not per event.
pub(super) fn state_ranges(states: &PositionedStates) -> Vec<StateRange<'_>> {
    let mut ranges: Vec<StateRange<'_>> = Vec::new();
    for (position, state, detail) in states {
        match ranges.last_mut() {
            Some(range)
                if range.last + 1 == *position
                    && range.state == *state
                    && range.detail == detail.as_str() =>
            {
                range.last = *position;
            }
            _ => ranges.push(StateRange {
                first: *position,
                last: *position,
                state,
                detail,
            }),
        }
    }
    ranges
}

pub(super) fn positions(states: &[(usize, EventState)]) -> Result<PositionedStates, JournalError> {
    let mut seen = HashSet::new();
    states
        .iter()
        .map(|(position, state)| {
            if !seen.insert(*position) || *position >= MAX_BATCH_SIZE {
                return Err(JournalError::InvalidInput(format!(
                    "position {position} is repeated or beyond a run's {MAX_BATCH_SIZE} events"
                )));
            }
            let (name, detail) = state.encode();
            Ok((*position as i64, name, detail))
        })
        .collect()
}
