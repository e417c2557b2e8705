//! `trustregistry.v1.LogService`: stored envelopes, signed checkpoints, inclusion and
//! consistency proofs, and entries, so anyone can check the registry never rewrote its history.

use tonic::{Request, Response, Status};

use super::convert::timestamp;
use super::write::log_entry;
use crate::domain::DomainError;
use crate::domain::note::{self, Checkpoint};
use crate::domain::verdict::RegistryKey;
use crate::pb;
use crate::store::Store;

/// Most entries returned by one `GetEntries` call.
pub const MAX_ENTRIES: u64 = 1_000;
/// Most bytes of entries one `GetEntries` answer holds, its first entry whatever its size: a
/// range of large writes is answered in part, and the caller asks again from where it ends.
/// Under the 4 MiB a gRPC client accepts by default.
pub const MAX_ENTRIES_BYTES: usize = 3 * 1024 * 1024;
/// Entries read from the store at a time while an answer is filled (at most 256 KiB of command
/// each), so that a short answer never loads the whole range.
const ENTRIES_READ: u64 = 32;

type Reply<T> = Result<Response<T>, Status>;

/// The log service over a store; checkpoints are signed with the registry key.
#[derive(Clone)]
pub struct LogApi {
    store: Store,
    registry_key: RegistryKey,
    origin: String,
}

impl LogApi {
    pub fn new(store: Store, registry_key: RegistryKey, origin: String) -> Self {
        Self {
            store,
            registry_key,
            origin,
        }
    }

    /// The C2SP verifier key of the checkpoint-signing key.
    pub fn verifier_key(&self) -> Result<String, DomainError> {
        note::verifier_key(&self.origin, &self.registry_key.public_key())
            .map_err(|e| DomainError::Storage(e.to_string()))
    }
}

/// The checkpoint body for the store's current log head.
pub async fn current_checkpoint(store: &Store, origin: &str) -> Result<Checkpoint, DomainError> {
    let (size, root) = store.log_head().await?;
    Ok(Checkpoint {
        origin: origin.to_owned(),
        size,
        root,
    })
}

fn hashes(list: Vec<[u8; 32]>) -> Vec<Vec<u8>> {
    list.into_iter().map(|h| h.to_vec()).collect()
}

