//! Rules of an accreditation's status history: half-open periods that follow each other
//! without gaps, changed only forward in time.

use super::enums::{AccreditationStatus, Decision};
use super::error::DomainError;
use super::model::{Accreditation, StatusPeriod};
use super::time::Timestamp;

/// The first history of a newly recorded accreditation: granted from its start for a positive
/// decision; none for a negative one, which is never in force.
pub fn initial_history(accreditation: &Accreditation) -> Vec<StatusPeriod> {
    if accreditation.decision.is_positive() {
        vec![StatusPeriod {
            status: AccreditationStatus::Granted,
            effective_from: accreditation.valid_from,
            effective_until: None,
            reason: String::new(),
        }]
    } else {
        Vec::new()
    }
}

/// Applies a status change at `effective_at`: closes the current period there and opens the
/// new one. Suspend from granted or reinstated; reinstate from suspended; withdraw from any
/// status but withdrawn.
pub fn change_status(
    decision: Decision,
    history: &[StatusPeriod],
    status: AccreditationStatus,
    effective_at: Timestamp,
    reason: &str,
) -> Result<Vec<StatusPeriod>, DomainError> {
    use AccreditationStatus::*;
    if !decision.is_positive() {
        return Err(DomainError::FailedPrecondition(
            "a negative decision has no status to change".into(),
        ));
    }
    let current = history
        .last()
        .ok_or_else(|| DomainError::FailedPrecondition("the accreditation has no status history".into()))?;
    let allowed = match status {
        Suspended => matches!(current.status, Granted | Reinstated),
        Reinstated => current.status == Suspended,
        Withdrawn => current.status != Withdrawn,
        Granted => {
            return Err(DomainError::invalid(
                "status",
                "must be SUSPENDED, REINSTATED or WITHDRAWN",
            ));
        }
    };
    if !allowed {
        return Err(DomainError::FailedPrecondition(format!(
            "cannot change status from {} to {status}",
            current.status
        )));
    }
    if effective_at <= current.effective_from {
        return Err(DomainError::FailedPrecondition(format!(
            "effective_at must be after the current status began ({}); history is never rewritten",
            current.effective_from.to_rfc3339()
        )));
    }
    let mut next = history.to_vec();
    if let Some(last) = next.last_mut() {
        last.effective_until = Some(effective_at);
    }
    next.push(StatusPeriod {
        status,
        effective_from: effective_at,
        effective_until: None,
        reason: reason.to_owned(),
    });
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use AccreditationStatus::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_unix_seconds(s)
    }

    fn granted() -> Vec<StatusPeriod> {
        vec![StatusPeriod {
            status: Granted,
            effective_from: t(10),
            effective_until: None,
            reason: String::new(),
        }]
    }

    #[test]
    fn suspend_then_reinstate_closes_periods() {
        let suspended = change_status(Decision::Positive, &granted(), Suspended, t(20), "audit").unwrap();
        assert_eq!(suspended[0].effective_until, Some(t(20)));
        assert_eq!(suspended[1].status, Suspended);
        let reinstated = change_status(Decision::Positive, &suspended, Reinstated, t(30), "ok").unwrap();
        assert_eq!(reinstated.len(), 3);
        assert_eq!(reinstated[1].effective_until, Some(t(30)));
        assert_eq!(reinstated[2].effective_until, None);
    }

    #[test]
    fn refuses_bad_transitions_and_rewrites() {
        assert!(change_status(Decision::Positive, &granted(), Reinstated, t(20), "").is_err());
        assert!(change_status(Decision::Positive, &granted(), Suspended, t(10), "").is_err());
        assert!(change_status(Decision::Positive, &granted(), Granted, t(20), "").is_err());
        assert!(change_status(Decision::Negative, &granted(), Withdrawn, t(20), "").is_err());
        let withdrawn = change_status(Decision::Positive, &granted(), Withdrawn, t(20), "").unwrap();
        assert!(change_status(Decision::Positive, &withdrawn, Suspended, t(30), "").is_err());
    }
}
