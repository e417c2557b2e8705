//! `trustregistry.v1.ImportService`: many signed writes per call, applied in batches through
//! the same pipeline as single writes.

use tonic::{Request, Response, Status, Streaming};

use super::write::{BatchOutcome, Writes};
use crate::domain::{DomainError, Timestamp};
use crate::pb;

/// Most writes in one `Import` call: at the bench's import rate well inside the default 10 s
/// deadline, and bounded work for one caller while the write lock is taken in turns.
pub const MAX_WRITES_PER_CALL: usize = 10_000;

/// Writes applied in one transaction: large enough that a batch's index pages and commit are
/// shared by many writes (about 0.7 s of writing at the bench's rate, the longest a single
/// write waits for the write lock behind an import).
pub const BATCH_WRITES: usize = 2_000;

/// Most bytes of commands one call holds before applying them: a batch is applied sooner when
/// its writes are large. With [`MAX_CALLS`], what imports hold at once stays within
/// `MAX_CALLS x (BATCH_BYTES + one message)`, whatever callers send.
pub const BATCH_BYTES: usize = 16 * 1024 * 1024;

/// Most `Import` calls served at once. They take the write lock in turns anyway; more would
/// only hold more writes in memory. A call beyond them is refused with RESOURCE_EXHAUSTED.
pub const MAX_CALLS: usize = 4;

#[derive(Clone)]
pub struct ImportApi {
    writes: Writes,
    calls: std::sync::Arc<tokio::sync::Semaphore>,
}

impl ImportApi {
    pub fn new(writes: Writes) -> Self {
        Self {
            writes,
            calls: std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_CALLS)),
        }
    }
}

/// Running totals of one call.
#[derive(Default)]
struct Totals {
    accepted: u64,
    replayed: u64,
    first: Option<u64>,
    last: u64,
}

impl Totals {
    fn add(&mut self, outcome: &BatchOutcome) {
        for receipt in &outcome.receipts {
            self.accepted += 1;
            if receipt.replayed {
                self.replayed += 1;
            } else {
                self.first.get_or_insert(receipt.log_index);
                self.last = receipt.log_index;
            }
        }
    }
}

/// The error of the write at `index` of the call, naming it and what was applied before it.
fn refusal(index: usize, rpc: &str, applied: u64, error: DomainError) -> Status {
    let before = format!("{applied} writes before it were applied");
    match error {
        DomainError::InvalidArgument { field, rule } => DomainError::invalid(
            format!("writes[{index}].{field}"),
            format!("{rule} ({rpc}; {before})"),
        )
        .into(),
        DomainError::Storage(_) => error.into(),
        other => {
            let mut status = Status::from(other);
            status = Status::with_details_and_metadata(
                status.code(),
                format!("writes[{index}] ({rpc}): {}; {before}", status.message()),
                status.details().to_vec().into(),
                status.metadata().clone(),
            );
            status
        }
    }
}

impl ImportApi {
    /// Applies the pending writes (the last of the `received` so far); on a refusal, the
    /// call's error.
    async fn flush(
        &self,
        pending: &mut Vec<(String, pb::SignedEnvelope)>,
        received: usize,
        totals: &mut Totals,
    ) -> Result<(), Status> {
        if pending.is_empty() {
            return Ok(());
        }
        let base = received - pending.len();
        let outcome = self.writes.import_batch(pending, Timestamp::now()).await?;
        totals.add(&outcome);
        if let Some((index, error)) = outcome.refused {
            let rpc = pending[index].0.clone();
            return Err(refusal(base + index, &rpc, totals.accepted, error));
        }
        pending.clear();
        Ok(())
    }
}

#[tonic::async_trait]
impl pb::import_service_server::ImportService for ImportApi {
    #[tracing::instrument(skip_all)]
    async fn import(
        &self,
        request: Request<Streaming<pb::ImportRequest>>,
    ) -> Result<Response<pb::ImportResponse>, Status> {
        let Ok(_call) = self.calls.clone().try_acquire_owned() else {
            return Err(Status::resource_exhausted(format!(
                "{MAX_CALLS} Import calls are being served; retry when one has finished"
            )));
        };
        let mut stream = request.into_inner();
        let mut pending = Vec::with_capacity(BATCH_WRITES);
        let mut pending_bytes = 0usize;
        let mut totals = Totals::default();
        let mut received = 0usize;
        while let Some(item) = stream.message().await? {
            if received == MAX_WRITES_PER_CALL {
                self.flush(&mut pending, received, &mut totals).await?;
                return Err(DomainError::invalid(
                    "writes",
                    format!(
                        "must be at most {MAX_WRITES_PER_CALL} a call; the first {} were applied, send the rest in another call",
                        totals.accepted
                    ),
                )
                .into());
            }
            let envelope = match item.envelope {
                Some(envelope) => envelope,
                None => {
                    self.flush(&mut pending, received, &mut totals).await?;
                    return Err(refusal(
                        received,
                        &item.rpc,
                        totals.accepted,
                        DomainError::invalid("envelope", "is required"),
                    ));
                }
            };
            // Checked as it comes, so that a call never holds writes that cannot be applied.
            if let Err(error) = super::write::check_form(&item.rpc, &envelope) {
                self.flush(&mut pending, received, &mut totals).await?;
                return Err(refusal(received, &item.rpc, totals.accepted, error));
            }
            pending_bytes += envelope.command.len();
            pending.push((item.rpc, envelope));
            received += 1;
            if pending.len() == BATCH_WRITES || pending_bytes >= BATCH_BYTES {
                self.flush(&mut pending, received, &mut totals).await?;
                pending_bytes = 0;
            }
        }
        self.flush(&mut pending, received, &mut totals).await?;
        tracing::info!(
            accepted = totals.accepted,
            replayed = totals.replayed,
            "import applied"
        );
        Ok(Response::new(pb::ImportResponse {
            accepted: totals.accepted,
            replayed: totals.replayed,
            first_log_index: totals.first.unwrap_or(0),
            last_log_index: totals.last,
            log_size: self.writes.store().log_head().await?.0,
        }))
    }
}