#[tonic::async_trait]
impl pb::log_service_server::LogService for LogApi {
    #[tracing::instrument(skip_all, fields(envelope_id = %request.get_ref().envelope_id))]
    async fn get_signed_write(
        &self,
        request: Request<pb::GetSignedWriteRequest>,
    ) -> Reply<pb::GetSignedWriteResponse> {
        let id = &request.get_ref().envelope_id;
        if id.len() != 64
            || !id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(DomainError::invalid("envelope_id", "must be 64 lowercase hex characters").into());
        }
        let stored = self
            .store
            .signed_write(id)
            .await?
            .ok_or_else(|| DomainError::not_found("signed write", id.clone()))?;
        let e = stored.envelope;
        Ok(Response::new(pb::GetSignedWriteResponse {
            signed_write: Some(pb::SignedWrite {
                envelope_id: e.id,
                rpc: e.rpc,
                envelope: Some(pb::SignedEnvelope {
                    command: e.command,
                    key_id: e.key_id,
                    signature: e.signature,
                }),
                signer_id: e.signer_id,
                received_at: Some(timestamp(e.received_at)),
                log_index: stored.log_index,
            }),
        }))
    }

    async fn get_checkpoint(
        &self,
        _request: Request<pb::GetCheckpointRequest>,
    ) -> Reply<pb::GetCheckpointResponse> {
        self.store.sync_log().await?;
        let checkpoint = current_checkpoint(&self.store, &self.origin).await?;
        let signed = checkpoint
            .sign(&self.origin, self.registry_key.signing_key())
            .map_err(|e| DomainError::Storage(format!("signing the checkpoint: {e}")))?;
        Ok(Response::new(pb::GetCheckpointResponse { checkpoint: signed }))
    }

    async fn get_verifier_key(
        &self,
        _request: Request<pb::GetVerifierKeyRequest>,
    ) -> Reply<pb::GetVerifierKeyResponse> {
        Ok(Response::new(pb::GetVerifierKeyResponse {
            verifier_key: self.verifier_key()?,
        }))
    }

    #[tracing::instrument(skip_all, fields(leaf_index = request.get_ref().leaf_index, tree_size = request.get_ref().tree_size))]
    async fn get_inclusion_proof(
        &self,
        request: Request<pb::GetInclusionProofRequest>,
    ) -> Reply<pb::GetInclusionProofResponse> {
        let pb::GetInclusionProofRequest {
            leaf_index,
            tree_size,
        } = request.into_inner();
        let result = self
            .store
            .with_log(|tree| {
                let size = tree.len();
                if tree_size == 0 || tree_size > size {
                    return Err(DomainError::invalid(
                        "tree_size",
                        format!("must be between 1 and the log size {size}"),
                    ));
                }
                if leaf_index >= tree_size {
                    return Err(DomainError::invalid(
                        "leaf_index",
                        format!("must be less than tree_size {tree_size}"),
                    ));
                }
                let proof = tree
                    .inclusion_proof(leaf_index, tree_size)
                    .map_err(|e| DomainError::Storage(e.to_string()))?;
                Ok((proof, tree.leaf_hashes()[leaf_index as usize]))
            })
            .await??;
        let (proof, leaf_hash) = result;
        Ok(Response::new(pb::GetInclusionProofResponse {
            leaf_index,
            tree_size,
            hashes: hashes(proof),
            leaf_hash: leaf_hash.to_vec(),
        }))
    }

    #[tracing::instrument(skip_all, fields(old_size = request.get_ref().old_size, new_size = request.get_ref().new_size))]
    async fn get_consistency_proof(
        &self,
        request: Request<pb::GetConsistencyProofRequest>,
    ) -> Reply<pb::GetConsistencyProofResponse> {
        let pb::GetConsistencyProofRequest { old_size, new_size } = request.into_inner();
        let proof = self
            .store
            .with_log(|tree| {
                let size = tree.len();
                if new_size > size {
                    return Err(DomainError::invalid(
                        "new_size",
                        format!("must be at most the log size {size}"),
                    ));
                }
                if old_size == 0 {
                    return Err(DomainError::invalid("old_size", "must be at least 1"));
                }
                if old_size > new_size {
                    return Err(DomainError::invalid(
                        "old_size",
                        format!("must not exceed new_size {new_size}"),
                    ));
                }
                tree.consistency_proof(old_size, new_size)
                    .map_err(|e| DomainError::Storage(e.to_string()))
            })
            .await??;
        Ok(Response::new(pb::GetConsistencyProofResponse {
            old_size,
            new_size,
            hashes: hashes(proof),
        }))
    }

    #[tracing::instrument(skip_all, fields(start = request.get_ref().start, end = request.get_ref().end))]
    async fn get_entries(&self, request: Request<pb::GetEntriesRequest>) -> Reply<pb::GetEntriesResponse> {
        let pb::GetEntriesRequest { start, end } = request.into_inner();
        let size = self.store.sync_log().await?;
        if end > size {
            return Err(DomainError::invalid("end", format!("must be at most the log size {size}")).into());
        }
        if start >= end {
            return Err(DomainError::invalid("start", format!("must be less than end {end}")).into());
        }
        if end - start > MAX_ENTRIES {
            return Err(DomainError::invalid("end", format!("must be at most start + {MAX_ENTRIES}")).into());
        }
        let mut entries = Vec::new();
        let mut bytes = 0;
        let mut next = start;
        'fill: while next < end {
            let to = (next + ENTRIES_READ).min(end);
            for record in self.store.log_entries(next, to).await? {
                let entry = log_entry(&record);
                if !entries.is_empty() && bytes + entry.len() > MAX_ENTRIES_BYTES {
                    break 'fill;
                }
                bytes += entry.len();
                entries.push(entry);
            }
            next = to;
        }
        Ok(Response::new(pb::GetEntriesResponse { entries, start }))
    }
}
