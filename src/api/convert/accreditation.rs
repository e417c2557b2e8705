//! Accreditations with their status histories.

use super::*;

impl From<AccreditationRecord> for pb::Accreditation {
    fn from(
        AccreditationRecord {
            accreditation,
            history,
        }: AccreditationRecord,
    ) -> Self {
        let effective_until = accreditation.effective_until();
        let Accreditation {
            id,
            agency_id,
            provider_id,
            kind,
            decision,
            scope,
            valid_from,
            valid_until,
            report_url,
            conditions,
            recorded_at,
        } = accreditation;
        let AccreditationScope {
            eqf_levels,
            credential_types,
            fields_of_study,
            jurisdictions,
        } = scope;
        Self {
            id,
            agency_id,
            provider_id,
            kind: pb::AccreditationKind::from(kind).into(),
            decision: pb::Decision::from(decision).into(),
            scope: Some(pb::AccreditationScope {
                eqf_levels: eqf_levels.into_iter().map(u32::from).collect(),
                credential_types,
                fields_of_study,
                jurisdictions,
            }),
            valid_from: Some(timestamp(valid_from)),
            valid_until: opt_timestamp(valid_until),
            effective_until: Some(timestamp(effective_until)),
            report_url,
            conditions,
            status_history: history
                .into_iter()
                .map(
                    |StatusPeriod {
                         status,
                         effective_from,
                         effective_until,
                         reason,
                     }| pb::StatusPeriod {
                        status: pb::AccreditationStatus::from(status).into(),
                        effective_from: Some(timestamp(effective_from)),
                        effective_until: opt_timestamp(effective_until),
                        reason,
                    },
                )
                .collect(),
            recorded_at: Some(timestamp(recorded_at)),
        }
    }
}
