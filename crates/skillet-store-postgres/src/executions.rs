//! Executions: each attempt of each call, listed and scanned newest first.

use skillet_store::{ExecutionFigures, ExecutionQuery, ExecutionRecord, LogLine, StoreError};

use crate::{PostgresStore, not_yet};

pub(crate) fn record(_s: &PostgresStore, _e: &ExecutionRecord) -> Result<(), StoreError> {
    Err(not_yet("recording executions"))
}
pub(crate) fn record_with_output(
    _s: &PostgresStore,
    _e: &ExecutionRecord,
    _o: &[LogLine],
) -> Result<(), StoreError> {
    Err(not_yet("recording executions"))
}
pub(crate) fn scan(
    _s: &PostgresStore,
    _q: &ExecutionQuery,
    _v: &mut dyn FnMut(ExecutionRecord) -> bool,
) -> Result<(), StoreError> {
    Err(not_yet("listing executions"))
}
pub(crate) fn scan_figures(
    _s: &PostgresStore,
    _q: &ExecutionQuery,
    _v: &mut dyn FnMut(ExecutionFigures) -> bool,
) -> Result<(), StoreError> {
    Err(not_yet("listing executions"))
}
pub(crate) fn get(_s: &PostgresStore, _id: &str) -> Result<Option<ExecutionRecord>, StoreError> {
    Err(not_yet("reading executions"))
}
pub(crate) fn import(
    _s: &PostgresStore,
    _r: &mut dyn Iterator<Item = ExecutionRecord>,
) -> Result<u64, StoreError> {
    Err(not_yet("importing executions"))
}
