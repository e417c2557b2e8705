//! Recognition decisions.

use super::*;

impl From<Recognition> for pb::Recognition {
    fn from(r: Recognition) -> Self {
        let Recognition {
            id,
            body_id,
            qualification_id,
            purpose,
            route,
            outcome,
            credits_granted,
            credit_system,
            target_programme,
            conditions,
            decided_at,
            retracted_at,
        } = r;
        Self {
            id,
            body_id,
            qualification_id,
            purpose: pb::RecognitionPurpose::from(purpose).into(),
            route: pb::RecognitionRoute::from(route).into(),
            outcome: pb::RecognitionOutcome::from(outcome).into(),
            credits_granted,
            credit_system: credit_system
                .map(|c| pb::CreditSystem::from(c).into())
                .unwrap_or_default(),
            target_programme,
            conditions,
            decided_at: Some(timestamp(decided_at)),
            retracted_at: opt_timestamp(retracted_at),
        }
    }
}
